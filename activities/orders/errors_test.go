package orders_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
)

// couponCheck is the statement that loads a coupon while the order is priced.
const couponCheck = `FROM coupons WHERE code = $1 AND active`

// Ways a connection is lost, with what the failed attempt reports.
var losses = []struct {
	name, failure string
	cut           bool
}{
	// The server ends the backend (pg_terminate_backend), as a failover or
	// an operator does: the client reads SQLSTATE 57P01.
	{name: "terminated by the server", failure: "57P01"},
	// The socket goes away under the client, as when the network drops:
	// a network error, no PostgreSQL error at all.
	{name: "cut on the network", failure: "closed network connection", cut: true},
}

// droppingPool is a pool of its own over s's database whose connections d drops.
func droppingPool(t *testing.T, s *shoptest.Shop, cut bool) (*pgxpool.Pool, *dbtest.Dropper) {
	return dbtest.DroppingPool(t, s.Pool, cut)
}

// storeOn is an order store like the shop's on another pool.
func storeOn(pool *pgxpool.Pool) *orders.Store {
	cs := coupons.NewStore(pool)
	return orders.NewStore(pool, cs, cart.NewStore(pool, cs), shoptest.Settings())
}

// An attempt of PlaceOrder whose database connection drops fails
// retryably (no rejection) and the next attempt places the order.
func TestPlaceOrderRetriesALostConnection(t *testing.T) {
	for _, loss := range losses {
		t.Run(loss.name, func(t *testing.T) {
			s := shoptest.NewWithoutWorker(t, 0)
			ctx := context.Background()
			pool, d := droppingPool(t, s, loss.cut)
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			a := &ordersact.Activities{Store: storeOn(pool)}
			env.RegisterActivity(a)
			user := s.User(t, "dora")
			p := s.Product(t, "DROP-1", 3000, 4)
			_, err := s.Coupons.Create(ctx, coupons.Draft{Code: "DROP10", PercentOff: "10"})
			require.NoError(t, err)
			id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
			require.NoError(t, err)
			in := orders.PlaceInput{OrderID: id, UserID: user, CouponCode: "DROP10",
				Items: []orders.Item{{ProductID: p.ID, Quantity: 1}}, ShippingAddress: "2 Side St, Springfield"}

			d.Arm(couponCheck)
			_, err = env.ExecuteActivity(a.PlaceOrder, in)
			require.ErrorContains(t, err, loss.failure)
			require.Equal(t, int32(1), d.Drops())
			_, rejected := ordersact.RejectionOf(err)
			assert.False(t, rejected, "a lost connection rejects nothing: %v", err)
			var ae *temporal.ApplicationError
			assert.False(t, errors.As(err, &ae) && ae.NonRetryable(), "retried: %v", err)
			assert.Equal(t, int32(4), s.Stock(t, p.ID))

			v, err := env.ExecuteActivity(a.PlaceOrder, in)
			require.NoError(t, err, "the next attempt places the order")
			var placed ordersact.Placed
			require.NoError(t, v.Get(&placed))
			assert.Equal(t, id, placed.OrderID)
			assert.Equal(t, int32(3), s.Stock(t, p.ID))
		})
	}
}

