package payments

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/shopkit/shop/internal/orders"
)

// FakeEvent describes a Stripe event about an order's PaymentIntent, as
// Stripe would send it, for local use and tests (`shop stripe trigger`).
type FakeEvent struct {
	ID              string // empty: a new random evt_ id
	Type            string // payment_intent.succeeded, payment_intent.payment_failed, payment_intent.canceled, charge.refunded
	OrderID         int64
	PaymentIntentID string
	Amount          int64
	Currency        string
	FailureMessage  string
}

// ErrNoPaymentIntent means the order has no PaymentIntent (yet): its
// checkout creates one just after the order is placed.
var ErrNoPaymentIntent = errors.New("no PaymentIntent")

// OrderEvent is the event of type typ about o's PaymentIntent, for the
// order's amount and currency, as Stripe would send it.
func OrderEvent(typ string, o orders.Order) (FakeEvent, error) {
	if o.PaymentIntentID == "" {
		return FakeEvent{}, fmt.Errorf("order %d has %w yet (status %s)", o.ID, ErrNoPaymentIntent, o.Status)
	}
	return FakeEvent{Type: typ, OrderID: o.ID, PaymentIntentID: o.PaymentIntentID, Amount: o.Total, Currency: o.Currency}, nil
}

// TriggerTypes are the event types FakeEvent can build.
var TriggerTypes = []string{"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded"}

// Signed returns the event's JSON body and a Stripe-Signature header for it
// made with the endpoint's signing secret, exactly as Stripe signs.
func (e FakeEvent) Signed(secret string, at time.Time) (body []byte, signature string, err error) {
	if e.ID == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		e.ID = "evt_" + hex.EncodeToString(b)
	}
	meta := map[string]string{"order_id": strconv.FormatInt(e.OrderID, 10)}
	obj := map[string]any{
		"id": e.PaymentIntentID, "object": "payment_intent", "amount": e.Amount,
		"currency": strings.ToLower(e.Currency), "metadata": meta, "livemode": false,
	}
	switch e.Type {
	case "payment_intent.succeeded":
		obj["status"], obj["amount_received"] = "succeeded", e.Amount
	case "payment_intent.payment_failed":
		msg := e.FailureMessage
		if msg == "" {
			msg = "Your card was declined."
		}
		obj["status"] = "requires_payment_method"
		obj["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": msg}
	case "payment_intent.canceled":
		obj["status"] = "canceled"
	case "charge.refunded":
		obj = map[string]any{"id": "ch_" + strings.TrimPrefix(e.PaymentIntentID, "pi_"), "object": "charge",
			"amount": e.Amount, "amount_refunded": e.Amount, "refunded": true, "currency": strings.ToLower(e.Currency),
			"payment_intent": e.PaymentIntentID, "metadata": meta}
	default:
		return nil, "", fmt.Errorf("unsupported event type %q; want one of %s", e.Type, strings.Join(TriggerTypes, ", "))
	}
	body, err = json.Marshal(map[string]any{
		"id": e.ID, "object": "event", "api_version": stripe.APIVersion, "created": at.Unix(), "type": e.Type,
		"livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj},
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	})
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	return body, signed.Header, nil
}

// WebhookRequest is the POST delivering the event to the webhook at url,
// signed with secret at time at, exactly as Stripe sends it.
func (e FakeEvent) WebhookRequest(ctx context.Context, url, secret string, at time.Time) (*http.Request, error) {
	body, sig, err := e.Signed(secret, at)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	return req, nil
}
