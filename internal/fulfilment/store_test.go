package fulfilment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workers/shoptest"
)

type rig struct {
	*shoptest.Shop
	inv        *inventory.Store
	main, east int64
}

func newRig(t *testing.T) rig {
	t.Helper()
	s := shoptest.NewWithoutWorker(t, 0)
	inv := inventory.NewStore(s.Pool)
	locs, err := inv.Locations(context.Background())
	require.NoError(t, err)
	name, code, prio := "East store", "EAST", int32(1)
	east, err := inv.CreateLocation(context.Background(), inventory.LocationInput{Name: &name, Code: &code, Priority: &prio})
	require.NoError(t, err)
	return rig{Shop: s, inv: inv, main: locs[0].ID, east: east.ID}
}

func (r rig) stock(t *testing.T, location, product int64, n int32) {
	t.Helper()
	_, err := r.inv.Adjust(context.Background(), inventory.Adjustment{LocationID: location, ProductID: product, Delta: n, Reason: "delivery"})
	require.NoError(t, err)
}

func (r rig) level(t *testing.T, location, product int64) [2]int32 {
	t.Helper()
	var l [2]int32
	require.NoError(t, r.Pool.QueryRow(context.Background(), `SELECT on_hand, reserved FROM location_stock
		WHERE location_id = $1 AND product_id = $2`, location, product).Scan(&l[0], &l[1]))
	return l
}

// paid places an order and records its payment, as the checkout does.
func (r rig) paid(t *testing.T, user int64, items ...orders.Item) (int64, error) {
	ctx := context.Background()
	id, err := r.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	o, err := r.Orders.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, Items: items, ShippingAddress: "5 Market St, Springfield, CA 90001"})
	if err != nil {
		return id, err
	}
	return id, r.Orders.MarkPaid(ctx, id, o.Total, "paid")
}

func (r rig) send(ctx context.Context, id int64, tracking string) error {
	if _, err := r.Shipments.Pick(ctx, id); err != nil {
		return err
	}
	if _, err := r.Shipments.Pack(ctx, id); err != nil {
		return err
	}
	_, err := r.Shipments.Ship(ctx, id, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: tracking})
	return err
}

// Fifty shoppers race for 15 units spread over two locations; the paid
// orders are made up into parcels and shipped, all at once. No location
// ever goes below zero or below what it holds reserved, every parcel
// takes its units from the location that reserved them, and at the end
// each location has lost exactly what it shipped.
func TestConcurrentPaidOrdersShipFromTheirLocations(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	user := r.User(t, "racer")
	p := r.Product(t, "RACE-SHIP", 1000, 0)
	r.stock(t, r.main, p.ID, 7)
	r.stock(t, r.east, p.ID, 8)

	done := make(chan struct{})
	var watch sync.WaitGroup
	var bad []string
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var broken int
			if err := r.Pool.QueryRow(ctx, `SELECT count(*) FROM location_stock
				WHERE product_id = $1 AND (on_hand < 0 OR reserved < 0 OR reserved > on_hand)`, p.ID).Scan(&broken); err != nil {
				bad = append(bad, err.Error())
				return
			}
			if broken > 0 {
				bad = append(bad, fmt.Sprintf("%d locations broke the invariant", broken))
			}
		}
	}()

	ids := make([]int64, 50)
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = r.paid(t, user, orders.Item{ProductID: p.ID, Quantity: int32(i%2 + 1)})
			if errs[i] != nil {
				return
			}
			parcels, err := r.Shipments.Allocate(ctx, ids[i])
			if err != nil {
				errs[i] = err
				return
			}
			for _, sh := range parcels {
				if err := r.send(ctx, sh.ID, fmt.Sprintf("TRK-%d", sh.ID)); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	watch.Wait()
	assert.Empty(t, bad)

	shipped := map[int64]int32{}
	var accepted int32
	for i, id := range ids {
		if errs[i] != nil {
			var se *orders.StockError
			require.ErrorAs(t, errs[i], &se, "order %d", id)
			continue
		}
		accepted += int32(i%2 + 1)
		parcels, err := r.Shipments.ForOrder(ctx, id)
		require.NoError(t, err)
		for _, sh := range parcels {
			require.Equal(t, fulfilment.StatusShipped, sh.Status)
			var from int64
			require.NoError(t, r.Pool.QueryRow(ctx, `SELECT DISTINCT location_id FROM stock_reservations WHERE shipment_id = $1`,
				sh.ID).Scan(&from))
			assert.Equal(t, from, sh.LocationID, "parcel %d ships from where it was reserved", sh.ID)
			for _, l := range sh.Lines {
				shipped[sh.LocationID] += l.Quantity
			}
		}
		o, err := r.Orders.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusShipped, o.Status)
	}
	assert.GreaterOrEqual(t, accepted, int32(14))
	assert.Equal(t, [2]int32{7 - shipped[r.main], 0}, r.level(t, r.main, p.ID))
	assert.Equal(t, [2]int32{8 - shipped[r.east], 0}, r.level(t, r.east, p.ID))
	assert.Equal(t, 15-accepted, r.Stock(t, p.ID))
}

