// Package fulfilment holds the activities of the fulfilment and shipment
// workflows: each is an idempotent step of internal/fulfilment, so Temporal
// may retry it after any crash.
package fulfilment

import (
	"cmp"
	"context"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"

	emailact "github.com/shopkit/shop/activities/email"
	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
)

// Error types the workflows must not retry: the answer will not change.
const (
	ErrTypeWrongState = "ShipmentWrongState"
	ErrTypeNotFound   = "ShipmentNotFound"
	ErrTypeInvalid    = "ShipmentInvalid"
	ErrTypeTracking   = "TrackingNumberTaken"
	ErrTypeNoStock    = "NoStockToReship"
)

// NonRetryable lists the error types above, for retry policies.
var NonRetryable = refusals.Types()

// Activities changes shipments.
type Activities struct {
	Store    *fulfilment.Store
	Orders   *orders.Store
	Carriers carrier.Carriers
	// StaffTo receives the alerts (STAFF_EMAIL); ShopURL starts links.
	StaffTo string
	ShopURL string
	// Deadlines of new fulfilments; zero fields take DefaultDeadlines.
	Deadlines Deadlines
}

// Allocate turns the paid order into shipments, once.
func (a *Activities) Allocate(ctx context.Context, orderID int64) (Allocation, error) {
	s, err := a.Store.Allocate(ctx, orderID)
	return Allocation{Shipments: s, Deadlines: a.deadlines()}, classify(err)
}

func (a *Activities) deadlines() Deadlines {
	d, def := a.Deadlines, DefaultDeadlines
	return Deadlines{Pack: cmp.Or(d.Pack, def.Pack), FirstScan: cmp.Or(d.FirstScan, def.FirstScan),
		Delivery: cmp.Or(d.Delivery, def.Delivery), Lost: cmp.Or(d.Lost, def.Lost), Aftercare: cmp.Or(d.Aftercare, def.Aftercare)}
}

// Load reads a shipment.
func (a *Activities) Load(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	s, err := a.Store.Get(ctx, id)
	return s, classify(err)
}

// Pick records the picking.
func (a *Activities) Pick(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	s, err := a.Store.Pick(ctx, id)
	return s, classify(err)
}

// Pack records the packing.
func (a *Activities) Pack(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	s, err := a.Store.Pack(ctx, id)
	return s, classify(err)
}

// ShipInput is a shipment leaving with a carrier.
type ShipInput struct {
	ShipmentID int64
	Ship       fulfilment.ShipInput
}

// Ship books the label with the carrier adapter (the manual carrier takes
// the tracking number staff typed) and records the parcel as shipped.
func (a *Activities) Ship(ctx context.Context, in ShipInput) (fulfilment.Shipment, error) {
	sh, err := a.Store.Get(ctx, in.ShipmentID)
	if err != nil {
		return sh, classify(err)
	}
	c, err := a.Carriers.Lookup(in.Ship.Carrier)
	if err != nil {
		return sh, classify(err)
	}
	label, err := c.BookLabel(ctx, carrier.LabelRequest{ShipmentID: sh.ID, OrderID: sh.OrderID, LocationCode: sh.LocationCode,
		Service: in.Ship.Service, TrackingNumber: in.Ship.TrackingNumber})
	if err != nil {
		return sh, classify(err)
	}
	ship := in.Ship
	ship.Carrier, ship.TrackingNumber = c.Name(), label.TrackingNumber
	if ship.TrackingURL == "" {
		ship.TrackingURL = label.TrackingURL
	}
	if ship.Service == "" {
		ship.Service = label.Service
	}
	sh, err = a.Store.Ship(ctx, in.ShipmentID, ship)
	return sh, classify(err)
}

// ScanInput is a carrier scan of a parcel.
type ScanInput struct {
	ShipmentID int64
	Scan       fulfilment.Scan
}

// ApplyScan records a carrier scan once per event id.
func (a *Activities) ApplyScan(ctx context.Context, in ScanInput) (fulfilment.ScanResult, error) {
	r, err := a.Store.ApplyScan(ctx, in.ShipmentID, in.Scan)
	return r, classify(err)
}

// Deliver records a delivery confirmed by staff.
func (a *Activities) Deliver(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	s, err := a.Store.Deliver(ctx, id)
	return s, classify(err)
}

// ProblemInput is a problem reported on a shipment.
type ProblemInput struct {
	ShipmentID int64
	Note       string
}

// ReportProblem records a problem for staff.
func (a *Activities) ReportProblem(ctx context.Context, in ProblemInput) (fulfilment.Shipment, error) {
	s, err := a.Store.ReportProblem(ctx, in.ShipmentID, in.Note)
	return s, classify(err)
}

// OverdueInput marks a missed deadline.
type OverdueInput struct {
	ShipmentID int64
	Overdue    bool
	Note       string
}

// SetOverdue records (or clears) a missed deadline.
func (a *Activities) SetOverdue(ctx context.Context, in OverdueInput) error {
	return classify(a.Store.SetOverdue(ctx, in.ShipmentID, in.Overdue, in.Note))
}

// MarkLost records a parcel without scans past its window.
func (a *Activities) MarkLost(ctx context.Context, in ProblemInput) (fulfilment.Shipment, error) {
	s, err := a.Store.MarkLost(ctx, in.ShipmentID, in.Note)
	return s, classify(err)
}

