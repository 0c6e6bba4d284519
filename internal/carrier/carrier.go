// Package carrier is the shop's side of the parcel carriers: booking a
// parcel's label, and reading the tracking events a carrier posts to
// POST /webhooks/carrier.
//
// # Labels
//
// A Carrier books a shipment's label and answers its tracking number and
// URL. Manual is the carrier whose label staff print themselves and whose
// tracking number they type; a carrier with an API that issues labels is
// another Carrier in the Carriers registry, with no change to its callers.
//
// # Tracking webhook
//
// A carrier posts each tracking event as JSON:
//
//	{"id": "evt_...", "type": "tracking.updated", "created": <unix seconds>,
//	 "data": {"carrier": "manual", "tracking_number": "...",
//	          "status": "in_transit|out_for_delivery|delivered|exception",
//	          "description": "...", "occurred_at": "<RFC 3339>"}}
//
// signed with the header
//
//	Carrier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// keyed with CARRIER_WEBHOOK_SECRET: the scheme of Stripe's webhooks. The
// signature is refused when t is more than 5 minutes behind or ahead of the
// shop's clock; several v1 entries are accepted (one per secret while the
// carrier rotates it), any one of them matching suffices.
package carrier

import (
	"context"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/validation"
)

// Carrier books labels with one carrier.
type Carrier interface {
	// Name is the carrier's name on shipments and in its webhook events.
	Name() string
	// BookLabel books the parcel's label; a validation error names the
	// request field at fault.
	BookLabel(ctx context.Context, req LabelRequest) (Label, error)
}

// LabelRequest is the parcel a label is booked for.
type LabelRequest struct {
	ShipmentID   int64
	OrderID      int64
	LocationCode string // where the parcel leaves from
	Service      string // the carrier's service, e.g. "express"; may be empty
	// TrackingNumber is what staff typed; carriers that issue their own
	// numbers ignore it and it may be empty.
	TrackingNumber string
}

// Label is a booked label.
type Label struct {
	TrackingNumber string
	TrackingURL    string // empty when the carrier has no tracking page
	Service        string
}

// ManualName is the name of the Manual carrier.
const ManualName = "manual"

// Manual is a carrier whose labels staff make themselves: they type the
// tracking number, and TrackingURL, a template such as
// https://tracking.example.com/{tracking_number} (CARRIER_TRACKING_URL),
// makes the tracking link; empty makes none.
type Manual struct {
	TrackingURL string
}

// Name implements Carrier.
func (Manual) Name() string { return ManualName }

// BookLabel implements Carrier: the label is what staff typed.
func (m Manual) BookLabel(_ context.Context, req LabelRequest) (Label, error) {
	tn := strings.TrimSpace(req.TrackingNumber)
	if err := checkText("tracking_number", tn, 1, 100); err != nil {
		return Label{}, err
	}
	return Label{TrackingNumber: tn, TrackingURL: TrackingURL(m.TrackingURL, tn), Service: strings.TrimSpace(req.Service)}, nil
}

// TrackingURL fills template's {tracking_number} with the escaped number;
// an empty template makes no URL.
func TrackingURL(template, trackingNumber string) string {
	if template == "" {
		return ""
	}
	// QueryEscape leaves only unreserved characters, so the number cannot
	// end the path or add query parameters wherever the placeholder is; its
	// "+" for a space would be a literal plus in a path, hence %20.
	escaped := strings.ReplaceAll(url.QueryEscape(trackingNumber), "+", "%20")
	return strings.ReplaceAll(template, "{tracking_number}", escaped)
}

// Carriers are the carriers the shop ships with, by name.
type Carriers map[string]Carrier

// NewCarriers registers cs by their names.
func NewCarriers(cs ...Carrier) Carriers {
	m := make(Carriers, len(cs))
	for _, c := range cs {
		m[c.Name()] = c
	}
	return m
}

// Lookup answers the carrier of that name (case and surrounding spaces do
// not matter), or a validation error on field carrier.
func (cs Carriers) Lookup(name string) (Carrier, error) {
	if c, ok := cs[strings.ToLower(strings.TrimSpace(name))]; ok {
		return c, nil
	}
	return nil, validation.New("carrier", "unknown carrier %q", name)
}

// checkText checks a text field's validity and length in characters.
func checkText(field, v string, lo, hi int) error {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return validation.New(field, "must be valid text")
	case n < lo:
		return validation.New(field, "is required")
	case n > hi:
		return validation.New(field, "must be at most %d characters", hi)
	}
	return nil
}
