package cache

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/testenv"
)

// withLocal starts c's local level and waits until it serves.
func withLocal(t *testing.T, c *Cache, cfg LocalConfig) {
	t.Helper()
	t.Cleanup(c.StartLocal(cfg))
	require.NoError(t, until(c.LocalServing), "the local level never subscribed")
}

// readThrough reads key as the API does: local level first, else through
// Redis, keeping the value locally.
func readThrough(t *testing.T, c *Cache, key, val string, opts ...Option) string {
	t.Helper()
	if forms := c.Local(key); forms != nil {
		return string(forms["v"])
	}
	ticket := c.LocalTicket()
	v, err := c.GetOrLoad(context.Background(), key, time.Minute, func(context.Context) ([]byte, error) { return []byte(val), nil }, opts...)
	require.NoError(t, err)
	c.PutLocal(ticket, key, map[string][]byte{"v": v}, opts...)
	return string(v)
}

// otherProcess is a second cache on the same Redis keys, as the worker's.
func otherProcess(t *testing.T, c *Cache) *Cache {
	return New(testenv.Redis(t), c.prefix, nil)
}

func TestLocalWriteElsewhereDropsLocalEntry(t *testing.T) {
	for name, invalidate := range map[string]func(*Cache) error{
		"key": func(c *Cache) error { return c.Invalidate(context.Background(), "p1") },
		"tag": func(c *Cache) error { return c.InvalidateTag(context.Background(), "products") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			api, _ := newCache(t)
			withLocal(t, api, LocalConfig{TTL: time.Hour})
			worker := otherProcess(t, api)

			assert.Equal(t, "old", readThrough(t, api, "p1", "old", WithTags("products")))
			require.NotNil(t, api.Local("p1"), "kept locally")
			assert.Equal(t, "old", readThrough(t, api, "p1", "unused", WithTags("products")))
			assert.EqualValues(t, 2, api.Stats().LocalHits)

			require.NoError(t, invalidate(worker))
			require.NoError(t, until(func() bool { return api.Local("p1") == nil }), "the local entry outlived the write")
			assert.Equal(t, "new", readThrough(t, api, "p1", "new", WithTags("products")))
		})
	}
}

func TestLocalInvalidationDuringFillIsNotUndone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api, _ := newCache(t)
	withLocal(t, api, LocalConfig{TTL: time.Hour})
	worker := otherProcess(t, api)

	ticket := api.LocalTicket() // a request starts reading
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan []byte)
	go func() {
		v, err := api.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) {
			close(started)
			<-release // the database read happened before the write
			return []byte("old"), nil
		})
		assert.NoError(t, err)
		done <- v
	}()
	<-started
	require.NoError(t, worker.Invalidate(ctx, "p1")) // the write commits and invalidates
	require.NoError(t, until(func() bool { return api.LocalTicket() != ticket }), "the invalidation never arrived")
	close(release)
	v := <-done
	api.PutLocal(ticket, "p1", map[string][]byte{"v": v})
	assert.Nil(t, api.Local("p1"), "what was read before the write is not kept")
	assert.Equal(t, "new", readThrough(t, api, "p1", "new"))
}

// mgetSignal signals on a channel each MGET (a fill's snapshot) sent.
type mgetSignal chan struct{}

