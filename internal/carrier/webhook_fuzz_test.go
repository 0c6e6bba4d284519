package carrier

import (
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/validation"
)

const fuzzSecret = "carrier-fuzz-secret"

var carrierEventSeeds = [][]byte{
	event(" evt_1 ", "tracking.updated", "Manual", " TN1 ", "out_for_delivery", "With the driver", "2024-05-01T09:30:00.5+02:00"),
	event("evt_2", "tracking.updated", "manual", "TN2", "delivered", "", "2024-05-01T09:30:00Z"),
	event("evt_3", "tracking.updated", "manual", "TN3", "lost", "", "yesterday"),
	event("evt\x00", "tracking.created", "", "", "", "", ""),
	[]byte(`{"id": "evt", "type": "tracking.upd`),
	[]byte(`{"id": "evt", "type": "tracking.updated", "data": "TN1"}`),
	[]byte(`{"id": 7, "type": "tracking.updated"}`),
	[]byte(`{"id": "evt", "type": "tracking.updated", "created": "now"}`),
	[]byte("{\"id\": \"\xff\"}"),
}

// FuzzCarrierVerify: whatever the header, a body is accepted only with the
// HMAC of it under the secret and a timestamp within the tolerance.
func FuzzCarrierVerify(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	for _, body := range carrierEventSeeds {
		sig := Sign(body, fuzzSecret, now)
		f.Add(body, sig)
		f.Add(body, sig+",t=1")
		f.Add(body, strings.Replace(sig, "v1=", "v0=", 1))
		f.Add(body, "t=1700000000,v1=zz")
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := Verify(body, header, fuzzSecret, now)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify error does not wrap ErrSignature: %v", err)
			}
			return
		}
		var ts int64 = -1 << 63
		for part := range strings.SplitSeq(header, ",") {
			if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "t" {
				ts, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
			t.Fatalf("accepted a timestamp %v off the clock: %q", d, header)
		}
		if !strings.Contains(strings.ToLower(header), hex.EncodeToString(mac(ts, body, fuzzSecret))) {
			t.Fatalf("accepted a header without the body's signature: %q", header)
		}
		if Verify(body, header, "other-secret", now) == nil || Verify(body, header, "", now) == nil {
			t.Fatalf("the same header verifies under another secret: %q", header)
		}
		if len(body) > 0 {
			changed := slices.Clone(body)
			changed[0] ^= 1
			if Verify(changed, header, fuzzSecret, now) == nil {
				t.Fatalf("accepted a changed body")
			}
		}
	})
}

// FuzzCarrierParseEvent: an accepted event has every field the handler and
// the shipment's scan need, within bounds and storable as text; a refused
// one is either unreadable JSON or a validation error naming the field.
func FuzzCarrierParseEvent(f *testing.F) {
	for _, body := range carrierEventSeeds {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		if err != nil {
			var ve *validation.Error
			if errors.As(err, &ve) && ve.Field == "" {
				t.Fatalf("validation error without a field: %v", err)
			}
			return
		}
		d := ev.Data
		for _, s := range []string{ev.ID, d.Carrier, d.TrackingNumber, d.Status} {
			if s == "" || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted an event with a missing or invalid field: %+v", ev)
			}
		}
		if !utf8.ValidString(d.Description) || strings.ContainsRune(d.Description, 0) {
			t.Fatalf("accepted an invalid description: %q", d.Description)
		}
		if ev.Type != EventTrackingUpdated || !slices.Contains(Statuses, d.Status) || d.OccurredAt.IsZero() && !strings.Contains(string(body), "0001-01-01") {
			t.Fatalf("accepted an event the handler cannot act on: %+v", ev)
		}
		if s := ev.Scan(); s.EventID != ev.ID || s.Kind != d.Status {
			t.Fatalf("scan %+v does not match event %+v", s, ev)
		}
	})
}
