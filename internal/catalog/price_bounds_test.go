package catalog_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
)

// Every price the catalog accepts is at most money.MaxAmount of its
// currency (1,000,000,000.00 major units), products and variants alike.
func TestPricesAreBounded(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(dbtest.New(t))
	cat, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Things"})
	require.NoError(t, err)
	usd := func(a int64) money.Money { return money.Money{Amount: a, Currency: "USD"} }

	p, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "MAX-1", Name: "x", CategoryID: cat.ID, Price: usd(money.MaxAmount("USD"))})
	require.NoError(t, err, "the maximum itself is a price")
	for _, bad := range []money.Money{usd(money.MaxAmount("USD") + 1), usd(math.MaxInt64), {Amount: money.MaxAmount("JPY") + 1, Currency: "JPY"}} {
		_, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "BAD-1", Name: "x", CategoryID: cat.ID, Price: bad})
		assert.Equal(t, "price", field(t, err), "%v", bad)
		_, err = s.UpdateProduct(ctx, p.ID, catalog.ProductPatch{Price: &bad})
		assert.Equal(t, "price", field(t, err), "%v", bad)
	}

	over := money.MaxAmount("USD") + 1
	_, err = s.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "MAX-1-XL", PriceMinor: &over})
	assert.Equal(t, "price", field(t, err))
	v, err := s.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "MAX-1-L"})
	require.NoError(t, err)
	_, err = s.UpdateVariant(ctx, p.ID, v.ID, catalog.VariantDraft{SKU: "MAX-1-L", PriceMinor: &over})
	assert.Equal(t, "price", field(t, err))
	got, err := s.GetProduct(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, got.Variants, 1, "the refused variant was not written")
	assert.Nil(t, got.Variants[0].Price, "the refused update changed nothing")
	assert.Equal(t, usd(money.MaxAmount("USD")), got.Price)
}
