// Package ratelimit keeps request rate limits and login lockouts in Redis, so
// every API replica enforces the same budget. All decisions run inside Lua
// scripts that read the Redis server clock: they are atomic across replicas and
// unaffected by skew between the replicas' clocks.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

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
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewLimiter returns a limiter whose keys all start with prefix (used verbatim,
// e.g. "rl:"), so they can be told apart from other data and scanned.
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// gcraScript takes one event. Times are integer microseconds from Redis TIME,
// exact in Lua's doubles for centuries. The stored value is the theoretical
// arrival time (TAT); the key expires once the bucket would be full again, so
// idle clients leave nothing behind and a denied call writes nothing.
//
// KEYS[1] key; ARGV[1] emission interval (µs per event); ARGV[2] burst.
// Returns {allowed, remaining, retry_after_µs, reset_after_µs}.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored) or now, now)
end

local new_tat = tat + interval
local diff = now - (new_tat - burst * interval)
if diff < 0 then
  return {0, 0, -diff, tat - now}
end

local reset = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(reset / 1000))
return {1, math.floor(diff / interval), 0, reset}
`)

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
	// Whole microseconds keep the script's arithmetic exact; the rounding
	// (at most 0.5µs per event) is far below any meaningful period.
	interval := (limit.Period/time.Duration(limit.Rate) + time.Microsecond/2) / time.Microsecond
	if interval < 1 {
		interval = 1
	}
	res, err := gcraScript.Run(ctx, l.rdb, []string{l.prefix + hashKey(key)}, int64(interval), limit.burst()).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: allow: %w", err)
	}
	if len(res) != 4 {
		return Result{}, fmt.Errorf("ratelimit: allow: unexpected script reply %v", res)
	}
	return Result{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// hashKey turns arbitrary input into a fixed-size, charset-safe key part.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
