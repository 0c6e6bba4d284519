package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

// How a connection is lost.
const (
	// terminated: the server ends the backend (pg_terminate_backend), as a
	// failover or an operator does; the client reads SQLSTATE 57P01.
	terminated = "terminated by the server"
	// cut: the socket goes away under the client, as when the network
	// drops; the client gets a network error, no PostgreSQL error at all.
	cut = "cut on the network"
)

// droppingStore is an order store on a pool of its own over s's database,
// whose connections d can drop.
func droppingStore(t *testing.T, s *shoptest.Shop, how string) (*orders.Store, *dbtest.Dropper) {
	t.Helper()
	pool, d := dbtest.DroppingPool(t, s.Pool, how == cut)
	cs := coupons.NewStore(pool)
	return orders.NewStore(pool, cs, cart.NewStore(pool, cs), shoptest.Settings()), d
}

// A connection lost while an order with a coupon is placed is database
// trouble, not a refusal of the coupon: the error is no field error, not
// permanent, nothing is kept, and placing the same order again succeeds.
func TestLostConnectionIsNotARefusal(t *testing.T) {
	steps := map[string]string{
		"checking the coupon while pricing": `FROM coupons WHERE code = $1 AND active`,
		"redeeming the coupon":              `SELECT coupon_code FROM coupon_redemptions WHERE order_id`,
	}
	for _, how := range []string{terminated, cut} {
		for step, sql := range steps {
			t.Run(how+" "+step, func(t *testing.T) {
				s := shoptest.NewWithoutWorker(t, 0)
				ctx := context.Background()
				store, d := droppingStore(t, s, how)
				user := s.User(t, "lena")
				p := s.Product(t, "LOST-1", 4000, 5)
				_, err := s.Coupons.Create(ctx, coupons.Draft{Code: "TENOFF", PercentOff: "10"})
				require.NoError(t, err)
				in := placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
				in.CouponCode = "tenoff"

				d.Arm(sql)
				_, err = store.Place(ctx, in)
				require.Error(t, err)
				require.Equal(t, int32(1), d.Drops(), "the connection was lost once")
				var fe *validation.Error
				assert.NotErrorAs(t, err, &fe, "a lost connection is no field error: %v", err)
				assert.NotErrorIs(t, err, orders.ErrOutOfStock)
				assert.False(t, failure.Permanent(err), "retried: %v", err)
				assert.Equal(t, int32(5), s.Stock(t, p.ID), "nothing was reserved")

				o, err := store.Place(ctx, in)
				require.NoError(t, err, "the retry places the order")
				assert.Equal(t, "TENOFF", o.CouponCode)
				assert.Equal(t, int64(800), o.Discount)
				assert.Equal(t, int32(3), s.Stock(t, p.ID))
			})
		}
	}
}

// A refused coupon is still a refusal of its field.
func TestRefusedCouponNamesItsField(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "cora")
	p := s.Product(t, "CPN-1", 4000, 5)
	_, err := s.Coupons.Create(ctx, coupons.Draft{Code: "OVER", PercentOff: "10", EndsAt: time.Now().Add(-time.Hour),
		StartsAt: time.Now().Add(-48 * time.Hour)})
	require.NoError(t, err)
	for code, want := range map[string]error{"NOPE": coupons.ErrUnknown, "OVER": coupons.ErrNotApplicable} {
		in := placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
		in.CouponCode = code
		_, err := s.Orders.Place(ctx, in)
		assert.Equal(t, "coupon_code", fieldOf(t, err), code)
		assert.ErrorContains(t, err, want.Error(), code)
	}
	assert.Equal(t, int32(5), s.Stock(t, p.ID))
}

// Pricing names the shipping method only when the shipping method is at
// fault: an unknown method, or one not priced in the goods' currency. A
// database failure while pricing names no field.
func TestPricingBlamesTheShippingMethodOnlyForIt(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "pia")
	p := s.Product(t, "SHIP-1", 4000, 5)

	in := placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
	in.ShippingMethod = "teleport"
	_, err := s.Orders.Place(ctx, in)
	assert.Equal(t, "shipping_method", fieldOf(t, err))

	cat, err := s.Catalog.CreateCategory(ctx, catalog.CategoryDraft{Name: "Imports"})
	require.NoError(t, err)
	eur, err := s.Catalog.CreateProduct(ctx, catalog.ProductDraft{SKU: "SHIP-EUR", Name: "Euro product", CategoryID: cat.ID,
		Price: money.Money{Amount: 4000, Currency: "EUR"}, StockQuantity: 5})
	require.NoError(t, err)
	_, err = s.Orders.Place(ctx, placeInput(t, s, user, orders.Item{ProductID: eur.ID, Quantity: 1}))
	assert.Equal(t, "shipping_method", fieldOf(t, err), "the USD shipping methods cannot ship a EUR order")

	store, d := droppingStore(t, s, cut)
	_, err = s.Coupons.Create(ctx, coupons.Draft{Code: "SHIPTEST", PercentOff: "5"})
	require.NoError(t, err)
	in = placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
	in.CouponCode, in.ShippingMethod = "SHIPTEST", "express"
	d.Arm(`FROM coupons WHERE code = $1 AND active`)
	_, err = store.Place(ctx, in)
	require.Error(t, err)
	var fe *validation.Error
	assert.NotErrorAs(t, err, &fe, "a database failure while pricing names no field: %v", err)
	o, err := store.Place(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, "express", o.ShippingMethod)
}
