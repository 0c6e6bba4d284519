package workers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	assert.Equal(t, "Low stock: Product KETTLE-1 (KETTLE-1)", subject)
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
