package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
)

// Migration 0015 leaves no paid order without a fulfilment: each order paid
// (or refunded in part) with stock still to send gets its status recorded
// again for the order_workflows consumer, which starts one.
func TestFulfilmentMigrationQueuesPaidOrders(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	for {
		v, _, err := m.Version()
		require.NoError(t, err)
		if v <= 14 {
			break
		}
		require.NoError(t, m.Down(1))
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	exec(`INSERT INTO categories (name, slug) VALUES ('C', 'c')`)
	exec(`INSERT INTO products (sku, name, category_id, price_minor, currency, stock_quantity)
		SELECT 'MIG-2', 'M', id, 100, 'USD', 9 FROM categories`)
	exec(`INSERT INTO users (username, email, password_hash, first_name) VALUES ('migrator', 'migrator@example.com', 'x', 'M')`)
	for id, st := range map[int]string{1: "paid", 2: "partially_refunded", 3: "awaiting_payment", 4: "cancelled"} {
		exec(`INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
			tax_ppm, total_minor, shipping_method, shipping_address, billing_address, shipping_country, payment_method)
			SELECT $1, id, $2, 'USD', 0, 0, 0, 0, 0, 0, 'standard', 'a', 'a', 'US', 'card' FROM users`, id, st)
		state := map[string]string{"paid": "committed", "partially_refunded": "committed", "awaiting_payment": "held", "cancelled": "released"}[st]
		exec(`INSERT INTO stock_reservations (order_id, line, location_id, product_id, quantity, state)
			SELECT $1, 1, (SELECT id FROM stock_locations WHERE is_default), id, 1, $2 FROM products`, id, state)
	}

	require.NoError(t, m.Up())
	rows, err := pool.Query(ctx, `SELECT e.entity_id, e.payload->>'status' FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
		WHERE d.consumer = 'order_workflows' ORDER BY e.entity_id`)
	require.NoError(t, err)
	got := map[int64]string{}
	for rows.Next() {
		var id int64
		var st string
		require.NoError(t, rows.Scan(&id, &st))
		got[id] = st
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[int64]string{1: "paid", 2: "partially_refunded"}, got)
}
