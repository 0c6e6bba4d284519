package inventory_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

func ptr[T any](v T) *T { return &v }

func field(t *testing.T, err error) string {
	t.Helper()
	var fe *validation.Error
	require.ErrorAs(t, err, &fe)
	return fe.Field
}

// stock_quantity is the sum over active locations of on hand minus
// reserved, whoever changes a location's stock or opens or closes one.
func TestSellableFollowsTheLocations(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	inv := inventory.NewStore(s.Pool)
	p := s.Product(t, "SELL-1", 1000, 4) // 4 on hand at the default location
	east, err := inv.CreateLocation(ctx, inventory.LocationInput{Name: ptr("East"), Code: ptr("EAST"), Priority: ptr[int32](5)})
	require.NoError(t, err)

	r, err := inv.Adjust(ctx, inventory.Adjustment{LocationID: east.ID, ProductID: p.ID, Delta: 6, Reason: "delivery"})
	require.NoError(t, err)
	assert.Equal(t, inventory.Result{LocationID: east.ID, LocationCode: "EAST", LocationActive: true, OnHand: 6, Sellable: 10}, r)
	assert.Equal(t, int32(10), s.Stock(t, p.ID))

	_, err = s.Pool.Exec(ctx, `UPDATE location_stock SET reserved = 3 WHERE location_id = $1 AND product_id = $2`, east.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, int32(7), s.Stock(t, p.ID), "reserved units are not for sale")

	_, err = inv.UpdateLocation(ctx, east.ID, inventory.LocationInput{Active: ptr(false)})
	require.NoError(t, err)
	assert.Equal(t, int32(4), s.Stock(t, p.ID), "a closed location sells nothing")
	_, err = inv.UpdateLocation(ctx, east.ID, inventory.LocationInput{Active: ptr(true)})
	require.NoError(t, err)
	assert.Equal(t, int32(7), s.Stock(t, p.ID))

	levels, err := inv.ProductStock(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, levels, 2)
	assert.Equal(t, "MAIN", levels[0].Location.Code, "the default location serves first")
	assert.Equal(t, []int32{4, 0, 4}, []int32{levels[0].OnHand, levels[0].Reserved, levels[0].Available()})
	assert.Equal(t, []int32{6, 3, 3}, []int32{levels[1].OnHand, levels[1].Reserved, levels[1].Available()})

	// Nothing writes the sellable number directly.
	_, err = s.Pool.Exec(ctx, `UPDATE products SET stock_quantity = 99 WHERE id = $1`, p.ID)
	require.ErrorContains(t, err, "change location_stock instead")

	// A variant's stock starts at the default location too.
	v, err := s.Catalog.CreateVariant(ctx, p.ID, catalog.VariantDraft{SKU: "SELL-1-RED", StockQuantity: 2})
	require.NoError(t, err)
	_, err = inv.Adjust(ctx, inventory.Adjustment{LocationID: east.ID, ProductID: p.ID, VariantID: v.ID, Delta: 1, Reason: "found one"})
	require.NoError(t, err)
	var variantStock int32
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT stock_quantity FROM product_variants WHERE id = $1`, v.ID).Scan(&variantStock))
	assert.Equal(t, int32(3), variantStock)
	assert.Equal(t, int32(7), s.Stock(t, p.ID), "the product's own stock is its own")

	// An import sets the default location's units, never below its reservations.
	_, err = s.Pool.Exec(ctx, `UPDATE location_stock SET reserved = 2 WHERE location_id <> $1 AND product_id = $2 AND variant_id IS NULL`, east.ID, p.ID)
	require.NoError(t, err)
	res, err := s.Catalog.UpsertProducts(ctx, []catalog.ProductInput{{SKU: "SELL-1", Name: p.Name, Category: "Test",
		Price: money.Money{Amount: 1000, Currency: "USD"}, StockQuantity: 1}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	levels, err = inv.ProductStock(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []int32{2, 2}, []int32{levels[0].OnHand, levels[0].Reserved})
	res, err = s.Catalog.UpsertProducts(ctx, []catalog.ProductInput{{SKU: "SELL-1", Name: p.Name, Category: "Test",
		Price: money.Money{Amount: 1000, Currency: "USD"}, StockQuantity: 9}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	assert.Equal(t, int32(7+3), s.Stock(t, p.ID), "9 on hand, 2 reserved at MAIN; 3 sellable at EAST")
	res, err = s.Catalog.UpsertProducts(ctx, []catalog.ProductInput{{SKU: "SELL-1", Name: p.Name, Category: "Test",
		Price: money.Money{Amount: 1000, Currency: "USD"}, StockQuantity: 9}})
	require.NoError(t, err)
	assert.Equal(t, catalog.UpsertResult{}, res, "importing the same again changes nothing")

	var audited int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM stock_adjustments WHERE location_id = $1`, east.ID).Scan(&audited))
	assert.Equal(t, 2, audited, "adjustments name their location")
}

