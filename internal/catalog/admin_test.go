package catalog_test

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
)

func field(t *testing.T, err error) string {
	t.Helper()
	var ve *validation.Error
	require.ErrorAs(t, err, &ve)
	return ve.Field
}

func TestProductAdmin(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(dbtest.New(t))
	computers, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Computers"})
	require.NoError(t, err)
	laptops, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Laptops", ParentID: computers.ID})
	require.NoError(t, err)
	assert.Equal(t, "laptops", laptops.Slug)

	draft := catalog.ProductDraft{SKU: "laptop-gaming-001", Name: "Gaming Laptop", Brand: "Nordvik",
		CategoryID: laptops.ID, Price: money.Money{Amount: 199999, Currency: "USD"}, StockQuantity: 50,
		Attributes: map[string]string{"gpu": "RTX 4080"}}
	p, err := s.CreateProduct(ctx, draft)
	require.NoError(t, err)
	assert.Equal(t, "LAPTOP-GAMING-001", p.SKU)
	assert.Equal(t, "RTX 4080", p.Attributes["gpu"])

	_, err = s.CreateProduct(ctx, draft)
	assert.ErrorIs(t, err, catalog.ErrSKUTaken)

	bad := draft
	bad.SKU = "OTHER-1"
	bad.CategoryID = 999
	assert.Equal(t, "category_id", field(t, func() error { _, err := s.CreateProduct(ctx, bad); return err }()))
	bad.CategoryID = laptops.ID
	bad.Price.Amount = -1
	assert.Equal(t, "price", field(t, func() error { _, err := s.CreateProduct(ctx, bad); return err }()))
	bad.Price = money.Money{Amount: 1, Currency: "XYZ"}
	assert.Equal(t, "price.currency", field(t, func() error { _, err := s.CreateProduct(ctx, bad); return err }()))

	name := "Gaming Laptop Pro"
	price := money.Money{Amount: 189999, Currency: "USD"}
	p, err = s.UpdateProduct(ctx, p.ID, catalog.ProductPatch{Name: &name, Price: &price})
	require.NoError(t, err)
	assert.Equal(t, name, p.Name)
	assert.Equal(t, int64(189999), p.Price.Amount)
	assert.Equal(t, "Nordvik", p.Brand, "unset fields are kept")

	// Listing a parent category includes its descendants.
	_, total, err := s.ListProducts(ctx, catalog.ListFilter{CategoryID: computers.ID})
	require.NoError(t, err)
	assert.Equal(t, int32(1), total)

	assert.ErrorIs(t, s.ArchiveCategory(ctx, laptops.ID), catalog.ErrCategoryInUse)
	require.NoError(t, s.ArchiveProduct(ctx, p.ID))
	_, err = s.GetProduct(ctx, p.ID)
	assert.ErrorIs(t, err, catalog.ErrNotFound)
	assert.ErrorIs(t, s.ArchiveProduct(ctx, p.ID), catalog.ErrNotFound)
	require.NoError(t, s.ArchiveCategory(ctx, laptops.ID))
	cats, err := s.ListCategories(ctx)
	require.NoError(t, err)
	assert.Len(t, cats, 1)

	_, err = s.UpdateCategory(ctx, computers.ID, catalog.CategoryDraft{Name: "Computers", ParentID: computers.ID})
	assert.Equal(t, "parent_id", field(t, err), "a category cannot be its own parent")
}

func TestVariantsAndSKUUniqueness(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(dbtest.New(t))
	c, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Clothing"})
	require.NoError(t, err)
	p, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "TEE-1", Name: "T-shirt", CategoryID: c.ID,
		Price: money.Money{Amount: 1999, Currency: "USD"}})
	require.NoError(t, err)
	big := int64(2199)
	v, err := s.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "TEE-1-XL", Attributes: map[string]string{"size": "XL"},
		PriceMinor: &big, StockQuantity: 4})
	require.NoError(t, err)
	assert.Equal(t, int64(2199), v.Price.Amount)
	_, err = s.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "TEE-1"})
	assert.ErrorIs(t, err, catalog.ErrSKUTaken, "a variant cannot reuse a product's SKU")
	_, err = s.CreateProduct(ctx, catalog.ProductDraft{SKU: "TEE-1-XL", Name: "x", CategoryID: c.ID, Price: money.Money{Currency: "USD"}})
	assert.ErrorIs(t, err, catalog.ErrSKUTaken, "nor a product a variant's")

	got, err := s.GetProduct(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, got.Variants, 1)
	assert.Equal(t, "XL", got.Variants[0].Attributes["size"])
}

func TestStockAdjustmentsAreAtomicAndAudited(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := catalog.NewStore(pool)
	c, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Toys"})
	require.NoError(t, err)
	p, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "TOY-1", Name: "Top", CategoryID: c.ID,
		Price: money.Money{Amount: 500, Currency: "USD"}, StockQuantity: 10})
	require.NoError(t, err)

	// 30 concurrent removals of one unit from 10: exactly 10 succeed.
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AdjustStock(ctx, p.ID, 0, -1, "sold at the fair", 0)
			switch {
			case err == nil:
				ok.Add(1)
			case assert.ErrorIs(t, err, catalog.ErrInsufficientStock):
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(10), ok.Load())
	assert.Equal(t, int32(20), refused.Load())

	after, err := s.AdjustStock(ctx, p.ID, 0, 5, "restock from supplier", 0)
	require.NoError(t, err)
	assert.Equal(t, int32(5), after)
	list, err := s.StockAdjustments(ctx, p.ID, 100)
	require.NoError(t, err)
	assert.Len(t, list, 11, "every successful change is audited, refused ones are not")
	assert.Equal(t, "restock from supplier", list[0].Reason)

	_, err = s.AdjustStock(ctx, p.ID, 0, 1, "  ", 0)
	assert.Equal(t, "reason", field(t, err))
	_, err = s.AdjustStock(ctx, 424242, 0, 1, "x", 0)
	assert.ErrorIs(t, err, catalog.ErrNotFound)
}

func TestStockAdjustmentOutOfRangeNamesDelta(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(dbtest.New(t))
	c, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Bulk"})
	require.NoError(t, err)
	p, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "BULK-1", Name: "Screws", CategoryID: c.ID,
		Price: money.Money{Amount: 5, Currency: "USD"}, StockQuantity: 10})
	require.NoError(t, err)
	v, err := s.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "BULK-1-M4", Attributes: map[string]string{"size": "M4"},
		StockQuantity: 10})
	require.NoError(t, err)

	for _, variant := range []int64{0, v.ID} {
		_, err = s.AdjustStock(ctx, p.ID, variant, math.MaxInt32, "pallet", 0)
		assert.Equal(t, "delta", field(t, err), "variant %d: %v", variant, err)
		_, err = s.AdjustStock(ctx, p.ID, variant, math.MinInt32, "pallet", 0)
		assert.ErrorIs(t, err, catalog.ErrInsufficientStock, "variant %d", variant)

		after, err := s.AdjustStock(ctx, p.ID, variant, math.MaxInt32-10, "fill to the top", 0)
		require.NoError(t, err, "variant %d", variant)
		assert.Equal(t, int32(math.MaxInt32), after, "the largest stock is still allowed")
		_, err = s.AdjustStock(ctx, p.ID, variant, 1, "one more", 0)
		assert.Equal(t, "delta", field(t, err), "variant %d", variant)
	}
	list, err := s.StockAdjustments(ctx, p.ID, 100)
	require.NoError(t, err)
	assert.Len(t, list, 2, "refused adjustments are not recorded")
}
