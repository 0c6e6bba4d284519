package cache

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/testenv"
)

// newCache returns a cache on the test Redis under a unique prefix, whose keys
// are deleted when the test ends.
func newCache(t *testing.T) (*Cache, *redis.Client) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("cachetest:") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return New(rdb, prefix, nil), rdb
}

// counter returns a loader that counts its calls and returns val.
func counter(n *atomic.Int64, val string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		n.Add(1)
		return []byte(val), nil
	}
}

func TestMissLoadHit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	var n atomic.Int64

	for range 3 {
		v, err := c.GetOrLoad(ctx, "p1", 100*time.Second, counter(&n, "page-1"))
		require.NoError(t, err)
		assert.Equal(t, "page-1", string(v))
	}
	assert.EqualValues(t, 1, n.Load())
	assert.Equal(t, Stats{Hits: 2, Misses: 1, Loads: 1}, c.Stats())

	ttl, err := rdb.PTTL(ctx, c.k("v:", "p1")).Result()
	require.NoError(t, err)
	assert.InDelta(t, 100*time.Second, ttl, float64(10*time.Second))
}

func TestTTLJitter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	var n atomic.Int64
	lo, hi := time.Hour, time.Duration(0)
	for i := range 30 {
		key := "k" + string(rune('a'+i))
		_, err := c.GetOrLoad(ctx, key, 100*time.Second, counter(&n, "x"))
		require.NoError(t, err)
		ttl, err := rdb.PTTL(ctx, c.k("v:", key)).Result()
		require.NoError(t, err)
		require.GreaterOrEqual(t, ttl, 89*time.Second, key) // 90s minus test time
		require.LessOrEqual(t, ttl, 110*time.Second, key)
		lo, hi = min(lo, ttl), max(hi, ttl)
	}
	assert.Greater(t, hi-lo, time.Second, "TTLs are spread, not identical")
}

func TestConcurrentColdKeyLoadsOnce(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	var n atomic.Int64
	load := func(context.Context) ([]byte, error) {
		n.Add(1)
		// Every caller has missed, and so joins this load or finds its value.
		if err := until(func() bool { return c.misses.Load() == 100 }); err != nil {
			return nil, err
		}
		return []byte("cold"), nil
	}
	runConcurrently(t, 100, func(int) (*Cache, func(context.Context) ([]byte, error)) { return c, load })
	assert.EqualValues(t, 1, n.Load())
}

func TestTwoProcessesShareOneLoad(t *testing.T) {
	t.Parallel()
	a, _ := newCache(t)
	b := New(testenv.Redis(t), a.prefix, nil) // own client and singleflight: another process
	var n atomic.Int64
	load := func(context.Context) ([]byte, error) {
		n.Add(1)
		if err := until(func() bool { return a.misses.Load()+b.misses.Load() == 100 }); err != nil {
			return nil, err
		}
		return []byte("cold"), nil
	}
	runConcurrently(t, 100, func(i int) (*Cache, func(context.Context) ([]byte, error)) {
		if i%2 == 0 {
			return a, load
		}
		return b, load
	})
	assert.LessOrEqual(t, n.Load(), int64(2))
	t.Logf("loads across two instances: %d", n.Load())
}

// until blocks until cond holds, or answers an error after a bound; for
// loaders, which run outside the test's goroutine.
func until(cond func() bool) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return errors.New("condition not met within 10s")
		}
	}
	return nil
}

