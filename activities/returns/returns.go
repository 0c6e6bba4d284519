// Package returns holds the activities of the Return workflow: each is an
// idempotent step of internal/returns, so Temporal may retry it after any
// crash.
package returns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	emailact "github.com/shopkit/shop/activities/email"
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/validation"
)

// Error types the workflow must not retry: the answer will not change.
const (
	ErrTypeWrongState    = "ReturnWrongState"
	ErrTypeNotFound      = "ReturnNotFound"
	ErrTypeInvalid       = "ReturnInvalid"
	ErrTypeNotReturnable = "ReturnNotReturnable"
	ErrTypeNoStock       = "ReturnNoStock"
)

// NonRetryable lists the error types above, for retry policies.
var NonRetryable = []string{ErrTypeWrongState, ErrTypeNotFound, ErrTypeInvalid, ErrTypeNotReturnable, ErrTypeNoStock}

// Activities changes returns.
type Activities struct {
	Store     *returns.Store
	Orders    *orders.Store
	Shipments *fulfilment.Store
	// Deadlines of the exchange parcels; zero fields take
	// fulfilmentact.DefaultDeadlines.
	Deadlines fulfilmentact.Deadlines
}

// Loaded answers Load: the return, and the rules in force when its
// workflow started (kept in the history, so a later change of
// configuration does not change a running return).
type Loaded struct {
	Return      returns.Return
	ExpireAfter time.Duration
	Deadlines   fulfilmentact.Deadlines
}

// LoadReturn reads a return and the rules that apply to it.
func (a *Activities) LoadReturn(ctx context.Context, id int64) (Loaded, error) {
	r, err := a.Store.Get(ctx, id)
	d, def := a.Deadlines, fulfilmentact.DefaultDeadlines
	return Loaded{Return: r, ExpireAfter: a.Store.Policy().ExpireAfter,
		Deadlines: fulfilmentact.Deadlines{Pack: cmp.Or(d.Pack, def.Pack), FirstScan: cmp.Or(d.FirstScan, def.FirstScan),
			Delivery: cmp.Or(d.Delivery, def.Delivery), Lost: cmp.Or(d.Lost, def.Lost), Aftercare: cmp.Or(d.Aftercare, def.Aftercare)},
	}, classify(err)
}

// DecisionInput is staff's approval or refusal of a return.
type DecisionInput struct {
	ReturnID int64
	Decision returns.Decision
}

// ApproveReturn records the approval.
func (a *Activities) ApproveReturn(ctx context.Context, in DecisionInput) (returns.Return, error) {
	r, err := a.Store.Approve(ctx, in.ReturnID, in.Decision)
	return r, classify(err)
}

// RefuseReturn records the refusal.
func (a *Activities) RefuseReturn(ctx context.Context, in DecisionInput) (returns.Return, error) {
	r, err := a.Store.Refuse(ctx, in.ReturnID, in.Decision)
	return r, classify(err)
}

// ReceiveInput is the return's parcel as staff found it.
type ReceiveInput struct {
	ReturnID int64
	Receive  returns.ReceiveInput
}

// ReceiveReturn records the parcel (restock, exchange parcels), once.
func (a *Activities) ReceiveReturn(ctx context.Context, in ReceiveInput) (returns.Return, error) {
	r, err := a.Store.Receive(ctx, in.ReturnID, in.Receive)
	return r, classify(err)
}

// ExpireReturn ends an approved return whose parcel did not come.
func (a *Activities) ExpireReturn(ctx context.Context, id int64) (returns.Return, error) {
	r, err := a.Store.Expire(ctx, id)
	return r, classify(err)
}

// ReturnExchangeShipments answers the parcels sending a return's exchanges.
func (a *Activities) ReturnExchangeShipments(ctx context.Context, id int64) ([]fulfilment.Shipment, error) {
	s, err := a.Shipments.ForReturn(ctx, id)
	return s, classify(err)
}

// RefundInput refunds a received return.
type RefundInput struct {
	ReturnID int64
	By       int64
}

// Refunded is the refund opened for a return (ID 0: nothing to pay back)
// and the payment it goes back to.
type Refunded struct {
	Refund          orders.Refund
	PaymentIntentID string
}

