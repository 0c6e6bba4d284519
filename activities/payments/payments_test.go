package payments_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	ordersact "github.com/shopkit/shop/activities/orders"
	paymentsact "github.com/shopkit/shop/activities/payments"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workers/shoptest"
)

func TestCreatePaymentIntentAgainstStripeMock(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "pam")
	p := s.Product(t, "PI-1", 2500, 2)
	id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	o, err := s.Orders.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, Items: []orders.Item{{ProductID: p.ID, Quantity: 1}},
		ShippingAddress: "1 Main St, Springfield"})
	require.NoError(t, err)

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &paymentsact.Activities{Stripe: payments.NewStripe("sk_test_123", s.Stripe.URL(), nil), Orders: s.Orders}
	env.RegisterActivity(a)
	req := payments.PaymentIntentRequest{OrderID: o.ID, Amount: o.Total, Currency: "USD", IdempotencyKey: "checkout-x/payment-intent"}

	// Stripe refusing the request is final; an outage is retried.
	s.Stripe.FailNext("/v1/payment_intents", 1, http.StatusBadRequest, "invalid_request_error", "amount too small")
	_, err = env.ExecuteActivity(a.CreatePaymentIntent, req)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, paymentsact.ErrTypeRefused, ae.Type())
	assert.True(t, ae.NonRetryable())

	s.Stripe.FailNext("/v1/payment_intents", 1, http.StatusInternalServerError, "api_error", "try later")
	_, err = env.ExecuteActivity(a.CreatePaymentIntent, req)
	require.Error(t, err)
	require.False(t, errors.As(err, &ae) && ae.NonRetryable(), "a 500 is retried: %v", err)

	v, err := env.ExecuteActivity(a.CreatePaymentIntent, req)
	require.NoError(t, err)
	var pi payments.PaymentIntent
	require.NoError(t, v.Get(&pi))
	assert.NotEmpty(t, pi.ID)
	assert.Empty(t, pi.ClientSecret, "the client secret never enters the activity's result (the history)")
	recorded, err := s.Orders.PaymentIntentOf(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, pi.ID, recorded)

	// A retry after the PaymentIntent was recorded reads it instead of
	// creating another.
	v, err = env.ExecuteActivity(a.CreatePaymentIntent, req)
	require.NoError(t, err)
	var again payments.PaymentIntent
	require.NoError(t, v.Get(&again))
	assert.Equal(t, pi.ID, again.ID)
	creates := s.Stripe.Requests("POST", "/v1/payment_intents")
	assert.Len(t, creates, 3, "two refused attempts and one creation")
	for _, c := range creates {
		assert.Equal(t, "checkout-x/payment-intent", c.IdempotencyKey, "every attempt is the same request to Stripe")
	}
	assert.Len(t, s.Stripe.Requests("GET", "/v1/payment_intents/"+pi.ID), 1)

	// Refund and cancel reach Stripe with their idempotency keys.
	v, err = env.ExecuteActivity(a.RefundPayment, payments.RefundRequest{PaymentIntentID: pi.ID, Amount: 100, RefundID: 1, OrderID: o.ID, IdempotencyKey: "refund-1-round-1"})
	require.NoError(t, err)
	var refundID string
	require.NoError(t, v.Get(&refundID))
	assert.NotEmpty(t, refundID)
	_, err = env.ExecuteActivity(a.CancelPaymentIntent, paymentsact.CancelRequest{PaymentIntentID: pi.ID, Reason: "abandoned", IdempotencyKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, "refund-1-round-1", s.Stripe.Requests("POST", "/v1/refunds")[0].IdempotencyKey)
}

// An order that is not there is a final answer about it, not retried like
// database trouble, and Stripe is not asked for a payment.
func TestCreatePaymentIntentForNoOrderIsFinal(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &paymentsact.Activities{Stripe: payments.NewStripe("sk_test_123", s.Stripe.URL(), nil), Orders: s.Orders}
	env.RegisterActivity(a)
	_, err := env.ExecuteActivity(a.CreatePaymentIntent, payments.PaymentIntentRequest{OrderID: 424242, Amount: 100,
		Currency: "USD", IdempotencyKey: "checkout-424242/payment-intent"})
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, ordersact.ErrTypeNotFound, ae.Type())
	assert.True(t, ae.NonRetryable())
	assert.Empty(t, s.Stripe.Requests("POST", "/v1/payment_intents"))
}
