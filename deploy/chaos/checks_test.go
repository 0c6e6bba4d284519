package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
)

// Each check is shown to pass on a consistent database and to fail on
// rows crafted to break its invariant.

func sqlExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

func requireOK(t *testing.T, r Result) {
	t.Helper()
	require.True(t, r.OK, "want PASS: %s", r)
}

func requireFail(t *testing.T, r Result, want string) {
	t.Helper()
	require.False(t, r.OK, "want FAIL: %s", r)
	require.Contains(t, r.Detail, want)
}

func user(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO users (username, email, password_hash)
		VALUES ('ann', 'ann@example.com', 'x') RETURNING id`).Scan(&id))
	return id
}

// placeOrder writes an order row as checkout leaves it (no stock held).
func placeOrder(t *testing.T, pool *pgxpool.Pool, id, userID int64, status string, pi string) {
	t.Helper()
	sqlExec(t, pool, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor,
		tax_minor, tax_ppm, total_minor, shipping_method, shipping_address, billing_address, shipping_country,
		payment_method, payment_intent_id)
		VALUES ($1, $2, $3, 'USD', 1000, 0, 0, 0, 0, 1000, 'standard', '1 Main St', '1 Main St', 'US', 'card', NULLIF($4, ''))`,
		id, userID, status, pi)
}

func product(t *testing.T, pool *pgxpool.Pool, sku string, stock int32) int64 {
	t.Helper()
	ctx := context.Background()
	_, err := catalog.NewStore(pool).UpsertProducts(ctx, []catalog.ProductInput{{SKU: sku, Name: sku, Category: "Test",
		Price: money.Money{Amount: 1000, Currency: "USD"}, StockQuantity: stock}})
	require.NoError(t, err)
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM products WHERE sku = $1`, sku).Scan(&id))
	return id
}

func TestCheckAcceptedOrders(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	u := user(t, pool)
	placeOrder(t, pool, 1, u, "paid", "")
	placeOrder(t, pool, 2, u, "awaiting_payment", "")
	requireOK(t, checkAcceptedOrders(ctx, pool, []int64{1, 2}))
	requireFail(t, checkAcceptedOrders(ctx, pool, []int64{1, 2, 3}), "missing: [3]")
	requireFail(t, checkPaidAcknowledged(ctx, pool, []int64{1, 2}), "[2]")
	requireOK(t, checkPaidAcknowledged(ctx, pool, []int64{1}))
}

func TestCheckPaymentIntents(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	u := user(t, pool)
	placeOrder(t, pool, 1, u, "paid", "pi_1")
	one := map[int64][]createdIntent{1: {{ID: "pi_1", OrderID: 1}}}
	requireOK(t, checkPaymentIntents(ctx, pool, StripeCounts{Creations: one, Replays: 3}))
	requireFail(t, checkPaymentIntents(ctx, pool, StripeCounts{Creations: map[int64][]createdIntent{}}), "none: [1]")
	two := map[int64][]createdIntent{1: {{ID: "pi_1", OrderID: 1}, {ID: "pi_2", OrderID: 1}}}
	requireFail(t, checkPaymentIntents(ctx, pool, StripeCounts{Creations: two}), "more than one: [1]")
	other := map[int64][]createdIntent{1: {{ID: "pi_9", OrderID: 1}}}
	requireFail(t, checkPaymentIntents(ctx, pool, StripeCounts{Creations: other}), "order names another: [1]")
	stray := map[int64][]createdIntent{1: {{ID: "pi_1", OrderID: 1}}, 7: {{ID: "pi_7", OrderID: 7}}}
	requireFail(t, checkPaymentIntents(ctx, pool, StripeCounts{Creations: stray}), "for unknown orders: [7]")
}

func TestCheckStock(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	u := user(t, pool)
	p := product(t, pool, "SKU-1", 4)
	initial := map[int64]int64{p: 4}
	requireOK(t, checkStock(ctx, pool, initial))

	// An order holding 3 units, as checkout leaves it.
	placeOrder(t, pool, 1, u, "awaiting_payment", "")
	sqlExec(t, pool, `INSERT INTO stock_reservations (order_id, line, product_id, quantity, state, location_id)
		SELECT 1, 1, $1, 3, 'held', id FROM stock_locations WHERE is_default`, p)
	sqlExec(t, pool, `UPDATE location_stock SET reserved = 3 WHERE product_id = $1`, p)
	requireOK(t, checkStock(ctx, pool, initial))

	// Selling more than the shelf held.
	requireFail(t, checkStock(ctx, pool, map[int64]int64{p: 2}), "oversold: [")

	// A reservation the order's status does not explain.
	sqlExec(t, pool, `UPDATE orders SET status = 'cancelled' WHERE id = 1`)
	requireFail(t, checkStock(ctx, pool, initial), "reservation state <> order status: 1")
	sqlExec(t, pool, `UPDATE orders SET status = 'awaiting_payment' WHERE id = 1`)

	// Reserved units that no reservation holds.
	sqlExec(t, pool, `UPDATE location_stock SET reserved = 4 WHERE product_id = $1`, p)
	requireFail(t, checkStock(ctx, pool, initial), "reserved <> reservations: 1")
	sqlExec(t, pool, `UPDATE location_stock SET reserved = 3 WHERE product_id = $1`, p)

	// Stock below zero: the schema refuses it, so the constraints go first.
	sqlExec(t, pool, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
		         WHERE contype = 'c' AND conrelid IN ('location_stock'::regclass, 'products'::regclass) LOOP
			EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
		END LOOP; END $$`)
	sqlExec(t, pool, `UPDATE location_stock SET on_hand = -1, reserved = 0 WHERE product_id = $1`, p)
	requireFail(t, checkStock(ctx, pool, initial), "below zero: ")
}

