package workers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/searchsync"
)

// TestReindexRebuildsTheIndex runs a zero-downtime reindex in pages and
// records its history for the replay test of workflows/searchsync.
func TestReindexRebuildsTheIndex(t *testing.T) {
	esURL := testenv.RequireElasticsearch(t)
	alias := testenv.UniqueName("test-reindex-")
	es, err := search.NewElastic(esURL, alias)
	require.NoError(t, err)
	t.Cleanup(func() {
		names, _ := es.Indices(context.Background(), alias)
		for _, n := range names {
			_ = es.DeleteIndex(context.Background(), n)
		}
	})
	c := testenv.Temporal(t)
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	queue := testenv.UniqueName("test-reindex-")
	w := workers.New(c, queue, workers.Deps{Catalog: store, Pool: pool, Elastic: es, SearchAlias: alias, GuardActivityOptions: true})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := store.CreateCategory(ctx, catalog.CategoryDraft{Name: "Gadgets"})
	require.NoError(t, err)
	var want []int64
	for i := range 5 {
		p, err := store.CreateProduct(ctx, catalog.ProductDraft{SKU: fmt.Sprintf("REINDEX-%d", i), Name: fmt.Sprintf("Reindexed gadget %d", i),
			CategoryID: cat.ID, Price: money.Money{Amount: int64(1000 + i), Currency: "USD"}, StockQuantity: 1})
		require.NoError(t, err)
		want = append(want, p.ID)
	}

	run, err := searchsync.StartReindex(ctx, c, queue, testenv.UniqueName("test-reindex-"), 2)
	require.NoError(t, err)
	var p searchsync.ReindexProgress
	require.NoError(t, run.Get(ctx, &p))
	assert.Equal(t, "done", p.Phase)
	assert.Equal(t, want[len(want)-1], p.Copied, "every product copied")
	assert.Equal(t, 4, countActivities(t, c, run, "CopyPage"), "three pages of at most 2, then an empty one")

	names, err := es.Indices(ctx, alias)
	require.NoError(t, err)
	assert.Equal(t, []string{p.Index}, names, "the alias serves the new index alone")
	var got []int64
	require.Eventually(t, func() bool {
		res, err := es.Search(ctx, search.Query{Text: "gadget", Limit: 10})
		got = got[:0]
		for _, h := range res.Hits {
			got = append(got, h.ProductID)
		}
		return err == nil && len(got) == len(want)
	}, 30*time.Second, 50*time.Millisecond, "the alias serves every product (%v)", got)
	assert.ElementsMatch(t, want, got)

	shoptest.RecordHistory(t, c, run.GetID(), "../workflows/searchsync/testdata/reindex.json")
}
