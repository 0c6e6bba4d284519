package returns_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

// delivered places, pays, ships and delivers an order, as the workflows do.
func delivered(t *testing.T, s *shoptest.Shop, user int64, items ...orders.Item) orders.Order {
	t.Helper()
	ctx := context.Background()
	id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	o, err := s.Orders.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, Items: items,
		ShippingAddress: "5 Market St, Springfield, CA 90001", PaymentMethod: "credit_card"})
	require.NoError(t, err)
	require.NoError(t, s.Orders.MarkPaid(ctx, o.ID, o.Total, "paid"))
	parcels, err := s.Shipments.Allocate(ctx, o.ID)
	require.NoError(t, err)
	for _, p := range parcels {
		_, err = s.Shipments.Pick(ctx, p.ID)
		require.NoError(t, err)
		_, err = s.Shipments.Pack(ctx, p.ID)
		require.NoError(t, err)
		_, err = s.Shipments.Ship(ctx, p.ID, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: fmt.Sprintf("T-%d-%d", o.ID, p.ID)})
		require.NoError(t, err)
		_, err = s.Shipments.Deliver(ctx, p.ID)
		require.NoError(t, err)
	}
	o, err = s.Orders.Get(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, orders.StatusDelivered, o.Status)
	return o
}

// Returning every unit under the full_return policy refunds the goods and
// the shipping, once; a cheaper exchange refunds the difference; a second
// call answers the same refund.
func TestRefundCoversShippingOnFullReturnAndCheaperExchange(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Hour)
	st := returns.NewStore(s.Pool, returns.Policy{RefundShipping: returns.ShippingFullReturn, RestockingFeePercent: 20})
	ctx := context.Background()
	user := s.User(t, "ruth")
	mug := s.Product(t, "MUG-STORE", 1000, 5)
	tee := s.Product(t, "TEE-STORE", 2000, 0)
	cheaper := int64(1500)
	m, err := s.Catalog.CreateVariant(ctx, tee.ID, catalog.VariantDraft{SKU: "TEE-STORE-M", StockQuantity: 3})
	require.NoError(t, err)
	l, err := s.Catalog.CreateVariant(ctx, tee.ID, catalog.VariantDraft{SKU: "TEE-STORE-L", PriceMinor: &cheaper, StockQuantity: 3})
	require.NoError(t, err)
	o := delivered(t, s, user, orders.Item{ProductID: mug.ID, Quantity: 2}, orders.Item{ProductID: tee.ID, VariantID: m.ID, Quantity: 1})
	require.Positive(t, o.Shipping, "below the free-shipping threshold")
	mugLine, teeLine := int32(o.Lines[0].Line), int32(o.Lines[1].Line)

	// The mugs first: not every unit yet, so no shipping.
	first, err := st.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user, Lines: []returns.LineRequest{{Line: mugLine, Quantity: 1}}})
	require.NoError(t, err)
	_, err = st.Refund(ctx, first.ID, 0)
	require.ErrorIs(t, err, returns.ErrWrongState, "not received yet")
	_, err = st.Approve(ctx, first.ID, returns.Decision{})
	require.NoError(t, err)
	_, err = st.Receive(ctx, first.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: mugLine, Damaged: 2}}})
	var ve *validation.Error
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "lines[0].resellable", ve.Field)
	_, err = st.Receive(ctx, first.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: mugLine, Damaged: 1}}})
	require.NoError(t, err)
	r1, err := st.Refund(ctx, first.ID, 0)
	require.NoError(t, err)
	goods := pricing.PartValue(1000, o.Subtotal, o.Discount, o.TaxPPM)
	assert.Equal(t, goods-(goods*20+50)/100, r1.Amount)
	again, err := st.Refund(ctx, first.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, r1.ID, again.ID, "refunding again answers the same refund")

	// The other mug and the shirt exchanged for a cheaper size: the
	// difference is refunded; an exchanged unit is not a returned one, so
	// the shipping is not.
	second, err := st.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user, Lines: []returns.LineRequest{
		{Line: mugLine, Quantity: 1}, {Line: teeLine, Quantity: 1, ExchangeVariantID: l.ID}}})
	require.NoError(t, err)
	_, err = st.Approve(ctx, second.ID, returns.Decision{})
	require.NoError(t, err)
	second, err = st.Receive(ctx, second.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{
		{Line: mugLine, Resellable: 1}, {Line: teeLine, Resellable: 1}}})
	require.NoError(t, err)
	require.Len(t, second.ExchangeShipments, 1)
	r2, err := st.Refund(ctx, second.ID, 0)
	require.NoError(t, err)
	goods = pricing.PartValue(1000, o.Subtotal, o.Discount, o.TaxPPM)
	diff := pricing.PartValue(500, o.Subtotal, o.Discount, o.TaxPPM)
	assert.Equal(t, goods-(goods*20+50)/100+diff, r2.Amount)
	got, err := st.Get(ctx, second.ID)
	require.NoError(t, err)
	assert.Equal(t, returns.StatusRefunded, got.Status)
	assert.Zero(t, got.ShippingRefund)
	assert.Equal(t, r2.ID, got.RefundID)
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM refunds WHERE order_id = $1 AND kind = 'return'`, o.ID).Scan(&n))
	assert.Equal(t, 2, n)

	// Nothing is left to return.
	_, err = st.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user, Lines: []returns.LineRequest{{Line: mugLine, Quantity: 1}}})
	require.ErrorIs(t, err, returns.ErrNotReturnable)
	_, err = st.Expire(ctx, second.ID)
	require.ErrorIs(t, err, returns.ErrWrongState)
}

// Every unit of an order back: its shipping is refunded too, once.
func TestFullReturnRefundsTheShipping(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Hour)
	st := returns.NewStore(s.Pool, returns.Policy{RefundShipping: returns.ShippingFullReturn})
	ctx := context.Background()
	user := s.User(t, "sven")
	bowl := s.Product(t, "BOWL-STORE", 1200, 5)
	o := delivered(t, s, user, orders.Item{ProductID: bowl.ID, Quantity: 2})
	line := int32(o.Lines[0].Line)
	r, err := st.Request(ctx, returns.RequestInput{OrderID: o.ID, CustomerID: user, Lines: []returns.LineRequest{{Line: line, Quantity: 2}}})
	require.NoError(t, err)
	_, err = st.Approve(ctx, r.ID, returns.Decision{})
	require.NoError(t, err)
	_, err = st.Receive(ctx, r.ID, returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: line, Resellable: 2}}})
	require.NoError(t, err)
	rf, err := st.Refund(ctx, r.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, o.Total, rf.Amount, "goods, tax and shipping")
	got, err := st.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, o.Shipping, got.ShippingRefund)
}

func TestRequestInputNamesTheBadField(t *testing.T) {
	for _, c := range []struct {
		in    returns.RequestInput
		field string
	}{
		{returns.RequestInput{}, "order_id"},
		{returns.RequestInput{OrderID: 1}, "lines"},
		{returns.RequestInput{OrderID: 1, Lines: []returns.LineRequest{{Line: 1, Quantity: 100}}}, "lines[0].quantity"},
		{returns.RequestInput{OrderID: 1, Lines: []returns.LineRequest{{Line: 1, Quantity: 1, ExchangeVariantID: -1}}}, "lines[0].exchange_variant_id"},
		{returns.RequestInput{OrderID: 1, Lines: []returns.LineRequest{{Line: 1, Quantity: 1}}, Note: "a\x00b"}, "note"},
	} {
		err := c.in.Normalize()
		var ve *validation.Error
		require.ErrorAs(t, err, &ve, "%+v", c.in)
		assert.Equal(t, c.field, ve.Field)
	}
}
