package orders_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers/shoptest"
)

// locationShop is a shop with a second location, EAST, served after the
// default one (MAIN).
type locationShop struct {
	*shoptest.Shop
	inv        *inventory.Store
	main, east int64
}

func newLocationShop(t *testing.T) locationShop {
	s := shoptest.NewWithoutWorker(t, 0)
	inv := inventory.NewStore(s.Pool)
	locs, err := inv.Locations(context.Background())
	require.NoError(t, err)
	require.Len(t, locs, 1)
	require.True(t, locs[0].Default)
	east, err := inv.CreateLocation(context.Background(), inventory.LocationInput{Name: ptr("East store"), Code: ptr("east"), Priority: ptr[int32](1)})
	require.NoError(t, err)
	assert.Equal(t, "EAST", east.Code)
	return locationShop{Shop: s, inv: inv, main: locs[0].ID, east: east.ID}
}

func ptr[T any](v T) *T { return &v }

// stock puts n units of a product on hand at a location.
func (s locationShop) stock(t *testing.T, location, product int64, n int32) {
	t.Helper()
	_, err := s.inv.Adjust(context.Background(), inventory.Adjustment{LocationID: location, ProductID: product, Delta: n, Reason: "delivery"})
	require.NoError(t, err)
}

// level answers on hand and reserved of a product at a location.
func (s locationShop) level(t *testing.T, location, product int64) (onHand, reserved int32) {
	t.Helper()
	err := s.Pool.QueryRow(context.Background(), `SELECT on_hand, reserved FROM location_stock
		WHERE location_id = $1 AND product_id = $2 AND variant_id IS NULL`, location, product).Scan(&onHand, &reserved)
	require.NoError(t, err)
	return onHand, reserved
}

