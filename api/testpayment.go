package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
)

// testPaymentRoute pays an order without a card, for development against
// stripe-mock (see Deps.TestPayments).
const testPaymentRoute = "POST /api/dev/test-payment"

// testPaymentWait bounds the wait for the PaymentIntent of an order placed
// a moment ago (its checkout creates it just after answering).
const testPaymentWait = 10 * time.Second

// testPayment is POST /api/dev/test-payment: it pays an order awaiting
// payment as `shop stripe trigger payment_intent.succeeded` does, with a
// signed event delivered to the Stripe webhook handler in-process, so the
// order goes the same way as with a card paid at Stripe. The caller must
// own the order (staff may pay any).
type testPayment struct {
	gate    *gate
	orders  *orders.Store
	webhook http.Handler
	secret  string
	log     *slog.Logger
}

func (h *testPayment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, err := h.gate.admit(r.Context(), testPaymentRoute, r.Header, r.RemoteAddr)
	if err != nil {
		writeConnectError(w, toConnect(ctx, h.log, testPaymentRoute, err))
		return
	}
	p, err := mustPrincipal(ctx)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	id, err := readTestPaymentOrder(r)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	if h.secret == "" || h.orders == nil {
		writeRESTError(w, http.StatusServiceUnavailable, connect.NewError(connect.CodeUnavailable,
			errors.New("the Stripe webhook is not configured (STRIPE_WEBHOOK_SECRET)")))
		return
	}
	o, err := h.orders.Get(ctx, id)
	if err == nil && o.UserID != p.UserID && !isStaff(p) {
		err = fmt.Errorf("order %d: %w", id, orders.ErrNotFound) // as GetOrder: not another's
	}
	if err == nil && o.PaymentIntentID == "" {
		o, err = h.awaitPaymentIntent(ctx, id)
	}
	switch {
	case err != nil && !errors.Is(err, payments.ErrNoPaymentIntent):
		writeConnectError(w, toConnect(ctx, h.log, testPaymentRoute, err))
		return
	case o.Status != orders.StatusAwaitingPayment:
		writeRESTError(w, http.StatusConflict, connect.NewError(connect.CodeFailedPrecondition,
			fmt.Errorf("order %d is %s, not awaiting payment", o.ID, o.Status)))
		return
	case err != nil:
		ce := connect.NewError(connect.CodeUnavailable, fmt.Errorf("order %d has no PaymentIntent yet; try again", o.ID))
		ce.Meta().Set("Retry-After", "2")
		writeRESTError(w, http.StatusServiceUnavailable, ce)
		return
	}
	ev, err := payments.OrderEvent("payment_intent.succeeded", o)
	if err != nil {
		writeConnectError(w, toConnect(ctx, h.log, testPaymentRoute, err))
		return
	}
	req, err := ev.WebhookRequest(ctx, "/webhooks/stripe", h.secret, time.Now())
	if err != nil {
		writeConnectError(w, toConnect(ctx, h.log, testPaymentRoute, err))
		return
	}
	req.RemoteAddr = r.RemoteAddr
	rec := httptest.NewRecorder()
	h.webhook.ServeHTTP(rec, req)
	var outcome map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &outcome)
	h.log.InfoContext(ctx, "test payment sent to the Stripe webhook", "order_id", o.ID,
		"payment_intent", o.PaymentIntentID, "webhook_status", rec.Code)
	if rec.Code != http.StatusOK {
		ce := connect.NewError(connect.CodeUnavailable, fmt.Errorf("the Stripe webhook answered %d: %v; try again", rec.Code, outcome["message"]))
		ce.Meta().Set("Retry-After", "2")
		writeRESTError(w, http.StatusServiceUnavailable, ce)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"order_id": strconv.FormatInt(o.ID, 10), "payment_intent_id": o.PaymentIntentID,
		"event_type": ev.Type, "webhook_status": rec.Code, "webhook": outcome,
	})
}

// awaitPaymentIntent reads the order, waiting a little for the
// PaymentIntent of one that awaits payment but has none yet.
func (h *testPayment) awaitPaymentIntent(ctx context.Context, id int64) (orders.Order, error) {
	deadline := time.Now().Add(testPaymentWait)
	for {
		o, err := h.orders.Get(ctx, id)
		if err != nil || o.PaymentIntentID != "" || o.Status != orders.StatusAwaitingPayment {
			return o, err
		}
		if time.Now().After(deadline) {
			return o, payments.ErrNoPaymentIntent
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readTestPaymentOrder reads {"order_id": ID}, the ID a number or a string
// of digits (as the API writes 64-bit integers).
func readTestPaymentOrder(r *http.Request) (int64, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10+1))
	if err != nil {
		return 0, invalidArgument("body", "could not be read")
	}
	if len(body) > 4<<10 {
		return 0, invalidArgument("body", "must be at most 4 KiB")
	}
	var in struct {
		OrderID json.RawMessage `json:"order_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return 0, invalidArgument("body", "must be a JSON object like {\"order_id\": 42}")
	}
	raw := strings.Trim(string(in.OrderID), `"`)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidArgument("order_id", "must be a positive integer (a number or a string of digits)")
	}
	return id, nil
}
