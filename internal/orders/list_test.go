package orders_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers/shoptest"
)

// itemQueries counts the statements that read order_items.
type itemQueries struct{ n atomic.Int32 }

func (c *itemQueries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "order_items") {
		c.n.Add(1)
	}
	return ctx
}

func (c *itemQueries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestListedOrdersCarryTheirLines: GET /api/orders used to list orders with
// empty lines. Each listed order has its lines, in order, read for the whole
// page in one query.
func TestListedOrdersCarryTheirLines(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	ann, bob := s.User(t, "ann-lists"), s.User(t, "bob-lists")
	a := s.Product(t, "LIST-A", 1000, 50)
	b := s.Product(t, "LIST-B", 2500, 50)
	c := s.Product(t, "LIST-C", 400, 50)

	place := func(user int64, items ...orders.Item) orders.Order {
		o, err := s.Orders.Place(ctx, placeInput(t, s, user, items...))
		require.NoError(t, err)
		return o
	}
	first := place(ann, orders.Item{ProductID: a.ID, Quantity: 1})
	second := place(ann, orders.Item{ProductID: b.ID, Quantity: 2}, orders.Item{ProductID: c.ID, Quantity: 3})
	other := place(bob, orders.Item{ProductID: c.ID, Quantity: 1})
	third := place(ann, orders.Item{ProductID: c.ID, Quantity: 4}, orders.Item{ProductID: a.ID, Quantity: 1},
		orders.Item{ProductID: b.ID, Quantity: 1})

	// A store on a pool that counts the queries reading lines.
	cfg := s.Pool.Config()
	counter := &itemQueries{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := orders.NewStore(pool, s.Coupons, s.Carts, s.Orders.Settings())

	skus := func(o orders.Order) []string {
		var out []string
		for _, l := range o.Lines {
			out = append(out, l.SKU)
		}
		return out
	}
	list, total, err := store.List(ctx, orders.ListFilter{UserID: ann, Limit: 50})
	require.NoError(t, err)
	assert.EqualValues(t, 3, total)
	require.Len(t, list, 3)
	assert.Equal(t, []int64{third.ID, second.ID, first.ID}, []int64{list[0].ID, list[1].ID, list[2].ID}, "newest first")
	for i, want := range []orders.Order{third, second, first} {
		assert.Equal(t, want.Lines, list[i].Lines, "order %d has the lines Get answers", want.ID)
		got, err := s.Orders.Get(ctx, want.ID)
		require.NoError(t, err)
		assert.Equal(t, got.Lines, list[i].Lines)
	}
	assert.Equal(t, []string{"LIST-A", "LIST-B", "LIST-C"}, skus(list[0]), "lines in their order")
	assert.Equal(t, int32(4), list[0].Lines[2].Quantity)
	assert.Equal(t, int64(1600), list[0].Lines[2].LineTotal)
	assert.Equal(t, int32(1), counter.n.Load(), "one query reads the lines of the whole page")

	// A page holds only its own orders' lines.
	list, total, err = store.List(ctx, orders.ListFilter{UserID: ann, Skip: 1, Limit: 1})
	require.NoError(t, err)
	assert.EqualValues(t, 3, total)
	require.Len(t, list, 1)
	assert.Equal(t, second.ID, list[0].ID)
	assert.Equal(t, []string{"LIST-B", "LIST-C"}, skus(list[0]))

	list, total, err = store.List(ctx, orders.ListFilter{Limit: 50})
	require.NoError(t, err)
	assert.EqualValues(t, 4, total, "staff list everyone's")
	require.Len(t, list, 4)
	assert.Equal(t, other.ID, list[1].ID)
	assert.Equal(t, []string{"LIST-C"}, skus(list[1]))

	// An empty page reads no lines.
	counter.n.Store(0)
	list, total, err = store.List(ctx, orders.ListFilter{UserID: ann, Skip: 10, Limit: 5})
	require.NoError(t, err)
	assert.EqualValues(t, 3, total)
	assert.Empty(t, list)
	assert.Zero(t, counter.n.Load())
}
