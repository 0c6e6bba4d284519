// Package orders holds orders and their lifecycle in PostgreSQL: placing an
// order reserves its stock in the same transaction, and every later step
// (paid, failed, cancelled, refunded) is an idempotent state change, so the
// checkout workflow can retry any of them safely.
package orders

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Status is where an order is in its life.
type Status string

// Statuses, in the order an order usually passes them.
const (
	StatusAwaitingPayment   Status = "awaiting_payment"
	StatusPaid              Status = "paid"
	StatusPartiallyShipped  Status = "partially_shipped"
	StatusShipped           Status = "shipped"
	StatusDelivered         Status = "delivered"
	StatusPaymentFailed     Status = "payment_failed"
	StatusCancelled         Status = "cancelled"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
)

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusAwaitingPayment, StatusPaid, StatusPartiallyShipped, StatusShipped, StatusDelivered,
		StatusPaymentFailed, StatusCancelled, StatusPartiallyRefunded, StatusRefunded:
		return st, nil
	}
	return "", validation.New("status", "unknown status %q", s)
}

// Errors the API maps to status codes.
var (
	ErrNotFound = errors.New("order not found")
	// ErrOutOfStock is matched by *StockError.
	ErrOutOfStock = errors.New("insufficient stock")
	// ErrNotCancellable means the order has gone past the point of cancelling.
	ErrNotCancellable = errors.New("order can no longer be cancelled")
	// ErrNotRefundable means the amount exceeds what was captured and not yet refunded.
	ErrNotRefundable = errors.New("refund not possible")
	// ErrIdempotencyKeyReused means the key came with a different request body.
	ErrIdempotencyKeyReused = errors.New("Idempotency-Key was already used for a different order request")
	// ErrWrongState means a transition does not apply to the order's status.
	ErrWrongState = errors.New("order is not in a state for this step")
	// ErrRefundNotOpen means the refund was already settled.
	ErrRefundNotOpen = errors.New("refund is already settled")
)

// StockError names the product that is short.
type StockError struct {
	ProductID, VariantID int64
	SKU, Name            string
	Requested, Available int32
}

func (e *StockError) Error() string {
	return fmt.Sprintf("insufficient stock for %s (%s): %d requested, %d available", e.Name, e.SKU, e.Requested, e.Available)
}

// Is makes errors.Is(err, ErrOutOfStock) true.
func (e *StockError) Is(target error) bool { return target == ErrOutOfStock }

// Item is one requested product or variant.
type Item struct {
	ProductID int64
	VariantID int64
	Quantity  int32
}

// PlaceInput is everything needed to place an order; the checkout workflow
// carries it, so it is visible in the Temporal UI.
type PlaceInput struct {
	OrderID int64
	UserID  int64
	// Items to order; empty means the user's cart (with its coupon and
	// shipping choice unless set here).
	Items          []Item
	CouponCode     string
	ShippingMethod string
	// Shipping is the structured address shipped to; when set,
	// ShippingAddress is its one-line rendering. Otherwise ShippingAddress
	// is a free-form address (the original API's), taxed as a US address
	// when it ends in ", ST 12345" and as Settings.DefaultCountry otherwise.
	Shipping        *address.Address `json:",omitempty"`
	ShippingAddress string
	// Billing is a structured billing address; BillingAddress is its
	// rendering, or a free-form one, or else the shipping address.
	Billing        *address.Address `json:",omitempty"`
	BillingAddress string
	// Country and Region are the tax jurisdiction. Validate derives them
	// from the shipping address; a value given beforehand (the API's
	// legacy shipping_country and shipping_region) must agree with it.
	Country       string
	Region        string
	PaymentMethod string
}

// Settings are the shop's pricing rules.
type Settings struct {
	ShippingMethods pricing.ShippingMethods
	TaxRates        pricing.TaxRates
	DefaultCountry  string
}

// Line is an ordered product at the price charged.
type Line struct {
	Line      int
	ProductID int64
	VariantID int64
	SKU       string
	Name      string
	Quantity  int32
	UnitPrice int64
	LineTotal int64
}

// Event is one entry of an order's timeline.
type Event struct {
	Status string
	Note   string
	At     time.Time
}

