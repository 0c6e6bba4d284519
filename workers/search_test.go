package workers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workflows/searchsync"
)

// flakyProxy stands in front of Elasticsearch and can play dead.
type flakyProxy struct {
	down  atomic.Bool
	proxy *httputil.ReverseProxy
}

func (f *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		http.Error(w, "node unavailable", http.StatusServiceUnavailable)
		return
	}
	f.proxy.ServeHTTP(w, r)
}

type searchRig struct {
	c      client.Client
	queue  string
	store  *catalog.Store
	pool   *pgxpool.Pool
	es     *search.Elastic // direct, for assertions
	proxy  *flakyProxy
	cat    int64
	prefix string
}

func newSearchRig(t *testing.T) *searchRig {
	t.Helper()
	esURL := testenv.RequireElasticsearch(t)
	u, err := url.Parse(esURL)
	require.NoError(t, err)
	fp := &flakyProxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)

	alias := testenv.UniqueName("test-products-")
	viaProxy, err := search.NewElastic(srv.URL, alias)
	require.NoError(t, err)
	direct, err := search.NewElastic(esURL, alias)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		names, _ := direct.Indices(ctx, alias)
		for _, n := range names {
			_ = direct.DeleteIndex(ctx, n)
		}
	})

	c := testenv.Temporal(t)
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	queue := testenv.UniqueName("test-search-")
	w := workers.New(c, queue, workers.Deps{Catalog: store, Pool: pool, Elastic: viaProxy, SearchAlias: alias, GuardActivityOptions: true})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	// The outbox relay, as `shop worker` runs it, keeps the index in step.
	testenv.RunRelay(t, &outbox.Relay{Pool: pool, Poll: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Consumers: []outbox.Consumer{search.IndexConsumer{Pool: pool, Elastic: viaProxy}}})

	cat, err := store.CreateCategory(context.Background(), catalog.CategoryDraft{Name: "Gadgets"})
	require.NoError(t, err)
	return &searchRig{c: c, queue: queue, store: store, pool: pool, es: direct, proxy: fp, cat: cat.ID, prefix: queue}
}

// create adds a product through the catalog; its outbox event does the rest.
func (r *searchRig) create(t *testing.T, i int) int64 {
	id, err := r.tryCreate(i)
	require.NoError(t, err)
	return id
}

// tryCreate is create for other goroutines than the test's.
func (r *searchRig) tryCreate(i int) (int64, error) {
	p, err := r.store.CreateProduct(context.Background(), catalog.ProductDraft{
		SKU: fmt.Sprintf("GADGET-%04d", i), Name: fmt.Sprintf("Gadget number %d", i), CategoryID: r.cat,
		Price: money.Money{Amount: int64(1000 + i), Currency: "USD"}, StockQuantity: 5})
	return p.ID, err
}

