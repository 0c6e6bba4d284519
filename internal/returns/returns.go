// Package returns keeps returns and exchanges (RMA) in PostgreSQL. A
// customer asks to send back units of delivered parcels, within the return
// window; staff approve or refuse the request, receive the parcel (the
// resellable units go back on hand at a location, the damaged ones do not)
// and the refund of the received lines follows, once. A line may ask for
// another variant of the same product instead of money back: the
// replacement is reserved and leaves in a parcel of its own when the
// return is received. Every step takes the order's row lock first (as the
// order and fulfilment steps do) and is idempotent, so the Return workflow
// can retry any of them.
package returns

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Status is where a return is.
type Status string

// Return statuses: requested -> approved -> received -> refunded; refused
// and expired end a return early.
const (
	StatusRequested Status = "requested"
	StatusApproved  Status = "approved"
	StatusRefused   Status = "refused"
	StatusReceived  Status = "received"
	StatusRefunded  Status = "refunded"
	StatusExpired   Status = "expired"
)

// Statuses lists every status, in order.
var Statuses = []Status{StatusRequested, StatusApproved, StatusRefused, StatusReceived, StatusRefunded, StatusExpired}

// ParseStatus reads a return status name.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", validation.New("status", "unknown return status %q", s)
}

// Holds tells whether a return in status s counts against the units that
// can still be returned (it is open or completed).
func (s Status) Holds() bool { return s != StatusRefused && s != StatusExpired }

// Final tells whether a return in status s can change no more.
func (s Status) Final() bool {
	return s == StatusRefused || s == StatusRefunded || s == StatusExpired
}

// Errors the API maps to status codes.
var (
	ErrNotFound = errors.New("return not found")
	// ErrWrongState means the step does not apply to the return now
	// (receiving a return twice, approving a refused one).
	ErrWrongState = errors.New("the return is not in a state for this step")
	// ErrNotReturnable means the units cannot be returned: not delivered,
	// outside the return window, more than is left to return, or an
	// exchange the shop does not make.
	ErrNotReturnable = errors.New("not returnable")
)

// Shipping refund policies (RETURN_REFUND_SHIPPING).
const (
	ShippingNever      = "never"       // shipping is never refunded
	ShippingFullReturn = "full_return" // refunded when every unit of the order comes back
)

// Policy is the shop's return rules.
type Policy struct {
	// Window: units can be returned this long after their parcel's
	// delivery (RETURN_WINDOW).
	Window time.Duration
	// RestockingFeePercent of the refunded goods is kept (0..100,
	// RETURN_RESTOCKING_FEE_PERCENT); exchanges pay no fee.
	RestockingFeePercent int64
	// RefundShipping is ShippingNever or ShippingFullReturn.
	RefundShipping string
	// ExpireAfter: an approved return not received this long after the
	// approval expires (RETURN_EXPIRE_AFTER).
	ExpireAfter time.Duration
}

// DefaultPolicy is used for the zero fields of a Store's policy.
var DefaultPolicy = Policy{Window: 30 * 24 * time.Hour, RefundShipping: ShippingNever, ExpireAfter: 14 * 24 * time.Hour}

// Line is units of an order line in a return.
type Line struct {
	Line      int32
	ProductID int64
	VariantID int64
	SKU       string
	Name      string
	UnitPrice int64 // what was paid per unit
	Quantity  int32
	Reason    string
	// Once received.
	Received   bool
	Resellable int32
	Damaged    int32
	LocationID int64
	// ExchangeVariantID (0: none) is the variant wanted instead of money
	// back; ExchangeUnitPrice its unit price when asked.
	ExchangeVariantID int64
	ExchangeUnitPrice int64
}

// Return is a customer's request to send back units of an order.
type Return struct {
	ID             int64
	OrderID        int64
	CustomerID     int64
	Status         Status
	Reason         string
	CustomerNote   string
	StaffNote      string // shown to the customer with the decision
	RestockingFee  int64
	ShippingRefund int64
	RefundID       int64
	// RefundAmount is the refund's amount (0: none).
	RefundAmount int64
	Currency     string
	Lines        []Line
	// ExchangeShipments are the parcels sending the exchanged variants.
	ExchangeShipments []int64
	CreatedAt         time.Time
	DecidedAt         *time.Time
	ReceivedAt        *time.Time
	ClosedAt          *time.Time
	UpdatedAt         time.Time
}