// Reship sends a lost parcel's lines again and answers the replacements.
func (a *Activities) Reship(ctx context.Context, id int64) ([]fulfilment.Shipment, error) {
	s, err := a.Store.Reship(ctx, id)
	return s, classify(err)
}

// RefundLostInput refunds a lost parcel.
type RefundLostInput struct {
	ShipmentID int64
	By         int64
}

// LostRefund is the refund opened for a lost parcel (ID 0: nothing was
// left to refund) and the payment it goes back to.
type LostRefund struct {
	Refund          orders.Refund
	PaymentIntentID string
}

// RefundLost opens the refund of a lost parcel's lines, once.
func (a *Activities) RefundLost(ctx context.Context, in RefundLostInput) (LostRefund, error) {
	r, err := a.Store.RefundLost(ctx, in.ShipmentID, in.By)
	if err != nil || r.ID == 0 {
		return LostRefund{Refund: r}, classify(err)
	}
	pi, err := a.Orders.PaymentIntentOf(ctx, r.OrderID)
	return LostRefund{Refund: r, PaymentIntentID: pi}, ordersact.StateErr(err)
}

// EmailRequest asks for an email about a shipment.
type EmailRequest struct {
	ShipmentID int64
	Kind       string // mail.KindShipment* to the customer, mail.KindFulfilmentAlert to staff
	Key        string // one email per business event
	Reason     string // what the alert is about
}

// ShipmentEmail builds the email about a shipment from what is stored now.
func (a *Activities) ShipmentEmail(ctx context.Context, in EmailRequest) (emailact.Input, error) {
	sh, err := a.Store.Get(ctx, in.ShipmentID)
	if err != nil {
		return emailact.Input{}, classify(err)
	}
	o, err := a.Orders.Get(ctx, sh.OrderID)
	if err != nil {
		return emailact.Input{}, ordersact.StateErr(err)
	}
	d := mail.OrderEmail{CustomerName: o.CustomerName, OrderID: o.ID, Reason: in.Reason, ShippingAddress: o.ShippingAddress,
		ShipmentID: sh.ID, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, TrackingURL: sh.TrackingURL,
		Total: money.Money{Amount: o.Total, Currency: o.Currency}}
	for _, l := range sh.Lines {
		d.Lines = append(d.Lines, mail.Line{Name: l.Name, SKU: l.SKU, Quantity: l.Quantity})
	}
	to := o.CustomerEmail
	if in.Kind == mail.KindFulfilmentAlert {
		if a.StaffTo == "" {
			return emailact.Input{}, temporal.NewNonRetryableApplicationError("no staff address (STAFF_EMAIL) for alerts", ErrTypeInvalid, nil)
		}
		to, d.CustomerName = a.StaffTo, "team"
		d.Link = a.ShopURL + "/admin/fulfilment?shipment=" + strconv.FormatInt(sh.ID, 10)
	}
	return emailact.Input{Key: in.Key, Kind: in.Kind, To: to, OrderID: o.ID, CustomerID: o.UserID, Data: d}, nil
}

// refusals are the business refusals of the shipment steps.
var refusals = failure.Refusals{Invalid: ErrTypeInvalid, List: []failure.Refusal{
	{Type: ErrTypeWrongState, Err: fulfilment.ErrWrongState, Also: []error{orders.ErrWrongState}},
	{Type: ErrTypeNotFound, Err: fulfilment.ErrNotFound, Also: []error{orders.ErrNotFound}},
	{Type: ErrTypeTracking, Err: fulfilment.ErrTrackingTaken},
	{Type: ErrTypeNoStock, Err: fulfilment.ErrNoStock},
}}

// classify makes the refusals that a retry cannot change non-retryable.
func classify(err error) error { return refusals.Activity(err) }

// Refusal turns a step's failure back into the domain error it stands for,
// for the client that answers staff.
func Refusal(err error) error { return refusals.Domain(err, "shipment") }

// Invalid is a bad input as a non-retryable error that keeps the field.
func Invalid(err error) error { return refusals.InvalidError(err) }

// Deadlines bound each step of a shipment; a missed one alerts staff once.
type Deadlines struct {
	Pack      time.Duration // created → packed (FULFIL_PACK_WITHIN)
	FirstScan time.Duration // shipped → first carrier scan (FULFIL_FIRST_SCAN_WITHIN)
	Delivery  time.Duration // shipped → delivered; past it the customer hears of the delay (FULFIL_DELIVER_WITHIN)
	Lost      time.Duration // no scan for this long → lost, staff reship or refund (FULFIL_LOST_AFTER)
	// Aftercare is how long an order's workflow stays open after its
	// parcels, for returns and refunds (RETURN_WINDOW).
	Aftercare time.Duration
}

// DefaultDeadlines are used when none are configured.
var DefaultDeadlines = Deadlines{Pack: 24 * time.Hour, FirstScan: 48 * time.Hour, Delivery: 7 * 24 * time.Hour,
	Lost: 14 * 24 * time.Hour, Aftercare: 30 * 24 * time.Hour}

// Allocation answers Allocate: the order's shipments and the deadlines in
// force when it was made up (kept in the history, so a later change of
// configuration does not change a running fulfilment).
type Allocation struct {
	Shipments []fulfilment.Shipment
	Deadlines Deadlines
}
