package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
)

const seedOrder = `{
  "items": [
    {"product_id": %d, "quantity": 2},
    {"product_id": %d, "quantity": 1}
  ],
  "shipping_address": "123 Main St, City, State 12345",
  "billing_address": "123 Main St, City, State 12345",
  "payment_method": "credit_card"
}`

// webhook posts a Stripe event signed with secret.
func webhook(t *testing.T, f *fixture, ev payments.FakeEvent, secret string) (int, map[string]any) {
	t.Helper()
	body, sig, err := ev.Signed(secret, time.Now())
	require.NoError(t, err)
	req, err := http.NewRequest("POST", f.url+"/webhooks/stripe", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", sig)
	return send(t, req)
}

// send does req and decodes the JSON answer.
func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func paidEvent(o orders.Order, id string) payments.FakeEvent {
	return payments.FakeEvent{ID: id, Type: "payment_intent.succeeded", OrderID: o.ID, PaymentIntentID: o.PaymentIntentID,
		Amount: o.Total, Currency: o.Currency}
}

func orderID(t *testing.T, body map[string]any) int64 {
	t.Helper()
	var id int64
	_, err := fmt.Sscan(body["id"].(string), &id)
	require.NoError(t, err)
	return id
}

func TestSeedOrderFromCreateToPaidOverREST(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	john := session(t, f, "johndoe", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-SEED", 1500, 10)
	ctx := context.Background()

	productURL := fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID)
	_, _, page := call(t, "GET", productURL, "", "")
	assert.EqualValues(t, 50, page["stock_quantity"], "the product page is now cached")

	code, _, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(seedOrder, f.laptop.ID, mug.ID))
	require.Equal(t, http.StatusOK, code, o)
	eventuallyServes(t, productURL, "stock_quantity", 48.0, "placing the order refreshed the cached page")
	assert.Equal(t, "awaiting_payment", o["status"])
	assert.NotEmpty(t, o["client_secret"], "the frontend confirms the payment with it")
	assert.NotEmpty(t, o["payment_intent_id"])
	totals := o["totals"].(map[string]any)
	assert.Equal(t, "401498", totals["subtotal"].(map[string]any)["amount_minor"], "2 x 1999.99 + 15.00")
	assert.Equal(t, "0", totals["shipping"].(map[string]any)["amount_minor"], "free over 50.00")
	id := orderID(t, o)
	assert.Equal(t, int32(48), f.shop.Stock(t, f.laptop.ID), "the stock is held once the order is accepted")

	code, _, list := call(t, "GET", f.url+"/api/orders", john, "")
	require.Equal(t, http.StatusOK, code, list)
	require.Len(t, list["orders"], 1)
	assert.Equal(t, o["lines"], list["orders"].([]any)[0].(map[string]any)["lines"], "a listed order carries its lines")
	assert.Len(t, o["lines"], 2)
	code, _, got := call(t, "GET", f.url+fmt.Sprintf("/api/orders/%d", id), john, "")
	require.Equal(t, http.StatusOK, code, got)
	assert.Equal(t, o["client_secret"], got["client_secret"], "a reload can still pay")

	other := session(t, f, "mallory", identity.RoleCustomer)
	code, _, _ = call(t, "GET", f.url+fmt.Sprintf("/api/orders/%d", id), other, "")
	assert.Equal(t, http.StatusNotFound, code, "another customer's order does not exist for them")
	code, _, list = call(t, "GET", f.url+"/api/orders", other, "")
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, list["orders"])

	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	// A forged event changes nothing.
	code, _ = webhook(t, f, paidEvent(stored, "evt_forged"), "whsec_not_the_secret")
	assert.Equal(t, http.StatusBadRequest, code)
	var events int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM stripe_events`).Scan(&events))
	assert.Zero(t, events)

	code, _ = webhook(t, f, paidEvent(stored, "evt_paid_1"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	paid := f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)
	f.shop.SMTP.WaitFor(t, 1, 30*time.Second)
	// The paid order's fulfilment takes it over: its parcel is being prepared.
	require.Eventually(t, func() bool {
		paid, err = f.shop.Orders.Get(ctx, id)
		return err == nil && len(paid.Events) == 3 && paid.Events[2].Status == "fulfilment"
	}, 30*time.Second, 50*time.Millisecond)

	// The same event again is a no-op.
	code, body := webhook(t, f, paidEvent(stored, "evt_paid_1"), shoptest.WebhookSecret)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "duplicate ignored", body["message"])
	// Once the checkout has closed nothing more can happen to the order.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, f.shop.Temporal.GetWorkflow(wctx, checkout.WorkflowID(id), "").Get(wctx, nil))
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM stripe_events`).Scan(&events))
	assert.Equal(t, 1, events, "the duplicate is not recorded again")
	again, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, paid.Events, again.Events)
	assert.Len(t, f.shop.SMTP.Messages(), 1, "one confirmation email")

	code, _, got = call(t, "GET", f.url+fmt.Sprintf("/api/orders/%d", id), john, "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "paid", got["status"])
	assert.Len(t, got["timeline"], 3)
	assert.Empty(t, got["client_secret"])

	staff := session(t, f, "steve", identity.RoleStaff)
	code, _, list = call(t, "GET", f.url+"/api/orders?status=paid", staff, "")
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, list["orders"], 1, "staff see every customer's orders")
}

