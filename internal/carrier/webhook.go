package carrier

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/validation"
)

// SignatureHeader carries a webhook event's signature.
const SignatureHeader = "Carrier-Signature"

// Tolerance is how far a signature's timestamp may be from the clock,
// behind or ahead: a captured request cannot be replayed after it.
const Tolerance = 5 * time.Minute

// EventTrackingUpdated is the one event type: a parcel was scanned.
const EventTrackingUpdated = "tracking.updated"

// Statuses are the scan kinds a tracking event may report.
var Statuses = []string{fulfilment.ScanInTransit, fulfilment.ScanOutForDelivery, fulfilment.ScanDelivered,
	fulfilment.ScanException}

// ErrSignature is wrapped by every Verify error.
var ErrSignature = errors.New("invalid " + SignatureHeader)

// Sign answers the Carrier-Signature header of body signed with secret at now.
func Sign(body []byte, secret string, now time.Time) string {
	t := now.Unix()
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(mac(t, body, secret)))
}

func mac(t int64, body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", t)
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header signs body with secret within Tolerance of now.
func Verify(body []byte, header, secret string, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: no secret to check it with", ErrSignature)
	}
	var t int64
	var seenT bool
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed", ErrSignature)
		}
		switch k {
		case "t":
			ts, err := strconv.ParseInt(v, 10, 64)
			// Several timestamps would leave which one was signed open.
			if err != nil || seenT {
				return fmt.Errorf("%w: malformed timestamp", ErrSignature)
			}
			t, seenT = ts, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: malformed v1", ErrSignature)
			}
			sigs = append(sigs, sig)
		}
		// Other schemes are ignored, as Stripe's v0 is.
	}
	if !seenT || len(sigs) == 0 {
		return fmt.Errorf("%w: t= and v1= are required", ErrSignature)
	}
	switch age := now.Sub(time.Unix(t, 0)); {
	case age > Tolerance:
		return fmt.Errorf("%w: timestamp too old", ErrSignature)
	case age < -Tolerance:
		return fmt.Errorf("%w: timestamp in the future", ErrSignature)
	}
	want := mac(t, body, secret)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching signature", ErrSignature)
}

// Event is a carrier's tracking event.
type Event struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Created int64    `json:"created"`
	Data    Tracking `json:"data"`
}

// Tracking is what a tracking event says about a parcel.
type Tracking struct {
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	Status         string    `json:"status"` // one of Statuses
	Description    string    `json:"description"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// ParseEvent reads and checks a verified event body; a validation error
// names the field at fault.
func ParseEvent(body []byte) (Event, error) {
	var ev Event
	// Checked first: json.Unmarshal would turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return ev, errors.New("event: not valid UTF-8")
	}
	// occurred_at is read as text to answer a validation error naming it;
	// the shallower Data and OccurredAt fields win over the embedded ones.
	var raw struct {
		Event
		Data struct {
			Tracking
			OccurredAt string `json:"occurred_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return ev, fmt.Errorf("event: %w", err)
	}
	ev, ev.Data = raw.Event, raw.Data.Tracking
	d := &ev.Data
	ev.ID = strings.TrimSpace(ev.ID)
	d.Carrier = strings.ToLower(strings.TrimSpace(d.Carrier))
	d.TrackingNumber = strings.TrimSpace(d.TrackingNumber)
	d.Description = strings.TrimSpace(d.Description)
	for _, f := range []struct {
		field, v string
		lo, hi   int
	}{{"id", ev.ID, 1, 200}, {"type", ev.Type, 1, 100}, {"data.carrier", d.Carrier, 1, 50},
		{"data.tracking_number", d.TrackingNumber, 1, 100}, {"data.status", d.Status, 1, 50},
		{"data.description", d.Description, 0, 1000}} {
		if err := checkText(f.field, f.v, f.lo, f.hi); err != nil {
			return ev, err
		}
	}
	if ev.Type != EventTrackingUpdated {
		return ev, validation.New("type", "unknown event type %q", ev.Type)
	}
	known := false
	for _, s := range Statuses {
		known = known || d.Status == s
	}
	if !known {
		return ev, validation.New("data.status", "unknown status %q; want one of %s", d.Status, strings.Join(Statuses, ", "))
	}
	if raw.Data.OccurredAt == "" {
		return ev, validation.New("data.occurred_at", "is required")
	}
	at, err := time.Parse(time.RFC3339, raw.Data.OccurredAt)
	if err != nil {
		return ev, validation.New("data.occurred_at", "must be an RFC 3339 time")
	}
	d.OccurredAt = at
	return ev, nil
}

// Scan is the event as a scan of its parcel.
func (e Event) Scan() fulfilment.Scan {
	return fulfilment.Scan{EventID: e.ID, Kind: e.Data.Status, Description: e.Data.Description,
		OccurredAt: e.Data.OccurredAt}
}
