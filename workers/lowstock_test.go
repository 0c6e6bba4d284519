package workers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/lowstock"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/email"
)

// Five sales that take a product across its threshold send staff one
// email, not one per sale; back above the threshold, the next crossing
// alerts again.
func TestLowStockAlertsStaffOncePerCrossing(t *testing.T) {
	s := shoptest.New(t, time.Hour)
	ctx := context.Background()
	// Email workflow ids derive from alert ids: unique on the shared server.
	_, err := s.Pool.Exec(ctx, fmt.Sprintf("ALTER TABLE low_stock_alerts ALTER COLUMN id RESTART WITH %d", 1_000_000+rand.Int64N(1<<40)))
	require.NoError(t, err)
	consumer := lowstock.Consumer{Pool: s.Pool, Threshold: 5, StaffTo: "staff@shop.test", ShopURL: shoptest.ShopURL,
		Mail: &email.Client{Temporal: s.Temporal, TaskQueue: s.Queue}}
	s.StartRelay(t, consumer)
	drainedLowStock := func() {
		t.Helper()
		require.Eventually(t, func() bool {
			var n int
			err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox_deliveries WHERE consumer = $1`, lowstock.ConsumerName).Scan(&n)
			return err == nil && n == 0
		}, 30*time.Second, 50*time.Millisecond)
	}

	user := s.User(t, "lou")
	// Created below the threshold (a new or imported product): no alert
	// until it has been at or above it.
	s.Product(t, "CANDLE-1", 900, 2)
	kettle := s.Product(t, "KETTLE-1", 2500, 8)
	for range 5 { // 8 → 3: below 5 from the fourth sale on
		r, err := place(t, s, user, orders.Item{ProductID: kettle.ID, Quantity: 1})
		require.NoError(t, err)
		require.True(t, r.Accepted, "%+v", r.Rejection)
	}
	require.Equal(t, int32(3), s.Stock(t, kettle.ID))
	msgs := s.SMTP.WaitFor(t, 1, time.Minute)
	drainedLowStock()
	subject, body := textPart(t, msgs[0])
	assert.Equal(t, "Low stock: Product KETTLE-1 (KETTLE-1) at MAIN", subject)
	assert.Contains(t, body, "below the threshold of 5")
	assert.Equal(t, []string{"staff@shop.test"}, msgs[0].To)
	assert.Len(t, s.SMTP.Messages(), 1, "one email for the crossing, not one per sale")

	// Restocked above the threshold, then sold below it again: one more.
	_, err = s.Catalog.AdjustStock(ctx, kettle.ID, 0, 10, "restock", 0)
	require.NoError(t, err)
	drainedLowStock()
	_, err = s.Catalog.AdjustStock(ctx, kettle.ID, 0, -12, "stock count", 0)
	require.NoError(t, err)
	msgs = s.SMTP.WaitFor(t, 2, time.Minute)
	drainedLowStock()
	assert.Len(t, s.SMTP.Messages(), 2)
	for _, m := range msgs {
		subject, _ := textPart(t, m)
		assert.Contains(t, subject, "KETTLE-1", "the candle never alerted")
	}
}

// Low stock is per location: sales that take MAIN below the threshold
// alert for MAIN while EAST holds plenty, and a transfer that empties
// EAST (no product total changes) alerts for EAST.
func TestLowStockAlertsPerLocation(t *testing.T) {
	s := shoptest.New(t, time.Hour)
	ctx := context.Background()
	_, err := s.Pool.Exec(ctx, fmt.Sprintf("ALTER TABLE low_stock_alerts ALTER COLUMN id RESTART WITH %d", 1_000_000+rand.Int64N(1<<40)))
	require.NoError(t, err)
	s.StartRelay(t, lowstock.Consumer{Pool: s.Pool, Threshold: 5, StaffTo: "staff@shop.test", ShopURL: shoptest.ShopURL,
		Mail: &email.Client{Temporal: s.Temporal, TaskQueue: s.Queue}})
	inv := inventory.NewStore(s.Pool)
	locs, err := inv.Locations(ctx)
	require.NoError(t, err)
	name, code, prio := "East store", "EAST", int32(1)
	east, err := inv.CreateLocation(ctx, inventory.LocationInput{Name: &name, Code: &code, Priority: &prio})
	require.NoError(t, err)

	user := s.User(t, "lou")
	lamp := s.Product(t, "LAMP-LOC", 2500, 6) // MAIN: 6
	_, err = inv.Adjust(ctx, inventory.Adjustment{LocationID: east.ID, ProductID: lamp.ID, Delta: 10, Reason: "delivery"})
	require.NoError(t, err)
	r, err := place(t, s, user, orders.Item{ProductID: lamp.ID, Quantity: 2}) // from MAIN: 4 left there
	require.NoError(t, err)
	require.True(t, r.Accepted, "%+v", r.Rejection)
	msgs := s.SMTP.WaitFor(t, 1, time.Minute)
	subject, body := textPart(t, msgs[0])
	assert.Equal(t, "Low stock: Product LAMP-LOC (LAMP-LOC) at MAIN", subject)
	assert.Contains(t, body, "4 left at MAIN")

	_, err = inv.Transfer(ctx, inventory.Transfer{ProductID: lamp.ID, FromLocationID: east.ID, ToLocationID: locs[0].ID,
		Quantity: 6, Reason: "rebalance"})
	require.NoError(t, err)
	msgs = s.SMTP.WaitFor(t, 2, time.Minute)
	subject, _ = textPart(t, msgs[1])
	assert.Equal(t, "Low stock: Product LAMP-LOC (LAMP-LOC) at EAST", subject)
	var open []string
	rows, err := s.Pool.Query(ctx, `SELECT l.code FROM low_stock_alerts a JOIN stock_locations l ON l.id = a.location_id
		WHERE a.product_id = $1 ORDER BY l.code`, lamp.ID)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		open = append(open, c)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"EAST"}, open, "MAIN is back at 10: its alert closed")
}