func TestOrderBadInputAndStock(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "carol", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-FEW", 1500, 1)
	good := `"shipping_address": "1 Rue de Rivoli, Paris", "payment_method": "credit_card"`
	for _, c := range []struct{ field, body string }{
		{"items[0].quantity", `{"items": [{"product_id": %d, "quantity": 0}], ` + good + `}`},
		{"items[0].quantity", `{"items": [{"product_id": %d, "quantity": 100}], ` + good + `}`},
		{"items[0].product_id", `{"items": [{"product_id": 9999999, "quantity": 1}], ` + good + `}`},
		{"shipping_address", `{"items": [{"product_id": %d, "quantity": 1}], "payment_method": "credit_card"}`},
		{"payment_method", `{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St", "payment_method": "cash"}`},
		{"items", `{"shipping_address": "1 Main St, Springfield"}`},
		{"shipping_country", `{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St", "shipping_country": "USA"}`},
	} {
		code, _, out := call(t, "POST", f.url+"/api/orders", tok, strings.ReplaceAll(c.body, "%d", fmt.Sprint(mug.ID)))
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", c.field, out)
		assert.Contains(t, out["message"], c.field+":", "%v", out)
	}
	code, _, out := call(t, "POST", f.url+"/api/orders", tok, fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 2}], `+good+`}`, mug.ID))
	assert.Equal(t, http.StatusBadRequest, code, "FailedPrecondition: %v", out)
	assert.Contains(t, out["message"], "insufficient stock for Product MUG-FEW (MUG-FEW): 2 requested, 1 available")
	var rows int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&rows))
	assert.Zero(t, rows, "no half-written order")
	assert.Equal(t, int32(1), f.shop.Stock(t, mug.ID))
}

func TestIdempotencyKeyReturnsTheSameOrder(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "ida", identity.RoleCustomer)
	body := fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St, Springfield, CA 90001"}`, f.laptop.ID)
	post := func(key, body string) (int, map[string]any) {
		req, err := http.NewRequest("POST", f.url+"/api/orders", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		return send(t, req)
	}
	code, first := post("order-attempt-1", body)
	require.Equal(t, http.StatusOK, code, first)
	code, second := post("order-attempt-1", body)
	require.Equal(t, http.StatusOK, code, second)
	assert.Equal(t, first["id"], second["id"])
	assert.Equal(t, first["client_secret"], second["client_secret"], "the retry gets the same PaymentIntent")
	code, out := post("order-attempt-1", `{"items": [{"product_id": 1, "quantity": 3}], "shipping_address": "1 Main St"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	var rows int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&rows))
	assert.Equal(t, 1, rows)
	assert.Equal(t, int32(49), f.shop.Stock(t, f.laptop.ID))
	assert.Len(t, f.shop.Stripe.Requests("POST", "/v1/payment_intents"), 1)
}

func TestCartCheckoutCancelAndRefunds(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "rita", identity.RoleCustomer)
	staff := session(t, f, "sam", identity.RoleStaff)
	ctx := context.Background()

	// An unpaid order from the cart, cancelled by the customer.
	code, _, out := call(t, "POST", f.url+"/api/cart/items", tok, fmt.Sprintf(`{"product_id": %d, "quantity": 2}`, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, out)
	code, _, o := call(t, "POST", f.url+"/api/orders", tok, `{"shipping_address": "9 Elm St, Springfield, CA 90001"}`)
	require.Equal(t, http.StatusOK, code, o)
	assert.Len(t, o["lines"], 1)
	assert.Equal(t, "7.25", o["totals"].(map[string]any)["tax_rate_percent"])
	_, _, cart := call(t, "GET", f.url+"/api/cart", tok, "")
	assert.Empty(t, cart["lines"], "checkout empties the cart")
	unpaid := orderID(t, o)
	code, _, out = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/cancel", unpaid), tok, `{"reason": "changed my mind"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "cancelled", out["status"])
	assert.Equal(t, int32(50), f.shop.Stock(t, f.laptop.ID), "cancelling gives the stock back")
	assert.Len(t, f.shop.Stripe.Requests("POST", "/v1/payment_intents/"+o["payment_intent_id"].(string)+"/cancel"), 1)

	// A paid order: partial refund, a refund Stripe refuses and ops retry,
	// and never more than was captured.
	code, _, o = call(t, "POST", f.url+"/api/orders", tok, fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "9 Elm St, Springfield, CA 90001"}`, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)
	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	code, _ = webhook(t, f, paidEvent(stored, "evt_paid_2"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)

	code, _, out = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/refunds", id), tok, `{"reason": "please"}`)
	assert.Equal(t, http.StatusForbidden, code, "customers do not refund themselves: %v", out)
	code, _, r := call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/refunds", id), staff, `{"amount": {"amount_minor": 1000, "currency": "USD"}, "reason": "scratched lid"}`)
	require.Equal(t, http.StatusOK, code, r)
	f.shop.WaitStatus(t, id, orders.StatusPartiallyRefunded, 30*time.Second)

	code, _, out = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/refunds", id), staff, fmt.Sprintf(`{"amount": {"amount_minor": %d}, "reason": "too much"}`, stored.Total))
	assert.Equal(t, http.StatusBadRequest, code, "more than is left to refund: %v", out)
	assert.Contains(t, out["message"], "refund not possible")

	f.shop.Stripe.FailNext("/v1/refunds", 1, http.StatusBadRequest, "invalid_request_error", "charge is disputed")
	code, _, r = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/refunds", id), staff, `{"reason": "customer unhappy"}`)
	require.Equal(t, http.StatusOK, code, r)
	refundID := r["id"].(string)
	require.Eventually(t, func() bool {
		var st orders.RefundStatus
		_ = f.shop.Pool.QueryRow(ctx, `SELECT status FROM refunds WHERE id = $1`, refundID).Scan(&st)
		return st == orders.RefundNeedsAttention
	}, 30*time.Second, 50*time.Millisecond, "a refused refund waits for an operator")
	// Staff read Stripe's answer once, plainly; the customer reads a plain notice.
	_, _, seen := call(t, "GET", fmt.Sprintf("%s/api/orders/%d", f.url, id), staff, "")
	lastError := refundField(t, seen, refundID, "last_error")
	assert.Contains(t, lastError, "Stripe: charge is disputed")
	for _, internal := range []string{"activity error", "identity", "{", "@"} {
		assert.NotContains(t, lastError, internal, "staff get Stripe's message, not the internal chain")
	}
	_, _, mine := call(t, "GET", fmt.Sprintf("%s/api/orders/%d", f.url, id), tok, "")
	assert.Empty(t, refundField(t, mine, refundID, "last_error"), "customers never see the internal detail")
	timeline := fmt.Sprint(mine["timeline"])
	assert.Contains(t, timeline, fmt.Sprintf("refund %s is delayed; the shop is looking into it", refundID))
	assert.NotContains(t, timeline, "disputed")
	code, _, out = call(t, "POST", f.url+"/api/refunds/"+refundID+"/resolve", staff, `{"action": "retry", "note": "dispute closed"}`)
	require.Equal(t, http.StatusOK, code, out)
	o2 := f.shop.WaitStatus(t, id, orders.StatusRefunded, 30*time.Second)
	assert.Equal(t, o2.Captured, o2.Refunded, "refunded in full, never more")
	assert.Len(t, f.shop.Stripe.Requests("POST", "/v1/refunds"), 3)
	shoptest.RecordHistory(t, f.shop.Temporal, "refund-"+refundID, "../workflows/refund/testdata/operator_retry.json")

	code, _, out = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/cancel", id), tok, `{}`)
	assert.Equal(t, http.StatusBadRequest, code, "a refunded order is past cancelling: %v", out)
}

func TestCancelPaidOrderRefundsInFull(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "pete", identity.RoleCustomer)
	ctx := context.Background()
	code, _, o := call(t, "POST", f.url+"/api/orders", tok, fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 3}], "shipping_address": "1 Infinite Loop, Cupertino, CA 95014"}`, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)
	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	code, _ = webhook(t, f, paidEvent(stored, "evt_paid_3"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)
	assert.Equal(t, int32(47), f.shop.Stock(t, f.laptop.ID))

	code, _, out := call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/cancel", id), tok, `{"reason": "found it cheaper"}`)
	require.Equal(t, http.StatusOK, code, out)
	var last orders.Order
	require.Eventually(t, func() bool {
		last, err = f.shop.Orders.Get(ctx, id)
		return err == nil && last.Status == orders.StatusCancelled && last.Refunded == last.Captured
	}, 30*time.Second, 50*time.Millisecond, "%+v", &last)
	assert.Equal(t, int32(50), f.shop.Stock(t, f.laptop.ID), "the paid stock goes back on the shelf")
	// Confirmation, cancellation and refund emails.
	f.shop.SMTP.WaitFor(t, 3, 30*time.Second)

	// One place in the Temporal UI: filtering by the order finds all its
	// workflows, each naming its customer.
	query := fmt.Sprintf(`OrderId = "%d" AND CustomerId = "%d" AND TaskQueue = "%s"`, id, stored.UserID, f.shop.Queue)
	var types []string
	require.Eventually(t, func() bool {
		res, err := f.shop.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return false
		}
		types = types[:0]
		for _, e := range res.GetExecutions() {
			// The parcel's workflow exists only when the fulfilment made it
			// up before the cancellation released the stock.
			if name := e.GetType().GetName(); name != "Shipment" {
				types = append(types, name)
			}
		}
		return len(types) == 7
	}, 30*time.Second, 100*time.Millisecond, "found %v", &types)
	slices.Sort(types)
	assert.Equal(t, []string{"CancelPaidOrder", "Checkout", "Fulfilment", "Refund", "SendEmail", "SendEmail", "SendEmail"}, types)
}

