package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/mail/mailtest"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	"github.com/shopkit/shop/workflows/refund"
)

// fulfilShop is a shop whose paid orders are fulfilled: a worker with the
// given deadlines, the order_workflows outbox consumer, and a second
// location, EAST, served after MAIN.
type fulfilShop struct {
	*shoptest.Shop
	inv        *inventory.Store
	main, east int64
}

func newFulfilShop(t *testing.T, d fulfilmentact.Deadlines) fulfilShop {
	t.Helper()
	s := shoptest.NewWithoutWorker(t, time.Hour)
	s.Deadlines = d
	s.StartWorker(t)
	s.StartRelay(t, &fulfilmentwf.StatusFollower{Temporal: s.Temporal, TaskQueue: s.Queue})
	inv := inventory.NewStore(s.Pool)
	locs, err := inv.Locations(context.Background())
	require.NoError(t, err)
	code, name, prio := "EAST", "East store", int32(1)
	east, err := inv.CreateLocation(context.Background(), inventory.LocationInput{Name: &name, Code: &code, Priority: &prio})
	require.NoError(t, err)
	return fulfilShop{Shop: s, inv: inv, main: locs[0].ID, east: east.ID}
}

// stock puts n more units of the product on hand at the location.
func (s fulfilShop) stock(t *testing.T, location, product int64, n int32) {
	t.Helper()
	_, err := s.inv.Adjust(context.Background(), inventory.Adjustment{LocationID: location, ProductID: product, Delta: n, Reason: "delivery"})
	require.NoError(t, err)
}

// level is the product's units at a location: on hand and reserved.
func (s fulfilShop) level(t *testing.T, location, product int64) [2]int32 {
	t.Helper()
	var l [2]int32
	require.NoError(t, s.Pool.QueryRow(context.Background(), `SELECT on_hand, reserved FROM location_stock
		WHERE location_id = $1 AND product_id = $2`, location, product).Scan(&l[0], &l[1]))
	return l
}

// paidOrder places and pays an order and waits for its parcels.
func (s fulfilShop) paidOrder(t *testing.T, user int64, parcels int, items ...orders.Item) (int64, []fulfilment.Shipment) {
	t.Helper()
	r, err := place(t, s.Shop, user, items...)
	require.NoError(t, err)
	require.True(t, r.Accepted, "%+v", r.Rejection)
	pay(t, s.Shop, r)
	s.WaitStatus(t, r.OrderID, orders.StatusPaid, 30*time.Second)
	return r.OrderID, s.parcels(t, r.OrderID, parcels)
}

// parcels waits until the order has n shipments, each with its workflow.
func (s fulfilShop) parcels(t *testing.T, orderID int64, n int) []fulfilment.Shipment {
	t.Helper()
	var all []fulfilment.Shipment
	require.Eventually(t, func() bool {
		var err error
		all, err = s.Shipments.ForOrder(context.Background(), orderID)
		if err != nil || len(all) != n {
			return false
		}
		for _, sh := range all {
			if _, err := s.Temporal.DescribeWorkflow(context.Background(), fulfilmentwf.ShipmentWorkflowID(sh.ID), ""); err != nil {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "order %d has %d shipments, want %d", orderID, len(all), n)
	return all
}

// send picks, packs and ships a parcel with the manual carrier.
func (s fulfilShop) send(t *testing.T, id int64, tracking string) fulfilment.Shipment {
	t.Helper()
	ctx := context.Background()
	_, err := s.Fulfil.Pick(ctx, id)
	require.NoError(t, err)
	_, err = s.Fulfil.Pack(ctx, id)
	require.NoError(t, err)
	sh, err := s.Fulfil.Ship(ctx, id, fulfilment.ShipInput{Carrier: "manual", Service: "standard", TrackingNumber: tracking})
	require.NoError(t, err)
	return sh
}

// keyword reads a workflow's keyword search attribute ("" when unset).
func keyword(t *testing.T, s fulfilShop, workflowID string, key string) string {
	t.Helper()
	d, err := s.Temporal.DescribeWorkflow(context.Background(), workflowID, "")
	require.NoError(t, err)
	p, ok := d.RawResponse.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[key]
	if !ok {
		return ""
	}
	var v string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &v))
	return v
}

// waitKeyword waits until a workflow's keyword search attribute is want.
func waitKeyword(t *testing.T, s fulfilShop, workflowID, key, want string) {
	t.Helper()
	var got string
	require.Eventually(t, func() bool {
		got = keyword(t, s, workflowID, key)
		return got == want
	}, 30*time.Second, 100*time.Millisecond, "%s of %s is %q, want %q", key, workflowID, got, want)
}

// subjects are the subjects of the emails the SMTP server received.
func subjects(t *testing.T, s fulfilShop, atLeast int) []string {
	t.Helper()
	return subjectsOf(t, s.SMTP.WaitFor(t, atLeast, 30*time.Second))
}

func subjectsOf(t *testing.T, msgs []mailtest.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		require.NoError(t, err)
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		out = append(out, subject)
	}
	return out
}

