// Package orders holds the activities that change orders in PostgreSQL.
// Each one is an idempotent state change of internal/orders, so Temporal may
// retry it after any crash.
package orders

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/validation"
)

// Error types the workflows must not retry: the answer will not change.
const (
	ErrTypeInvalidOrder = "InvalidOrder"
	ErrTypeOutOfStock   = "OutOfStock"
	ErrTypeWrongState   = "OrderWrongState"
	ErrTypeNotFound     = "OrderNotFound"
)

// Activities changes orders.
type Activities struct {
	Store *orders.Store
}

// Placed is what the checkout workflow keeps of a placed order.
type Placed struct {
	OrderID       int64
	UserID        int64
	Total         int64
	Currency      string
	CustomerEmail string
}

// Rejection explains why an order was not placed; the API answers it as
// InvalidArgument (Field set) or FailedPrecondition (out of stock).
type Rejection struct {
	Field   string
	Message string
	// ProductID and VariantID name the product that is short.
	ProductID int64
	VariantID int64
}

// PlaceOrder writes the order and reserves its stock in one transaction.
func (a *Activities) PlaceOrder(ctx context.Context, in orders.PlaceInput) (Placed, error) {
	o, err := a.Store.Place(ctx, in)
	var fe *validation.Error
	var se *orders.StockError
	switch {
	case errors.As(err, &fe):
		return Placed{}, temporal.NewNonRetryableApplicationError(fe.Error(), ErrTypeInvalidOrder, nil,
			Rejection{Field: fe.Field, Message: fe.Reason})
	case errors.As(err, &se):
		return Placed{}, temporal.NewNonRetryableApplicationError(se.Error(), ErrTypeOutOfStock, nil,
			Rejection{Message: se.Error(), ProductID: se.ProductID, VariantID: se.VariantID})
	case failure.Permanent(err):
		// A value the database refuses: retrying cannot help, and the
		// shopper is told (400) instead of waiting.
		return Placed{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidOrder, nil,
			Rejection{Field: "order", Message: "contains a value that cannot be stored (invalid text or a number out of range)"})
	case err != nil:
		// Not a refusal: a dropped connection, a timeout or a
		// serialization failure is retried, and the retry places the
		// order (or finds it placed).
		return Placed{}, err
	}
	return Placed{OrderID: o.ID, UserID: o.UserID, Total: o.Total, Currency: o.Currency, CustomerEmail: o.CustomerEmail}, nil
}

// RejectionOf returns the rejection carried by a PlaceOrder failure, if any.
func RejectionOf(err error) (Rejection, bool) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || (ae.Type() != ErrTypeInvalidOrder && ae.Type() != ErrTypeOutOfStock) {
		return Rejection{}, false
	}
	var r Rejection
	if ae.HasDetails() && ae.Details(&r) == nil {
		return r, true
	}
	return Rejection{Message: ae.Message()}, true
}

// MarkPaidInput records a captured payment.
type MarkPaidInput struct {
	OrderID int64
	Amount  int64
	Note    string
}

// MarkPaid records the payment and commits the reserved stock.
func (a *Activities) MarkPaid(ctx context.Context, in MarkPaidInput) error {
	return StateErr(a.Store.MarkPaid(ctx, in.OrderID, in.Amount, in.Note))
}

// ReleaseInput ends an unpaid order.
type ReleaseInput struct {
	OrderID int64
	Status  orders.Status
	Reason  string
}

// ReleaseOrder gives the reserved stock and coupon use back and records why.
func (a *Activities) ReleaseOrder(ctx context.Context, in ReleaseInput) error {
	return StateErr(a.Store.Release(ctx, in.OrderID, in.Status, in.Reason))
}

// CancelPaidInput cancels a paid order.
type CancelPaidInput struct {
	OrderID int64
	Reason  string
	By      int64
}