func TestLocationsAndAdjustmentsRefuseBadInput(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	inv := inventory.NewStore(s.Pool)
	p := s.Product(t, "BAD-1", 1000, 1)

	for _, c := range []struct {
		in    inventory.LocationInput
		field string
	}{
		{inventory.LocationInput{Code: ptr("X")}, "name"},
		{inventory.LocationInput{Name: ptr("x"), Code: ptr("no spaces")}, "code"},
		{inventory.LocationInput{Name: ptr("x"), Code: ptr("OK"), Country: ptr("USA")}, "country"},
	} {
		_, err := inv.CreateLocation(ctx, c.in)
		assert.Equal(t, c.field, field(t, err))
	}
	_, err := inv.CreateLocation(ctx, inventory.LocationInput{Name: ptr("Again"), Code: ptr("main")})
	assert.ErrorIs(t, err, inventory.ErrCodeTaken)
	locs, err := inv.Locations(ctx)
	require.NoError(t, err)
	_, err = inv.UpdateLocation(ctx, locs[0].ID, inventory.LocationInput{Active: ptr(false)})
	assert.ErrorIs(t, err, inventory.ErrDefaultLocation)
	_, err = inv.UpdateLocation(ctx, 424242, inventory.LocationInput{Name: ptr("x")})
	assert.ErrorIs(t, err, inventory.ErrNotFound)

	_, err = inv.Adjust(ctx, inventory.Adjustment{LocationID: 424242, ProductID: p.ID, Delta: 1, Reason: "x"})
	assert.ErrorIs(t, err, inventory.ErrNotFound)
	_, err = inv.Adjust(ctx, inventory.Adjustment{ProductID: 424242, Delta: 1, Reason: "x"})
	assert.ErrorIs(t, err, inventory.ErrNotFound)
	_, err = inv.Adjust(ctx, inventory.Adjustment{ProductID: p.ID, Delta: 0, Reason: "x"})
	assert.Equal(t, "delta", field(t, err))
	_, err = inv.Adjust(ctx, inventory.Adjustment{ProductID: p.ID, Delta: -2, Reason: "x"})
	assert.ErrorIs(t, err, inventory.ErrInsufficientStock)
	_, err = inv.Adjust(ctx, inventory.Adjustment{ProductID: p.ID, Delta: math.MaxInt32, Reason: "x"})
	assert.Equal(t, "delta", field(t, err))
	_, err = inv.Transfer(ctx, inventory.Transfer{ProductID: p.ID, FromLocationID: locs[0].ID, ToLocationID: locs[0].ID, Quantity: 1, Reason: "x"})
	assert.Equal(t, "to_location_id", field(t, err))
	_, err = inv.Transfer(ctx, inventory.Transfer{ProductID: p.ID, FromLocationID: locs[0].ID, ToLocationID: 424242, Quantity: 1, Reason: "x"})
	assert.ErrorIs(t, err, inventory.ErrNotFound)
	_, err = inv.ProductStock(ctx, 424242)
	assert.ErrorIs(t, err, inventory.ErrNotFound)
	assert.Equal(t, int32(1), s.Stock(t, p.ID), "nothing refused changed the stock")
}

// Adjustments at different locations run side by side; the sellable total
// still counts every one of them.
func TestConcurrentChangesAtLocationsKeepTheSellableTotal(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	inv := inventory.NewStore(s.Pool)
	p := s.Product(t, "SIDE-1", 1000, 100)
	east, err := inv.CreateLocation(ctx, inventory.LocationInput{Name: ptr("East"), Code: ptr("EAST"), Priority: ptr[int32](1)})
	require.NoError(t, err)
	locs := []int64{0, east.ID}

	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := inv.Adjust(ctx, inventory.Adjustment{LocationID: locs[i%2], ProductID: p.ID, Delta: int32(1 + i%3), Reason: "count"})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	var sum, sellable int32
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT sum(on_hand - reserved)::integer,
		(SELECT stock_quantity FROM products WHERE id = $1) FROM location_stock WHERE product_id = $1`, p.ID).Scan(&sum, &sellable))
	assert.Equal(t, int32(100+40+39), sum)
	assert.Equal(t, sum, sellable, "stock_quantity counts every location's change")
}

// Two wants of one item (two lines exchanged for one variant) are served
// together: they never take a location's units twice.
func TestReserveServesRepeatedWantsTogether(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	inv := inventory.NewStore(s.Pool)
	p := s.Product(t, "TWICE-1", 1000, 2) // MAIN: 2
	east, err := inv.CreateLocation(ctx, inventory.LocationInput{Name: ptr("East"), Code: ptr("EAST"), Priority: ptr[int32](5)})
	require.NoError(t, err)
	_, err = inv.Adjust(ctx, inventory.Adjustment{LocationID: east.ID, ProductID: p.ID, Delta: 3, Reason: "delivery"})
	require.NoError(t, err)
	locs, err := inv.Locations(ctx)
	require.NoError(t, err)
	reserve := func(wants ...inventory.Want) ([][]inventory.Allocation, error) {
		var alloc [][]inventory.Allocation
		err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			var err error
			alloc, err = inventory.Reserve(ctx, tx, wants)
			return err
		})
		return alloc, err
	}
	alloc, err := reserve(inventory.Want{ProductID: p.ID, Quantity: 2}, inventory.Want{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	assert.Equal(t, [][]inventory.Allocation{{{LocationID: locs[0].ID, Quantity: 2}}, {{LocationID: east.ID, Quantity: 2}}}, alloc)
	_, err = reserve(inventory.Want{ProductID: p.ID, Quantity: 1}, inventory.Want{ProductID: p.ID, Quantity: 1})
	require.ErrorIs(t, err, inventory.ErrInsufficientStock, "one unit left for two")
}