func count(all []string, prefix string) int {
	n := 0
	for _, s := range all {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// An order that no location holds whole is split by priority into one
// parcel per location; each ships from the location that reserved it (the
// units leave that shelf), and the order goes paid → partially shipped →
// shipped → delivered, in PostgreSQL and in its fulfilment's OrderStatus.
// A carrier scan replayed changes nothing; every email goes out once.
func TestSplitOrderShipsFromBothLocationsAndIsDelivered(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{})
	ctx := context.Background()
	user := s.User(t, "sam")
	mug := s.Product(t, "MUG-SPLIT", 1200, 2) // MAIN: 2
	tea := s.Product(t, "TEA-SPLIT", 800, 0)
	s.stock(t, s.east, tea.ID, 3) // EAST: 3

	orderID, parcels := s.paidOrder(t, user, 2, orders.Item{ProductID: mug.ID, Quantity: 2}, orders.Item{ProductID: tea.ID, Quantity: 1})
	byLocation := map[int64]fulfilment.Shipment{}
	for _, sh := range parcels {
		byLocation[sh.LocationID] = sh
	}
	require.Len(t, byLocation[s.main].Lines, 1)
	require.Equal(t, mug.ID, byLocation[s.main].Lines[0].ProductID)
	require.Equal(t, tea.ID, byLocation[s.east].Lines[0].ProductID)
	waitKeyword(t, s, fulfilmentwf.WorkflowID(orderID), searchattr.OrderStatus.GetName(), "paid")
	assert.Empty(t, keyword(t, s, checkout.WorkflowID(orderID), searchattr.OrderStatus.GetName()),
		"the checkout hands OrderStatus over to the fulfilment")

	fromMain := s.send(t, byLocation[s.main].ID, "TRK-MAIN-1")
	assert.Equal(t, "https://track.test/TRK-MAIN-1", fromMain.TrackingURL)
	assert.Equal(t, [2]int32{0, 0}, s.level(t, s.main, mug.ID), "the mugs left MAIN")
	assert.Equal(t, [2]int32{3, 1}, s.level(t, s.east, tea.ID), "EAST still holds the tea")
	s.WaitStatus(t, orderID, orders.StatusPartiallyShipped, 10*time.Second)
	waitKeyword(t, s, fulfilmentwf.WorkflowID(orderID), searchattr.OrderStatus.GetName(), "partially_shipped")

	s.send(t, byLocation[s.east].ID, "TRK-EAST-1")
	assert.Equal(t, [2]int32{2, 0}, s.level(t, s.east, tea.ID), "the tea left EAST")
	s.WaitStatus(t, orderID, orders.StatusShipped, 10*time.Second)

	// The carrier reports the first parcel delivered, twice.
	scan := fulfilment.Scan{EventID: fmt.Sprintf("evt-%d-1", orderID), Kind: fulfilment.ScanDelivered, OccurredAt: time.Now()}
	require.NoError(t, s.Fulfil.ScanByTracking(ctx, "manual", "TRK-MAIN-1", scan))
	require.NoError(t, s.Fulfil.ScanByTracking(ctx, "manual", "TRK-MAIN-1", scan))
	require.Eventually(t, func() bool {
		sh, err := s.Shipments.Get(ctx, fromMain.ID)
		return err == nil && sh.Status == fulfilment.StatusDelivered
	}, 10*time.Second, 50*time.Millisecond)
	// Staff confirm the second.
	_, err := s.Fulfil.Deliver(ctx, byLocation[s.east].ID)
	require.NoError(t, err)
	s.WaitStatus(t, orderID, orders.StatusDelivered, 10*time.Second)
	waitKeyword(t, s, fulfilmentwf.WorkflowID(orderID), searchattr.OrderStatus.GetName(), "delivered")

	// Confirmation, 2 × shipped, 2 × delivered.
	got := subjects(t, s, 5)
	assert.Equal(t, 2, count(got, fmt.Sprintf("Your order #%d is on its way", orderID)), "%q", got)
	assert.Equal(t, 2, count(got, fmt.Sprintf("Your order #%d has been delivered", orderID)), "%q", got)
	var scans int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM shipment_scans WHERE shipment_id = $1`, fromMain.ID).Scan(&scans))
	assert.Equal(t, 1, scans, "a replayed scan is stored once")

	// A parcel cannot be delivered twice, nor shipped again under another number.
	_, err = s.Fulfil.Ship(ctx, fromMain.ID, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "OTHER"})
	require.ErrorIs(t, err, fulfilment.ErrWrongState)
	shoptest.RecordHistory(t, s.Temporal, fulfilmentwf.WorkflowID(orderID), "../workflows/fulfilment/testdata/fulfilment_split.json")
	shoptest.RecordHistory(t, s.Temporal, fulfilmentwf.ShipmentWorkflowID(fromMain.ID), "../workflows/fulfilment/testdata/shipment_scanned.json")
}

// Bad steps are refused with the reason, and a tracking number belongs to
// one parcel.
func TestShipmentStepsAreRefusedOutOfOrder(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{})
	ctx := context.Background()
	user := s.User(t, "olga")
	p := s.Product(t, "LAMP-1", 3000, 5)
	_, first := s.paidOrder(t, user, 1, orders.Item{ProductID: p.ID, Quantity: 1})
	_, second := s.paidOrder(t, user, 1, orders.Item{ProductID: p.ID, Quantity: 1})
	a, b := first[0].ID, second[0].ID

	_, err := s.Fulfil.Deliver(ctx, a)
	require.ErrorIs(t, err, fulfilment.ErrWrongState, "delivered before shipping")
	_, err = s.Fulfil.Ship(ctx, a, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "TRK-1"})
	require.ErrorIs(t, err, fulfilment.ErrWrongState, "shipped before packing")
	_, err = s.Fulfil.Ship(ctx, a, fulfilment.ShipInput{Carrier: "pigeon", TrackingNumber: "TRK-1"})
	require.Error(t, err)
	s.send(t, a, "TRK-1")
	_, err = s.Fulfil.Pick(ctx, b)
	require.NoError(t, err)
	_, err = s.Fulfil.Pack(ctx, b)
	require.NoError(t, err)
	_, err = s.Fulfil.Ship(ctx, b, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "TRK-1"})
	require.ErrorIs(t, err, fulfilment.ErrTrackingTaken)
	_, err = s.Fulfil.Pick(ctx, 987654321)
	require.ErrorIs(t, err, fulfilment.ErrNotFound)
	sh, err := s.Shipments.Get(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, fulfilment.StatusPacked, sh.Status)
}

// A parcel not packed in time alerts staff once, and shows Overdue.
func TestMissedPackDeadlineAlertsStaffOnce(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{Pack: 2 * time.Second})
	ctx := context.Background()
	user := s.User(t, "pat")
	p := s.Product(t, "DESK-1", 9900, 3)
	_, parcels := s.paidOrder(t, user, 1, orders.Item{ProductID: p.ID, Quantity: 1})
	id := parcels[0].ID

	alert := fmt.Sprintf("Parcel %d of order", id)
	var got []string
	require.Eventually(t, func() bool {
		got = subjectsOf(t, s.SMTP.Messages())
		return count(got, alert) == 1
	}, 30*time.Second, 100*time.Millisecond, "%q", got)
	sh, err := s.Shipments.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, sh.Overdue)
	assert.Contains(t, sh.Problem, "not packed within 2s")
	require.Eventually(t, func() bool {
		d, err := s.Temporal.DescribeWorkflow(ctx, fulfilmentwf.ShipmentWorkflowID(id), "")
		if err != nil {
			return false
		}
		var overdue bool
		p := d.RawResponse.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.Overdue.GetName()]
		return p != nil && converter.GetDefaultDataConverter().FromPayload(p, &overdue) == nil && overdue
	}, 10*time.Second, 100*time.Millisecond)

	// Shipping it clears Overdue; the alert is not repeated.
	s.send(t, id, "TRK-LATE-1")
	sh, err = s.Shipments.Get(ctx, id)
	require.NoError(t, err)
	assert.False(t, sh.Overdue)
	var alerts int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM emails WHERE dedup_key LIKE $1`, fmt.Sprintf("shipment-%d-pack%%", id)).Scan(&alerts))
	assert.Equal(t, 1, alerts)
}