func (m mgetSignal) DialHook(next redis.DialHook) redis.DialHook { return next }
func (m mgetSignal) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			select {
			case m <- struct{}{}:
			default:
			}
		}
		return next(ctx, cmd)
	}
}
func (m mgetSignal) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A request that takes its ticket after an invalidation must not join a
// load that started before it and keep that load's old bytes in memory.
func TestLocalRequestAfterInvalidationDoesNotJoinOlderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api, rdb := newCache(t)
	withLocal(t, api, LocalConfig{TTL: time.Hour})
	worker := otherProcess(t, api)

	// Request 1 starts a database read.
	started, release := make(chan struct{}), make(chan struct{})
	done1 := make(chan []byte)
	go func() {
		v, err := api.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) {
			close(started)
			<-release // read before the write commits
			return []byte("old"), nil
		})
		assert.NoError(t, err)
		done1 <- v
	}()
	<-started
	ticket1 := api.LocalTicket()
	require.NoError(t, worker.Invalidate(ctx, "p1")) // the write commits and invalidates
	require.NoError(t, until(func() bool { return api.LocalTicket() != ticket1 }), "the invalidation never arrived")

	// Request 2 starts after the invalidation and misses in Redis.
	snapshots := make(mgetSignal, 1)
	rdb.AddHook(snapshots)
	ticket2 := api.LocalTicket()
	done2 := make(chan []byte)
	go func() {
		v, err := api.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) { return []byte("new"), nil })
		assert.NoError(t, err)
		done2 <- v
	}()
	select {
	case <-snapshots: // its own fill: it did not join request 1's load
	case <-time.After(10 * time.Second):
		t.Fatal("request 2 joined the load that started before the invalidation")
	}
	close(release)
	assert.Equal(t, "old", string(<-done1))
	v := <-done2
	api.PutLocal(ticket2, "p1", map[string][]byte{"v": v})
	assert.Equal(t, "new", string(v), "request 2 read after the write")
	if forms := api.Local("p1"); forms != nil {
		assert.Equal(t, "new", string(forms["v"]), "no stale bytes kept in memory")
	}
}

func TestLocalOffWhileSubscriptionDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr = proxy.Addr()
	opts.MaxRetries = -1
	viaProxy := redis.NewClient(opts)
	t.Cleanup(func() { _ = viaProxy.Close() })
	prefix := testenv.UniqueName("cachetest:") + ":"
	api := New(viaProxy, prefix, nil)
	withLocal(t, api, LocalConfig{TTL: time.Hour})
	worker := New(testenv.Redis(t), prefix, nil)

	assert.Equal(t, "old", readThrough(t, api, "p1", "old"))
	require.NotNil(t, api.Local("p1"))

	proxy.SetDown(true) // the subscription (and every other connection) drops
	require.NoError(t, until(func() bool { return !api.LocalServing() }), "the local level kept serving without its subscription")
	assert.Nil(t, api.Local("p1"), "flushed: an invalidation may be lost meanwhile")
	require.NoError(t, worker.Invalidate(ctx, "p1")) // a write nobody here hears of
	v, err := api.GetOrLoad(ctx, "p1", time.Minute, func(context.Context) ([]byte, error) { return []byte("new"), nil })
	require.NoError(t, err, "Redis down: served uncached")
	assert.Equal(t, "new", string(v))
	api.PutLocal(api.LocalTicket(), "p1", map[string][]byte{"v": v})
	assert.Nil(t, api.Local("p1"), "nothing is kept while the level is off")

	proxy.SetDown(false)
	require.NoError(t, until(api.LocalServing), "the local level did not come back with the subscription")
	assert.Equal(t, "new", readThrough(t, api, "p1", "new"))
	require.NotNil(t, api.Local("p1"))
	require.NoError(t, worker.Invalidate(ctx, "p1"))
	require.NoError(t, until(func() bool { return api.Local("p1") == nil }), "invalidations reach it again")
}

func TestLocalTTLAndSizeBound(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	withLocal(t, c, LocalConfig{TTL: 50 * time.Millisecond, MaxBytes: 4096})
	readThrough(t, c, "short", "v")
	require.NotNil(t, c.Local("short"))
	require.NoError(t, until(func() bool { return c.Local("short") == nil }), "served past its local TTL")

	big := strings.Repeat("x", 400)
	for i := range 20 {
		c.PutLocal(c.LocalTicket(), "k"+strings.Repeat("0", i), map[string][]byte{"v": []byte(big)})
	}
	c.local.mu.Lock()
	held, n := c.local.bytes, len(c.local.items)
	c.local.mu.Unlock()
	assert.LessOrEqual(t, held, int64(4096))
	assert.Less(t, n, 20, "the oldest entries were evicted")
	assert.NotNil(t, c.Local("k"+strings.Repeat("0", 19)), "the newest entry is kept")
}

func TestLocalOffByDefault(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	var n atomic.Int64
	c.PutLocal(c.LocalTicket(), "p1", map[string][]byte{"v": []byte("x")})
	assert.Nil(t, c.Local("p1"))
	assert.False(t, c.LocalServing())
	_, err := c.GetOrLoad(context.Background(), "p1", time.Minute, counter(&n, "x"))
	require.NoError(t, err)
}
