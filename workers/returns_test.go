package workers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workers/shoptest"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	returnswf "github.com/shopkit/shop/workflows/returns"
)

// newReturnShop is newFulfilShop whose returns follow policy.
func newReturnShop(t *testing.T, policy returns.Policy) fulfilShop {
	t.Helper()
	s := shoptest.NewWithoutWorker(t, time.Hour)
	s.UseReturnPolicy(policy)
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

// deliveredOrder places, pays, ships and delivers an order of one parcel.
func (s fulfilShop) deliveredOrder(t *testing.T, user int64, items ...orders.Item) (orders.Order, fulfilment.Shipment) {
	t.Helper()
	orderID, parcels := s.paidOrder(t, user, 1, items...)
	s.send(t, parcels[0].ID, fmt.Sprintf("TRK-RET-%d", orderID))
	sh, err := s.Fulfil.Deliver(context.Background(), parcels[0].ID)
	require.NoError(t, err)
	return s.WaitStatus(t, orderID, orders.StatusDelivered, 10*time.Second), sh
}

// waitReturn waits until the return reaches status and its workflow ends.
func (s fulfilShop) waitReturn(t *testing.T, id int64, status returns.Status) returns.Return {
	t.Helper()
	var r returns.Return
	require.Eventually(t, func() bool {
		var err error
		r, err = s.ReturnStore.Get(context.Background(), id)
		return err == nil && r.Status == status
	}, 30*time.Second, 50*time.Millisecond, "return %d did not become %s (is %s)", id, status, r.Status)
	var res returnswf.Result
	require.NoError(t, s.Temporal.GetWorkflow(context.Background(), returnswf.WorkflowID(id), "").Get(context.Background(), &res))
	assert.Equal(t, status, res.Status)
	return r
}

// A return with a 10% restocking fee: staff approve it (the customer hears
// of it), receive one unit resellable at EAST and one damaged; exactly one
// refund of the two units' share less the fee reaches Stripe, the
// resellable unit is back on hand at EAST (audited), the damaged one is
// not, and receiving again is refused without a second refund.
func TestReturnWithRestockingFeeRefundsOnceAndRestocks(t *testing.T) {
	s := newReturnShop(t, returns.Policy{RestockingFeePercent: 10})
	ctx := context.Background()
	user := s.User(t, "rita")
	mug := s.Product(t, "MUG-RET", 1250, 5)
	o, _ := s.deliveredOrder(t, user, orders.Item{ProductID: mug.ID, Quantity: 3})
	line := int32(o.Lines[0].Line)

	r, err := s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user,
		Lines: []returns.LineRequest{{Line: line, Quantity: 2, Reason: "too small"}}, Note: "sorry"})
	require.NoError(t, err)
	assert.Equal(t, returns.StatusRequested, r.Status)
	waitKeyword(t, s, returnswf.WorkflowID(r.ID), searchattr.ReturnStatus.GetName(), "requested")
	assert.Equal(t, fmt.Sprint(o.ID), keyword(t, s, returnswf.WorkflowID(r.ID), searchattr.OrderID.GetName()))

	r, err = s.Returns.Approve(ctx, r.ID, returns.Decision{Note: "send it to the east store"})
	require.NoError(t, err)
	assert.Equal(t, returns.StatusApproved, r.Status)
	_, err = s.Returns.Refuse(ctx, r.ID, returns.Decision{})
	require.ErrorIs(t, err, returns.ErrWrongState, "an approved return cannot be refused")
	var got []string
	require.Eventually(t, func() bool {
		got = subjectsOf(t, s.SMTP.Messages())
		return count(got, fmt.Sprintf("Your return #%d for order #%d is approved", r.ID, o.ID)) == 1
	}, 30*time.Second, 100*time.Millisecond, "%q", got)

	mainBefore := s.level(t, s.main, mug.ID)
	r, err = s.Returns.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{
		{Line: line, Resellable: 1, Damaged: 1, LocationID: s.east}}})
	require.NoError(t, err)
	assert.Equal(t, returns.StatusReceived, r.Status)
	_, err = s.Returns.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{
		{Line: line, Resellable: 2, LocationID: s.east}}})
	require.ErrorIs(t, err, returns.ErrWrongState, "received twice")

	r = s.waitReturn(t, r.ID, returns.StatusRefunded)
	require.NotZero(t, r.RefundID)
	require.Eventually(t, func() bool {
		rf, err := s.Orders.GetRefund(ctx, r.RefundID)
		return err == nil && rf.Status == orders.RefundSucceeded
	}, 30*time.Second, 100*time.Millisecond)
	goods := pricing.PartValue(2*1250, o.Subtotal, o.Discount, o.TaxPPM)
	fee := (goods*10 + 50) / 100
	rf, err := s.Orders.GetRefund(ctx, r.RefundID)
	require.NoError(t, err)
	assert.Equal(t, goods-fee, rf.Amount)
	assert.Equal(t, fee, r.RestockingFee)
	assert.Equal(t, orders.RefundKindReturn, rf.Kind)
	assert.Len(t, s.Stripe.Requests("POST", "/v1/refunds"), 1)

	// Receiving once more, after the workflow ended, is refused too.
	_, err = s.Returns.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: line, Resellable: 2}}})
	require.ErrorIs(t, err, returns.ErrWrongState)
	var refunds int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM refunds WHERE order_id = $1`, o.ID).Scan(&refunds))
	assert.Equal(t, 1, refunds)
	assert.Len(t, s.Stripe.Requests("POST", "/v1/refunds"), 1)

	assert.Equal(t, [2]int32{1, 0}, s.level(t, s.east, mug.ID), "the resellable unit is on hand at EAST")
	assert.Equal(t, mainBefore, s.level(t, s.main, mug.ID), "nothing came back to MAIN")
	var reason string
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT reason FROM stock_adjustments WHERE product_id = $1 AND location_id = $2
		ORDER BY id DESC LIMIT 1`, mug.ID, s.east).Scan(&reason))
	assert.Contains(t, reason, fmt.Sprintf("return %d", r.ID))
	got2, err := s.Orders.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusDelivered, got2.Status, "a partial refund keeps the order delivered")
	assert.Equal(t, goods-fee, got2.Refunded)
	waitKeyword(t, s, returnswf.WorkflowID(r.ID), searchattr.ReturnStatus.GetName(), "refunded")
	shoptest.RecordHistory(t, s.Temporal, returnswf.WorkflowID(r.ID), "../workflows/returns/testdata/return_refunded.json")
}