// A parcel without scans past its window is lost: staff are told, and a
// reship sends the lines again from stock reserved anew; the replacement
// is delivered and so is the order.
func TestLostParcelIsReshipped(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{Lost: 2 * time.Second})
	ctx := context.Background()
	user := s.User(t, "lee")
	p := s.Product(t, "VASE-1", 4500, 3)
	orderID, parcels := s.paidOrder(t, user, 1, orders.Item{ProductID: p.ID, Quantity: 2})
	id := parcels[0].ID
	s.send(t, id, "TRK-LOST-1")
	require.Eventually(t, func() bool {
		sh, err := s.Shipments.Get(ctx, id)
		return err == nil && sh.Status == fulfilment.StatusLost
	}, 30*time.Second, 100*time.Millisecond)
	waitKeyword(t, s, fulfilmentwf.ShipmentWorkflowID(id), searchattr.FulfilmentStatus.GetName(), "lost")
	assert.Equal(t, [2]int32{1, 0}, s.level(t, s.main, p.ID), "the lost units left the shelf")

	_, _, err := s.Fulfil.ResolveLost(ctx, id, "reship", 0)
	require.ErrorIs(t, err, fulfilment.ErrNoStock, "one unit left for two")
	s.stock(t, s.east, p.ID, 5)
	_, replacements, err := s.Fulfil.ResolveLost(ctx, id, "reship", 0)
	require.NoError(t, err)
	require.Len(t, replacements, 1)
	assert.Equal(t, s.east, replacements[0].LocationID, "EAST holds both units")
	assert.Equal(t, id, replacements[0].ReplacesID)
	assert.Equal(t, [2]int32{5, 2}, s.level(t, s.east, p.ID), "reserved again at EAST")

	s.parcels(t, orderID, 2)
	s.send(t, replacements[0].ID, "TRK-LOST-2")
	_, err = s.Fulfil.Deliver(ctx, replacements[0].ID)
	require.NoError(t, err)
	s.WaitStatus(t, orderID, orders.StatusDelivered, 10*time.Second)
	got := subjects(t, s, 1)
	assert.GreaterOrEqual(t, count(got, fmt.Sprintf("Parcel %d of order", id)), 1, "staff hear of the lost parcel: %q", got)
	shoptest.RecordHistory(t, s.Temporal, fulfilmentwf.ShipmentWorkflowID(id), "../workflows/fulfilment/testdata/shipment_lost_reshipped.json")
}

