package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
)

// flags answers the order's needs_attention notes.
func flags(o orders.Order) []string {
	var notes []string
	for _, e := range o.Events {
		if e.Status == orders.EventNeedsAttention {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// A signed success whose amount or currency is not the order's never pays
// it: the order stays unpaid, flagged for staff, and a refund of the
// "captured" amount is refused. The right payment still goes through.
func TestWebhookWithWrongAmountFlagsTheOrder(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	john := session(t, f, "johndoe", identity.RoleCustomer)
	staff := session(t, f, "steve", identity.RoleStaff)
	mug := f.shop.Product(t, "MUG-SHORT", 1500, 10)
	ctx := context.Background()

	code, _, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(seedOrder, f.laptop.ID, mug.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)
	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)

	short := paidEvent(stored, "evt_short")
	short.Amount = 1
	code, _ = webhook(t, f, short, shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code, "a valid event is acknowledged, so Stripe stops resending it")
	foreign := paidEvent(stored, "evt_foreign")
	foreign.Currency = "EUR"
	code, _ = webhook(t, f, foreign, shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)

	var got orders.Order
	require.Eventually(t, func() bool {
		got, err = f.shop.Orders.Get(ctx, id)
		return err == nil && len(flags(got)) == 2
	}, 30*time.Second, 50*time.Millisecond, "both events are flagged on the order")
	assert.Equal(t, orders.StatusAwaitingPayment, got.Status, "never paid on a mismatched event")
	assert.Zero(t, got.Captured)
	notes := flags(got)
	assert.Contains(t, notes[0], "0.01 USD received")
	assert.Contains(t, notes[0], fmt.Sprintf("the order total is %d.%02d USD", stored.Total/100, stored.Total%100))
	assert.Contains(t, notes[1], "EUR received")
	assert.Equal(t, notes[1], got.StatusReason, "staff see the latest flag as the status reason")
	assert.Equal(t, int32(48), f.shop.Stock(t, f.laptop.ID), "the stock stays held")
	assert.Equal(t, int32(9), f.shop.Stock(t, mug.ID))

	code, _, _ = call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/refunds", id), staff,
		fmt.Sprintf(`{"amount": {"amount_minor": %d, "currency": "USD"}, "reason": "refund the short payment"}`, stored.Total))
	assert.NotEqual(t, http.StatusOK, code, "nothing was captured, so nothing can be refunded")

	code, _ = webhook(t, f, paidEvent(stored, "evt_right"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	paid := f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)
	assert.Equal(t, stored.Total, paid.Captured)
	var res checkout.Result
	require.NoError(t, f.shop.Temporal.GetWorkflow(ctx, checkout.WorkflowID(id), "").Get(ctx, &res))
	shoptest.RecordHistory(t, f.shop.Temporal, checkout.WorkflowID(id), "../workflows/checkout/testdata/flagged_then_paid.json")
}

func TestWebhookSignedInTheFutureIsRefused(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	ev := paidEvent(orders.Order{ID: 42, PaymentIntentID: "pi_42", Total: 100, Currency: "USD"}, "evt_future")
	body, sig, err := ev.Signed(shoptest.WebhookSecret, time.Now().Add(10*time.Minute))
	require.NoError(t, err)
	req, err := http.NewRequest("POST", f.url+"/webhooks/stripe", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", sig)
	code, _ := send(t, req)
	assert.Equal(t, http.StatusBadRequest, code)
	var events int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM stripe_events`).Scan(&events))
	assert.Zero(t, events, "a refused event is not recorded")

	// Within the tolerance (a clock a little ahead) it is accepted.
	body, sig, err = ev.Signed(shoptest.WebhookSecret, time.Now().Add(time.Minute))
	require.NoError(t, err)
	req, err = http.NewRequest("POST", f.url+"/webhooks/stripe", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", sig)
	code, _ = send(t, req)
	assert.NotEqual(t, http.StatusBadRequest, code)
}

// postSigned posts body to the webhook signed with the test secret, as
// Stripe signs it.
func postSigned(t *testing.T, f *fixture, body []byte) (int, map[string]any) {
	t.Helper()
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: body,
		Secret: shoptest.WebhookSecret, Timestamp: time.Now()})
	req, err := http.NewRequest("POST", f.url+"/webhooks/stripe", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", signed.Header)
	return send(t, req)
}

// A signed event whose object the shop cannot read is refused (400) with
// a message saying so, and nothing is recorded or handed on: it is never
// taken for an event about no order.
func TestWebhookUnreadableEventIsRefused(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	event := func(id, data string) []byte {
		return fmt.Appendf(nil, `{"id": %q, "object": "event", "type": "payment_intent.succeeded", "created": %d,
			"livemode": false, "data": %s}`, id, time.Now().Unix(), data)
	}
	cases := map[string]struct {
		body []byte
		says string
	}{
		"amount that is not a number": {event("evt_bad_amount", `{"object": {"id": "pi_1", "object": "payment_intent",
			"amount_received": "lots", "currency": "usd", "metadata": {"order_id": "42"}}}`), "data.object"},
		"metadata that is not a map": {event("evt_bad_meta", `{"object": {"id": "pi_1", "object": "payment_intent",
			"amount_received": 100, "currency": "usd", "metadata": ["order_id", "42"]}}`), "data.object"},
		"object that is not an object": {event("evt_bad_object", `{"object": "pi_1"}`), "data.object"},
		"no object":                    {event("evt_no_object", `{}`), "no data.object"},
		"body that is not JSON":        {[]byte(`{"id": "evt_cut", "type": "payment_intent.succ`), "unreadable event"},
	}
	for name, c := range cases {
		code, answer := postSigned(t, f, c.body)
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.Contains(t, answer["message"], c.says, name)
		assert.NotContains(t, answer["message"], "Stripe-Signature", "%s: the signature was fine", name)
	}
	var events int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM stripe_events`).Scan(&events))
	assert.Zero(t, events, "a refused event is not recorded")
}

// The order of an event is looked up by its PaymentIntent when its
// metadata does not name it. An event of no order of this shop is
// acknowledged; a lookup the database cannot answer is answered 503, so
// that Stripe delivers the event again, and nothing is recorded.
func TestWebhookOrderLookupFailureIsRetried(t *testing.T) {
	var lookups *pgxpool.Pool
	f := newServerWith(t, options{orders: func(db *pgxpool.Pool) *orders.Store {
		var err error
		lookups, err = pgxpool.New(context.Background(), dbtest.URL(db))
		require.NoError(t, err)
		t.Cleanup(lookups.Close)
		return orders.NewStore(lookups, nil, nil, shoptest.Settings())
	}})
	ctx := context.Background()
	foreign := payments.FakeEvent{ID: "evt_foreign_pi", Type: "payment_intent.succeeded", PaymentIntentID: "pi_elsewhere",
		Amount: 100, Currency: "USD"}
	code, _ := webhook(t, f, foreign, shoptest.WebhookSecret)
	assert.Equal(t, http.StatusOK, code, "an event of no order of this shop is acknowledged")

	lookups.Close() // the order lookups' database goes away
	lost := foreign
	lost.ID = "evt_lookup_failed"
	code, answer := webhook(t, f, lost, shoptest.WebhookSecret)
	assert.Equal(t, http.StatusServiceUnavailable, code, "Stripe redelivers it")
	assert.Equal(t, false, answer["received"])
	var ids []string
	rows, err := f.shop.Pool.Query(ctx, `SELECT id FROM stripe_events ORDER BY received_at`)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"evt_foreign_pi"}, ids, "the failed event is not recorded, so its redelivery is handled")
}