// reservedAt answers an order's reserved units per location.
func (s locationShop) reservedAt(t *testing.T, orderID int64, state string) map[int64]int32 {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `SELECT location_id, sum(quantity)::integer FROM stock_reservations
		WHERE order_id = $1 AND state = $2 GROUP BY location_id`, orderID, state)
	require.NoError(t, err)
	out := map[int64]int32{}
	for rows.Next() {
		var loc int64
		var n int32
		require.NoError(t, rows.Scan(&loc, &n))
		out[loc] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// Fifty shoppers race for 15 units spread over two locations: no location
// ever sells what it does not hold, every accepted order holds exactly its
// quantity, and an order is refused only when the units it wants are gone.
func TestConcurrentOrdersNeverOversellLocations(t *testing.T) {
	s := newLocationShop(t)
	ctx := context.Background()
	user := s.User(t, "racer")
	p := s.Product(t, "RACE-1", 1000, 0)
	s.stock(t, s.main, p.ID, 7)
	s.stock(t, s.east, p.ID, 8)
	require.Equal(t, int32(15), s.Stock(t, p.ID))

	// A watcher checks the invariant while the orders run.
	done := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	var bad []string
	go func() {
		defer watch.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var negative, sellable, sum, reserved, onHand int64
			if err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE on_hand - reserved < 0),
				(SELECT stock_quantity FROM products WHERE id = $1), coalesce(sum(on_hand - reserved), 0),
				coalesce(sum(reserved), 0), coalesce(sum(on_hand), 0)
				FROM location_stock WHERE product_id = $1`, p.ID).Scan(&negative, &sellable, &sum, &reserved, &onHand); err != nil {
				bad = append(bad, err.Error())
				return
			}
			if negative > 0 || sellable != sum || reserved > onHand {
				bad = append(bad, fmt.Sprintf("negative=%d sellable=%d sum=%d reserved=%d on_hand=%d", negative, sellable, sum, reserved, onHand))
			}
		}
	}()

	type result struct {
		id  int64
		qty int32
		err error
	}
	results := make([]result, 50)
	var wg sync.WaitGroup
	for i := range results {
		qty := int32(i%2 + 1)
		in := placeInput(t, s.Shop, user, orders.Item{ProductID: p.ID, Quantity: qty})
		results[i] = result{id: in.OrderID, qty: qty}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i].err = s.Orders.Place(ctx, in)
		}()
	}
	wg.Wait()
	close(done)
	watch.Wait()
	assert.Empty(t, bad, "the invariant held throughout")

	var accepted int32
	var refused []int32
	for _, r := range results {
		if r.err != nil {
			var se *orders.StockError
			require.ErrorAs(t, r.err, &se, "order %d", r.id)
			refused = append(refused, r.qty)
			continue
		}
		accepted += r.qty
		var sum int32
		for _, n := range s.reservedAt(t, r.id, "held") {
			sum += n
		}
		assert.Equal(t, r.qty, sum, "order %d holds exactly its quantity", r.id)
	}
	mainOn, mainRes := s.level(t, s.main, p.ID)
	eastOn, eastRes := s.level(t, s.east, p.ID)
	assert.Equal(t, []int32{7, 8}, []int32{mainOn, eastOn}, "reserving takes nothing off the shelf")
	assert.LessOrEqual(t, mainRes, mainOn)
	assert.LessOrEqual(t, eastRes, eastOn)
	assert.Equal(t, accepted, mainRes+eastRes, "the locations hold what the accepted orders reserved")
	left := s.Stock(t, p.ID)
	assert.Equal(t, 15-accepted, left)
	assert.GreaterOrEqual(t, accepted, int32(14), "orders were refused only once the stock ran out")
	require.NotEmpty(t, refused)
	for _, q := range refused {
		assert.Less(t, left, q, "a refused order wanted more than was left")
	}
	var orderRows int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&orderRows))
	assert.Equal(t, 50-len(refused), orderRows, "refused orders left nothing behind")
}

// One location that can serve the whole order serves it, even when a
// location served first could serve part of it.
func TestOrderPrefersOneLocationForTheWholeOrder(t *testing.T) {
	s := newLocationShop(t)
	ctx := context.Background()
	user := s.User(t, "pia")
	a := s.Product(t, "PREF-A", 1000, 0)
	b := s.Product(t, "PREF-B", 1000, 0)
	s.stock(t, s.main, a.ID, 5) // MAIN has only A
	s.stock(t, s.east, a.ID, 5)
	s.stock(t, s.east, b.ID, 5)

	o, err := s.Orders.Place(ctx, placeInput(t, s.Shop, user, orders.Item{ProductID: a.ID, Quantity: 2}, orders.Item{ProductID: b.ID, Quantity: 1}))
	require.NoError(t, err)
	assert.Equal(t, map[int64]int32{s.east: 3}, s.reservedAt(t, o.ID, "held"), "EAST ships the whole order")
	_, mainRes := s.level(t, s.main, a.ID)
	assert.Zero(t, mainRes)

	// When both can, the lower priority number wins.
	o, err = s.Orders.Place(ctx, placeInput(t, s.Shop, user, orders.Item{ProductID: a.ID, Quantity: 1}))
	require.NoError(t, err)
	assert.Equal(t, map[int64]int32{s.main: 1}, s.reservedAt(t, o.ID, "held"))
}

// No single location holds the line: it is split by priority, and the
// release gives each location back what it gave.
func TestOrderSplitsByPriorityAndReleasesToItsLocations(t *testing.T) {
	s := newLocationShop(t)
	ctx := context.Background()
	user := s.User(t, "sam")
	p := s.Product(t, "SPLIT-1", 1000, 0)
	s.stock(t, s.main, p.ID, 2)
	s.stock(t, s.east, p.ID, 4)

	o, err := s.Orders.Place(ctx, placeInput(t, s.Shop, user, orders.Item{ProductID: p.ID, Quantity: 5}))
	require.NoError(t, err)
	assert.Equal(t, map[int64]int32{s.main: 2, s.east: 3}, s.reservedAt(t, o.ID, "held"), "MAIN first, the rest from EAST")
	assert.Equal(t, int32(1), s.Stock(t, p.ID))
	got, err := s.Orders.Get(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, got.Lines, 1, "the order still has one line")
	assert.Equal(t, int32(5), got.Lines[0].Quantity)

	require.NoError(t, s.Orders.Release(ctx, o.ID, orders.StatusCancelled, "changed my mind"))
	for _, loc := range []int64{s.main, s.east} {
		_, reserved := s.level(t, loc, p.ID)
		assert.Zero(t, reserved, "location %d got its units back", loc)
	}
	assert.Equal(t, int32(6), s.Stock(t, p.ID))
	assert.Equal(t, map[int64]int32{s.main: 2, s.east: 3}, s.reservedAt(t, o.ID, "released"))

	// Paid units stay reserved at their location until cancelled.
	o, err = s.Orders.Place(ctx, placeInput(t, s.Shop, user, orders.Item{ProductID: p.ID, Quantity: 3}))
	require.NoError(t, err)
	require.NoError(t, s.Orders.MarkPaid(ctx, o.ID, o.Total, "paid"))
	assert.Equal(t, map[int64]int32{s.east: 3}, s.reservedAt(t, o.ID, "committed"))
	_, eastRes := s.level(t, s.east, p.ID)
	assert.Equal(t, int32(3), eastRes, "committed units stay reserved until shipped")
	assert.Equal(t, int32(3), s.Stock(t, p.ID))
	require.NoError(t, s.Orders.CancelPaid(ctx, o.ID, "out of time"))
	_, eastRes = s.level(t, s.east, p.ID)
	assert.Zero(t, eastRes)
	assert.Equal(t, int32(6), s.Stock(t, p.ID))
}

// Staff cannot move or remove units that orders hold.
func TestTransferRefusesToStrandAReservation(t *testing.T) {
	s := newLocationShop(t)
	ctx := context.Background()
	user := s.User(t, "tom")
	p := s.Product(t, "MOVE-1", 1000, 3) // on hand at MAIN
	_, err := s.Orders.Place(ctx, placeInput(t, s.Shop, user, orders.Item{ProductID: p.ID, Quantity: 2}))
	require.NoError(t, err)

	move := inventory.Transfer{ProductID: p.ID, FromLocationID: s.main, ToLocationID: s.east, Quantity: 2, Reason: "rebalance"}
	_, err = s.inv.Transfer(ctx, move)
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)
	_, err = s.inv.Adjust(ctx, inventory.Adjustment{LocationID: s.main, ProductID: p.ID, Delta: -2, Reason: "broken"})
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)

	move.Quantity = 1
	res, err := s.inv.Transfer(ctx, move)
	require.NoError(t, err)
	assert.Equal(t, inventory.Result{LocationID: s.main, LocationCode: "MAIN", LocationActive: true, OnHand: 2, Reserved: 2, Sellable: 1}, res.From)
	assert.Equal(t, inventory.Result{LocationID: s.east, LocationCode: "EAST", LocationActive: true, OnHand: 1, Reserved: 0, Sellable: 1}, res.To)
	assert.Equal(t, int32(1), s.Stock(t, p.ID), "a transfer changes no sellable total")
	var audited int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM stock_transfers WHERE id = $1 AND quantity = 1 AND reason = 'rebalance'`,
		res.ID).Scan(&audited))
	assert.Equal(t, 1, audited)
}
