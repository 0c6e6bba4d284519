package ratelimit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/testenv"
)

// waitUnlocked waits until id's lock has ended, failing after a bound.
func waitUnlocked(t *testing.T, lo *ratelimit.Lockout, id string) {
	t.Helper()
	var d time.Duration
	var err error
	require.Eventually(t, func() bool {
		d, err = lo.Locked(context.Background(), id)
		return err == nil && d == 0
	}, 2*time.Second, 10*time.Millisecond, "still locked for %v (%v)", d, err)
}

func TestLockoutLocksAtThresholdAndResets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := ratelimit.NewLockout(testenv.Redis(t), testenv.UniqueName("lotest:"),
		ratelimit.LockoutPolicy{Threshold: 5, Window: 15 * time.Minute, BaseLock: 30 * time.Second, MaxLock: time.Hour})
	const id = "alice@example.com"

	d, err := lo.Locked(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, d, "unknown identifiers are not locked")

	for i := range 4 {
		d, err := lo.Fail(ctx, id)
		require.NoError(t, err)
		assert.Zero(t, d, "failure %d", i+1)
	}
	d, err = lo.Locked(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, d)

	d, err = lo.Fail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, d, "5th failure locks for BaseLock")

	d, err = lo.Locked(ctx, id)
	require.NoError(t, err)
	assert.Greater(t, d, 29*time.Second)
	assert.LessOrEqual(t, d, 30*time.Second)

	d, err = lo.Fail(ctx, id)
	require.NoError(t, err)
	assert.LessOrEqual(t, d, 30*time.Second, "failing while locked does not escalate")

	other, err := lo.Locked(ctx, "bob@example.com")
	require.NoError(t, err)
	assert.Zero(t, other, "identifiers are independent")

	require.NoError(t, lo.Reset(ctx, id))
	d, err = lo.Locked(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, d, "Reset clears the lock")
	for i := range 4 {
		d, err := lo.Fail(ctx, id)
		require.NoError(t, err)
		assert.Zero(t, d, "Reset forgot earlier failures; failure %d", i+1)
	}
	d, err = lo.Fail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, d, "Reset forgot the lock level too")
}

func TestLockoutDoublesAfterLockEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := ratelimit.NewLockout(testenv.Redis(t), testenv.UniqueName("lotest:"),
		ratelimit.LockoutPolicy{Threshold: 3, Window: time.Minute, BaseLock: 200 * time.Millisecond, MaxLock: time.Minute})
	const id = "carol"

	var d time.Duration
	for range 3 {
		var err error
		d, err = lo.Fail(ctx, id)
		require.NoError(t, err)
	}
	require.Equal(t, 200*time.Millisecond, d)
	waitUnlocked(t, lo, id)

	d, err := lo.Fail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 400*time.Millisecond, d, "first failure after the lock doubles it")
	locked, err := lo.Locked(ctx, id)
	require.NoError(t, err)
	assert.Greater(t, locked, 200*time.Millisecond)
	assert.LessOrEqual(t, locked, 400*time.Millisecond)
}

func TestLockoutCapsAtMaxLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := ratelimit.NewLockout(testenv.Redis(t), testenv.UniqueName("lotest:"),
		ratelimit.LockoutPolicy{Threshold: 2, Window: time.Minute, BaseLock: 200 * time.Millisecond, MaxLock: 300 * time.Millisecond})
	const id = "dave"

	_, err := lo.Fail(ctx, id)
	require.NoError(t, err)
	d, err := lo.Fail(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 200*time.Millisecond, d)

	for i := range 2 {
		waitUnlocked(t, lo, id)
		d, err = lo.Fail(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 300*time.Millisecond, d, "capped lock %d", i+1)
	}
}

func TestLockoutForgetsFailuresOutsideWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("lotest:")
	lo := ratelimit.NewLockout(rdb, prefix,
		ratelimit.LockoutPolicy{Threshold: 3, Window: 150 * time.Millisecond, BaseLock: time.Minute})
	const id = "erin"

	for range 2 {
		d, err := lo.Fail(ctx, id)
		require.NoError(t, err)
		require.Zero(t, d)
	}
	// The failures' set expires with the window after the last failure.
	failures := prefix + "{" + hashOf(id) + "}:f"
	require.Eventually(t, func() bool { return rdb.Exists(ctx, failures).Val() == 0 },
		2*time.Second, 10*time.Millisecond, "the failures outlived their window")
	d, err := lo.Fail(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, d, "the first two failures fell out of the window")
}

