// Package search holds the activities that keep the Elasticsearch index in
// step with PostgreSQL, the source of truth.
package search

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"

	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/search"
)

// Activities writes product documents to Elasticsearch.
type Activities struct {
	Pool    *pgxpool.Pool
	Elastic *search.Elastic
	Alias   string // the alias the storefront searches
}

// SyncProducts writes the current state of products to index ("" = the
// alias); see search.Sync. It reads PostgreSQL afresh on every attempt, so
// retries never write stale data.
func (a *Activities) SyncProducts(ctx context.Context, index string, ids []int64) (int, error) {
	return search.Sync(ctx, a.Pool, a.Elastic, index, ids)
}

// ReindexStart names the index a reindex builds and when it began.
type ReindexStart struct {
	Index string
	// MaxID bounds the copy; products created later come in with the catch-up.
	MaxID int64
	// Since is the database clock at the start, less a margin for
	// transactions that were open then; changes after it are caught up.
	Since time.Time
}

// catchUpMargin covers writes whose transactions started before a cut-off
// but committed after it (their updated_at is their start time).
const catchUpMargin = time.Minute

// BeginReindex creates an empty index with the current mapping.
func (a *Activities) BeginReindex(ctx context.Context) (ReindexStart, error) {
	var now time.Time
	var maxID int64
	if err := a.Pool.QueryRow(ctx, "SELECT now(), coalesce(max(id), 0) FROM products").Scan(&now, &maxID); err != nil {
		return ReindexStart{}, err
	}
	name := search.IndexName(a.Alias, now)
	if err := a.Elastic.CreateIndex(ctx, name); err != nil {
		return ReindexStart{}, err
	}
	return ReindexStart{Index: name, MaxID: maxID, Since: now.Add(-catchUpMargin)}, nil
}

// CopyPage copies up to limit products with ids in (afterID, maxID] into
// index and returns the last id copied (0 when there was nothing left).
func (a *Activities) CopyPage(ctx context.Context, index string, afterID, maxID int64, limit int) (int64, error) {
	ids, err := search.AllProductIDs(ctx, a.Pool, afterID, limit)
	if err != nil {
		return 0, err
	}
	for len(ids) > 0 && ids[len(ids)-1] > maxID {
		ids = ids[:len(ids)-1]
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := a.SyncProducts(ctx, index, ids); err != nil {
		return 0, err
	}
	activity.RecordHeartbeat(ctx, ids[len(ids)-1])
	return ids[len(ids)-1], nil
}

// CatchUp re-syncs into index every product changed since the cut-off and
// returns the next cut-off.
func (a *Activities) CatchUp(ctx context.Context, index string, since time.Time) (time.Time, error) {
	var now time.Time
	if err := a.Pool.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return time.Time{}, err
	}
	// The outbox records every change, stock and variants and categories
	// included (it keeps them longer than a reindex runs).
	rows, err := a.Pool.Query(ctx, `WITH RECURSIVE changed_categories AS (
			SELECT entity_id AS id FROM outbox_events WHERE topic = $2 AND created_at >= $1
			UNION SELECT c.id FROM categories c JOIN changed_categories cc ON c.parent_id = cc.id)
		SELECT entity_id FROM outbox_events WHERE topic = $3 AND created_at >= $1
		UNION SELECT p.id FROM products p JOIN changed_categories cc ON p.category_id = cc.id
		UNION SELECT id FROM products WHERE updated_at >= $1
		ORDER BY 1`, since, outbox.TopicCategoryChanged, outbox.TopicProductChanged)
	if err != nil {
		return time.Time{}, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return time.Time{}, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, err
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		if _, err := a.SyncProducts(ctx, index, ids[:n]); err != nil {
			return time.Time{}, err
		}
		ids = ids[n:]
	}
	return now.Add(-catchUpMargin), nil
}

// SwapAlias points the alias at index atomically and returns the indexes it
// pointed at before.
func (a *Activities) SwapAlias(ctx context.Context, index string) ([]string, error) {
	prev, err := a.Elastic.PointAlias(ctx, a.Alias, index)
	if err != nil {
		return nil, fmt.Errorf("point %s at %s: %w", a.Alias, index, err)
	}
	return prev, nil
}

// DeleteIndexes drops indexes no alias serves any more.
func (a *Activities) DeleteIndexes(ctx context.Context, names []string) error {
	for _, n := range names {
		if err := a.Elastic.DeleteIndex(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