// runConcurrently starts n GetOrLoad calls on one cold key at once and checks they all get the value.
func runConcurrently(t *testing.T, n int, pick func(i int) (*Cache, func(context.Context) ([]byte, error))) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c, load := pick(i)
		wg.Go(func() {
			<-start
			v, err := c.GetOrLoad(context.Background(), "cold", time.Minute, load)
			if err == nil && string(v) != "cold" {
				err = errors.New("got " + string(v))
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestLockMakesOtherProcessWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := newCache(t)
	b := New(testenv.Redis(t), a.prefix, nil)

	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := a.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return []byte("from-a"), nil
		})
		done <- err
	}()
	<-started // a holds the lock
	time.AfterFunc(300*time.Millisecond, func() { close(release) })

	var nb atomic.Int64
	v, err := b.GetOrLoad(ctx, "k", time.Minute, counter(&nb, "from-b"))
	require.NoError(t, err)
	assert.Equal(t, "from-a", string(v), "b waited for a's fill")
	assert.Zero(t, nb.Load())
	require.NoError(t, <-done)
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	var n atomic.Int64
	_, err := c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "old"))
	require.NoError(t, err)

	require.NoError(t, c.Invalidate(ctx, "p1", "never-cached"))
	assert.Zero(t, rdb.Exists(ctx, c.k("v:", "p1")).Val())

	v, err := c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "new"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(v))
	assert.EqualValues(t, 2, n.Load())
	// A fill after the invalidation is cached again.
	v, err = c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "newer"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(v))
}

func TestInvalidateTag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	var n atomic.Int64
	for _, k := range []string{"list:1", "list:2"} {
		_, err := c.GetOrLoad(ctx, k, time.Minute, counter(&n, "old"), WithTags("products"))
		require.NoError(t, err)
	}
	_, err := c.GetOrLoad(ctx, "other", 100*time.Second, counter(&n, "other"), WithTags("orders", "products-x"))
	require.NoError(t, err)

	tagSet := c.prefix + "tag:products"
	members, err := rdb.SMembers(ctx, tagSet).Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{c.k("v:", "list:1"), c.k("v:", "list:2")}, members)
	setTTL := rdb.PTTL(ctx, tagSet).Val()
	for _, k := range members {
		assert.GreaterOrEqual(t, setTTL, rdb.PTTL(ctx, k).Val(), "tag set outlives %s", k)
	}

	require.NoError(t, c.InvalidateTag(ctx, "products"))
	assert.Zero(t, rdb.Exists(ctx, tagSet, c.k("v:", "list:1"), c.k("v:", "list:2")).Val())
	assert.EqualValues(t, 1, rdb.Exists(ctx, c.k("v:", "other")).Val(), "other tags untouched")

	v, err := c.GetOrLoad(ctx, "list:1", time.Minute, counter(&n, "new"), WithTags("products"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(v))
}

// A load that began before a write's invalidation must not re-cache its old data.
func TestInvalidateDuringSlowLoadDoesNotCacheStale(t *testing.T) {
	for name, invalidate := range map[string]func(*Cache) error{
		"key": func(c *Cache) error { return c.Invalidate(context.Background(), "p1") },
		"tag": func(c *Cache) error { return c.InvalidateTag(context.Background(), "products") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, rdb := newCache(t)
			started, release := make(chan struct{}), make(chan struct{})
			done := make(chan []byte)
			go func() {
				v, err := c.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) {
					close(started)
					<-release // the database read happened before the write
					return []byte("old"), nil
				}, WithTags("products"))
				assert.NoError(t, err)
				done <- v
			}()
			<-started
			require.NoError(t, invalidate(c)) // the write commits and invalidates
			close(release)
			assert.Equal(t, "old", string(<-done), "the in-flight caller still gets what it read")
			assert.Zero(t, rdb.Exists(ctx, c.k("v:", "p1")).Val(), "old value not cached")

			var n atomic.Int64
			v, err := c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "new"), WithTags("products"))
			require.NoError(t, err)
			assert.Equal(t, "new", string(v))
			assert.EqualValues(t, 1, n.Load())
		})
	}
}

func TestLoadErrorIsReturnedNotCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	boom := errors.New("db down")
	_, err := c.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	assert.Zero(t, rdb.Exists(ctx, c.k("v:", "p1"), c.k("lock:", "p1")).Val(), "nothing cached, lock released")

	var n atomic.Int64
	v, err := c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(v))
	assert.EqualValues(t, 1, c.Stats().LoadErrors)
}

