package search_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

func doc(id int64, name, desc, brand string, price int64) search.Doc {
	return search.Doc{ID: id, SKU: "SKU-" + name[:3], Name: name, Description: desc, Brand: brand, Currency: "USD",
		CategoryID: 1, CategoryPath: []int64{1}, PriceMinor: price, InStock: true, Active: true,
		CreatedAt: time.Now()}
}

func find(t *testing.T, es *search.Elastic, text string) []int64 {
	t.Helper()
	r, err := es.Search(context.Background(), search.Query{Text: text, Limit: 10})
	require.NoError(t, err)
	return hitIDs(r)
}

func TestElasticIndexLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	es := newElasticAlias(t)
	require.NoError(t, es.EnsureIndex(ctx), "EnsureIndex is idempotent")
	first, err := es.Indices(ctx, es.Alias())
	require.NoError(t, err)
	require.Len(t, first, 1)
	assert.True(t, strings.HasPrefix(first[0], es.Alias()+"-"), first[0])

	docs := []search.Doc{
		doc(1, "Gaming Laptop", "High-performance gaming laptop with RTX 4080", "Nordvik", 199999),
		doc(2, "Wireless Headphones", "Premium noise-cancelling headphones", "Sonora", 19999),
		doc(3, "Travel Mug", "Keeps coffee hot", "Altura", 1500),
	}
	require.NoError(t, es.Upsert(ctx, "", docs))
	n, err := es.Count(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, []int64{1}, find(t, es, "laptop"))
	assert.Equal(t, []int64{2}, find(t, es, "headphnes"), "a typo still finds the product")

	// Upsert replaces; Delete ignores ids that are not there.
	docs[2].Name = "Travel Flask"
	require.NoError(t, es.Upsert(ctx, "", docs[2:]))
	assert.Equal(t, []int64{3}, find(t, es, "flask"))
	assert.Empty(t, find(t, es, "mug"))
	require.NoError(t, es.Delete(ctx, "", []int64{2, 12345}))
	assert.Empty(t, find(t, es, "headphones"))
	n, err = es.Count(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	require.NoError(t, es.Delete(ctx, "", nil))
	require.NoError(t, es.Upsert(ctx, "", nil))

	// Zero-downtime reindex: fill a new index by name while the alias still
	// serves the old one, then swap atomically.
	next := search.IndexName(es.Alias(), time.Now().Add(time.Second))
	require.NoError(t, es.CreateIndex(ctx, next))
	require.NoError(t, es.Upsert(ctx, next, []search.Doc{doc(7, "Espresso Machine", "Pump espresso machine", "Brevo", 45999)}))
	assert.Empty(t, find(t, es, "espresso"), "not served before the swap")
	assert.Equal(t, []int64{1}, find(t, es, "laptop"))

	prev, err := es.PointAlias(ctx, es.Alias(), next)
	require.NoError(t, err)
	assert.Equal(t, first, prev)
	assert.Equal(t, []int64{7}, find(t, es, "espresso"))
	assert.Empty(t, find(t, es, "laptop"))
	now, err := es.Indices(ctx, es.Alias())
	require.NoError(t, err)
	assert.Equal(t, []string{next}, now)

	// Writes through the alias now land in the new index.
	require.NoError(t, es.Upsert(ctx, "", docs[:1]))
	n, err = es.Count(ctx, next)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	prev, err = es.PointAlias(ctx, es.Alias(), next)
	require.NoError(t, err)
	assert.Empty(t, prev, "pointing at the current index changes nothing")
	require.NoError(t, es.DeleteIndex(ctx, first[0]))
	require.NoError(t, es.DeleteIndex(ctx, first[0]), "deleting a missing index is fine")
	assert.Equal(t, []int64{1}, find(t, es, "laptop"))
}

func TestElasticErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testenv.RequireElasticsearch(t)
	es, err := search.NewElastic(url, testenv.UniqueName("test-missing-"))
	require.NoError(t, err)
	t.Cleanup(func() { deleteAlias(t, es) })

	indices, err := es.Indices(ctx, es.Alias())
	require.NoError(t, err)
	assert.Empty(t, indices)

	// Without EnsureIndex the alias is missing: every document fails (and
	// no index of the alias's name is created by the bulk request).
	err = es.Upsert(ctx, "", []search.Doc{doc(41, "Lamp", "", "", 1), doc(42, "Desk", "", "", 1)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "product 41")
	assert.Contains(t, err.Error(), "product 42")
	_, err = es.Count(ctx, "")
	assert.Error(t, err, "no index was auto-created")
	_, err = es.Search(ctx, search.Query{Text: "lamp", Limit: 10})
	assert.Error(t, err)

	missing := testenv.UniqueName("test-no-such-index-")
	assert.Error(t, es.Upsert(ctx, missing, []search.Doc{doc(1, "Lamp", "", "", 1)}))
	_, err = es.Count(ctx, missing)
	assert.Error(t, err, "no index was auto-created")

	// Racing EnsureIndex calls end with one index behind the alias.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = es.EnsureIndex(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	indices, err = es.Indices(ctx, es.Alias())
	require.NoError(t, err)
	assert.Len(t, indices, 1)
}

// An index made with other settings or mapping than this version's (an
// older release's) is reported stale, with a warning to run `shop reindex`;
// one EnsureIndex makes is not.
func TestElasticReportsAStaleMapping(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testenv.RequireElasticsearch(t)
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	fresh := newElasticAlias(t)
	stale, err := fresh.StaleIndices(ctx)
	require.NoError(t, err)
	assert.Empty(t, stale)
	require.NoError(t, fresh.EnsureIndex(ctx))
	assert.NotContains(t, logs.String(), "shop reindex")

	es, err := search.NewElastic(url, testenv.UniqueName("test-stale-"))
	require.NoError(t, err)
	t.Cleanup(func() { deleteAlias(t, es) })
	old := search.IndexName(es.Alias(), time.Now())
	require.NoError(t, es.CreateIndexAs(ctx, old, es.Alias(), "0123456789abcdef"))
	require.NoError(t, es.EnsureIndex(ctx), "a stale index still serves")
	stale, err = es.StaleIndices(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{old}, stale)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "run `shop reindex`")
	assert.Contains(t, logs.String(), old)
	indices, err := es.Indices(ctx, es.Alias())
	require.NoError(t, err)
	assert.Equal(t, []string{old}, indices, "EnsureIndex does not replace the index itself")
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