func TestLockoutConcurrentFailCountsExactly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)

	t.Run("below threshold", func(t *testing.T) {
		lo := ratelimit.NewLockout(rdb, testenv.UniqueName("lotest:"),
			ratelimit.LockoutPolicy{Threshold: 50, Window: time.Minute, BaseLock: time.Minute})
		var wg sync.WaitGroup
		var errs atomic.Int32
		for range 49 {
			wg.Go(func() {
				if d, err := lo.Fail(ctx, "frank"); err != nil || d != 0 {
					errs.Add(1)
				}
			})
		}
		wg.Wait()
		require.Zero(t, errs.Load())
		d, err := lo.Fail(ctx, "frank")
		require.NoError(t, err)
		assert.Equal(t, time.Minute, d, "the 50th failure locks: all 49 concurrent ones were counted")
	})

	t.Run("racing past the threshold", func(t *testing.T) {
		lo := ratelimit.NewLockout(rdb, testenv.UniqueName("lotest:"),
			ratelimit.LockoutPolicy{Threshold: 5, Window: time.Minute, BaseLock: time.Minute})
		var wg sync.WaitGroup
		var unlocked, exactBase, errs atomic.Int32
		for range 30 {
			wg.Go(func() {
				d, err := lo.Fail(ctx, "grace")
				switch {
				case err != nil || d > time.Minute:
					errs.Add(1)
				case d == 0:
					unlocked.Add(1)
				case d == time.Minute:
					exactBase.Add(1)
				}
			})
		}
		wg.Wait()
		require.Zero(t, errs.Load())
		assert.EqualValues(t, 4, unlocked.Load(), "only the first 4 failures leave it unlocked")
		assert.GreaterOrEqual(t, exactBase.Load(), int32(1))
		d, err := lo.Locked(ctx, "grace")
		require.NoError(t, err)
		assert.Greater(t, d, 59*time.Second, "racing failures do not escalate the lock")
		assert.LessOrEqual(t, d, time.Minute)
	})
}

func TestLockoutKeysArePrefixedHashedAndExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("lotest:")
	lo := ratelimit.NewLockout(rdb, prefix,
		ratelimit.LockoutPolicy{Threshold: 2, Window: time.Minute, BaseLock: 10 * time.Second, MaxLock: time.Minute})
	const id = "mallory@example.com"

	for range 2 {
		_, err := lo.Fail(ctx, id)
		require.NoError(t, err)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 3, "failures, state and lock")
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, prefix+"{"), k)
		assert.NotContains(t, k, "mallory")
		ttl, err := rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, k)
		assert.LessOrEqual(t, ttl, 10*time.Second+time.Minute, k)
	}

	require.NoError(t, lo.Reset(ctx, id))
	keys, err = rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "Reset removes everything")
}

func TestLockoutRedisDownReturnsError(t *testing.T) {
	t.Parallel()
	rdb := deadRedis(t)
	lo := ratelimit.NewLockout(rdb, "lotest:", ratelimit.LockoutPolicy{})
	ctx := context.Background()

	_, err := lo.Fail(ctx, "x")
	assert.Error(t, err)
	_, err = lo.Locked(ctx, "x")
	assert.Error(t, err)
	assert.Error(t, lo.Reset(ctx, "x"))
}

func TestLockoutPolicyDefaults(t *testing.T) {
	lo := ratelimit.NewLockout(nil, "", ratelimit.LockoutPolicy{})
	assert.Equal(t, ratelimit.LockoutPolicy{Threshold: 5, Window: 15 * time.Minute, BaseLock: 30 * time.Second, MaxLock: time.Hour}, lo.Policy())
	lo = ratelimit.NewLockout(nil, "", ratelimit.LockoutPolicy{BaseLock: 2 * time.Hour})
	assert.Equal(t, 2*time.Hour, lo.Policy().MaxLock, "MaxLock is raised to BaseLock")
}

// One call may name several identifiers (a login name and an account): each
// is counted on its own, the longest lock wins, and Reset clears them all.
func TestLockoutSeveralIdentifiersInOneCall(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("lotest:")
	lo := ratelimit.NewLockout(rdb, prefix, ratelimit.LockoutPolicy{Threshold: 3, Window: time.Minute, BaseLock: time.Minute, MaxLock: time.Hour})

	d, err := lo.Locked(ctx)
	require.NoError(t, err)
	assert.Zero(t, d, "no identifiers, no lock")
	d, err = lo.Fail(ctx)
	require.NoError(t, err)
	assert.Zero(t, d)

	for range 2 {
		d, err = lo.Fail(ctx, "name:alice", "user:1")
		require.NoError(t, err)
		assert.Zero(t, d)
	}
	// The script cache may be empty (a Redis restart, a new cluster node):
	// every identifier is still counted exactly once.
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	d, err = lo.Fail(ctx, "name:alice@example.com", "user:1")
	require.NoError(t, err)
	assert.Equal(t, time.Minute, d, "the account's third failure locks, under any name")

	for ids, want := range map[string][]string{"locked": {"user:1"}, "locked with another": {"name:alice", "user:1"}} {
		d, err := lo.Locked(ctx, want...)
		require.NoError(t, err)
		assert.Greater(t, d, 59*time.Second, ids)
	}
	for _, id := range []string{"name:alice", "name:alice@example.com"} {
		d, err := lo.Locked(ctx, id)
		require.NoError(t, err)
		assert.Zero(t, d, "%s failed fewer than 3 times", id)
	}
	n, err := rdb.ZCard(ctx, prefix+"{"+hashOf("name:alice@example.com")+"}:f").Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "counted once despite the flushed script cache")

	require.NoError(t, lo.Reset(ctx, "name:alice", "user:1"))
	d, err = lo.Locked(ctx, "name:alice", "user:1", "name:alice@example.com")
	require.NoError(t, err)
	assert.Zero(t, d)
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 2, "only name:alice@example.com's failures and level are left: %v", keys)
}

// hashOf is how a lockout names an identifier's keys.
func hashOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
