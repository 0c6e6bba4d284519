package search_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

func TestElasticsearchIndexesAndFindsProducts(t *testing.T) {
	url := testenv.RequireElasticsearch(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	es, err := search.NewElastic(url, testenv.UniqueName("test-products-"))
	require.NoError(t, err)
	require.NoError(t, es.EnsureIndex(ctx))
	t.Cleanup(func() { _ = es.DeleteIndex(context.Background()) })
	require.NoError(t, es.EnsureIndex(ctx), "EnsureIndex is idempotent")

	usd := func(c int64) money.Money { return money.Money{Amount: c, Currency: "USD"} }
	require.NoError(t, es.Index(ctx, []catalog.Product{
		{ID: 1, SKU: "LAPTOP-GAMING-001", Name: "Gaming Laptop", Description: "High-performance gaming laptop with RTX 4080", Brand: "Nordvik", Price: usd(199999), CreatedAt: time.Now()},
		{ID: 2, SKU: "AUDIO-WHP-001", Name: "Wireless Headphones", Description: "Premium noise-cancelling headphones", Brand: "Sonora", Price: usd(19999), CreatedAt: time.Now()},
		{ID: 3, SKU: "MUG-001", Name: "Travel Mug", Description: "Keeps coffee hot", Brand: "Altura", Price: usd(1500), CreatedAt: time.Now()},
	}))

	ids, err := es.Search(ctx, "laptop", 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, ids)

	ids, err = es.Search(ctx, "headphnes", 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{2}, ids, "a typo still finds the product")

	for _, odd := range []string{`"unbalanced`, `name:(x) OR *`, "ünïcödé ☃", `\/[]{}`} {
		_, err := es.Search(ctx, odd, 10)
		assert.NoError(t, err, "%q is text, not query syntax", odd)
	}
}