// The same through Temporal: a checkout whose first PlaceOrder attempt
// loses its connection is retried by the worker and accepted, never
// rejected.
func TestCheckoutRidesOutALostConnection(t *testing.T) {
	for _, loss := range losses {
		t.Run(loss.name, func(t *testing.T) {
			s := shoptest.NewWithoutWorker(t, time.Minute)
			ctx := context.Background()
			pool, d := droppingPool(t, s, loss.cut)
			deps, err := shoptest.WorkerDeps(pool, shoptest.Settings(), s.Stripe.URL(), s.SMTP.Addr())
			require.NoError(t, err)
			w := workers.New(s.Temporal, s.Queue, deps)
			require.NoError(t, w.Start())
			t.Cleanup(w.Stop)

			user := s.User(t, "duke")
			p := s.Product(t, "DROP-2", 3000, 4)
			_, err = s.Coupons.Create(ctx, coupons.Draft{Code: "DROP20", PercentOff: "20"})
			require.NoError(t, err)
			id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
			require.NoError(t, err)

			d.Arm(couponCheck)
			res, err := s.Checkout.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, CouponCode: "DROP20",
				Items: []orders.Item{{ProductID: p.ID, Quantity: 1}}, ShippingAddress: "2 Side St, Springfield", PaymentMethod: "credit_card"})
			require.NoError(t, err)
			require.Nil(t, res.Rejection, "rejected: %+v", res.Rejection)
			assert.True(t, res.Accepted)
			assert.Equal(t, int32(1), d.Drops())
			o, err := s.Orders.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, orders.StatusAwaitingPayment, o.Status)
			assert.Equal(t, int64(600), o.Discount)
			assert.Equal(t, int32(3), s.Stock(t, p.ID))

			// Temporal ran PlaceOrder twice: the first attempt failed on the
			// lost connection.
			var scheduled int64
			var started bool
			for _, e := range shoptest.History(t, s.Temporal, checkout.WorkflowID(id), "").Events {
				if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "PlaceOrder" {
					scheduled = e.GetEventId()
				}
				if a := e.GetActivityTaskStartedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
					started = true
					assert.Equal(t, int32(2), a.GetAttempt())
					assert.Contains(t, a.GetLastFailure().GetMessage(), loss.failure)
				}
			}
			assert.True(t, started, "PlaceOrder ran")
		})
	}
}

// A retried cancellation of a paid order finds the refund it opened by its
// kind, whatever the refund's reason text says, and opens no second one;
// a refund staff opened with the same words is not taken for it.
func TestRetriedCancellationFindsItsRefundByKind(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	env, a := activityEnv(s)
	user := s.User(t, "carl")
	p := s.Product(t, "CANCEL-1", 10000, 2)
	id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	o, err := s.Orders.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, Items: []orders.Item{{ProductID: p.ID, Quantity: 1}},
		ShippingAddress: "2 Side St, Springfield"})
	require.NoError(t, err)
	require.NoError(t, s.Orders.MarkPaid(ctx, o.ID, o.Total, "paid"))

	// Staff refunded part of it first, in the words the cancellation uses.
	staff, err := s.Orders.RequestRefund(ctx, o.ID, 1000, "order cancelled", 0)
	require.NoError(t, err)
	assert.Equal(t, orders.RefundKindRequested, staff.Kind)

	cancel := func() orders.Refund {
		t.Helper()
		v, err := env.ExecuteActivity(a.CancelPaidOrder, ordersact.CancelPaidInput{OrderID: o.ID, Reason: "customer asked"})
		require.NoError(t, err)
		var r orders.Refund
		require.NoError(t, v.Get(&r))
		return r
	}
	first := cancel()
	require.NotZero(t, first.ID)
	assert.NotEqual(t, staff.ID, first.ID, "the staff refund is not the cancellation's")
	assert.Equal(t, orders.RefundKindCancellation, first.Kind)
	assert.Equal(t, o.Total-1000, first.Amount, "the rest of the payment")

	// The refund's text changes (a reworded reason, an edit): the retry
	// still finds it.
	_, err = s.Pool.Exec(ctx, `UPDATE refunds SET reason = 'Cancelled at the customer''s request' WHERE id = $1`, first.ID)
	require.NoError(t, err)
	again := cancel()
	assert.Equal(t, first.ID, again.ID)
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM refunds WHERE order_id = $1`, o.ID).Scan(&n))
	assert.Equal(t, 2, n, "the staff refund and one cancellation refund")

	// A cancellation refund that failed is not the answer: the money is
	// still to be returned, so a later cancellation opens another.
	require.NoError(t, s.Orders.FailRefund(ctx, first.ID, "given up"))
	next := cancel()
	assert.NotEqual(t, first.ID, next.ID)
	assert.Equal(t, orders.RefundKindCancellation, next.Kind)
	assert.Equal(t, first.Amount, next.Amount)
	assert.Equal(t, next.ID, cancel().ID)
}
