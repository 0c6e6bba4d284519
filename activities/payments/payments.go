// Package payments holds the activities that call Stripe.
package payments

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
)

// ErrTypeRefused is Stripe refusing a request for good; not retried.
const ErrTypeRefused = "StripeRefused"

// Activities calls Stripe and records what it answered.
type Activities struct {
	Stripe *payments.Stripe
	Orders *orders.Store
}

// CreatePaymentIntent prepares the order's charge and records the
// PaymentIntent on the order. A retry after a crash finds the recorded one;
// a crash between Stripe's answer and the record is covered by the
// idempotency key, derived from the workflow and step, which makes Stripe
// answer the PaymentIntent it already created.
func (a *Activities) CreatePaymentIntent(ctx context.Context, r payments.PaymentIntentRequest) (payments.PaymentIntent, error) {
	if id, err := a.Orders.PaymentIntentOf(ctx, r.OrderID); err != nil || id != "" {
		if err != nil {
			return payments.PaymentIntent{}, ordersact.StateErr(err)
		}
		pi, err := a.Stripe.GetPaymentIntent(ctx, id)
		pi.ID = id
		return pi, refused(err)
	}
	pi, err := a.Stripe.CreatePaymentIntent(ctx, r)
	if err != nil {
		return pi, refused(err)
	}
	if err := a.Orders.SetPaymentIntent(ctx, r.OrderID, pi.ID); err != nil {
		return pi, ordersact.StateErr(err)
	}
	return pi, nil
}

// CancelRequest cancels an unpaid PaymentIntent.
type CancelRequest struct {
	PaymentIntentID string
	Reason          string // a Stripe cancellation_reason: abandoned, requested_by_customer, ...
	IdempotencyKey  string
}

// CancelResult says whether the payment beat the cancel.
type CancelResult struct {
	AlreadySucceeded bool
}

// CancelPaymentIntent cancels the PaymentIntent unless it has succeeded.
func (a *Activities) CancelPaymentIntent(ctx context.Context, r CancelRequest) (CancelResult, error) {
	err := a.Stripe.CancelPaymentIntent(ctx, r.PaymentIntentID, r.Reason, r.IdempotencyKey)
	if errors.Is(err, payments.ErrAlreadySucceeded) {
		return CancelResult{AlreadySucceeded: true}, nil
	}
	return CancelResult{}, refused(err)
}

// RefundPayment returns money through Stripe and answers Stripe's refund id.
func (a *Activities) RefundPayment(ctx context.Context, r payments.RefundRequest) (string, error) {
	id, err := a.Stripe.Refund(ctx, r)
	return id, refused(err)
}

// refused makes Stripe's final refusals (a card error, a 4xx other than a
// conflict or a rate limit) non-retryable; a network fault, a rate limit
// or a Stripe 5xx is returned as it is and retried.
func refused(err error) error {
	if err != nil && payments.Permanent(err) {
		// Stripe's own words, once: its JSON is not repeated in the chain.
		return temporal.NewNonRetryableApplicationError(payments.Describe(err), ErrTypeRefused, nil)
	}
	if err != nil {
		return described{payments.Describe(err), err}
	}
	return nil
}

// described reads as Stripe's message alone and still unwraps to the error.
type described struct {
	msg string
	err error
}

func (d described) Error() string { return d.msg }
func (d described) Unwrap() error { return d.err }