// RefundReturn opens the return's refund, once.
func (a *Activities) RefundReturn(ctx context.Context, in RefundInput) (Refunded, error) {
	r, err := a.Store.Refund(ctx, in.ReturnID, in.By)
	if err != nil || r.ID == 0 {
		return Refunded{Refund: r}, classify(err)
	}
	pi, err := a.Orders.PaymentIntentOf(ctx, r.OrderID)
	return Refunded{Refund: r, PaymentIntentID: pi}, ordersact.StateErr(err)
}

// EmailRequest asks for an email about a return to its customer.
type EmailRequest struct {
	ReturnID int64
	Kind     string // mail.KindReturn*
	Key      string // one email per business event
}

// ReturnEmail builds the email about a return from what is stored now.
func (a *Activities) ReturnEmail(ctx context.Context, in EmailRequest) (emailact.Input, error) {
	r, err := a.Store.Get(ctx, in.ReturnID)
	if err != nil {
		return emailact.Input{}, classify(err)
	}
	o, err := a.Orders.Get(ctx, r.OrderID)
	if err != nil {
		return emailact.Input{}, ordersact.StateErr(err)
	}
	d := emailData(r, o)
	return emailact.Input{Key: in.Key, Kind: in.Kind, To: o.CustomerEmail, OrderID: o.ID, CustomerID: o.UserID, Data: d}, nil
}

// classify makes the refusals that a retry cannot change non-retryable;
// anything else (a dropped connection, a timeout) is retried.
func classify(err error) error {
	var ve *validation.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return Invalid(err)
	case errors.Is(err, returns.ErrWrongState), errors.Is(err, orders.ErrWrongState), errors.Is(err, fulfilment.ErrWrongState):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWrongState, nil)
	case errors.Is(err, returns.ErrNotFound), errors.Is(err, orders.ErrNotFound), errors.Is(err, fulfilment.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	case errors.Is(err, returns.ErrNotReturnable):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotReturnable, nil)
	case errors.Is(err, fulfilment.ErrNoStock):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNoStock, nil)
	}
	return fmt.Errorf("returns: %w", err)
}

// Refusal turns a step's failure back into the domain error it stands for,
// for the client that answers staff.
func Refusal(err error) error {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return err
	}
	msg := ae.Message()
	switch ae.Type() {
	case ErrTypeWrongState:
		return fmt.Errorf("%w: %s", returns.ErrWrongState, msg)
	case ErrTypeNotFound:
		return fmt.Errorf("%w: %s", returns.ErrNotFound, msg)
	case ErrTypeNotReturnable:
		return fmt.Errorf("%w: %s", returns.ErrNotReturnable, msg)
	case ErrTypeNoStock:
		return fmt.Errorf("%w: %s", fulfilment.ErrNoStock, msg)
	case ErrTypeInvalid:
		var field string
		if ae.HasDetails() && ae.Details(&field) == nil && field != "" {
			return &validation.Error{Field: field, Reason: msg}
		}
		return validation.New("return", "%s", msg)
	}
	return err
}

// Invalid is a bad input (a *validation.Error) as a non-retryable error
// that keeps the field's name.
func Invalid(err error) error {
	var ve *validation.Error
	if errors.As(err, &ve) {
		return temporal.NewNonRetryableApplicationError(ve.Reason, ErrTypeInvalid, nil, ve.Field)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, nil)
}

func emailData(r returns.Return, o orders.Order) mail.OrderEmail {
	d := mail.OrderEmail{CustomerName: o.CustomerName, OrderID: o.ID, ReturnID: r.ID, Reason: r.StaffNote,
		ShippingAddress: o.ShippingAddress, Total: money.Money{Amount: o.Total, Currency: o.Currency}}
	for _, l := range r.Lines {
		d.Lines = append(d.Lines, mail.Line{Name: l.Name, SKU: l.SKU, Quantity: l.Quantity,
			UnitPrice: money.Money{Amount: l.UnitPrice, Currency: o.Currency},
			LineTotal: money.Money{Amount: l.UnitPrice * int64(l.Quantity), Currency: o.Currency}})
	}
	return d
}