// downFlows is Temporal being unreachable.
type downFlows struct{ api.OrderFlows }

func (downFlows) PaymentEvent(context.Context, int64, checkout.PaymentEvent) error {
	return errors.New("temporal: connection refused")
}

func (downFlows) Place(context.Context, orders.PlaceInput) (checkout.Reservation, error) {
	return checkout.Reservation{}, fmt.Errorf("%w (start checkout: connection refused)", checkout.ErrUnavailable)
}

func TestWebhookAsksStripeToRetryWhenTheHandOffFails(t *testing.T) {
	f := newServerWith(t, options{flows: downFlows{}})
	ctx := context.Background()
	ev := payments.FakeEvent{ID: "evt_retry", Type: "payment_intent.succeeded", OrderID: 42, PaymentIntentID: "pi_42", Amount: 100, Currency: "USD"}
	code, _ := webhook(t, f, ev, shoptest.WebhookSecret)
	assert.Equal(t, http.StatusServiceUnavailable, code, "Stripe retries a non-2xx answer")
	var processed *time.Time
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT processed_at FROM stripe_events WHERE id = 'evt_retry'`).Scan(&processed))
	assert.Nil(t, processed, "the redelivery will be handled, not ignored as a duplicate")
	code, _ = webhook(t, f, ev, shoptest.WebhookSecret)
	assert.Equal(t, http.StatusServiceUnavailable, code)

	// An order cannot be placed either: 503, not 500, and nothing written.
	tok := session(t, f, "wendy", identity.RoleCustomer)
	code, hdr, out := call(t, "POST", f.url+"/api/orders", tok, fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St, Springfield"}`, f.laptop.ID))
	assert.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	assert.Equal(t, "5", hdr.Get("Retry-After"), "the client is told when to retry")
	assert.Equal(t, checkout.ErrUnavailable.Error(), out["message"])
	assert.Equal(t, int32(50), f.shop.Stock(t, f.laptop.ID))

	// Events the shop does not act on are recorded and acknowledged.
	code, _ = webhook(t, f, payments.FakeEvent{ID: "evt_refund", Type: "charge.refunded", OrderID: 42, PaymentIntentID: "pi_42", Amount: 100, Currency: "USD"}, shoptest.WebhookSecret)
	assert.Equal(t, http.StatusOK, code)
}

// refundField reads a field of one refund of an order answered over REST.
func refundField(t *testing.T, order map[string]any, refundID, field string) string {
	t.Helper()
	refunds, _ := order["refunds"].([]any)
	for _, r := range refunds {
		if m := r.(map[string]any); m["id"] == refundID {
			v, _ := m[field].(string)
			return v
		}
	}
	t.Fatalf("refund %s not in %v", refundID, order["refunds"])
	return ""
}
