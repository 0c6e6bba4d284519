package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workflows/checkout"
)

// maxWebhookBytes bounds a Stripe event body (Stripe's are a few kB).
const maxWebhookBytes = 256 << 10

// stripeWebhook is POST /webhooks/stripe: it verifies the signature, records
// each event once, and signals the order's checkout workflow. Stripe retries
// any non-2xx answer, so a failed hand-off is answered 503 and retried.
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		webhookAnswer(w, http.StatusBadRequest, "unreadable or too large body")
		return
	}
	sig := r.Header.Get("Stripe-Signature")
	ev, err := webhook.ConstructEventWithOptions(body, sig, h.secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err == nil && signedInFuture(sig, time.Now()) {
		// Stripe's library bounds only the age: a timestamp ahead of the
		// clock would keep a captured request replayable for longer.
		err = errors.New("signature timestamp is in the future")
	}
	if err != nil {
		h.log.WarnContext(r.Context(), "stripe webhook refused", "error", err)
		webhookAnswer(w, http.StatusBadRequest, "invalid Stripe-Signature")
		return
	}
	var obj stripeObject
	if ev.Data != nil {
		_ = json.Unmarshal(ev.Data.Raw, &obj)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	orderID := h.orderOf(ctx, obj)
	log := h.log.With("event", ev.ID, "type", ev.Type, "order_id", orderID)

	processed, err := h.events.Record(ctx, ev.ID, string(ev.Type), orderID, body)
	if err != nil {
		log.ErrorContext(ctx, "stripe event not recorded", "error", err)
		webhookAnswer(w, http.StatusServiceUnavailable, "try again")
		return
	}
	if processed {
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

// orderOf finds the order an event is about: the metadata the shop puts on
// its PaymentIntents, else the PaymentIntent recorded on the order.
func (h *stripeWebhook) orderOf(ctx context.Context, o stripeObject) int64 {
	if id, err := strconv.ParseInt(o.Metadata["order_id"], 10, 64); err == nil && id > 0 {
		return id
	}
	pi := o.PaymentIntent
	if o.Object == "payment_intent" {
		pi = o.ID
	}
	if pi == "" {
		return 0
	}
	id, err := h.orders.PaymentIntentOrder(ctx, pi)
	if err != nil {
		return 0
	}
	return id
}

func webhookAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"received": code == http.StatusOK, "message": msg})
}
