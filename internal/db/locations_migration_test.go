package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
)

// Migration 0011 moves every unit to the default location: what was
// sellable stays sellable, and the units of open reservations stay on hand,
// reserved. Going back keeps the sellable stock.
func TestStockLocationsMigrationKeepsEveryUnit(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	downTo := func(version uint) {
		for {
			v, _, err := m.Version()
			require.NoError(t, err)
			if v <= version {
				return
			}
			require.NoError(t, m.Down(1))
		}
	}
	downTo(10)

	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	exec(`INSERT INTO categories (name, slug) VALUES ('C', 'c')`)
	exec(`INSERT INTO products (sku, name, category_id, price_minor, currency, stock_quantity)
		SELECT 'MIG-1', 'M', id, 100, 'USD', 5 FROM categories`)
	exec(`INSERT INTO product_variants (product_id, sku, stock_quantity) SELECT id, 'MIG-1-RED', 3 FROM products`)
	exec(`INSERT INTO users (username, email, password_hash, first_name) VALUES ('migrator', 'migrator@example.com', 'x', 'M')`)
	for _, id := range []int{1, 2, 3} {
		exec(`INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
			tax_ppm, total_minor, shipping_method, shipping_address, billing_address, shipping_country, payment_method)
			SELECT $1, id, 'awaiting_payment', 'USD', 0, 0, 0, 0, 0, 0, 'standard', 'a', 'a', 'US', 'card' FROM users`, id)
	}
	// Held 2 of the product, committed 1 of the variant, released 4 (back on the shelf).
	exec(`INSERT INTO stock_reservations (order_id, line, product_id, variant_id, quantity, state)
		SELECT 1, 1, id, NULL, 2, 'held' FROM products`)
	exec(`INSERT INTO stock_reservations (order_id, line, product_id, variant_id, quantity, state)
		SELECT 2, 1, product_id, id, 1, 'committed' FROM product_variants`)
	exec(`INSERT INTO stock_reservations (order_id, line, product_id, variant_id, quantity, state)
		SELECT 3, 1, id, NULL, 4, 'released' FROM products`)

	require.NoError(t, m.Up())
	type row struct {
		variant          bool
		onHand, reserved int32
		sellable         int32
	}
	var got []row
	rows, err := pool.Query(ctx, `SELECT s.variant_id IS NOT NULL, s.on_hand, s.reserved,
			coalesce(v.stock_quantity, p.stock_quantity)
		FROM location_stock s JOIN stock_locations l ON l.id = s.location_id AND l.is_default AND l.code = 'MAIN'
		JOIN products p ON p.id = s.product_id LEFT JOIN product_variants v ON v.id = s.variant_id
		ORDER BY 1`)
	require.NoError(t, err)
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.variant, &r.onHand, &r.reserved, &r.sellable))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []row{{false, 7, 2, 5}, {true, 4, 1, 3}}, got)
	var unplaced int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM stock_reservations r
		WHERE r.location_id <> (SELECT id FROM stock_locations WHERE is_default)`).Scan(&unplaced))
	assert.Zero(t, unplaced, "existing reservations are held at the default location")

	// A line split over two locations is one reservation row again after down.
	exec(`INSERT INTO stock_locations (name, code, priority) VALUES ('East', 'EAST', 1)`)
	exec(`INSERT INTO stock_reservations (order_id, line, location_id, product_id, quantity, state)
		SELECT 1, 1, l.id, p.id, 1, 'held' FROM stock_locations l, products p WHERE l.code = 'EAST'`)

	downTo(10)
	var held int32
	require.NoError(t, pool.QueryRow(ctx, `SELECT quantity FROM stock_reservations WHERE order_id = 1 AND line = 1`).Scan(&held))
	assert.Equal(t, int32(3), held)
	var product, variant int32
	require.NoError(t, pool.QueryRow(ctx, `SELECT p.stock_quantity, v.stock_quantity FROM products p
		JOIN product_variants v ON v.product_id = p.id`).Scan(&product, &variant))
	assert.Equal(t, []int32{5, 3}, []int32{product, variant})
	require.NoError(t, m.Up())
}
