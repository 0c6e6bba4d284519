// Package returns holds the activities of the Return workflow: each is an
// idempotent step of internal/returns, so Temporal may retry it after any
// crash.
package returns

import (
	"cmp"
	"context"
	"time"

	emailact "github.com/shopkit/shop/activities/email"
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
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
var NonRetryable = refusals.Types()

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

// refusals are the business refusals of the return steps.
var refusals = failure.Refusals{Invalid: ErrTypeInvalid, List: []failure.Refusal{
	{Type: ErrTypeWrongState, Err: returns.ErrWrongState, Also: []error{orders.ErrWrongState, fulfilment.ErrWrongState}},
	{Type: ErrTypeNotFound, Err: returns.ErrNotFound, Also: []error{orders.ErrNotFound, fulfilment.ErrNotFound}},
	{Type: ErrTypeNotReturnable, Err: returns.ErrNotReturnable},
	{Type: ErrTypeNoStock, Err: fulfilment.ErrNoStock},
}}

// classify makes the refusals that a retry cannot change non-retryable.
func classify(err error) error { return refusals.Activity(err) }

// Refusal turns a step's failure back into the domain error it stands for,
// for the client that answers staff.
func Refusal(err error) error { return refusals.Domain(err, "return") }

// Invalid is a bad input as a non-retryable error that keeps the field.
func Invalid(err error) error { return refusals.InvalidError(err) }

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