func TestCallerCancelDoesNotFailSharedLoad(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	started, release := make(chan struct{}), make(chan struct{})
	load := func(ctx context.Context) ([]byte, error) {
		close(started)
		<-release
		return []byte("v"), ctx.Err()
	}
	ctx1, cancel := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() { _, err := c.GetOrLoad(ctx1, "k", time.Minute, load); errA <- err }()
	<-started
	resB := make(chan []byte, 1)
	go func() {
		v, err := c.GetOrLoad(context.Background(), "k", time.Minute, load)
		assert.NoError(t, err)
		resB <- v
	}()
	// B has missed: it joins the flight A started (still blocked on release).
	require.Eventually(t, func() bool { return c.misses.Load() == 2 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errA, context.Canceled)
	close(release)
	assert.Equal(t, "v", string(<-resB))
}

func TestRedisDownServesUncached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	var logs syncBuffer
	c := New(rdb, "down:", slog.New(slog.NewTextHandler(&logs, nil)))

	var n atomic.Int64
	for range 20 {
		v, err := c.GetOrLoad(ctx, "p1", time.Minute, counter(&n, "fresh"), WithTags("products"))
		require.NoError(t, err)
		assert.Equal(t, "fresh", string(v))
	}
	s, err := GetOrLoadJSON(ctx, c, "j", time.Minute, func(context.Context) (string, error) { return "typed", nil })
	require.NoError(t, err)
	assert.Equal(t, "typed", s)
	assert.EqualValues(t, 20, n.Load())
	assert.Positive(t, c.Stats().Errors)
	assert.Equal(t, 1, strings.Count(logs.String(), "redis unavailable"), "warning is rate-limited:\n%s", logs.String())

	require.Error(t, c.Invalidate(ctx, "p1"))
	require.Error(t, c.InvalidateTag(ctx, "products"))
}

func TestRedisSlowServesUncachedQuickly(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	c := New(rdb, "slow:", nil)

	var n atomic.Int64
	begin := time.Now()
	v, err := c.GetOrLoad(context.Background(), "p1", time.Minute, counter(&n, "fresh"))
	require.NoError(t, err)
	assert.Equal(t, "fresh", string(v))
	assert.Less(t, time.Since(begin), time.Second, "bounded by the per-call timeout, not Redis")
}

type product struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Cents int64    `json:"cents"`
	Tags  []string `json:"tags"`
}

func TestGetOrLoadJSON(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rdb := newCache(t)
	want := product{ID: "p1", Name: "Mug", Cents: 1299, Tags: []string{"kitchen"}}
	var n atomic.Int64
	load := func(context.Context) (product, error) { n.Add(1); return want, nil }

	for range 2 {
		got, err := GetOrLoadJSON(ctx, c, "p1", time.Minute, load, WithTags("products"))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.EqualValues(t, 1, n.Load())

	// An entry in an old shape is dropped and reloaded, not an error.
	require.NoError(t, rdb.Set(ctx, c.k("v:", "p1"), `{"cents":"not a number"}`, time.Minute).Err())
	got, err := GetOrLoadJSON(ctx, c, "p1", time.Minute, load)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A fill serves every waiting caller, so it never inherits one caller's
// leave to read a stale replica: its reads go to the primary.
func TestLoadReadsThePrimary(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	ctx := db.ReplicaOK(context.Background(), 0)
	require.True(t, db.ReplicaAllowed(ctx))
	var allowed atomic.Bool
	allowed.Store(true)
	_, err := c.GetOrLoad(ctx, "fill", time.Minute, func(lctx context.Context) ([]byte, error) {
		allowed.Store(db.ReplicaAllowed(lctx))
		return []byte("v"), nil
	})
	require.NoError(t, err)
	assert.False(t, allowed.Load(), "the loader may read the replica")
}