// LineRequest asks to return units of an order line.
type LineRequest struct {
	Line              int32
	Quantity          int32
	Reason            string
	ExchangeVariantID int64 // 0: money back
}

// RequestInput is a customer's return request.
type RequestInput struct {
	OrderID int64
	// CustomerID must own the order (0: staff asking for the customer).
	CustomerID int64
	Lines      []LineRequest
	Reason     string // the return's; the first line's when empty
	Note       string
}

// Normalize trims and checks the request; the error names the first bad field.
func (in *RequestInput) Normalize() error {
	if in.OrderID <= 0 {
		return validation.New("order_id", "is required")
	}
	if len(in.Lines) == 0 {
		return validation.New("lines", "name at least one order line to return")
	}
	if len(in.Lines) > pricing.MaxLines {
		return validation.New("lines", "at most %d lines per return", pricing.MaxLines)
	}
	seen := map[int32]bool{}
	for i := range in.Lines {
		l := &in.Lines[i]
		f := fmt.Sprintf("lines[%d]", i)
		var err error
		switch {
		case l.Line <= 0:
			return validation.New(f+".line", "is required")
		case seen[l.Line]:
			return validation.New(f+".line", "line %d appears twice", l.Line)
		case l.Quantity <= 0:
			return validation.New(f+".quantity", "must be at least 1")
		case l.Quantity > pricing.MaxLineQuantity:
			return validation.New(f+".quantity", "must be at most %d", pricing.MaxLineQuantity)
		case l.ExchangeVariantID < 0:
			return validation.New(f+".exchange_variant_id", "must not be negative")
		}
		if l.Reason, err = text(f+".reason", l.Reason, 500); err != nil {
			return err
		}
		seen[l.Line] = true
	}
	var err error
	if in.Reason, err = text("reason", in.Reason, 500); err != nil {
		return err
	}
	if in.Reason == "" {
		in.Reason = in.Lines[0].Reason
	}
	in.Note, err = text("note", in.Note, 1000)
	return err
}

// ReceiveLine is what came back of a return line: resellable plus damaged
// units make its quantity; the resellable ones go back on hand at
// LocationID (0: the default location).
type ReceiveLine struct {
	Line       int32
	Resellable int32
	Damaged    int32
	LocationID int64
}

// ReceiveInput is staff's record of a return's parcel.
type ReceiveInput struct {
	Lines []ReceiveLine
	Note  string
	By    int64
}

// Normalize checks the input's shape; Receive checks it against the return.
func (in *ReceiveInput) Normalize() error {
	if len(in.Lines) == 0 {
		return validation.New("lines", "say what came back of every line of the return")
	}
	if len(in.Lines) > pricing.MaxLines {
		return validation.New("lines", "at most %d lines", pricing.MaxLines)
	}
	seen := map[int32]bool{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		switch {
		case l.Line <= 0:
			return validation.New(f+".line", "is required")
		case seen[l.Line]:
			return validation.New(f+".line", "line %d appears twice", l.Line)
		case l.Resellable < 0:
			return validation.New(f+".resellable", "must not be negative")
		case l.Damaged < 0:
			return validation.New(f+".damaged", "must not be negative")
		case l.Resellable+l.Damaged <= 0:
			return validation.New(f+".resellable", "resellable plus damaged must be the line's returned quantity")
		case l.LocationID < 0:
			return validation.New(f+".location_id", "must not be negative")
		}
		seen[l.Line] = true
	}
	var err error
	in.Note, err = text("note", in.Note, 1000)
	return err
}

// Decision is staff's approval or refusal.
type Decision struct {
	Note string
	By   int64
}

// Normalize checks the decision's note.
func (d *Decision) Normalize() error {
	var err error
	d.Note, err = text("note", d.Note, 1000)
	return err
}

func text(field, v string, maxLen int) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return "", validation.New(field, "must be valid text")
	case utf8.RuneCountInString(v) > maxLen:
		return "", validation.New(field, "must be at most %d characters", maxLen)
	}
	return v, nil
}
