package demohistory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/demohistory"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/workers/shoptest"
)

// The history is delivered orders of the catalog's products with their
// order facts and the browsing that led to them, dated in the window; it
// takes no stock, and a second run writes nothing.
func TestGenerateWritesABelievablePastOnce(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	var in []catalog.ProductInput
	for i := range 24 {
		in = append(in, catalog.ProductInput{SKU: fmt.Sprintf("DEMO-%02d", i), Name: fmt.Sprintf("Demo %d", i),
			Category: []string{"Mugs", "Teas", "Lamps"}[i%3], Price: money.Money{Amount: int64(500 + 100*i), Currency: "USD"},
			StockQuantity: 10})
	}
	_, err := s.Catalog.UpsertProducts(ctx, in)
	require.NoError(t, err)
	s.StartRelay(t, events.OrderFacts{Store: events.NewStore(s.Pool)})

	now := time.Now()
	sum, err := demohistory.Generate(ctx, s.Pool, demohistory.Options{Customers: 30, Days: 60, Seed: 7, Now: now})
	require.NoError(t, err)
	assert.Equal(t, 30, sum.Customers)
	require.Greater(t, sum.Orders, 10)
	require.Greater(t, sum.Events, sum.Orders*3)

	var orders, outside, stock int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE created_at < $1 OR created_at > $2)
		FROM orders WHERE status = 'delivered'`, now.AddDate(0, 0, -60), now).Scan(&orders, &outside))
	assert.Equal(t, sum.Orders, orders)
	assert.Zero(t, outside, "every order is dated in the window")
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT sum(stock_quantity) FROM products WHERE sku LIKE 'DEMO-%'`).Scan(&stock))
	assert.Equal(t, 240, stock, "history takes no stock")

	// Each order has its placement (from the outbox, dated when placed),
	// payment and delivery facts, and views outnumber purchases.
	require.Eventually(t, func() bool {
		var placed int
		err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM behaviour_events e JOIN orders o ON o.id = e.order_id
			WHERE e.kind = 'order_placed' AND e.occurred_at = o.created_at`).Scan(&placed)
		return err == nil && placed == orders
	}, 30*time.Second, 50*time.Millisecond)
	counts := map[string]int{}
	rows, err := s.Pool.Query(ctx, `SELECT kind, count(*) FROM behaviour_events GROUP BY kind`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		counts[k] = n
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, orders, counts["order_paid"])
	assert.Equal(t, orders, counts["order_delivered"])
	assert.Greater(t, counts["view"], 2*orders)
	assert.Greater(t, counts["add_to_cart"], orders)

	// Some pairs are bought together far more than chance: the strongest
	// pair shares at least three orders.
	var together int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM order_items a
		JOIN order_items b ON a.order_id = b.order_id AND a.product_id < b.product_id GROUP BY a.product_id, b.product_id) x`).Scan(&together))
	assert.GreaterOrEqual(t, together, 3)

	again, err := demohistory.Generate(ctx, s.Pool, demohistory.Options{Customers: 30, Days: 60, Seed: 7, Now: now})
	require.NoError(t, err)
	assert.True(t, again.Skipped)
}
