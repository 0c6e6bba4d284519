package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
)

// TestTestPaymentPaysTheOrder: the development test payment pays a real
// order through the Stripe webhook and the checkout workflow, with the one
// PaymentIntent the checkout created at stripe-mock; it pays only the
// caller's own order, and only once.
func TestTestPaymentPaysTheOrder(t *testing.T) {
	f := newServerWith(t, options{worker: true, testPayments: true})
	ctx := context.Background()
	john := session(t, f, "johnpays", identity.RoleCustomer)
	mallory := session(t, f, "mallory", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-TEST-PAY", 1500, 10)
	code, _, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(seedOrder, f.laptop.ID, mug.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)
	pay := f.url + "/api/dev/test-payment"

	code, _, body := call(t, "POST", pay, "", fmt.Sprintf(`{"order_id": %d}`, id))
	assert.Equal(t, http.StatusUnauthorized, code, body)
	code, _, body = call(t, "POST", pay, mallory, fmt.Sprintf(`{"order_id": %d}`, id))
	assert.Equal(t, http.StatusNotFound, code, "another customer's order: %v", body)
	code, _, body = call(t, "POST", pay, john, `{"order_id": 987654321}`)
	assert.Equal(t, http.StatusNotFound, code, body)
	for _, bad := range []string{`{}`, `{"order_id": "x"}`, `{"order_id": -1}`, `[1]`} {
		code, _, body = call(t, "POST", pay, john, bad)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", bad, body)
	}
	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusAwaitingPayment, stored.Status, "refused calls pay nothing")

	// The ID as a string, as the API writes 64-bit integers.
	code, _, body = call(t, "POST", pay, john, fmt.Sprintf(`{"order_id": "%d"}`, id))
	require.Equal(t, http.StatusAccepted, code, body)
	assert.Equal(t, fmt.Sprint(id), body["order_id"])
	assert.Equal(t, o["payment_intent_id"], body["payment_intent_id"])
	assert.Equal(t, "payment_intent.succeeded", body["event_type"])
	assert.EqualValues(t, http.StatusOK, body["webhook_status"])
	assert.Equal(t, true, body["webhook"].(map[string]any)["received"])

	paid := f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)
	assert.Equal(t, stored.Total, paid.Captured, "paid the order's total")
	assert.Len(t, f.shop.Stripe.Requests("POST", "/v1/payment_intents"), 1, "one PaymentIntent, the checkout's")
	var events int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM stripe_events WHERE order_id = $1`, id).Scan(&events))
	assert.Equal(t, 1, events, "the event went through the webhook's ledger")

	code, _, body = call(t, "POST", pay, john, fmt.Sprintf(`{"order_id": %d}`, id))
	assert.Equal(t, http.StatusConflict, code, "a paid order: %v", body)
	assert.Contains(t, body["message"], "paid")
	// Staff may pay any customer's order: this one is found, and is paid.
	staff := session(t, f, "stan", identity.RoleStaff)
	code, _, body = call(t, "POST", pay, staff, fmt.Sprintf(`{"order_id": %d}`, id))
	assert.Equal(t, http.StatusConflict, code, "staff, a paid order: %v", body)
}

// TestTestPaymentIsAbsentInProduction: without Deps.TestPayments (so in
// production, or with a Stripe publishable key) the route does not exist.
func TestTestPaymentIsAbsentInProduction(t *testing.T) {
	f := newServer(t, nil)
	staff := session(t, f, "stan", identity.RoleStaff)
	code, _, body := call(t, "POST", f.url+"/api/dev/test-payment", staff, `{"order_id": 1}`)
	assert.Equal(t, http.StatusNotFound, code, body)
	assert.Contains(t, body["message"], "no route")
}
