package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// LockoutPolicy sets how failed logins turn into locks. Zero fields take the
// defaults noted on each, so LockoutPolicy{} is a sensible policy.
type LockoutPolicy struct {
	// Threshold is the number of failures within Window before the first lock (default 5).
	Threshold int
	// Window is how long a failure counts; older failures are forgotten (default 15m).
	// A lock level is also forgotten once Window passes after a lock with no new failure.
	Window time.Duration
	// BaseLock is the first lock (default 30s).
	BaseLock time.Duration
	// MaxLock caps the doubling (default 1h; raised to BaseLock if below it).
	MaxLock time.Duration
}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.Threshold <= 0 {
		p.Threshold = 5
	}
	if p.Window <= 0 {
		p.Window = 15 * time.Minute
	}
	if p.BaseLock <= 0 {
		p.BaseLock = 30 * time.Second
	}
	if p.MaxLock <= 0 {
		p.MaxLock = time.Hour
	}
	if p.MaxLock < p.BaseLock {
		p.MaxLock = p.BaseLock
	}
	return p
}

// Lockout slows password guessing against one identifier with exponentially
// growing locks. Callers should key it by the normalized (e.g. lower-cased)
// username or email whether or not the account exists, and check Locked before
// verifying the password, so the lock reveals nothing about which accounts exist.
// An account reachable under several names (username and email) should also be
// keyed by its id, in the same calls, so switching names does not buy more tries.
//
// Each identifier uses three keys sharing one Redis Cluster hash slot:
// <prefix>{sha256}:f (failure times), :s (lock level), :l (the lock itself, a
// key that expires when the lock ends). All expire on their own.
type Lockout struct {
	rdb    redis.UniversalClient
	prefix string
	p      LockoutPolicy
}

// NewLockout returns a Lockout whose keys start with prefix (used verbatim).
func NewLockout(rdb redis.UniversalClient, prefix string, p LockoutPolicy) *Lockout {
	return &Lockout{rdb: rdb, prefix: prefix, p: p.withDefaults()}
}

// Policy returns the effective policy, defaults applied.
func (l *Lockout) Policy() LockoutPolicy { return l.p }

// keys hashes id so user input never shapes Redis keys (no injection of
// separators or hash tags, bounded length, no plaintext emails in Redis).
func (l *Lockout) keys(id string) []string {
	base := l.prefix + "{" + hashKey(id) + "}"
	return []string{base + ":f", base + ":s", base + ":l"}
}

// failScript records one failure and applies the policy atomically, so
// concurrent failures are counted exactly and escalate at most once per lock.
// Failures while a lock is in force are neither counted nor escalate: callers
// should reject those attempts before checking the password, and racing
// requests that slipped past Locked must not multiply the lock.
// Failure times (µs, from Redis TIME) live in a sorted set trimmed to Window
// and to the newest Threshold entries, so it stays small under attack.
//
// KEYS: failures zset, state hash {seq, level}, lock key.
// ARGV: threshold, window ms, base lock ms, max lock ms. Returns the lock in ms.
var failScript = redis.NewScript(`
local threshold = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])

local pttl = redis.call('PTTL', KEYS[3])
if pttl > 0 then return pttl end
if pttl == -1 then return max end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - window * 1000))
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('ZADD', KEYS[1], string.format('%.0f', now), string.format('%.0f:%d', now, seq))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -threshold - 1)
redis.call('PEXPIRE', KEYS[1], window)

local lock = 0
if redis.call('ZCARD', KEYS[1]) >= threshold then
  local level = tonumber(redis.call('HGET', KEYS[2], 'level') or 0)
  lock = base * 2 ^ level
  if lock >= max then
    lock = max
  else
    redis.call('HSET', KEYS[2], 'level', level + 1)
  end
  redis.call('SET', KEYS[3], '1', 'PX', string.format('%.0f', lock))
end
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', lock + window))
return lock
`)

// Locked reports how long the identifiers stay locked: the longest lock among
// them, 0 if none is locked. All are read in one round trip, so checking a
// login name and an account costs the same as checking a name alone.
func (l *Lockout) Locked(ctx context.Context, ids ...string) (time.Duration, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	cmds := make([]*redis.DurationCmd, len(ids))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.PTTL(ctx, l.keys(id)[2])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ratelimit: lockout: %w", err)
	}
	var longest time.Duration
	for _, c := range cmds {
		d := c.Val()
		switch {
		case d == -1: // lock without expiry: only possible by hand; never lock forever
			d = l.p.MaxLock
		case d < 0:
			d = 0
		}
		longest = max(longest, d)
	}
	return longest, nil
}

// Fail records a failed attempt against each identifier. Once failures of an
// identifier within Window reach Threshold it is locked for BaseLock; each
// further failure after a lock ended (while earlier failures are still within
// Window) doubles the lock, capped at MaxLock. It returns the longest lock now
// in force (0 if none). The identifiers are counted independently (each keeps
// its keys in its own hash slot), in one pipelined round trip.
func (l *Lockout) Fail(ctx context.Context, ids ...string) (time.Duration, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{l.p.Threshold, ceilMs(l.p.Window), ceilMs(l.p.BaseLock), ceilMs(l.p.MaxLock)}
	cmds := make([]*redis.Cmd, len(ids))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = failScript.EvalSha(ctx, p, l.keys(id), args...)
		}
		return nil
	})
	var longest time.Duration
	for i, c := range cmds {
		ms, err := c.Int64()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			// This node has not seen the script yet (first use, a restart, or
			// another cluster node): that identifier was not counted, so
			// run it again on its own, which loads the script.
			ms, err = failScript.Run(ctx, l.rdb, l.keys(ids[i]), args...).Int64()
		}
		if err != nil {
			return 0, fmt.Errorf("ratelimit: lockout: %w", err)
		}
		longest = max(longest, time.Duration(ms)*time.Millisecond)
	}
	return longest, nil
}

// Reset forgets the failures, the locks and their levels of the identifiers
// (after a successful login).
func (l *Lockout) Reset(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	// One DEL per identifier: each identifier's keys share a hash slot, but
	// different identifiers' keys need not.
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, l.keys(id)...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ratelimit: lockout: %w", err)
	}
	return nil
}

// ceilMs converts to whole milliseconds (Redis PX), never rounding a positive
// duration down to zero.
func ceilMs(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
