// Package cache is a Redis read-through cache for product pages and listings.
//
// Redis is an optimisation, never a dependency: when it is down or slow every
// read falls back to its loader, so responses stay correct, only uncached.
//
// Keys under prefix (prefix-free, so they never collide):
//
//	v:<key>       cached bytes, TTL ± 10%
//	gen:<key>     generation, bumped by Invalidate
//	lock:<key>    fill lock (SET NX PX) so one process loads a cold key
//	tag:<name>    set of the v: keys stored with that tag
//	taggen:<name> tag generation, bumped by InvalidateTag
//
// A fill stores its value only if the key's and its tags' generations are
// those it read before loading, so a load that started before a write's
// invalidation cannot put the old data back.
//
// The scripts touch several keys (including a tag set's members), so the
// cache needs a single Redis primary (standalone or Sentinel), not Cluster.
package cache

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/shopkit/shop/internal/db"
)

// Prefix is the key prefix the shop's processes share, so that the worker
// drops what the API cached.
const Prefix = "shop:cache:"

const (
	opTimeout = 100 * time.Millisecond // per Redis call on the read path: a slow Redis must not slow pages
	lockTTL   = 5 * time.Second        // longer than a normal load; a crashed holder frees it by expiry
	lockWait  = 2 * time.Second        // how long waiters poll for another process's fill before loading
	pollEvery = 25 * time.Millisecond
	genTTL    = 24 * time.Hour   // generations must outlive any in-flight load
	warnEvery = 10 * time.Second // at most one "Redis unavailable" warning per period
)

// Option adjusts one GetOrLoad call.
type Option func(*options)

type options struct{ tags []string }

// WithTags records the key in each tag's set, so InvalidateTag can drop it.
// Pass the same tags for a key on every call: a fill is only guarded against
// the InvalidateTag of tags it was given.
func WithTags(tags ...string) Option {
	return func(o *options) { o.tags = append(o.tags, tags...) }
}

// Stats is a snapshot of a Cache's counters.
type Stats struct {
	Hits       int64 // served from Redis
	Misses     int64 // not in Redis (or filled by another caller meanwhile)
	Loads      int64 // loader calls
	LoadErrors int64 // loader calls that failed
	Errors     int64 // failed Redis calls (the read was served uncached)
	LocalHits  int64 // served from this process's memory (see StartLocal)
}

// Cache is safe for concurrent use.
type Cache struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	group  singleflight.Group

	local *local // nil until StartLocal

	hits, misses, loads, loadErrors, redisErrors atomic.Int64
	lastWarn, unwarned                           atomic.Int64 // rate-limits the Redis-down warning
}

// New returns a cache whose Redis keys all start with prefix (e.g. "pc:").
// The short per-call timeout only bounds socket reads when rdb has
// ContextTimeoutEnabled; New warns when it does not. log may be nil.
func New(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o, ok := rdb.(interface{ Options() *redis.Options }); ok && !o.Options().ContextTimeoutEnabled {
		log.Warn("cache: redis client has ContextTimeoutEnabled=false; a slow Redis stalls reads up to its ReadTimeout",
			"read_timeout", o.Options().ReadTimeout)
	}
	return &Cache{rdb: rdb, prefix: prefix, log: log}
}

// Stats returns the counters so far.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Loads: c.loads.Load(),
		LoadErrors: c.loadErrors.Load(), Errors: c.redisErrors.Load(),
		LocalHits: c.localHits(),
	}
}

