// Package payments holds the activities that call Stripe.
package payments

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

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
// PaymentIntent on the order. The key derives from the workflow and step,
// so a retry after a crash gets the same PaymentIntent from Stripe.
func (a *Activities) CreatePaymentIntent(ctx context.Context, r payments.PaymentIntentRequest) (payments.PaymentIntent, error) {
	pi, err := a.Stripe.CreatePaymentIntent(ctx, r)
	if err != nil {
		return pi, refused(err)
	}
	if err := a.Orders.SetPaymentIntent(ctx, r.OrderID, pi.ID); err != nil {
		return pi, err
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

func refused(err error) error {
	if err != nil && payments.Permanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRefused, err)
	}
	return err
}
