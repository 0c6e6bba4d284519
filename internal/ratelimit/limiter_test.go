package ratelimit_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/testenv"
)

func TestAllowBurstThenDeny(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	limit := ratelimit.Limit{Rate: 5, Period: time.Minute, Burst: 5}

	var allowed int
	var last ratelimit.Result
	for i := range 20 {
		res, err := l.Allow(ctx, "client-1", limit)
		require.NoError(t, err)
		if res.Allowed {
			allowed++
			assert.Equal(t, 5-allowed, res.Remaining, "call %d", i)
			assert.Zero(t, res.RetryAfter, "call %d", i)
			assert.Positive(t, res.ResetAfter, "call %d", i)
		}
		last = res
	}
	assert.Equal(t, 5, allowed)
	assert.False(t, last.Allowed)
	assert.Zero(t, last.Remaining)
	assert.Positive(t, last.RetryAfter)
	assert.LessOrEqual(t, last.RetryAfter, 12*time.Second, "one event is emitted every 60s/5")
	assert.Greater(t, last.RetryAfter, 11*time.Second)
	assert.Greater(t, last.ResetAfter, 59*time.Second)
	assert.LessOrEqual(t, last.ResetAfter, time.Minute)
}

func TestAllowDefaultBurstIsRate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	var allowed int
	for range 10 {
		res, err := l.Allow(ctx, "k", ratelimit.Limit{Rate: 3, Period: time.Minute})
		require.NoError(t, err)
		if res.Allowed {
			allowed++
		}
	}
	assert.Equal(t, 3, allowed)
}

func TestAllowKeysAreIndependentAndRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	limit := ratelimit.Limit{Rate: 1, Period: 200 * time.Millisecond}

	res, err := l.Allow(ctx, "a", limit)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	denied, err := l.Allow(ctx, "a", limit)
	deniedAt := time.Now()
	require.NoError(t, err)
	require.False(t, denied.Allowed)
	require.Positive(t, denied.RetryAfter)
	require.LessOrEqual(t, denied.RetryAfter, 200*time.Millisecond)

	res, err = l.Allow(ctx, "b", limit)
	require.NoError(t, err)
	assert.True(t, res.Allowed, "another key has its own budget")

	// A denied call takes nothing, so asking again until allowed is safe.
	require.Eventually(t, func() bool {
		res, err = l.Allow(ctx, "a", limit)
		return err == nil && res.Allowed
	}, 2*time.Second, 10*time.Millisecond, "allowed again once RetryAfter has passed")
	assert.GreaterOrEqual(t, time.Since(deniedAt)+50*time.Millisecond, denied.RetryAfter, "not before RetryAfter")
}

func TestAllowConcurrentCountsExactly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	limit := ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}

	var allowed, failed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			res, err := l.Allow(ctx, "hot", limit)
			if err != nil {
				failed.Add(1)
				return
			}
			if res.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failed.Load())
	assert.EqualValues(t, 10, allowed.Load())
}

