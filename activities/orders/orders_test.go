package orders_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers/shoptest"
)

// activityEnv runs the order activities against the shop's store.
func activityEnv(s *shoptest.Shop) (*testsuite.TestActivityEnvironment, *ordersact.Activities) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &ordersact.Activities{Store: s.Orders}
	env.RegisterActivity(a)
	return env, a
}

func TestPlaceOrderRefusalsAreFinalAndExplained(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "olga")
	p := s.Product(t, "ACT-1", 1200, 1)
	env, a := activityEnv(s)
	in := func(qty int32) orders.PlaceInput {
		id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
		require.NoError(t, err)
		return orders.PlaceInput{OrderID: id, UserID: user, Items: []orders.Item{{ProductID: p.ID, Quantity: qty}}, ShippingAddress: "2 Side St, Springfield"}
	}

	_, err := env.ExecuteActivity(a.PlaceOrder, in(2))
	r, ok := ordersact.RejectionOf(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, p.ID, r.ProductID)
	assert.Contains(t, r.Message, "2 requested, 1 available")
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae))
	assert.True(t, ae.NonRetryable())

	_, err = env.ExecuteActivity(a.PlaceOrder, in(0))
	r, ok = ordersact.RejectionOf(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "items[0].quantity", r.Field)

	placed := in(1)
	v, err := env.ExecuteActivity(a.PlaceOrder, placed)
	require.NoError(t, err)
	var got ordersact.Placed
	require.NoError(t, v.Get(&got))
	assert.Equal(t, "olga@example.com", got.CustomerEmail)

	// The email about it is built from what is stored.
	v, err = env.ExecuteActivity(a.OrderEmail, ordersact.EmailRequest{OrderID: got.OrderID, Kind: mail.KindOrderConfirmation, Key: "k"})
	require.NoError(t, err)
	var e struct {
		To   string
		Data mail.OrderEmail
	}
	require.NoError(t, v.Get(&e))
	assert.Equal(t, "olga@example.com", e.To)
	assert.Equal(t, got.Total, e.Data.Total.Amount)
	require.Len(t, e.Data.Lines, 1)

	// A step that no longer applies is final, not retried forever.
	_, err = env.ExecuteActivity(a.MarkPaid, ordersact.MarkPaidInput{OrderID: got.OrderID, Amount: got.Total})
	require.NoError(t, err)
	_, err = env.ExecuteActivity(a.ReleaseOrder, ordersact.ReleaseInput{OrderID: got.OrderID, Status: orders.StatusCancelled, Reason: "late"})
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, ordersact.ErrTypeWrongState, ae.Type())
	assert.Equal(t, int32(0), s.Stock(t, p.ID), "the paid order keeps its stock")
}

// A value PostgreSQL refuses (here a NUL byte in the coupon code, which the
// API's text rule stops first) is a final refusal naming the order, never
// an error retried until the workflow's patience runs out.
func TestPlaceOrderDataErrorIsFinal(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "nadia")
	p := s.Product(t, "ACT-NUL", 1200, 3)
	env, a := activityEnv(s)
	id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	_, err = env.ExecuteActivity(a.PlaceOrder, orders.PlaceInput{OrderID: id, UserID: user, CouponCode: "A\x00B",
		Items: []orders.Item{{ProductID: p.ID, Quantity: 1}}, ShippingAddress: "2 Side St, Springfield"})
	r, ok := ordersact.RejectionOf(err)
	require.True(t, ok, "%v", err)
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.NonRetryable())
	assert.NotEmpty(t, r.Field)
	assert.Equal(t, int32(3), s.Stock(t, p.ID), "nothing was reserved")
}
