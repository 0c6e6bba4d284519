package catalog_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/testenv"
)

// A change committed while Redis is down is applied to the cache when Redis
// is back: the page cached before the outage is not served stale for the
// rest of its TTL.
func TestCacheCatchesUpAfterARedisOutage(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	real := testenv.Redis(t)
	proxy := testenv.NewProxy(t, real.Options().Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DB: real.Options().DB, MaxRetries: -1,
		ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	quiet := slog.New(slog.DiscardHandler)
	c := cache.New(rdb, testenv.UniqueName("test-catalog-cache-")+":", quiet)

	kitchen, err := store.CreateCategory(ctx, catalog.CategoryDraft{Name: "Kitchen"})
	require.NoError(t, err)
	p, err := store.CreateProduct(ctx, catalog.ProductDraft{SKU: "MUG-1", Name: "Mug", CategoryID: kitchen.ID,
		Price: money.Money{Amount: 900, Currency: "USD"}, StockQuantity: 4})
	require.NoError(t, err)
	page := func() string {
		b, err := c.GetOrLoad(ctx, catalog.ProductCacheKey(p.ID), time.Hour, func(ctx context.Context) ([]byte, error) {
			got, err := store.GetProduct(ctx, p.ID)
			return []byte(got.Name), err
		}, cache.WithTags(catalog.ListingsCacheTag))
		require.NoError(t, err)
		return string(b)
	}

	testenv.RunRelay(t, &outbox.Relay{Pool: pool, Log: quiet, Poll: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Consumers: []outbox.Consumer{catalog.CacheConsumer{Cache: c}}})

	assert.Equal(t, "Mug", page(), "cached for an hour")
	proxy.SetDown(true)
	_, err = store.UpdateProduct(ctx, p.ID, catalog.ProductPatch{Name: ptr("Travel Mug")})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var failed bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_deliveries WHERE consumer = 'cache' AND attempts > 0)`).Scan(&failed)
		return err == nil && failed
	}, 10*time.Second, 20*time.Millisecond, "the invalidation fails and waits in the outbox")
	assert.Equal(t, "Travel Mug", page(), "with Redis down, pages are read from PostgreSQL")

	proxy.SetDown(false)
	require.Eventually(t, func() bool { return page() == "Travel Mug" }, 10*time.Second, 20*time.Millisecond,
		"back up, Redis no longer holds the old page")
	require.Eventually(t, func() bool {
		bl, err := outbox.Backlogs(ctx, pool)
		if err != nil {
			return false
		}
		for _, b := range bl {
			if b.Consumer == catalog.CacheConsumerName {
				return b.Pending == 0
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the delivery is marked done")
}

func ptr[T any](v T) *T { return &v }
