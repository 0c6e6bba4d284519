package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fulfilmentv1 "github.com/shopkit/shop/gen/shop/fulfilment/v1"
	"github.com/shopkit/shop/gen/shop/fulfilment/v1/fulfilmentv1connect"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/validation"
)

// storeFlows stands in for the fulfilment workflows' Temporal client, which
// has its own end-to-end tests: each step calls the store as the
// workflow's activity does, so the API is tested against real rows.
type storeFlows struct{ store *fulfilment.Store }

func (f storeFlows) Pick(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return f.store.Pick(ctx, id)
}

func (f storeFlows) Pack(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return f.store.Pack(ctx, id)
}

func (f storeFlows) Ship(ctx context.Context, id int64, in fulfilment.ShipInput) (fulfilment.Shipment, error) {
	return f.store.Ship(ctx, id, in)
}

func (f storeFlows) Deliver(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return f.store.Deliver(ctx, id)
}

func (f storeFlows) ReportProblem(ctx context.Context, id int64, note string) (fulfilment.Shipment, error) {
	return f.store.ReportProblem(ctx, id, note)
}

func (f storeFlows) ResolveLost(ctx context.Context, id int64, action string, by int64) (fulfilment.Shipment, []fulfilment.Shipment, error) {
	var replacements []fulfilment.Shipment
	var err error
	switch action {
	case fulfilment.ResolveReship:
		replacements, err = f.store.Reship(ctx, id)
	case fulfilment.ResolveRefund:
		_, err = f.store.RefundLost(ctx, id, by)
	default:
		err = validation.New("action", "must be reship or refund")
	}
	if err != nil {
		return fulfilment.Shipment{}, nil, err
	}
	sh, err := f.store.Get(ctx, id)
	return sh, replacements, err
}

// userSession registers a user with role and returns an access token and
// the user's id.
func userSession(t *testing.T, f *fixture, name string, role identity.Role) (string, int64) {
	t.Helper()
	token := session(t, f, name, role)
	p, err := f.identity.Authenticate(context.Background(), token)
	require.NoError(t, err)
	return token, p.UserID
}

// paidOrder places and pays an order for user and allocates its shipments,
// as the checkout and fulfilment workflows do.
func paidOrder(t *testing.T, f *fixture, user int64, items ...orders.Item) (orders.Order, []fulfilment.Shipment) {
	t.Helper()
	ctx := context.Background()
	id, err := f.shop.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	o, err := f.shop.Orders.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, Items: items,
		ShippingAddress: "5 Market St, Springfield, CA 90001", PaymentMethod: "credit_card"})
	require.NoError(t, err)
	require.NoError(t, f.shop.Orders.MarkPaid(ctx, o.ID, o.Total, "paid"))
	shipments, err := f.fulfilment.Allocate(ctx, o.ID)
	require.NoError(t, err)
	return o, shipments
}

