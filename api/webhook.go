package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workflows/checkout"
)

// maxWebhookBytes bounds a Stripe event body (Stripe's are a few kB).
const maxWebhookBytes = 256 << 10

// stripeWebhook is POST /webhooks/stripe: it verifies the signature, records
// each event once, and signals the order's checkout workflow. Stripe retries
// any non-2xx answer: a bad signature or an event the shop cannot read is
// refused (400), and trouble on the shop's side (the order lookup, the
// event ledger or the hand-off failing) is answered 503 to be redelivered.
type stripeWebhook struct {
	secret string
	events *payments.Events
	orders *orders.Store
	flows  OrderFlows
	log    *slog.Logger
}

type stripeObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received"`
	Currency         string            `json:"currency"`
	PaymentIntent    string            `json:"payment_intent"`
	Metadata         map[string]string `json:"metadata"`
	LastPaymentError *struct {
		Message string `json:"message"`
	} `json:"last_payment_error"`
}

func (h *stripeWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	typ, duplicate := "", false // the event's type once read (signed, so from Stripe's own set)
	defer func() { metrics.Webhook("stripe", typ, metrics.WebhookResult(rec.status, duplicate)) }()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		webhookAnswer(w, http.StatusBadRequest, "unreadable or too large body")
		return
	}
	if err := verifyStripeSignature(body, r.Header.Get("Stripe-Signature"), h.secret, time.Now()); err != nil {
		h.log.WarnContext(r.Context(), "stripe webhook refused", "error", err)
		webhookAnswer(w, http.StatusBadRequest, "invalid Stripe-Signature")
		return
	}
	// Signed by Stripe, so an event the shop cannot read is refused (400)
	// and logged as an error: redelivering the same bytes cannot help, the
	// shop's code must change.
	ev, obj, err := readEvent(body)
	if err != nil {
		h.log.ErrorContext(r.Context(), "stripe event unreadable; refused", "error", err)
		webhookAnswer(w, http.StatusBadRequest, "unreadable event: "+err.Error())
		return
	}
	typ = string(ev.Type)
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	orderID, err := h.orderOf(ctx, obj)
	log := h.log.With("event", ev.ID, "type", ev.Type, "order_id", orderID)
	if err != nil {
		// Not knowing the order is not "no order of this shop": Stripe
		// redelivers a 503, and the event is read again then.
		log.ErrorContext(ctx, "stripe event's order not looked up", "error", err)
		webhookAnswer(w, http.StatusServiceUnavailable, "try again")
		return
	}

	processed, err := h.events.Record(ctx, ev.ID, string(ev.Type), orderID, body)
	if err != nil {
		log.ErrorContext(ctx, "stripe event not recorded", "error", err)
		webhookAnswer(w, http.StatusServiceUnavailable, "try again")
		return
	}
	if processed {
		duplicate = true
		webhookAnswer(w, http.StatusOK, "duplicate ignored")
		return
	}
	switch ev.Type {
	case stripe.EventTypePaymentIntentSucceeded, stripe.EventTypePaymentIntentPaymentFailed, stripe.EventTypePaymentIntentCanceled:
		if orderID == 0 {
			log.WarnContext(ctx, "payment event for no order of this shop; ignored")
			break
		}
		pe := checkout.PaymentEvent{EventID: ev.ID, Type: string(ev.Type), PaymentIntentID: obj.ID,
			Amount: obj.AmountReceived, Currency: obj.Currency}
		if obj.LastPaymentError != nil {
			pe.Message = obj.LastPaymentError.Message
		}
		err := h.flows.PaymentEvent(ctx, orderID, pe)
		if errors.Is(err, checkout.ErrClosed) {
			// A late or out-of-order event: the checkout already settled.
			log.InfoContext(ctx, "payment event after the checkout finished; nothing to do")
		} else if err != nil {
			log.ErrorContext(ctx, "payment event not handed to the checkout", "error", err)
			webhookAnswer(w, http.StatusServiceUnavailable, "try again")
			return
		}
	default:
		// Refunds are settled by the refund workflow from Stripe's answer;
		// other events are recorded for the audit trail only.
		log.InfoContext(ctx, "stripe event recorded")
	}
	if err := h.events.MarkProcessed(ctx, ev.ID); err != nil {
		log.ErrorContext(ctx, "stripe event not marked processed; a redelivery will be handled again", "error", err)
	}
	webhookAnswer(w, http.StatusOK, "ok")
}

// verifyStripeSignature accepts body only with a Stripe-Signature made
// with secret, neither older nor further ahead of now than Stripe's
// tolerance.
func verifyStripeSignature(body []byte, sig, secret string, now time.Time) error {
	err := webhook.ValidatePayload(body, sig, secret)
	if err == nil && signedInFuture(sig, now) {
		// Stripe's library bounds only the age: a timestamp ahead of the
		// clock would keep a captured request replayable for longer.
		err = errors.New("signature timestamp is in the future")
	}
	return err
}

// signedInFuture reports a Stripe-Signature with any t= further ahead of
// now than the tolerance Stripe's library allows behind it (every t= is
// checked: the library reads the last one).
func signedInFuture(header string, now time.Time) bool {
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "t" {
			continue
		}
		ts, err := strconv.ParseInt(v, 10, 64)
		if err != nil || time.Unix(ts, 0).Sub(now) > webhook.DefaultTolerance {
			return true
		}
	}
	return false
}

// readEvent parses a verified event body and its data.object.
func readEvent(body []byte) (stripe.Event, stripeObject, error) {
	var ev stripe.Event
	var obj stripeObject
	var head struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data *struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return ev, obj, fmt.Errorf("event: %w", err)
	}
	if head.ID == "" || head.Type == "" {
		return ev, obj, errors.New("event: id and type are required")
	}
	if head.Data == nil || len(head.Data.Object) == 0 || string(head.Data.Object) == "null" {
		return ev, obj, fmt.Errorf("event %s: no data.object", head.ID)
	}
	if err := json.Unmarshal(head.Data.Object, &obj); err != nil {
		return ev, obj, fmt.Errorf("event %s: data.object: %w", head.ID, err)
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, obj, fmt.Errorf("event %s: %w", head.ID, err)
	}
	return ev, obj, nil
}

// orderOf finds the order an event is about: the metadata the shop puts on
// its PaymentIntents, else the PaymentIntent recorded on the order. It
// answers 0 for an event of no order of this shop, and an error when the
// order could not be looked up.
func (h *stripeWebhook) orderOf(ctx context.Context, o stripeObject) (int64, error) {
	if id, err := strconv.ParseInt(o.Metadata["order_id"], 10, 64); err == nil && id > 0 {
		return id, nil
	}
	pi := o.PaymentIntent
	if o.Object == "payment_intent" {
		pi = o.ID
	}
	if pi == "" {
		return 0, nil
	}
	id, err := h.orders.PaymentIntentOrder(ctx, pi)
	if errors.Is(err, orders.ErrNotFound) {
		return 0, nil
	}
	return id, err
}

func webhookAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"received": code == http.StatusOK, "message": msg})
}
