package catalog

import (
	"context"
	"errors"
	"strconv"

	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/outbox"
)

// Storefront cache entries of the catalog: the API reads through them, and
// CacheConsumer drops them when the catalog changes.
const (
	// ListingsCacheTag is carried by every cached listing (product lists,
	// categories); any catalog change drops them all.
	ListingsCacheTag = "listings"
	// CacheConsumerName is the outbox consumer registered for the cache.
	CacheConsumerName = "cache"
)

// ProductCacheKey is the cache key of a product's page.
func ProductCacheKey(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// CacheConsumer is the outbox's "cache" consumer: it drops the cached pages
// of changed products and every cached listing. While Redis is down the
// deliveries wait in the outbox and are applied when it is back, so a page
// cached before the outage is not served stale for its whole TTL.
type CacheConsumer struct{ Cache *cache.Cache }

// Name implements outbox.Consumer.
func (CacheConsumer) Name() string { return CacheConsumerName }

// Deliver implements outbox.Consumer.
func (c CacheConsumer) Deliver(ctx context.Context, events []outbox.Event) error {
	ids := outbox.EntityIDs(events, outbox.TopicProductChanged)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = ProductCacheKey(id)
	}
	return errors.Join(c.Cache.Invalidate(ctx, keys...), c.Cache.InvalidateTag(ctx, ListingsCacheTag))
}