// A lost parcel refunded: its lines' share of what was paid goes back
// through the refund workflow, once.
func TestLostParcelIsRefunded(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{Lost: 2 * time.Second})
	ctx := context.Background()
	user := s.User(t, "kim")
	cup := s.Product(t, "CUP-1", 1000, 3)
	bowl := s.Product(t, "BOWL-1", 2000, 0)
	s.stock(t, s.east, bowl.ID, 1)
	orderID, parcels := s.paidOrder(t, user, 2, orders.Item{ProductID: cup.ID, Quantity: 1}, orders.Item{ProductID: bowl.ID, Quantity: 1})
	var bowlParcel int64
	for _, sh := range parcels {
		if sh.LocationID == s.east {
			bowlParcel = sh.ID
		}
	}
	s.send(t, bowlParcel, "TRK-BOWL-1")
	require.Eventually(t, func() bool {
		sh, err := s.Shipments.Get(ctx, bowlParcel)
		return err == nil && sh.Status == fulfilment.StatusLost
	}, 30*time.Second, 100*time.Millisecond)
	sh, _, err := s.Fulfil.ResolveLost(ctx, bowlParcel, "refund", 0)
	require.NoError(t, err)
	require.NotZero(t, sh.RefundID)
	_, _, err = s.Fulfil.ResolveLost(ctx, bowlParcel, "refund", 0)
	require.NoError(t, err, "asking again answers the same refund")

	o, err := s.Orders.Get(ctx, orderID)
	require.NoError(t, err)
	// The bowl's 20.00 and its tax, rounded half up (no coupon).
	want := 2000 + (2000*o.TaxPPM+500_000)/1_000_000
	require.Eventually(t, func() bool {
		r, err := s.Orders.GetRefund(ctx, sh.RefundID)
		return err == nil && r.Status == orders.RefundSucceeded
	}, 30*time.Second, 100*time.Millisecond)
	r, err := s.Orders.GetRefund(ctx, sh.RefundID)
	require.NoError(t, err)
	assert.Equal(t, want, r.Amount)
	assert.Equal(t, orders.RefundKindLostParcel, r.Kind)
	assert.Len(t, s.Stripe.Requests("POST", "/v1/refunds"), 1)
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM refunds WHERE order_id = $1`, orderID).Scan(&n))
	assert.Equal(t, 1, n)
	o, err = s.Orders.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusPartiallyShipped, o.Status, "the cup has not left yet")
	assert.Equal(t, want, o.Refunded)
}

// Cancelling a paid order before anything ships stops its parcels, gives
// the stock back at the locations that reserved it and refunds it all;
// once a parcel has left, the order can no longer be cancelled.
func TestCancelBeforeShipmentRestocksTheRightLocationsAndRefunds(t *testing.T) {
	s := newFulfilShop(t, fulfilmentact.Deadlines{})
	ctx := context.Background()
	user := s.User(t, "cat")
	mug := s.Product(t, "MUG-CXL", 1200, 1)
	tea := s.Product(t, "TEA-CXL", 800, 0)
	s.stock(t, s.east, tea.ID, 2)

	orderID, parcels := s.paidOrder(t, user, 2, orders.Item{ProductID: mug.ID, Quantity: 1}, orders.Item{ProductID: tea.ID, Quantity: 2})
	assert.Equal(t, [2]int32{1, 1}, s.level(t, s.main, mug.ID))
	assert.Equal(t, [2]int32{2, 2}, s.level(t, s.east, tea.ID))
	_, err := s.Fulfil.Pick(ctx, parcels[0].ID)
	require.NoError(t, err)

	o, err := s.Orders.Get(ctx, orderID)
	require.NoError(t, err)
	require.NoError(t, s.Refunds.CancelPaid(ctx, refundCancel(o)))
	s.WaitStatus(t, orderID, orders.StatusCancelled, 30*time.Second)
	assert.Equal(t, [2]int32{1, 0}, s.level(t, s.main, mug.ID), "back on sale at MAIN")
	assert.Equal(t, [2]int32{2, 0}, s.level(t, s.east, tea.ID), "back on sale at EAST")
	for _, sh := range s.parcels(t, orderID, 2) {
		assert.Equal(t, fulfilment.StatusCancelled, sh.Status)
	}
	require.Eventually(t, func() bool {
		o, err := s.Orders.Get(ctx, orderID)
		return err == nil && o.Refunded == o.Captured
	}, 30*time.Second, 100*time.Millisecond)
	waitKeyword(t, s, fulfilmentwf.WorkflowID(orderID), searchattr.OrderStatus.GetName(), "cancelled")
	err = s.Temporal.GetWorkflow(ctx, fulfilmentwf.WorkflowID(orderID), "").Get(ctx, nil)
	require.NoError(t, err, "the fulfilment ends with the order")
	_, err = s.Fulfil.Pack(ctx, parcels[0].ID)
	require.ErrorIs(t, err, fulfilment.ErrWrongState)

	// Another order, one parcel shipped: not cancellable any more.
	other, more := s.paidOrder(t, user, 1, orders.Item{ProductID: tea.ID, Quantity: 1})
	s.send(t, more[0].ID, "TRK-CXL-1")
	o, err = s.Orders.Get(ctx, other)
	require.NoError(t, err)
	require.NoError(t, s.Refunds.CancelPaid(ctx, refundCancel(o)))
	require.Eventually(t, func() bool {
		err := s.Temporal.GetWorkflow(ctx, "cancel-"+fmt.Sprint(other), "").Get(ctx, nil)
		return err != nil
	}, 30*time.Second, 100*time.Millisecond, "the cancellation is refused")
	o, err = s.Orders.Get(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusShipped, o.Status)
}

func refundCancel(o orders.Order) refund.CancelInput {
	return refund.CancelInput{OrderID: o.ID, CustomerID: o.UserID, PaymentIntentID: o.PaymentIntentID, Reason: "changed my mind"}
}