func TestCheckFulfilment(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	u := user(t, pool)
	placeOrder(t, pool, 1, u, "cancelled", "")
	requireOK(t, checkFulfilment(ctx, pool))
	placeOrder(t, pool, 2, u, "paid", "")
	requireFail(t, checkFulfilment(ctx, pool), "without their shipments: [2]")
	sqlExec(t, pool, `INSERT INTO shipments (order_id, location_id) SELECT 2, id FROM stock_locations WHERE is_default`)
	requireOK(t, checkFulfilment(ctx, pool))
}

func message(id string) mail.Received {
	return mail.Received{Data: fmt.Appendf(nil, "Message-ID: %s\r\nSubject: Order\r\n\r\nThanks.\r\n", id)}
}

func TestCheckEmails(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	u := user(t, pool)
	placeOrder(t, pool, 1, u, "paid", "")
	id := mail.MessageID("order-1-confirmation")
	// A paid order without its confirmation.
	requireFail(t, checkEmails(ctx, pool, nil), "settled orders without their email: [1]")
	sqlExec(t, pool, `INSERT INTO emails (dedup_key, kind, order_id, recipient, status, message_id, attempts, sent_at)
		VALUES ('order-1-confirmation', 'order_confirmation', 1, 'ann@example.com', 'sent', $1, 1, now())`, id)
	requireOK(t, checkEmails(ctx, pool, []mail.Received{message(id)}))

	// Sent, but the SMTP server never got it.
	requireFail(t, checkEmails(ctx, pool, nil), "sent but never received: 1")
	// The same email delivered twice.
	requireFail(t, checkEmails(ctx, pool, []mail.Received{message(id), message(id)}), "Message-ID received twice: 1")
	// A second confirmation of the same order under another key.
	sqlExec(t, pool, `INSERT INTO emails (dedup_key, kind, order_id, recipient, status, message_id, attempts, sent_at)
		VALUES ('order-1-confirmation-again', 'order_confirmation', 1, 'ann@example.com', 'sent', $1, 1, now())`, id)
	requireFail(t, checkEmails(ctx, pool, []mail.Received{message(id)}), "two emails of one kind for orders [1]")
	sqlExec(t, pool, `DELETE FROM emails WHERE dedup_key = 'order-1-confirmation-again'`)
	// Stuck half-way.
	sqlExec(t, pool, `INSERT INTO emails (dedup_key, kind, recipient, status, attempts)
		VALUES ('low-stock-9', 'low_stock', 'staff@example.com', 'sending', 1)`)
	requireFail(t, checkEmails(ctx, pool, []mail.Received{message(id)}), "not sent: 1")
}

func TestCheckOutbox(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	sqlExec(t, pool, `DELETE FROM outbox_deliveries`)
	requireOK(t, checkOutbox(ctx, pool, time.Minute))
	// A fresh event is in flight, not stuck.
	sqlExec(t, pool, `INSERT INTO outbox_events (topic, entity_id) VALUES ('product.changed', 1)`)
	requireOK(t, checkOutbox(ctx, pool, time.Minute))
	requireFail(t, checkOutbox(ctx, pool, 0), "pending for more than 0s: ")
	// One left behind for an hour.
	sqlExec(t, pool, `UPDATE outbox_events SET created_at = now() - interval '1 hour'`)
	requireFail(t, checkOutbox(ctx, pool, time.Minute), "pending for more than 1m0s: ")
	// One the consumer refused for good.
	sqlExec(t, pool, `UPDATE outbox_events SET created_at = now()`)
	sqlExec(t, pool, `UPDATE outbox_deliveries SET parked_at = now() WHERE consumer = 'cache'`)
	requireFail(t, checkOutbox(ctx, pool, time.Minute), "parked: 1")
}