// Refund is money returned, or being returned, for an order.
type Refund struct {
	ID             int64
	OrderID        int64
	Amount         int64
	Currency       string
	Reason         string // for people; code finds a refund by Kind, never by Reason
	Kind           string // what opened it: RefundKindRequested or RefundKindCancellation
	Status         RefundStatus
	StripeRefundID string
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RefundStatus is where a refund is.
type RefundStatus string

// Refund statuses.
const (
	RefundPending        RefundStatus = "pending"
	RefundSucceeded      RefundStatus = "succeeded"
	RefundNeedsAttention RefundStatus = "needs_attention"
	RefundFailed         RefundStatus = "failed"
)

// Refund kinds: what opened the refund.
const (
	// RefundKindRequested is a refund staff asked for (RequestRefund).
	RefundKindRequested = "requested"
	// RefundKindCancellation is the refund of a cancelled paid order
	// (CancellationRefund); an order has at most one that has not failed.
	RefundKindCancellation = "cancellation"
	// RefundKindLostParcel pays back the lines of a parcel lost in transit.
	RefundKindLostParcel = "lost_parcel"
	// RefundKindReturn pays back returned lines.
	RefundKindReturn = "return"
)

// Refundable tells whether money can be paid back on an order in status s.
func (s Status) Refundable() bool {
	switch s {
	case StatusPaid, StatusPartiallyShipped, StatusShipped, StatusDelivered, StatusPartiallyRefunded, StatusCancelled:
		return true
	}
	return false
}

// Order is a placed order.
type Order struct {
	ID              int64
	UserID          int64
	Status          Status
	StatusReason    string
	Currency        string
	Subtotal        int64
	Discount        int64
	Shipping        int64
	Tax             int64
	TaxPPM          int64
	Total           int64
	Captured        int64
	Refunded        int64
	CouponCode      string
	ShippingMethod  string
	ShippingAddress string
	// ShipTo is the structured shipping address; nil for a free-form one.
	ShipTo          *address.Address
	BillingAddress  string
	Country         string
	Region          string
	PaymentMethod   string
	PaymentIntentID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	PaidAt          *time.Time
	CustomerEmail   string
	CustomerName    string
	Lines           []Line
	Events          []Event
	Refunds         []Refund
}

// Paying methods accepted; both mean a card through Stripe.
var paymentMethods = map[string]bool{"credit_card": true, "card": true}

// Validate checks and normalises the input before anything is written. It
// is idempotent: the checkout validates again what the API validated.
func (in *PlaceInput) Validate(s Settings) error {
	if len(in.Items) > pricing.MaxLines {
		return validation.New("items", "at most %d lines per order", pricing.MaxLines)
	}
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		switch {
		case it.ProductID <= 0:
			return validation.New(f+".product_id", "is required")
		case it.VariantID < 0:
			return validation.New(f+".variant_id", "must not be negative")
		case it.Quantity <= 0:
			return validation.New(f+".quantity", "must be at least 1")
		case it.Quantity > pricing.MaxLineQuantity:
			return validation.New(f+".quantity", "must be at most %d", pricing.MaxLineQuantity)
		}
	}
	if err := in.validateAddresses(s); err != nil {
		return err
	}
	in.PaymentMethod = strings.ToLower(strings.TrimSpace(in.PaymentMethod))
	if in.PaymentMethod == "" {
		in.PaymentMethod = "credit_card"
	}
	if !paymentMethods[in.PaymentMethod] {
		return validation.New("payment_method", "%q is not accepted; use credit_card", in.PaymentMethod)
	}
	in.ShippingMethod = strings.ToLower(strings.TrimSpace(in.ShippingMethod))
	if _, ok := s.ShippingMethods[in.ShippingMethod]; in.ShippingMethod != "" && !ok {
		return validation.New("shipping_method", "unknown shipping method %q", in.ShippingMethod)
	}
	in.CouponCode = strings.ToUpper(strings.TrimSpace(in.CouponCode))
	return nil
}

// validateAddresses checks the shipping and billing addresses and derives
// the tax jurisdiction from the shipping address alone.
func (in *PlaceInput) validateAddresses(s Settings) error {
	var country, region string
	if in.Shipping != nil {
		a, err := address.Normalize(*in.Shipping, "shipping", address.Full)
		if err != nil {
			return err
		}
		line := a.String()
		if free := strings.TrimSpace(in.ShippingAddress); free != "" && free != line {
			return validation.New("shipping_address", "send either the structured shipping address or shipping_address, not both")
		}
		in.Shipping, in.ShippingAddress = &a, line
		country, region = a.Country, a.Region
	} else {
		var err error
		if in.ShippingAddress, err = freeForm("shipping_address", in.ShippingAddress, true); err != nil {
			return err
		}
		// "123 Main St, City, CA 90001" is a US address in CA; in a US
		// shop a trailing ZIP code alone names the state too, so leaving
		// out or misspelling the state does not dodge its tax. Anything
		// else is taxed as the shop's default country.
		st, _, ok, err := address.ParseUSTail(in.ShippingAddress, "shipping_address")
		switch {
		case err != nil:
			return err
		case ok:
			country, region = "US", st
		default:
			country = s.DefaultCountry
			if zs, ok := address.TrailingZIPState(in.ShippingAddress); ok && country == "US" {
				region = zs
			}
		}
	}
	if err := in.checkClaimedJurisdiction(country, region); err != nil {
		return err
	}
	in.Country, in.Region = country, region

	if in.Billing != nil {
		b, err := address.Normalize(*in.Billing, "billing", address.Full)
		if err != nil {
			return err
		}
		line := b.String()
		if free := strings.TrimSpace(in.BillingAddress); free != "" && free != line {
			return validation.New("billing_address", "send either the structured billing address or billing_address, not both")
		}
		in.Billing, in.BillingAddress = &b, line
	}
	var err error
	if in.BillingAddress, err = freeForm("billing_address", in.BillingAddress, false); err != nil {
		return err
	}
	if in.BillingAddress == "" {
		in.BillingAddress = in.ShippingAddress
	}
	return nil
}

// checkClaimedJurisdiction holds the legacy shipping_country and
// shipping_region to what the address says.
func (in *PlaceInput) checkClaimedJurisdiction(country, region string) error {
	basis := "the shipping address"
	if in.Shipping == nil && region == "" {
		basis = fmt.Sprintf("a free-form shipping_address (taxed as %s; send the structured shipping address to be taxed by region)", country)
	}
	return address.Agree(in.Country, in.Region, country, region, "shipping_country", "shipping_region", basis)
}

func freeForm(field, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		return "", validation.New(field, "is required")
	case len(v) > 500:
		return "", validation.New(field, "must be at most 500 characters")
	case v != "" && len(v) < 5:
		return "", validation.New(field, "is too short to be an address")
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\n' {
			return "", validation.New(field, "must not contain control characters")
		}
	}
	return v, nil
}
