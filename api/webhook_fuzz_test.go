package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/shopkit/shop/internal/payments"
)

const fuzzStripeSecret = "whsec_fuzz"

// stripeEventSeeds are event bodies as Stripe (and `shop stripe trigger`) sends them.
func stripeEventSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, typ := range payments.TriggerTypes {
		body, _, err := payments.FakeEvent{ID: "evt_1", Type: typ, OrderID: 42, PaymentIntentID: "pi_1",
			Amount: 199999, Currency: "USD"}.Signed(fuzzStripeSecret, time.Unix(1700000000, 0))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, body)
	}
	return append(out, []byte(`{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`),
		[]byte(`{"id":"evt_3","type":"x","data":{"object":null}}`), []byte(`{"id":"","type":"x"}`), []byte(`[]`),
		[]byte(`{"id":"evt_4","type":"payment_intent.succeeded","data":{"object":"pi_1"}}`))
}

// FuzzStripeSignatureHeader: whatever the header says, the body is accepted
// only if the header carries the HMAC of a recent timestamp and the body.
func FuzzStripeSignatureHeader(f *testing.F) {
	now := time.Now()
	for _, body := range stripeEventSeeds(f) {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: fuzzStripeSecret, Timestamp: now})
		f.Add(body, signed.Header)
		f.Add(body, "t="+strconv.FormatInt(now.Unix(), 10)+",v1=00")
		f.Add(body, "")
		f.Add(body, "t=1,v0=abc,v1=")
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		now := time.Now()
		if verifyStripeSignature(body, header, fuzzStripeSecret, now) != nil {
			return
		}
		for part := range strings.SplitSeq(header, ",") {
			k, v, _ := strings.Cut(part, "=")
			if k != "t" {
				continue
			}
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			if d := now.Sub(time.Unix(ts, 0)); d > webhook.DefaultTolerance+time.Minute || d < -webhook.DefaultTolerance-time.Minute {
				t.Fatalf("accepted a signature made %v from now: %q", d, header)
			}
			m := hmac.New(sha256.New, []byte(fuzzStripeSecret))
			m.Write([]byte(v + "."))
			m.Write(body)
			if strings.Contains(strings.ToLower(header), "v1="+hex.EncodeToString(m.Sum(nil))) { // hex in either case
				return
			}
		}
		t.Fatalf("accepted a header without the body's signature: %q", header)
	})
}

// FuzzStripeSignedBody: a correctly signed body is accepted only within the
// time tolerance; a changed byte, another secret or a stale timestamp is
// always refused.
func FuzzStripeSignedBody(f *testing.F) {
	for _, body := range stripeEventSeeds(f) {
		f.Add(body, int64(0), uint16(0), byte(0), false)
		f.Add(body, int64(-10*60), uint16(0), byte(0), false)
		f.Add(body, int64(10*60), uint16(0), byte(0), false)
		f.Add(body, int64(0), uint16(3), byte(1), false)
		f.Add(body, int64(0), uint16(0), byte(0), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, offset int64, at uint16, xor byte, otherSecret bool) {
		offset %= 3600
		now := time.Now()
		secret := fuzzStripeSecret
		if otherSecret {
			secret += "x"
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret,
			Timestamp: now.Add(time.Duration(offset) * time.Second)})
		sent := append([]byte(nil), body...)
		if len(sent) > 0 {
			sent[int(at)%len(sent)] ^= xor
		}
		err := verifyStripeSignature(sent, signed.Header, fuzzStripeSecret, now)
		tol := int64(webhook.DefaultTolerance / time.Second)
		switch {
		case otherSecret || xor != 0 && len(sent) > 0:
			if err == nil {
				t.Fatalf("accepted a body signed with another secret or changed after signing")
			}
		case offset > -tol+5 && offset < tol-5:
			if err != nil {
				t.Fatalf("refused a correctly signed body (offset %ds): %v", offset, err)
			}
		case offset < -tol-5 || offset > tol+5:
			if err == nil {
				t.Fatalf("accepted a signature %ds off the clock", offset)
			}
		}
	})
}

// FuzzStripeEvent: any event body readEvent accepts has what the handler
// uses: an id and a type, agreeing with the stripe-go decoding.
func FuzzStripeEvent(f *testing.F) {
	for _, body := range stripeEventSeeds(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, _, err := readEvent(body)
		if err != nil {
			return
		}
		var head struct{ ID, Type string }
		if json.Unmarshal(body, &head) != nil || head.ID == "" || head.Type == "" {
			t.Fatalf("accepted an event without id or type: %q", body)
		}
		if ev.ID != head.ID || string(ev.Type) != head.Type {
			t.Fatalf("stripe-go reads id %q type %q, the shop %q %q", ev.ID, ev.Type, head.ID, head.Type)
		}
	})
}