// deadRedis returns a client of a port nobody listens on, failing fast
// (no command retries, a single dial attempt).
func deadRedis(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1,
		DialTimeout: time.Second, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestAllowRedisDownReturnsError(t *testing.T) {
	t.Parallel()
	rdb := deadRedis(t)
	l := ratelimit.NewLimiter(rdb, "rltest:")

	res, err := l.Allow(context.Background(), "k", ratelimit.Limit{Rate: 1, Period: time.Second})
	require.Error(t, err)
	assert.False(t, res.Allowed)
}

func TestAllowRejectsInvalidLimit(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	for _, limit := range []ratelimit.Limit{{}, {Rate: 1}, {Period: time.Second}, {Rate: -1, Period: time.Second}} {
		res, err := l.Allow(context.Background(), "k", limit)
		require.ErrorIs(t, err, ratelimit.ErrInvalidLimit, "%+v", limit)
		assert.False(t, res.Allowed)
	}
}

func TestLimiterKeysArePrefixedHashedAndExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("rltest:")
	l := ratelimit.NewLimiter(rdb, prefix)
	limit := ratelimit.Limit{Rate: 2, Period: 10 * time.Second}

	for range 3 {
		_, err := l.Allow(ctx, "Some {User} Input\r\n", limit)
		require.NoError(t, err)
	}
	// redis_rate puts its own "rate:" before the limiter's prefix.
	keys, err := rdb.Keys(ctx, "rate:"+prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Len(t, strings.TrimPrefix(keys[0], "rate:"+prefix), 64, "sha256 hex of the key")
	assert.NotContains(t, keys[0], "User")
	ttl, err := rdb.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.Positive(t, ttl)
	assert.LessOrEqual(t, ttl, 10*time.Second)
}

// A busy key takes events ahead in leases: far fewer Redis calls, and two
// replicas together still never allow more than the budget.
func TestLeasesSaveRoundTripsAndKeepTheBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	var calls testenv.RoundTrips
	rdb.AddHook(&calls)
	prefix := testenv.UniqueName("rltest:")
	replicas := []*ratelimit.Limiter{ratelimit.NewLimiter(rdb, prefix), ratelimit.NewLimiter(rdb, prefix)}
	limit := ratelimit.Limit{Rate: 1000, Period: time.Hour, Burst: 1000} // no refill during the test

	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				res, err := replicas[i%2].Allow(ctx, "busy", limit)
				if !assert.NoError(t, err) {
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, allowed.Load(), int32(1000), "never past the budget")
	assert.Greater(t, allowed.Load(), int32(1000-2*50), "at most a lease per replica left unused")
	assert.Less(t, calls.N.Load(), int64(400), "events were taken in leases (1600 events)")

	// A quiet key asks for one event at a time: nothing is taken ahead.
	calls.N.Store(0)
	res, err := replicas[0].Allow(ctx, "quiet", limit)
	require.NoError(t, err)
	assert.True(t, res.Allowed)
	assert.Equal(t, 999, res.Remaining, "one event taken")
	assert.EqualValues(t, 1, calls.N.Load())
}

// When Redis hangs, the callers of one busy key do not queue for a round
// trip each: they all fail within about one timeout (the client's or the
// callers' own), and only one of them reaches Redis.
func TestHangingRedisFailsAllCallersOfAKeyWithinOneTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name    string
		opts    redis.Options
		callCtx time.Duration
	}{
		// The client's own read timeout, callers with a generous deadline:
		// queued callers used to wait a timeout each.
		{"client timeout", redis.Options{ReadTimeout: timeout, WriteTimeout: timeout}, 10 * time.Second},
		// The callers' deadlines, as `shop api` sets its client up.
		{"caller deadline", redis.Options{ContextTimeoutEnabled: true}, timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			real := testenv.Redis(t)
			proxy := testenv.NewProxy(t, real.Options().Addr)
			opts := tc.opts
			opts.Addr, opts.DB, opts.MaxRetries, opts.PoolSize = proxy.Addr(), real.Options().DB, -1, 32
			rdb := redis.NewClient(&opts)
			t.Cleanup(func() { _ = rdb.Close() })
			var calls testenv.RoundTrips
			rdb.AddHook(&calls)
			l := ratelimit.NewLimiter(rdb, testenv.UniqueName("rltest:"))
			limit := ratelimit.Limit{Rate: 1000, Period: time.Second} // a lease-taking limit
			res, err := l.Allow(context.Background(), "hot", limit)
			require.NoError(t, err)
			require.True(t, res.Allowed)

			proxy.SetBlackhole(true)
			const callers = 20
			calls.N.Store(0)
			start := time.Now()
			var failed atomic.Int32
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for {
						ctx, cancel := context.WithTimeout(context.Background(), tc.callCtx)
						res, err := l.Allow(ctx, "hot", limit)
						cancel()
						if err != nil {
							failed.Add(1)
							return
						}
						if !res.Allowed {
							return
						}
						// events left over from the lease before the outage
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			assert.EqualValues(t, callers, failed.Load(), "every caller sees the outage")
			assert.Less(t, elapsed, 2*timeout, "callers did not queue behind each other's round trips")
			assert.LessOrEqual(t, calls.N.Load(), int64(2), "waiters were answered the remembered error")
		})
	}
}
