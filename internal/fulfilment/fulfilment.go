// Package fulfilment turns a paid order into shipments and keeps their
// state in PostgreSQL. A shipment sends what one location reserved for the
// order: the units come off that location's shelf when it ships, never from
// another one. Every step is an idempotent state change checked against the
// order under its row lock, so the fulfilment workflows can retry any of
// them, and a cancellation and a shipment racing each other cannot both win.
package fulfilment

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/validation"
)

// Status is where a shipment is.
type Status string

// Shipment statuses, in order; lost and cancelled end a shipment early.
const (
	StatusPending        Status = "pending"
	StatusPicked         Status = "picked"
	StatusPacked         Status = "packed"
	StatusShipped        Status = "shipped"
	StatusInTransit      Status = "in_transit"
	StatusOutForDelivery Status = "out_for_delivery"
	StatusDelivered      Status = "delivered"
	StatusLost           Status = "lost"
	StatusCancelled      Status = "cancelled"
)

// ParseStatus reads a shipment status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusPending, StatusPicked, StatusPacked, StatusShipped, StatusInTransit, StatusOutForDelivery,
		StatusDelivered, StatusLost, StatusCancelled:
		return st, nil
	}
	return "", validation.New("status", "unknown shipment status %q", s)
}

// Sent tells whether the parcel has left the location (its stock is gone).
func (s Status) Sent() bool {
	switch s {
	case StatusShipped, StatusInTransit, StatusOutForDelivery, StatusDelivered, StatusLost:
		return true
	}
	return false
}

// Open tells whether the location still has to send it.
func (s Status) Open() bool {
	return s == StatusPending || s == StatusPicked || s == StatusPacked
}

// Resolutions of a lost parcel.
const (
	ResolveReship = "reship"
	ResolveRefund = "refund"
)

// Scan kinds a carrier reports.
const (
	ScanInTransit      = "in_transit"
	ScanOutForDelivery = "out_for_delivery"
	ScanDelivered      = "delivered"
	ScanException      = "exception"
)

// Errors the API maps to status codes.
var (
	ErrNotFound = errors.New("shipment not found")
	// ErrWrongState means the step does not apply to the shipment or its
	// order now (delivering before shipping, shipping a cancelled order).
	ErrWrongState = errors.New("the shipment is not in a state for this step")
	// ErrTrackingTaken means another shipment has the tracking number.
	ErrTrackingTaken = errors.New("the tracking number belongs to another shipment")
)

// Line is an order line (or part of it) in a shipment.
type Line struct {
	Line      int32
	ProductID int64
	VariantID int64
	SKU       string
	Name      string
	Quantity  int32
}

// Shipment is one parcel of an order, sent from one location.
type Shipment struct {
	ID             int64
	OrderID        int64
	CustomerID     int64
	LocationID     int64
	LocationCode   string
	Status         Status
	Carrier        string
	Service        string
	TrackingNumber string
	TrackingURL    string
	Problem        string // staff only
	Overdue        bool
	ReplacesID     int64
	Resolution     string
	RefundID       int64
	Lines          []Line
	CreatedAt      time.Time
	PickedAt       *time.Time
	PackedAt       *time.Time
	ShippedAt      *time.Time
	LastScanAt     *time.Time
	DeliveredAt    *time.Time
	UpdatedAt      time.Time
}

// Describe names the shipment's state for messages: its status, and what
// staff decided for it when lost.
func (sh Shipment) Describe() string {
	if sh.Resolution != "" {
		return string(sh.Status) + " (resolved: " + sh.Resolution + ")"
	}
	return string(sh.Status)
}

// ShipInput is what staff (or a carrier's label) give when a parcel leaves.
type ShipInput struct {
	Carrier        string
	Service        string
	TrackingNumber string
	TrackingURL    string
}

// Normalize trims and checks the input; the error names the first bad field.
func (in *ShipInput) Normalize() error {
	in.Carrier = strings.ToLower(strings.TrimSpace(in.Carrier))
	in.Service = strings.TrimSpace(in.Service)
	in.TrackingNumber = strings.TrimSpace(in.TrackingNumber)
	in.TrackingURL = strings.TrimSpace(in.TrackingURL)
	for _, f := range []struct {
		field, v string
		min, max int
	}{{"carrier", in.Carrier, 1, 50}, {"service", in.Service, 0, 100},
		{"tracking_number", in.TrackingNumber, 1, 100}, {"tracking_url", in.TrackingURL, 0, 2000}} {
		n := utf8.RuneCountInString(f.v)
		switch {
		case !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0):
			return validation.New(f.field, "must be valid text")
		case n < f.min:
			return validation.New(f.field, "is required")
		case n > f.max:
			return validation.New(f.field, "must be at most %d characters", f.max)
		}
	}
	if in.TrackingURL != "" && !strings.HasPrefix(in.TrackingURL, "https://") && !strings.HasPrefix(in.TrackingURL, "http://") {
		return validation.New("tracking_url", "must be an http or https URL")
	}
	return nil
}

// Scan is one carrier tracking event about a parcel.
type Scan struct {
	EventID     string // the carrier's event id: a scan is applied once
	Kind        string // Scan*
	Description string
	OccurredAt  time.Time
}

// QueueFilter selects shipments for staff.
type QueueFilter struct {
	LocationID int64
	// Statuses to list; none lists what is still to be sent.
	Statuses []Status
	OrderID  int64
	Overdue  bool // only overdue shipments
	Limit    int32
	AfterID  int64 // keyset pagination: shipments with a larger id
}
