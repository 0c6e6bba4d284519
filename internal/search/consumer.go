package search

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/outbox"
)

// IndexConsumer keeps the Elasticsearch index in step with the catalog: it
// is the outbox's "search" consumer. Each delivery re-reads the changed
// products from PostgreSQL, so a redelivery never writes stale data.
type IndexConsumer struct {
	Pool    *pgxpool.Pool
	Elastic *Elastic
}

// ConsumerName is the outbox consumer registered for the search index.
const ConsumerName = "search"

// Name implements outbox.Consumer.
func (IndexConsumer) Name() string { return ConsumerName }

// Deliver implements outbox.Consumer: changed products are synced; every
// product under a changed category (its path or visibility changed) is
// queued as a product.resync event, so a big category is re-indexed in
// the relay's batches instead of one long delivery.
func (c IndexConsumer) Deliver(ctx context.Context, events []outbox.Event) error {
	for _, cat := range outbox.EntityIDs(events, outbox.TopicCategoryChanged) {
		if err := resyncUnder(ctx, c.Pool, cat); err != nil {
			return err
		}
	}
	ids := append(outbox.EntityIDs(events, outbox.TopicProductChanged), outbox.EntityIDs(events, outbox.TopicProductResync)...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for chunk := range slices.Chunk(ids, 500) {
		if _, err := Sync(ctx, c.Pool, c.Elastic, "", chunk); err != nil {
			return err
		}
	}
	return nil
}

// resyncUnder queues every product under the category (descendants
// included) for the search index. Queued again on a redelivery: harmless.
func resyncUnder(ctx context.Context, pool *pgxpool.Pool, categoryID int64) error {
	_, err := pool.Exec(ctx, `WITH RECURSIVE sub AS (
		SELECT id FROM categories WHERE id = $1
		UNION SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id)
		INSERT INTO outbox_events (topic, entity_id)
		SELECT $2, p.id FROM products p JOIN sub ON p.category_id = sub.id ORDER BY p.id`, categoryID, outbox.TopicProductResync)
	if err != nil {
		return fmt.Errorf("search: queue products under category %d: %w", categoryID, err)
	}
	return nil
}

// Sync writes the current state of products to index ("" = the alias):
// active ones are upserted, archived or missing ones deleted. It answers how
// many are live in the index.
func Sync(ctx context.Context, pool *pgxpool.Pool, es *Elastic, index string, ids []int64) (int, error) {
	if index == "" {
		// The first write of a fresh installation creates the index behind the alias.
		if err := es.EnsureIndex(ctx); err != nil {
			return 0, err
		}
	}
	docs, missing, err := LoadDocs(ctx, pool, ids)
	if err != nil {
		return 0, err
	}
	var live []Doc
	gone := missing
	for _, d := range docs {
		if d.Active {
			live = append(live, d)
		} else {
			gone = append(gone, d.ID)
		}
	}
	if len(live) > 0 {
		if err := es.Upsert(ctx, index, live); err != nil {
			return 0, err
		}
	}
	if len(gone) > 0 {
		if err := es.Delete(ctx, index, gone); err != nil {
			return 0, err
		}
	}
	return len(live), nil
}