// GetOrLoad returns the cached bytes for key, or calls load, stores its result
// for about ttl (± 10%) and returns it. Concurrent misses for a key share one
// load in this process and, through a Redis lock, mostly across processes.
// A load error is returned and nothing is cached. Redis failures are logged
// (rate-limited) and the value is loaded uncached. The returned slice is the
// caller's own.
//
// The shared load runs with the first caller's context values but not its
// cancellation, so one caller giving up does not fail the others.
func (c *Cache) GetOrLoad(ctx context.Context, key string, ttl time.Duration, load func(ctx context.Context) ([]byte, error), opts ...Option) ([]byte, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("cache: %q: ttl must be positive, got %v", key, ttl)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	// Loads are shared only among callers that started under the same
	// local epoch: a caller that took its ticket after an invalidation must
	// not get (and keep locally) what an older load read before the write.
	flight := strconv.FormatUint(c.LocalTicket(), 10) + ":" + key
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	v, err := c.rdb.Get(rctx, c.k("v:", key)).Bytes()
	cancel()
	degraded := false
	switch {
	case err == nil:
		c.hits.Add(1)
		return v, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, redis.Nil):
		c.misses.Add(1)
	default:
		c.redisFailed("get", err)
		degraded = true // still coalesced below: a Redis outage must not stampede the database
	}

	ch := c.group.DoChan(flight, func() (res any, err error) {
		// DoChan re-panics in its own goroutine, which nothing can recover; turn a panic into an error.
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("cache: load panicked", "key", key, "panic", r, "stack", string(debug.Stack()))
				res, err = nil, fmt.Errorf("cache: load %q panicked: %v", key, r)
			}
		}()
		// The fill serves every waiting caller: it must not inherit one
		// caller's cancellation, nor its leave to read a stale replica.
		lctx := db.PrimaryOnly(context.WithoutCancel(ctx))
		if degraded {
			return c.load(lctx, load)
		}
		return c.fill(lctx, key, ttl, load, o.tags)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		b := r.Val.([]byte)
		if r.Shared {
			b = append([]byte(nil), b...) // each caller may modify its slice
		}
		return b, nil
	}
}

// fill is the cross-process half: take the key's lock and load, or wait for
// the holder's value; after lockWait, load anyway.
func (c *Cache) fill(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error), tags []string) ([]byte, error) {
	token := rand.Text()
	deadline := time.Now().Add(lockWait)
	locked := false
	var s snapshot
	for {
		var err error
		if s, err = c.snapshot(ctx, key, tags); err != nil {
			c.redisFailed("snapshot", err)
			return c.load(ctx, load)
		}
		if s.found {
			return s.val, nil // another process filled it
		}
		if locked || time.Now().After(deadline) {
			break
		}
		if !s.locked {
			if locked, err = c.lock(ctx, key, token); err != nil {
				c.redisFailed("lock", err)
				return c.load(ctx, load)
			}
			if locked {
				defer c.unlock(ctx, key, token) // after store, so waiters see the value, not a gap
			}
			continue // re-check the value (and re-read generations) now that we hold the lock
		}
		time.Sleep(pollEvery)
	}
	v, err := c.load(ctx, load)
	if err != nil {
		return nil, err
	}
	c.store(ctx, key, v, ttl, tags, s.gens)
	return v, nil
}

func (c *Cache) load(ctx context.Context, load func(context.Context) ([]byte, error)) ([]byte, error) {
	c.loads.Add(1)
	v, err := load(ctx)
	if err != nil {
		c.loadErrors.Add(1)
		return nil, err
	}
	return v, nil
}

type snapshot struct {
	val    []byte
	found  bool
	locked bool
	gens   []string // key generation, then one per tag; "" when never bumped
}

// snapshot reads value, lock and generations in one atomic MGET, so the
// generations are those current when the miss was seen.
func (c *Cache) snapshot(ctx context.Context, key string, tags []string) (snapshot, error) {
	keys := []string{c.k("v:", key), c.k("lock:", key), c.k("gen:", key)}
	for _, t := range tags {
		keys = append(keys, c.k("taggen:", t))
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return snapshot{}, err
	}
	var s snapshot
	if v, ok := vals[0].(string); ok {
		s.val, s.found = []byte(v), true
	}
	s.locked = vals[1] != nil
	for _, g := range vals[2:] {
		gs, _ := g.(string)
		s.gens = append(s.gens, gs)
	}
	return s, nil
}

func (c *Cache) lock(ctx context.Context, key, token string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return c.rdb.SetNX(ctx, c.k("lock:", key), token, lockTTL).Result()
}

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// unlock releases the lock only if still ours (it may have expired and been retaken).
func (c *Cache) unlock(ctx context.Context, key, token string) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := unlockScript.Run(ctx, c.rdb, []string{c.k("lock:", key)}, token).Err(); err != nil {
		c.redisFailed("unlock", err) // it expires by itself
	}
}

