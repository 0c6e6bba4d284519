// Package ratelimit keeps request rate limits and login lockouts in Redis, so
// every API replica enforces the same budget. Decisions run inside Lua
// scripts that read the Redis server clock: they are atomic across replicas and
// unaffected by skew between the replicas' clocks. Request limits are
// github.com/go-redis/redis_rate's GCRA; the login lockout (lockout.go) is ours.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// ErrInvalidLimit is returned by Allow for a Limit with a non-positive Rate or
// Period; it signals a programming or configuration mistake, not a Redis fault.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit allows Rate events per Period with bursts up to Burst (Burst<=0 means Burst=Rate).
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Rate
	}
	return l.Burst
}

// Result is the outcome of one Allow call. Remaining, RetryAfter and ResetAfter
// are meant for the RateLimit-* and Retry-After response headers.
type Result struct {
	Allowed bool
	// Remaining is how many more events would be allowed right now.
	Remaining int
	// RetryAfter is how long until the next event would be allowed; 0 when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the full burst is available again.
	ResetAfter time.Duration
}

// Limiter is a GCRA (generic cell rate algorithm) limiter: it stores a single
// timestamp per key, so it costs one small key per active client and spreads
// allowed events evenly instead of resetting at window boundaries.
//
// A busy key does not cost a Redis round trip per event: once a key's
// events come faster than one per lease period, the limiter takes several
// at once from Redis (up to a twentieth of the burst, at most maxLease) and
// hands them out in this process for leasePeriod; what is left then is
// dropped. Events are always taken from the shared budget before they are
// allowed, so replicas together never exceed the limit; a client at the
// edge of its limit may be refused up to one lease's worth early. A refused
// busy key is refused in this process until its RetryAfter. Limits
// with a burst under 40 (login, auth) take one event per call, as before.
type Limiter struct {
	rl     *redis_rate.Limiter
	prefix string

	mu       sync.Mutex
	leases   map[string]*lease
	prunedAt time.Time
}

const (
	leasePeriod = 250 * time.Millisecond
	maxLease    = 64
	// leaseKeys bounds the lease map: past it, expired leases are pruned (at
	// most once per leasePeriod) and a key that finds no room gets no lease.
	leaseKeys = 10000
	// errMemory is how long a Redis error of one key is handed to the
	// events that waited for it, so they fail at once instead of queueing
	// for a round trip each to a Redis that does not answer.
	errMemory = 100 * time.Millisecond
)

// lease is the events a process took ahead for one key.
type lease struct {
	// sem (1-buffered) is held while asking Redis, so concurrent events wait
	// for one answer; a channel, so that waiting honours the context.
	sem     chan struct{}
	left    int
	size    int // how many to ask for next time
	expires time.Time
	// refusedUntil: Redis refused until then (its RetryAfter), so no event
	// can be allowed before; asking again would only cost a round trip.
	refusedUntil time.Time
	// err is the last Redis error, answered to every event until errUntil.
	err      error
	errUntil time.Time
}

func newLease() *lease { return &lease{sem: make(chan struct{}, 1), size: 1} }

// NewLimiter returns a limiter whose keys are "rate:" (redis_rate's own
// prefix) followed by prefix (used verbatim, e.g. "rl:") and a hash of the
// caller's key, so they can be told apart from other data and scanned.
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(rdb), prefix: prefix, leases: map[string]*lease{}}
}

// Allow takes one event for key. It returns an error only when Redis fails
// (or the limit is invalid); callers decide fail-open or fail-closed.
//
// The key is hashed, so callers may pass raw client input (IPs, API keys,
// emails) without it shaping or bloating Redis keys. Use distinct keys for
// distinct limits: the same key under two limits shares one bucket.
func (l *Limiter) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	if limit.Rate <= 0 || limit.Period <= 0 {
		return Result{}, fmt.Errorf("%w: %+v", ErrInvalidLimit, limit)
	}
	rkey := l.prefix + hashKey(key)
	rl := redis_rate.Limit{Rate: limit.Rate, Period: limit.Period, Burst: limit.burst()}
	most := min(maxLease, limit.burst()/20)
	if most <= 1 {
		res, err := l.rl.Allow(ctx, rkey, rl)
		if err != nil {
			return Result{}, fmt.Errorf("ratelimit: allow: %w", err)
		}
		return result(res), nil
	}
	ls := l.lease(rkey + ":" + strconv.Itoa(rl.Rate) + "/" + rl.Period.String())
	if ls == nil { // too many busy keys in this process: no lease, one event
		res, err := l.rl.Allow(ctx, rkey, rl)
		if err != nil {
			return Result{}, fmt.Errorf("ratelimit: allow: %w", err)
		}
		return result(res), nil
	}
	select {
	case ls.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("ratelimit: allow: %w", ctx.Err())
	}
	defer func() { <-ls.sem }()
	now := time.Now()
	if now.Before(ls.errUntil) {
		return Result{}, ls.err
	}
	if ls.left > 0 && now.Before(ls.expires) {
		ls.left--
		return Result{Allowed: true, Remaining: ls.left}, nil
	}
	if now.Before(ls.refusedUntil) {
		wait := ls.refusedUntil.Sub(now)
		return Result{RetryAfter: wait, ResetAfter: wait}, nil
	}
	// A lease used up in time was too small; one left over, too large.
	if ls.left == 0 && now.Before(ls.expires) {
		ls.size = min(2*ls.size, most)
	} else {
		ls.size = 1
	}
	res, err := l.rl.AllowAtMost(ctx, rkey, rl, ls.size)
	if err != nil {
		ls.err, ls.errUntil = fmt.Errorf("ratelimit: allow: %w", err), time.Now().Add(errMemory)
		return Result{}, ls.err
	}
	ls.left, ls.expires = max(res.Allowed-1, 0), now.Add(leasePeriod)
	if res.Allowed == 0 {
		ls.refusedUntil = now.Add(res.RetryAfter)
	}
	return result(res), nil
}

func result(res *redis_rate.Result) Result {
	return Result{
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0), // redis_rate answers -1 when allowed
		ResetAfter: max(res.ResetAfter, 0),
	}
}

// lease returns the lease of key (a Redis key and limit), made on first use,
// or nil when the map is full of live leases.
func (l *Limiter) lease(key string) *lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls, ok := l.leases[key]
	if ok {
		return ls
	}
	if len(l.leases) >= leaseKeys {
		// A scan costs the whole map under the lock: at most one per lease
		// period, since no lease expires sooner.
		now := time.Now()
		if now.Sub(l.prunedAt) < leasePeriod {
			return nil
		}
		l.prunedAt = now
		for k, v := range l.leases {
			select {
			case v.sem <- struct{}{}:
				if now.After(v.expires) {
					delete(l.leases, k)
				}
				<-v.sem
			default: // in use
			}
		}
		if len(l.leases) >= leaseKeys {
			return nil
		}
	}
	ls = newLease()
	l.leases[key] = ls
	return ls
}

// hashKey turns arbitrary input into a fixed-size, charset-safe key part.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