// More than was delivered is refused, a refused return holds nothing, and
// once the window has passed nothing can be returned.
func TestReturnRefusedBeyondDeliveredAndOutsideTheWindow(t *testing.T) {
	const window = 4 * time.Second
	s := newReturnShop(t, returns.Policy{Window: window})
	ctx := context.Background()
	user := s.User(t, "otto")
	lamp := s.Product(t, "LAMP-RET", 4000, 5)
	o, sh := s.deliveredOrder(t, user, orders.Item{ProductID: lamp.ID, Quantity: 2})
	line := int32(o.Lines[0].Line)
	ask := func(n int32) (returns.Return, error) {
		return s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user,
			Lines: []returns.LineRequest{{Line: line, Quantity: n}}})
	}
	_, err := ask(3)
	require.ErrorIs(t, err, returns.ErrNotReturnable)
	assert.Contains(t, err.Error(), "2 delivered")
	_, err = s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: s.User(t, "mallory"),
		Lines: []returns.LineRequest{{Line: line, Quantity: 1}}})
	require.ErrorIs(t, err, returns.ErrNotFound, "another customer's order")

	r, err := ask(2)
	require.NoError(t, err)
	_, err = ask(1)
	require.ErrorIs(t, err, returns.ErrNotReturnable, "both units are in a return")
	r, err = s.Returns.Refuse(ctx, r.ID, returns.Decision{Note: "worn"})
	require.NoError(t, err)
	s.waitReturn(t, r.ID, returns.StatusRefused)
	var got []string
	require.Eventually(t, func() bool {
		got = subjectsOf(t, s.SMTP.Messages())
		return count(got, fmt.Sprintf("Your return #%d for order #%d was not accepted", r.ID, o.ID)) == 1
	}, 30*time.Second, 100*time.Millisecond, "%q", got)
	_, err = s.Returns.Approve(ctx, r.ID, returns.Decision{})
	require.ErrorIs(t, err, returns.ErrWrongState, "a refused return stays refused")

	require.Eventually(t, func() bool { return time.Since(*sh.DeliveredAt) > window+500*time.Millisecond },
		window+10*time.Second, 100*time.Millisecond)
	_, err = ask(1)
	require.ErrorIs(t, err, returns.ErrNotReturnable)
	assert.Contains(t, err.Error(), "window")
	assert.Empty(t, s.Stripe.Requests("POST", "/v1/refunds"))
}

// An approved return whose parcel does not come in time expires; it can
// no longer be received.
func TestApprovedReturnExpires(t *testing.T) {
	s := newReturnShop(t, returns.Policy{ExpireAfter: 2 * time.Second})
	ctx := context.Background()
	user := s.User(t, "eve")
	cup := s.Product(t, "CUP-RET", 900, 5)
	o, _ := s.deliveredOrder(t, user, orders.Item{ProductID: cup.ID, Quantity: 1})
	r, err := s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user,
		Lines: []returns.LineRequest{{Line: int32(o.Lines[0].Line), Quantity: 1}}})
	require.NoError(t, err)
	_, err = s.Returns.Approve(ctx, r.ID, returns.Decision{})
	require.NoError(t, err)
	r = s.waitReturn(t, r.ID, returns.StatusExpired)
	assert.NotNil(t, r.ClosedAt)
	_, err = s.Returns.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: int32(o.Lines[0].Line), Resellable: 1}}})
	require.ErrorIs(t, err, returns.ErrWrongState)
	waitKeyword(t, s, returnswf.WorkflowID(r.ID), searchattr.ReturnStatus.GetName(), "expired")
	shoptest.RecordHistory(t, s.Temporal, returnswf.WorkflowID(r.ID), "../workflows/returns/testdata/return_expired.json")
}

