package catalog_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
)

func product(sku, name, category string, cents int64) catalog.ProductInput {
	return catalog.ProductInput{SKU: sku, Name: name, Category: category, Brand: "Nordvik",
		Description: name + " for everyday use", Price: money.Money{Amount: cents, Currency: "USD"}, StockQuantity: 5}
}

func TestUpsertIsIdempotentBySKU(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := catalog.NewStore(pool)
	items := []catalog.ProductInput{
		product("LAP-1", "Gaming Laptop", "Laptops", 199999),
		product("LAP-2", "Office Laptop", "Laptops", 89900),
		product("PH-1", "Smartphone", "Phones", 59900),
	}
	res, err := s.UpsertProducts(ctx, items)
	require.NoError(t, err)
	assert.Equal(t, catalog.UpsertResult{Inserted: 3}, res)

	res, err = s.UpsertProducts(ctx, items)
	require.NoError(t, err)
	assert.Equal(t, catalog.UpsertResult{}, res, "a re-run changes nothing")

	items[1].Price.Amount = 79900
	res, err = s.UpsertProducts(ctx, items)
	require.NoError(t, err)
	assert.Equal(t, catalog.UpsertResult{Updated: 1}, res)

	var products, categories int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&products))
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM categories").Scan(&categories))
	assert.Equal(t, 3, products)
	assert.Equal(t, 2, categories)
	var price int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT price_minor FROM products WHERE sku = 'LAP-2'").Scan(&price))
	assert.Equal(t, int64(79900), price)
}

func TestListAndGet(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(dbtest.New(t))
	var items []catalog.ProductInput
	for i, name := range []string{"Gaming Laptop", "Office Laptop", "Travel Mug", "Desk Lamp", "Laptop Sleeve"} {
		cat := "Home"
		if i%2 == 0 {
			cat = "Computers"
		}
		items = append(items, product("SKU-"+string(rune('A'+i)), name, cat, int64(1000*(i+1))))
	}
	_, err := s.UpsertProducts(ctx, items)
	require.NoError(t, err)

	page, total, err := s.ListProducts(ctx, catalog.ListFilter{Skip: 1, Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, int32(5), total)
	require.Len(t, page, 2)
	assert.Equal(t, "Office Laptop", page[0].Name)

	cats, err := s.ListCategories(ctx)
	require.NoError(t, err)
	require.Len(t, cats, 2)
	computers := cats[0].ID
	page, total, err = s.ListProducts(ctx, catalog.ListFilter{CategoryID: computers})
	require.NoError(t, err)
	assert.Equal(t, int32(3), total)
	for _, p := range page {
		assert.Equal(t, computers, p.CategoryID)
	}

	page, total, err = s.ListProducts(ctx, catalog.ListFilter{Search: "laptops"})
	require.NoError(t, err)
	assert.Equal(t, int32(3), total, "stemmed full-text search matches every laptop")
	for _, odd := range []string{`"unbalanced`, "a & | ! b", "OR AND NOT", "ünïcödé ☃", "name:(x) OR 1=1 --"} {
		_, _, err := s.ListProducts(ctx, catalog.ListFilter{Search: odd})
		assert.NoError(t, err, "search %q is text, not syntax", odd)
	}

	got, err := s.GetProduct(ctx, page[0].ID)
	require.NoError(t, err)
	assert.Equal(t, page[0].SKU, got.SKU)
	assert.Equal(t, "USD", got.Price.Currency)

	_, err = s.GetProduct(ctx, 999999)
	assert.ErrorIs(t, err, catalog.ErrNotFound)
}