func TestFulfilmentOverREST(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	admin := session(t, f, "root", identity.RoleAdmin)
	staffer := session(t, f, "stan", identity.RoleStaff)
	customer, carlID := userSession(t, f, "carl", identity.RoleCustomer)
	other, _ := userSession(t, f, "olga", identity.RoleCustomer)

	// The mugs move to a second location: an order of a laptop and a mug
	// ships as two parcels.
	code, _, out := call(t, "GET", f.url+"/api/locations", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	mainID := out["locations"].([]any)[0].(map[string]any)["id"].(string)
	code, _, east := call(t, "POST", f.url+"/api/locations", admin, `{"name":"East store","code":"EAST","priority":10}`)
	require.Equal(t, http.StatusOK, code, east)
	eastID := east["id"].(string)
	var mug int64
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT id FROM products WHERE sku = 'MUG-001'`).Scan(&mug))
	code, _, out = call(t, "POST", f.url+"/api/stock/transfers", staffer, fmt.Sprintf(
		`{"product_id":%d,"from_location_id":%s,"to_location_id":%s,"quantity":5,"reason":"stock the east store"}`, mug, mainID, eastID))
	require.Equal(t, http.StatusOK, code, out)

	order, parcels := paidOrder(t, f, carlID, orders.Item{ProductID: f.laptop.ID, Quantity: 1}, orders.Item{ProductID: mug, Quantity: 2})
	require.Len(t, parcels, 2)
	byCode := map[string]fulfilment.Shipment{parcels[0].LocationCode: parcels[0], parcels[1].LocationCode: parcels[1]}
	laptopParcel, mugParcel := byCode["MAIN"], byCode["EAST"]
	require.NotZero(t, laptopParcel.ID)
	require.NotZero(t, mugParcel.ID)
	shipment := func(id int64) string { return fmt.Sprintf("%s/api/shipments/%d", f.url, id) }

	// Every route is the staff's.
	routes := []struct{ method, path, body string }{
		{"GET", "/api/fulfilment/queue", ""},
		{"GET", fmt.Sprintf("/api/shipments/%d", laptopParcel.ID), ""},
		{"POST", fmt.Sprintf("/api/shipments/%d/pick", laptopParcel.ID), ""},
		{"POST", fmt.Sprintf("/api/shipments/%d/pack", laptopParcel.ID), ""},
		{"POST", fmt.Sprintf("/api/shipments/%d/ship", laptopParcel.ID), `{"carrier":"manual","tracking_number":"T1"}`},
		{"POST", fmt.Sprintf("/api/shipments/%d/deliver", laptopParcel.ID), ""},
		{"POST", fmt.Sprintf("/api/shipments/%d/problem", laptopParcel.ID), `{"note":"x"}`},
		{"POST", fmt.Sprintf("/api/shipments/%d/resolve", laptopParcel.ID), `{"action":"reship"}`},
	}
	for _, r := range routes {
		code, _, out := call(t, r.method, f.url+r.path, customer, r.body)
		assert.Equal(t, http.StatusForbidden, code, "customer %s %s: %v", r.method, r.path, out)
		code, _, out = call(t, r.method, f.url+r.path, "", r.body)
		assert.Equal(t, http.StatusUnauthorized, code, "anonymous %s %s: %v", r.method, r.path, out)
	}

	// The queue per location.
	code, _, out = call(t, "GET", f.url+"/api/fulfilment/queue?location_id="+eastID, staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	queue := out["shipments"].([]any)
	require.Len(t, queue, 1)
	first := queue[0].(map[string]any)
	assert.Equal(t, []any{fmt.Sprint(mugParcel.ID), fmt.Sprint(order.ID), fmt.Sprint(carlID), "EAST", "pending"},
		[]any{first["id"], first["order_id"], first["customer_id"], first["location_code"], first["status"]})
	line := first["lines"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"MUG-001", "Travel Mug", 2.0}, []any{line["sku"], line["name"], line["quantity"]})
	assert.Equal(t, "0", out["next_after_id"], "one page")
	code, _, out = call(t, "GET", f.url+"/api/fulfilment/queue?limit=1", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["shipments"].([]any), 1)
	assert.Equal(t, fmt.Sprint(parcels[0].ID), out["next_after_id"], "a full page has a next one")
	code, _, out = call(t, "GET", f.url+"/api/fulfilment/queue?after_id="+fmt.Sprint(parcels[0].ID), staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["shipments"].([]any), 1)
	assert.Equal(t, fmt.Sprint(parcels[1].ID), out["shipments"].([]any)[0].(map[string]any)["id"])

	// Shipping before packing names the reason.
	code, _, out = call(t, "POST", shipment(mugParcel.ID)+"/ship", staffer, `{"carrier":"manual","tracking_number":"MUG-1"}`)
	assert.Equal(t, http.StatusBadRequest, code, "FailedPrecondition: %v", out)
	assert.EqualValues(t, connect.CodeFailedPrecondition, out["code"])
	assert.Contains(t, out["message"], "not packed")

	// Pick, pack, ship, deliver.
	for _, step := range []string{"pick", "pack"} {
		code, _, out = call(t, "POST", shipment(laptopParcel.ID)+"/"+step, staffer, "")
		require.Equal(t, http.StatusOK, code, "%s: %v", step, out)
		assert.Equal(t, step+"ed", out["status"])
	}
	for field, body := range map[string]string{
		"tracking_number": `{"carrier":"manual"}`,
		"carrier":         `{"tracking_number":"T-1"}`,
		"tracking_url":    `{"carrier":"manual","tracking_number":"T-1","tracking_url":"ftp://track.example.com/T-1"}`,
	} {
		code, _, out = call(t, "POST", shipment(laptopParcel.ID)+"/ship", staffer, body)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", field, out)
		assert.Contains(t, out["message"], field)
	}
	code, _, out = call(t, "POST", shipment(laptopParcel.ID)+"/ship", staffer,
		`{"carrier":"manual","service":"standard","tracking_number":"TRK-100","tracking_url":"https://track.example.com/TRK-100"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, []any{"shipped", "manual", "TRK-100"}, []any{out["status"], out["carrier"], out["tracking_number"]})
	var status, carrier, tracking, orderStatus string
	var shipped, reservationShipped bool
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT s.status, s.carrier, s.tracking_number, s.shipped_at IS NOT NULL, o.status,
		EXISTS (SELECT 1 FROM stock_reservations r WHERE r.shipment_id = s.id AND r.state = 'shipped')
		FROM shipments s JOIN orders o ON o.id = s.order_id WHERE s.id = $1`, laptopParcel.ID).
		Scan(&status, &carrier, &tracking, &shipped, &orderStatus, &reservationShipped))
	assert.Equal(t, []any{"shipped", "manual", "TRK-100", true, "partially_shipped", true},
		[]any{status, carrier, tracking, shipped, orderStatus, reservationShipped})

	code, _, out = call(t, "POST", shipment(laptopParcel.ID)+"/deliver", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "delivered", out["status"])
	var delivered bool
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT status, delivered_at IS NOT NULL FROM shipments WHERE id = $1`,
		laptopParcel.ID).Scan(&status, &delivered))
	assert.Equal(t, []any{"delivered", true}, []any{status, delivered})

	// The queue by status.
	code, _, out = call(t, "GET", f.url+"/api/fulfilment/queue?status=shipped&status=delivered&order_id="+fmt.Sprint(order.ID), staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["shipments"].([]any), 1)
	assert.Equal(t, fmt.Sprint(laptopParcel.ID), out["shipments"].([]any)[0].(map[string]any)["id"])
	code, _, out = call(t, "GET", f.url+"/api/fulfilment/queue?status=gone", staffer, "")
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "status")

	// Another order's parcel cannot take the same tracking number.
	_, second := paidOrder(t, f, carlID, orders.Item{ProductID: f.laptop.ID, Quantity: 1})
	require.Len(t, second, 1)
	for _, step := range []string{"pick", "pack"} {
		code, _, out = call(t, "POST", shipment(second[0].ID)+"/"+step, staffer, "")
		require.Equal(t, http.StatusOK, code, "%s: %v", step, out)
	}
	code, _, out = call(t, "POST", shipment(second[0].ID)+"/ship", staffer, `{"carrier":"manual","tracking_number":"TRK-100"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	assert.Contains(t, out["message"], "tracking_number")
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT status FROM shipments WHERE id = $1`, second[0].ID).Scan(&status))
	assert.Equal(t, "packed", status)

	// Problems and lost parcels.
	code, _, out = call(t, "POST", shipment(mugParcel.ID)+"/problem", staffer, `{"note":"box damaged"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "box damaged", out["problem"])
	code, _, out = call(t, "POST", shipment(second[0].ID)+"/resolve", staffer, `{"action":"reship"}`)
	assert.Equal(t, http.StatusBadRequest, code, "only a lost parcel is resolved: %v", out)
	code, _, out = call(t, "POST", shipment(second[0].ID)+"/resolve", staffer, `{"action":"burn"}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "action")
	code, _, out = call(t, "POST", shipment(second[0].ID)+"/ship", staffer, `{"carrier":"manual","tracking_number":"TRK-200"}`)
	require.Equal(t, http.StatusOK, code, out)
	_, err := f.fulfilment.MarkLost(ctx, second[0].ID, "no scan for 10 days")
	require.NoError(t, err)
	code, _, out = call(t, "POST", shipment(second[0].ID)+"/resolve", staffer, `{"action":"reship"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, []any{"lost", "reship"}, []any{out["shipment"].(map[string]any)["status"], out["shipment"].(map[string]any)["resolution"]})
	replacements := out["replacements"].([]any)
	require.Len(t, replacements, 1)
	assert.Equal(t, []any{"pending", fmt.Sprint(second[0].ID)},
		[]any{replacements[0].(map[string]any)["status"], replacements[0].(map[string]any)["replaces_id"]})

	// Unknown shipments.
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/shipments/424242", ""},
		{"POST", "/api/shipments/424242/pick", ""},
		{"POST", "/api/shipments/424242/ship", `{"carrier":"manual","tracking_number":"T-9"}`},
		{"POST", "/api/shipments/424242/problem", `{"note":"x"}`},
	} {
		code, _, out := call(t, r.method, f.url+r.path, staffer, r.body)
		assert.Equal(t, http.StatusNotFound, code, "%s %s: %v", r.method, r.path, out)
	}
	code, _, out = call(t, "GET", shipment(laptopParcel.ID), staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, []any{"delivered", "standard", "https://track.example.com/TRK-100"},
		[]any{out["status"], out["service"], out["tracking_url"]})
	assert.Contains(t, out, "delivered_at")

	// The customer follows the parcels of the order; nobody else sees it.
	code, _, out = call(t, "GET", fmt.Sprintf("%s/api/orders/%d", f.url, order.ID), customer, "")
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "partially_shipped", out["status"])
	got := out["shipments"].([]any)
	require.Len(t, got, 2)
	sent := got[0].(map[string]any)
	if sent["id"] != fmt.Sprint(laptopParcel.ID) {
		sent = got[1].(map[string]any)
	}
	assert.Equal(t, []any{"delivered", "manual", "standard", "TRK-100", "https://track.example.com/TRK-100"},
		[]any{sent["status"], sent["carrier"], sent["service"], sent["tracking_number"], sent["tracking_url"]})
	assert.Contains(t, sent, "shipped_at")
	assert.Contains(t, sent, "delivered_at")
	assert.Equal(t, "LAPTOP-GAMER-001", sent["lines"].([]any)[0].(map[string]any)["sku"])
	for _, s := range got {
		for _, internal := range []string{"problem", "overdue", "location_id", "customer_id"} {
			assert.NotContains(t, s, internal)
		}
		assert.Empty(t, s.(map[string]any)["location_code"], "staff only")
	}
	code, _, out = call(t, "GET", fmt.Sprintf("%s/api/orders/%d", f.url, order.ID), staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	codes := []any{}
	for _, s := range out["shipments"].([]any) {
		codes = append(codes, s.(map[string]any)["location_code"])
	}
	assert.ElementsMatch(t, []any{"MAIN", "EAST"}, codes, "staff see where each parcel comes from")
	code, _, out = call(t, "GET", fmt.Sprintf("%s/api/orders/%d", f.url, order.ID), other, "")
	assert.Equal(t, http.StatusNotFound, code, out)
}

func TestFulfilmentOverConnect(t *testing.T) {
	f := newServer(t, nil)
	staffer := session(t, f, "stan", identity.RoleStaff)
	customer, carlID := userSession(t, f, "carl", identity.RoleCustomer)
	_, parcels := paidOrder(t, f, carlID, orders.Item{ProductID: f.laptop.ID, Quantity: 2})
	require.Len(t, parcels, 1)

	client := fulfilmentv1connect.NewFulfilmentServiceClient(http.DefaultClient, f.url)
	list := func(token string, m *fulfilmentv1.ListShipmentsRequest) (*connect.Response[fulfilmentv1.ListShipmentsResponse], error) {
		req := connect.NewRequest(m)
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		return client.ListShipments(context.Background(), req)
	}
	res, err := list(staffer, &fulfilmentv1.ListShipmentsRequest{LocationId: parcels[0].LocationID})
	require.NoError(t, err)
	require.Len(t, res.Msg.GetShipments(), 1)
	got := res.Msg.GetShipments()[0]
	assert.Equal(t, []any{parcels[0].ID, "MAIN", "pending", int32(2)},
		[]any{got.GetId(), got.GetLocationCode(), got.GetStatus(), got.GetLines()[0].GetQuantity()})
	res, err = list(staffer, &fulfilmentv1.ListShipmentsRequest{LocationId: parcels[0].LocationID + 1000})
	require.NoError(t, err)
	assert.Empty(t, res.Msg.GetShipments(), "another location's queue")

	_, err = list(customer, &fulfilmentv1.ListShipmentsRequest{})
	assert.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	_, err = list("", &fulfilmentv1.ListShipmentsRequest{})
	assert.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))

	req := connect.NewRequest(&fulfilmentv1.DeliverShipmentRequest{Id: parcels[0].ID})
	req.Header().Set("Authorization", "Bearer "+staffer)
	_, err = client.DeliverShipment(context.Background(), req)
	var ce *connect.Error
	require.True(t, errors.As(err, &ce), err)
	assert.Equal(t, connect.CodeFailedPrecondition, ce.Code())
	assert.Contains(t, ce.Message(), "pending")
}