// storeScript sets the value only if no generation moved since the snapshot.
// KEYS: v:key, gen:key, then per tag tag:name, taggen:name.
// ARGV: value, ttl ms, key generation, then one generation per tag.
var storeScript = redis.NewScript(`
local n = (#KEYS - 2) / 2
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[3] then return 0 end
for j = 1, n do
  if (redis.call('GET', KEYS[2 + 2*j]) or '') ~= ARGV[3 + j] then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for j = 1, n do
  local set = KEYS[1 + 2*j]
  redis.call('SADD', set, KEYS[1])
  if redis.call('PTTL', set) < ttl then redis.call('PEXPIRE', set, ttl) end
end
return 1`)

func (c *Cache) store(ctx context.Context, key string, v []byte, ttl time.Duration, tags []string, gens []string) {
	keys := []string{c.k("v:", key), c.k("gen:", key)}
	args := []any{v, max(jitter(ttl).Milliseconds(), 1), gens[0]}
	for i, t := range tags {
		keys = append(keys, c.k("tag:", t), c.k("taggen:", t))
		args = append(args, gens[i+1])
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	stored, err := storeScript.Run(ctx, c.rdb, keys, args...).Int()
	switch {
	case err != nil:
		c.redisFailed("store", err)
	case stored == 0:
		c.log.Debug("cache: invalidated during load, not stored", "key", key)
	}
}

// Invalidate deletes keys and bumps their generations, so loads already in
// flight do not store what they read before the caller's write.
func (c *Cache) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Incr(ctx, c.k("gen:", k))
			p.PExpire(ctx, c.k("gen:", k), genTTL)
			p.Del(ctx, c.k("v:", k))
			// After the delete: a process that hears it reads the new state.
			p.Publish(ctx, c.channel(), "k:"+k)
		}
		return nil
	})
	if err != nil {
		c.redisErrors.Add(1)
		return fmt.Errorf("cache: invalidate: %w", err)
	}
	return nil
}

// invalidateTagScript: KEYS are pairs tag:name, taggen:name; ARGV[1]
// generation TTL ms, ARGV[2] the invalidation channel, ARGV[3..] the tags.
// Members are deleted in batches to stay under Lua's unpack limit.
var invalidateTagScript = redis.NewScript(`
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
  local m = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #m, 500 do
    redis.call('DEL', unpack(m, j, math.min(j + 499, #m)))
  end
  redis.call('DEL', KEYS[i])
  redis.call('PUBLISH', ARGV[2], 't:' .. ARGV[3 + (i - 1) / 2])
end
return 1`)

// InvalidateTag deletes every key stored with any of tags, and the tag sets,
// and bumps the tags' generations (see Invalidate).
func (c *Cache) InvalidateTag(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, 2*len(tags))
	args := []any{genTTL.Milliseconds(), c.channel()}
	for _, t := range tags {
		keys = append(keys, c.k("tag:", t), c.k("taggen:", t))
		args = append(args, t)
	}
	if err := invalidateTagScript.Run(ctx, c.rdb, keys, args...).Err(); err != nil {
		c.redisErrors.Add(1)
		return fmt.Errorf("cache: invalidate tag: %w", err)
	}
	return nil
}

// GetOrLoadJSON is GetOrLoad for a JSON-encoded T.
func GetOrLoadJSON[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(ctx context.Context) (T, error), opts ...Option) (T, error) {
	var v T
	b, err := c.GetOrLoad(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}, opts...)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		// Likely written by a build with another shape of T: drop it and serve fresh data.
		c.log.Warn("cache: undecodable entry, reloading", "key", key, "err", err)
		_ = c.Invalidate(ctx, key)
		return load(ctx)
	}
	return v, nil
}

func (c *Cache) k(kind, name string) string { return c.prefix + kind + name }

// redisFailed counts a Redis failure and warns at most once per warnEvery,
// with the number of failures since the last warning.
func (c *Cache) redisFailed(op string, err error) {
	c.redisErrors.Add(1)
	c.unwarned.Add(1)
	now, last := time.Now().UnixNano(), c.lastWarn.Load()
	if now-last < int64(warnEvery) || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn("cache: redis unavailable, serving uncached", "op", op, "err", err, "failures", c.unwarned.Swap(0))
}

// jitter spreads ttl by ± 10% so keys written together do not expire together.
func jitter(ttl time.Duration) time.Duration {
	j := int64(ttl / 10)
	return ttl + time.Duration(mrand.Int64N(2*j+1)-j)
}