// CancelPaidOrder puts a paid order's stock back, marks it cancelled and
// opens the refund of everything captured; it answers the refund (zero when
// nothing is left to refund). A retry finds the refund it opened by its
// kind, the cancellation's, and opens no second one.
func (a *Activities) CancelPaidOrder(ctx context.Context, in CancelPaidInput) (orders.Refund, error) {
	if err := a.Store.CancelPaid(ctx, in.OrderID, in.Reason); err != nil {
		return orders.Refund{}, StateErr(err)
	}
	r, err := a.Store.CancellationRefund(ctx, in.OrderID, cancelRefundReason, in.By)
	return r, StateErr(err)
}

// cancelRefundReason is the reason shown on a cancellation's refund; it is
// text for people, and nothing looks a refund up by it.
const cancelRefundReason = "order cancelled"

// FlagInput asks staff to look at an order.
type FlagInput struct {
	OrderID int64
	Note    string
}

// FlagOrder records on the order's timeline that it needs staff, without
// changing its status.
func (a *Activities) FlagOrder(ctx context.Context, in FlagInput) error {
	return StateErr(a.Store.Flag(ctx, in.OrderID, in.Note))
}

// RefundUpdate changes a refund's bookkeeping.
type RefundUpdate struct {
	RefundID       int64
	StripeRefundID string
	Note           string
}

// CompleteRefund records money returned.
func (a *Activities) CompleteRefund(ctx context.Context, in RefundUpdate) error {
	return StateErr(a.Store.CompleteRefund(ctx, in.RefundID, in.StripeRefundID, in.Note))
}

// FlagRefund marks a refund that needs a person.
func (a *Activities) FlagRefund(ctx context.Context, in RefundUpdate) error {
	return StateErr(a.Store.RefundNeedsAttention(ctx, in.RefundID, in.Note))
}

// ReopenRefund puts a flagged refund back to pending for another attempt.
func (a *Activities) ReopenRefund(ctx context.Context, in RefundUpdate) error {
	return StateErr(a.Store.ReopenRefund(ctx, in.RefundID))
}

// FailRefund closes a refund without money returned.
func (a *Activities) FailRefund(ctx context.Context, in RefundUpdate) error {
	return StateErr(a.Store.FailRefund(ctx, in.RefundID, in.Note))
}

// EmailRequest asks for the email about an order event.
type EmailRequest struct {
	OrderID int64
	Kind    string
	// Key is the business event, unique per email: "order-42-confirmation".
	Key    string
	Reason string
	Amount int64 // refunds
}

// OrderEmail builds an email about the order from what is stored now.
func (a *Activities) OrderEmail(ctx context.Context, in EmailRequest) (emailact.Input, error) {
	o, err := a.Store.Get(ctx, in.OrderID)
	if err != nil {
		return emailact.Input{}, StateErr(err)
	}
	m := func(v int64) money.Money { return money.Money{Amount: v, Currency: o.Currency} }
	d := mail.OrderEmail{
		CustomerName: o.CustomerName, OrderID: o.ID, Subtotal: m(o.Subtotal), Discount: m(o.Discount),
		Shipping: m(o.Shipping), Tax: m(o.Tax), Total: m(o.Total), Amount: m(in.Amount), Reason: in.Reason,
		ShippingAddress: o.ShippingAddress,
	}
	for _, l := range o.Lines {
		d.Lines = append(d.Lines, mail.Line{Name: l.Name, SKU: l.SKU, Quantity: l.Quantity, UnitPrice: m(l.UnitPrice), LineTotal: m(l.LineTotal)})
	}
	return emailact.Input{Key: in.Key, Kind: in.Kind, To: o.CustomerEmail, OrderID: o.ID, CustomerID: o.UserID, Data: d}, nil
}

// StateErr makes the order refusals that a retry cannot change (a step
// that does not apply to the order's state, an order or refund that does
// not exist) non-retryable application errors of ErrTypeWrongState and
// ErrTypeNotFound. Any other error is returned wrapped, for the worker's
// classifier (internal/failure): PostgreSQL data errors are final, the
// rest (a dropped connection, a timeout, a serialization failure) is
// retried.
func StateErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, orders.ErrWrongState), errors.Is(err, orders.ErrNotCancellable),
		errors.Is(err, orders.ErrNotRefundable), errors.Is(err, orders.ErrRefundNotOpen):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWrongState, nil)
	case errors.Is(err, orders.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	return fmt.Errorf("orders: %w", err)
}