// Allocating twice makes no second parcel; an unpaid order has none.
func TestAllocateIsIdempotent(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	user := r.User(t, "ida")
	p := r.Product(t, "IDEM-1", 1000, 4)
	id, err := r.paid(t, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	first, err := r.Shipments.Allocate(ctx, id)
	require.NoError(t, err)
	again, err := r.Shipments.Allocate(ctx, id)
	require.NoError(t, err)
	require.Len(t, first, 1)
	assert.Equal(t, first[0].ID, again[0].ID)
	assert.Equal(t, []fulfilment.Line{{Line: 1, ProductID: p.ID, SKU: "IDEM-1", Name: "Product IDEM-1", Quantity: 2}}, again[0].Lines)

	unpaid, err := r.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	_, err = r.Orders.Place(ctx, orders.PlaceInput{OrderID: unpaid, UserID: user, Items: []orders.Item{{ProductID: p.ID, Quantity: 1}},
		ShippingAddress: "5 Market St, Springfield, CA 90001"})
	require.NoError(t, err)
	none, err := r.Shipments.Allocate(ctx, unpaid)
	require.NoError(t, err)
	assert.Empty(t, none, "held stock is not sent before the payment")
}

// A scan applies once per event id and never moves a parcel backwards;
// delivering before shipping is refused.
func TestScansApplyOnceAndForwardOnly(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	user := r.User(t, "sue")
	p := r.Product(t, "SCAN-1", 1000, 4)
	id, err := r.paid(t, user, orders.Item{ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	parcels, err := r.Shipments.Allocate(ctx, id)
	require.NoError(t, err)
	sh := parcels[0]
	_, err = r.Shipments.Deliver(ctx, sh.ID)
	require.ErrorIs(t, err, fulfilment.ErrWrongState)
	_, err = r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e0", Kind: fulfilment.ScanInTransit, OccurredAt: sh.CreatedAt})
	require.ErrorIs(t, err, fulfilment.ErrWrongState, "a scan before shipping")
	require.NoError(t, r.send(ctx, sh.ID, "TRK-SCAN"))

	at := sh.CreatedAt
	res, err := r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e1", Kind: fulfilment.ScanOutForDelivery, OccurredAt: at})
	require.NoError(t, err)
	assert.Equal(t, fulfilment.StatusOutForDelivery, res.Shipment.Status)
	res, err = r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e2", Kind: fulfilment.ScanInTransit, OccurredAt: at})
	require.NoError(t, err)
	assert.Equal(t, fulfilment.StatusOutForDelivery, res.Shipment.Status, "a late scan does not move it back")
	res, err = r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e1", Kind: fulfilment.ScanOutForDelivery, OccurredAt: at})
	require.NoError(t, err)
	assert.True(t, res.Duplicate)
	res, err = r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e3", Kind: fulfilment.ScanException, Description: "address unknown", OccurredAt: at})
	require.NoError(t, err)
	assert.Contains(t, res.Shipment.Problem, "address unknown")
	res, err = r.Shipments.ApplyScan(ctx, sh.ID, fulfilment.Scan{EventID: "e4", Kind: fulfilment.ScanDelivered, OccurredAt: at})
	require.NoError(t, err)
	assert.Equal(t, fulfilment.StatusDelivered, res.Shipment.Status)
	o, err := r.Orders.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusDelivered, o.Status)
	var events []string
	for _, e := range o.Events {
		events = append(events, e.Status)
	}
	assert.Subset(t, events, []string{"fulfilment", "shipment_shipped", "shipped", "shipment_out_for_delivery", "delivered"})
}

// Paid back in full before anything ships: the parcels stop and their
// stock goes back on sale where it was reserved; nothing can ship after.
func TestFullRefundStopsTheParcels(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	user := r.User(t, "rey")
	p := r.Product(t, "REFUND-ALL", 1000, 0)
	r.stock(t, r.east, p.ID, 3)
	id, err := r.paid(t, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	parcels, err := r.Shipments.Allocate(ctx, id)
	require.NoError(t, err)
	_, err = r.Shipments.Pick(ctx, parcels[0].ID)
	require.NoError(t, err)
	assert.Equal(t, [2]int32{3, 2}, r.level(t, r.east, p.ID))

	ref, err := r.Orders.RequestRefund(ctx, id, 0, "goodwill", 0)
	require.NoError(t, err)
	require.NoError(t, r.Orders.CompleteRefund(ctx, ref.ID, "re_1", ""))
	o, err := r.Orders.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusRefunded, o.Status)
	assert.Equal(t, [2]int32{3, 0}, r.level(t, r.east, p.ID), "back on sale at EAST")
	sh, err := r.Shipments.Get(ctx, parcels[0].ID)
	require.NoError(t, err)
	assert.Equal(t, fulfilment.StatusCancelled, sh.Status)
	_, err = r.Shipments.Pack(ctx, sh.ID)
	require.ErrorIs(t, err, fulfilment.ErrWrongState)
}
