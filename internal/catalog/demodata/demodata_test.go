package demodata_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/catalog/demodata"
)

// TestTheOriginalExamplesWorkOnTheDemoCatalog: the original API
// description's examples, run verbatim against a fresh `make run`, must
// succeed. Its create-product example used the SKU of the demo catalog's
// first laptop and answered 409.
func TestTheOriginalExamplesWorkOnTheDemoCatalog(t *testing.T) {
	rows, err := catalog.ParseImport(demodata.Catalog)
	require.NoError(t, err)
	skus := map[string]bool{}
	for _, r := range rows {
		skus[r.Product.SKU] = true
	}
	// SKUs that the original description and the README create.
	for _, sku := range []string{"LAPTOP-GAMING-001", "LAPTOP-GAMING-001-64GB"} {
		assert.False(t, skus[sku], "the demo catalog takes %s, which the documented examples create", sku)
	}

	// The README's product listing shows the demo's first product, with id 1.
	assert.Equal(t, "LAPTOP-GAMER-001", rows[0].Product.SKU)

	// The demo is imported in file order, so on a fresh database row N is
	// product N and the first row's category is category 1. The original
	// order example buys 2 of product 1 and 1 of product 5; its
	// create-product example files the product in category 1, and its
	// listing filters category 1 for "laptop".
	require.GreaterOrEqual(t, len(rows), 5)
	assert.GreaterOrEqual(t, rows[0].Product.StockQuantity, int32(2), "product 1")
	assert.GreaterOrEqual(t, rows[4].Product.StockQuantity, int32(1), "product 5")
	assert.Equal(t, rows[0].Product.Category, rows[4].Product.Category)
	assert.Equal(t, "Laptops", rows[0].Product.Category)
}
