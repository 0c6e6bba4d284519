package orders_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

func placeInput(t *testing.T, s *shoptest.Shop, user int64, items ...orders.Item) orders.PlaceInput {
	id, err := s.Orders.ClaimOrderID(context.Background(), user, "", nil)
	require.NoError(t, err)
	return orders.PlaceInput{OrderID: id, UserID: user, Items: items, ShippingAddress: "5 Market St, Springfield, CA 90001"}
}

func TestShortLineRollsTheWholeOrderBack(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "una")
	a := s.Product(t, "A-1", 1000, 5)
	b := s.Product(t, "B-1", 2000, 1)

	_, err := s.Orders.Place(ctx, placeInput(t, s, user, orders.Item{ProductID: a.ID, Quantity: 2}, orders.Item{ProductID: b.ID, Quantity: 2}))
	var se *orders.StockError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "B-1", se.SKU)
	assert.Equal(t, int32(1), se.Available)
	assert.Equal(t, int32(5), s.Stock(t, a.ID), "the first line's stock was given back with the rollback")
	var rows int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&rows))
	assert.Zero(t, rows)

	// Repeated lines add up; placing the same order id again changes nothing.
	in := placeInput(t, s, user, orders.Item{ProductID: a.ID, Quantity: 2}, orders.Item{ProductID: a.ID, Quantity: 1})
	o, err := s.Orders.Place(ctx, in)
	require.NoError(t, err)
	require.Len(t, o.Lines, 1)
	assert.Equal(t, int32(3), o.Lines[0].Quantity)
	again, err := s.Orders.Place(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, o.ID, again.ID)
	assert.Equal(t, int32(2), s.Stock(t, a.ID))
}

func TestReleaseIsIdempotentAndGivesTheCouponBack(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "rex")
	p := s.Product(t, "C-1", 5000, 3)
	_, err := s.Coupons.Create(ctx, coupons.Draft{Code: "ONCE", PercentOff: "10", MaxUses: 1})
	require.NoError(t, err)

	in := placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
	in.CouponCode = "once"
	o, err := s.Orders.Place(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, int64(1000), o.Discount)
	assert.Equal(t, int64(0), o.Shipping, "90.00 of goods ship free")
	assert.Equal(t, int64(9000+653), o.Total, "CA tax 7.25% of 90.00 = 6.525, rounded half up")

	// The coupon is used up: a second order with it is refused on its field.
	in2 := placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
	in2.CouponCode = "ONCE"
	_, err = s.Orders.Place(ctx, in2)
	var fe *validation.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "coupon_code", fe.Field)
	assert.Equal(t, int32(1), s.Stock(t, p.ID))

	require.NoError(t, s.Orders.Release(ctx, o.ID, orders.StatusCancelled, "no payment"))
	require.NoError(t, s.Orders.Release(ctx, o.ID, orders.StatusCancelled, "no payment"))
	assert.Equal(t, int32(3), s.Stock(t, p.ID), "released once")
	assert.ErrorIs(t, s.Orders.MarkPaid(ctx, o.ID, o.Total, "late"), orders.ErrWrongState)
	_, err = s.Orders.Place(ctx, in2)
	require.NoError(t, err, "the released order gave the coupon use back")
}

func TestConcurrentRefundsNeverExceedTheCapture(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "ron")
	p := s.Product(t, "D-1", 10001, 1)
	o, err := s.Orders.Place(ctx, placeInput(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1}))
	require.NoError(t, err)
	require.NoError(t, s.Orders.MarkPaid(ctx, o.ID, o.Total, "paid"))

	third := o.Total / 3
	var mu sync.Mutex
	var opened []orders.Refund
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Orders.RequestRefund(ctx, o.ID, third, "goodwill", 0)
			if err != nil {
				assert.True(t, errors.Is(err, orders.ErrNotRefundable), "%v", err)
				return
			}
			mu.Lock()
			opened = append(opened, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Len(t, opened, 3)
	for _, r := range opened {
		require.NoError(t, s.Orders.CompleteRefund(ctx, r.ID, "re_"+money.Money{Amount: r.ID, Currency: "USD"}.Decimal(), ""))
		require.NoError(t, s.Orders.CompleteRefund(ctx, r.ID, "", ""), "completing twice is a no-op")
	}
	got, err := s.Orders.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, 3*third, got.Refunded)
	assert.Equal(t, orders.StatusPartiallyRefunded, got.Status)
	// What is left (a cent or two of rounding) can still be refunded, then nothing.
	r, err := s.Orders.RequestRefund(ctx, o.ID, 0, "the rest", 0)
	require.NoError(t, err)
	require.NoError(t, s.Orders.CompleteRefund(ctx, r.ID, "", "manual"))
	got, err = s.Orders.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusRefunded, got.Status)
	_, err = s.Orders.RequestRefund(ctx, o.ID, 0, "more", 0)
	assert.ErrorIs(t, err, orders.ErrNotRefundable)
}
