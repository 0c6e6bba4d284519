package signals_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/signals"
	"github.com/shopkit/shop/recommender/signals/signalstest"
)

// The snapshot holds every purchased line of the paid orders, the views
// and cart adds of signed-in shoppers, and the active catalog.
func TestReadSnapshotsTheDemoPast(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	signalstest.Seed(t, pool, 30)
	// An unpaid order's lines and an archived product say nothing.
	_, err := pool.Exec(ctx, `UPDATE products SET active = false WHERE sku = 'RECO-39'`)
	require.NoError(t, err)

	s, err := signals.Read(ctx, pool)
	require.NoError(t, err)
	var lines, views, carts int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE o.status = 'delivered'`).Scan(&lines))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'view'), count(*) FILTER (WHERE kind = 'add_to_cart')
		FROM behaviour_events WHERE user_id IS NOT NULL AND product_id IS NOT NULL`).Scan(&views, &carts))
	require.Positive(t, lines)
	assert.Equal(t, lines, s.Purchases)
	assert.Equal(t, views, s.Views)
	assert.Equal(t, carts, s.Carts)
	assert.Len(t, s.Interactions, lines+views+carts)
	assert.Len(t, s.Items, 39)
	for _, it := range s.Items {
		assert.NotZero(t, it.CategoryID)
		assert.NotEmpty(t, it.Category, "reasons name the category")
		assert.NotEmpty(t, it.Name)
		assert.False(t, it.Repeatable)
	}
	kinds := map[recommender.Kind]int{}
	for _, in := range s.Interactions {
		kinds[in.Kind]++
		assert.NotZero(t, in.UserID)
		assert.False(t, in.At.IsZero())
	}
	assert.Equal(t, lines, kinds[recommender.Purchase])
}