// An exchange for another variant at the same price: a dearer variant is
// refused at once; on receipt the replacement is reserved at EAST, the
// only location holding it, and leaves in a new parcel that staff send
// through the normal steps. Nothing is refunded.
func TestExchangeSendsTheOtherVariant(t *testing.T) {
	s := newReturnShop(t, returns.Policy{})
	ctx := context.Background()
	user := s.User(t, "xena")
	shirt := s.Product(t, "SHIRT-RET", 2500, 0)
	variant := func(sku string, price *int64) catalog.Variant {
		v, err := s.Catalog.CreateVariant(ctx, shirt.ID, catalog.VariantDraft{SKU: sku, Attributes: map[string]string{"size": sku},
			PriceMinor: price})
		require.NoError(t, err)
		return v
	}
	dearer := int64(3000)
	small, large, xl := variant("SHIRT-RET-S", nil), variant("SHIRT-RET-L", nil), variant("SHIRT-RET-XL", &dearer)
	for _, a := range []inventory.Adjustment{{LocationID: s.main, VariantID: small.ID, Delta: 2}, {LocationID: s.east, VariantID: large.ID, Delta: 1},
		{LocationID: s.main, VariantID: xl.ID, Delta: 1}} {
		a.ProductID, a.Reason = shirt.ID, "delivery"
		_, err := s.inv.Adjust(ctx, a)
		require.NoError(t, err)
	}
	o, _ := s.deliveredOrder(t, user, orders.Item{ProductID: shirt.ID, VariantID: small.ID, Quantity: 1})
	line := int32(o.Lines[0].Line)
	_, err := s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user,
		Lines: []returns.LineRequest{{Line: line, Quantity: 1, ExchangeVariantID: xl.ID}}})
	require.ErrorIs(t, err, returns.ErrNotReturnable)
	assert.Contains(t, err.Error(), "dearer")

	r, err := s.Returns.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user,
		Lines: []returns.LineRequest{{Line: line, Quantity: 1, Reason: "too small", ExchangeVariantID: large.ID}}})
	require.NoError(t, err)
	_, err = s.Returns.Approve(ctx, r.ID, returns.Decision{})
	require.NoError(t, err)
	r, err = s.Returns.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: line, Resellable: 1, LocationID: s.main}}})
	require.NoError(t, err)
	require.Len(t, r.ExchangeShipments, 1)
	r = s.waitReturn(t, r.ID, returns.StatusRefunded)
	assert.Zero(t, r.RefundID, "same price: nothing to refund")

	parcel, err := s.Shipments.Get(ctx, r.ExchangeShipments[0])
	require.NoError(t, err)
	assert.Equal(t, s.east, parcel.LocationID)
	require.Len(t, parcel.Lines, 1)
	assert.Equal(t, large.ID, parcel.Lines[0].VariantID)
	assert.Equal(t, "SHIRT-RET-L", parcel.Lines[0].SKU, "the parcel names the variant it carries")
	require.Eventually(t, func() bool {
		_, err := s.Temporal.DescribeWorkflow(ctx, fulfilmentwf.ShipmentWorkflowID(parcel.ID), "")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	s.send(t, parcel.ID, fmt.Sprintf("TRK-EXCH-%d", r.ID))
	_, err = s.Fulfil.Deliver(ctx, parcel.ID)
	require.NoError(t, err)
	var onHand, reserved int32
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT on_hand, reserved FROM location_stock WHERE location_id = $1 AND variant_id = $2`,
		s.east, large.ID).Scan(&onHand, &reserved))
	assert.Equal(t, [2]int32{0, 0}, [2]int32{onHand, reserved}, "the large shirt left EAST")
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT on_hand FROM location_stock WHERE location_id = $1 AND variant_id = $2`,
		s.main, small.ID).Scan(&onHand))
	assert.Equal(t, int32(2), onHand, "the small shirt is back at MAIN")
	s.WaitStatus(t, o.ID, orders.StatusDelivered, 10*time.Second)
	assert.Empty(t, s.Stripe.Requests("POST", "/v1/refunds"))
	shoptest.RecordHistory(t, s.Temporal, returnswf.WorkflowID(r.ID), "../workflows/returns/testdata/return_exchanged.json")
}