// indexed returns the sorted ids the alias serves for text ("" = all); nil
// while the index does not exist yet.
func (r *searchRig) indexed(t *testing.T, text string) []int64 {
	res, err := r.es.Search(context.Background(), search.Query{Text: text, Limit: 100})
	if err != nil {
		t.Logf("search: %v", err)
		return nil
	}
	var ids []int64
	for _, h := range res.Hits {
		ids = append(ids, h.ProductID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// converge waits until the index serves exactly want for text.
func (r *searchRig) converge(t *testing.T, want []int64, text string) {
	t.Helper()
	var got []int64
	if !assert.Eventually(t, func() bool { got = r.indexed(t, text); return assert.ObjectsAreEqual(want, got) },
		90*time.Second, 200*time.Millisecond) {
		require.Equal(t, want, got, "the index must serve exactly the active products")
	}
}

// activeIDs lists the active products whose name contains text, from PostgreSQL.
func (r *searchRig) activeIDs(t *testing.T, text string) []int64 {
	page, _, err := r.store.ListProducts(context.Background(), catalog.ListFilter{Limit: 100})
	require.NoError(t, err)
	var ids []int64
	for _, p := range page {
		if strings.Contains(p.Name, text) {
			ids = append(ids, p.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func TestIndexCatchesUpAfterAnElasticsearchOutage(t *testing.T) {
	r := newSearchRig(t)
	for i := range 3 {
		r.create(t, i)
	}
	require.Eventually(t, func() bool { return len(r.indexed(t, "")) == 3 }, 30*time.Second, 200*time.Millisecond)

	r.proxy.down.Store(true)
	var during []int64
	for i := 3; i < 8; i++ {
		during = append(during, r.create(t, i))
	}
	require.NoError(t, r.store.ArchiveProduct(context.Background(), during[0]))
	require.Eventually(t, func() bool {
		var failed int
		err := r.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox_deliveries
			WHERE consumer = 'search' AND attempts >= 2`).Scan(&failed)
		return err == nil && failed > 0
	}, 30*time.Second, 50*time.Millisecond, "deliveries fail and wait in the outbox")
	assert.Len(t, r.indexed(t, ""), 3, "nothing reaches the index while it is down")

	r.proxy.down.Store(false)
	want := r.activeIDs(t, "")
	require.Len(t, want, 7)
	r.converge(t, want, "")
}

func TestReindexUnderConcurrentWritesLosesNothing(t *testing.T) {
	r := newSearchRig(t)
	ctx := context.Background()
	for i := range 40 {
		r.create(t, i)
	}
	require.Eventually(t, func() bool { return len(r.indexed(t, "")) == 40 }, 30*time.Second, 200*time.Millisecond)
	before, err := r.es.Indices(ctx, r.es.Alias())
	require.NoError(t, err)

	// Writers create, rename and archive products while the reindex runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		pace := time.NewTicker(50 * time.Millisecond)
		defer pace.Stop()
		for i := 100; i < 150; i++ { // stays under one page of 100 results
			select {
			case <-stop:
				return
			case <-pace.C:
			}
			id, err := r.tryCreate(i)
			if !assert.NoError(t, err) {
				return
			}
			name := fmt.Sprintf("Gadget number %d renamed", i)
			_, err = r.store.UpdateProduct(ctx, id, catalog.ProductPatch{Name: &name})
			assert.NoError(t, err)
			if i%3 == 0 {
				assert.NoError(t, r.store.ArchiveProduct(ctx, id))
			}
			writes.Add(1)
		}
	}()

	run, err := searchsync.StartReindex(ctx, r.c, r.queue, testenv.UniqueName("test-reindex-"), 7)
	require.NoError(t, err)
	var p searchsync.ReindexProgress
	require.NoError(t, run.Get(ctx, &p))
	swapped := writes.Load()
	require.Eventually(t, func() bool { return writes.Load() >= min(swapped+3, 50) }, 30*time.Second, 10*time.Millisecond,
		"a few writes after the swap too")
	close(stop)
	wg.Wait()

	after, err := r.es.Indices(ctx, r.es.Alias())
	require.NoError(t, err)
	assert.Equal(t, []string{p.Index}, after, "the alias serves the new index")
	assert.NotEqual(t, before, after)

	want := r.activeIDs(t, "")
	require.Greater(t, len(want), 40)
	r.converge(t, want, "")
	renamed := r.activeIDs(t, "renamed")
	require.NotEmpty(t, renamed)
	assert.Equal(t, renamed, r.indexed(t, "renamed"), "products are indexed with their latest names")
}

// Moving a category under another re-indexes every product under it (their
// category path changed), through product.resync events in batches.
func TestMovedCategoryReindexesItsProducts(t *testing.T) {
	r := newSearchRig(t)
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		ids = append(ids, r.create(t, i))
	}
	require.Eventually(t, func() bool { return len(r.indexed(t, "")) == 3 }, 30*time.Second, 100*time.Millisecond)
	outdoor, err := r.store.CreateCategory(ctx, catalog.CategoryDraft{Name: "Outdoor"})
	require.NoError(t, err)
	under := func() []int64 {
		res, err := r.es.Search(ctx, search.Query{CategoryID: outdoor.ID, Limit: 100})
		if err != nil {
			return nil
		}
		var got []int64
		for _, h := range res.Hits {
			got = append(got, h.ProductID)
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		return got
	}
	assert.Empty(t, under())

	_, err = r.store.UpdateCategory(ctx, r.cat, catalog.CategoryDraft{Name: "Gadgets", ParentID: outdoor.ID})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(ids, under()) }, 30*time.Second, 100*time.Millisecond,
		"the products are found under their category's new parent")
}
