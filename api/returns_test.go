package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
)

// storeReturnFlows stands in for the returns' Temporal client, which has
// its own end-to-end tests: each step calls the store as the workflow's
// activity does, so the API is tested against real rows.
type storeReturnFlows struct{ store *returns.Store }

func (f storeReturnFlows) Request(ctx context.Context, in returns.RequestInput) (returns.Return, error) {
	return f.store.Request(ctx, in)
}

func (f storeReturnFlows) Approve(ctx context.Context, id int64, d returns.Decision) (returns.Return, error) {
	return f.store.Approve(ctx, id, d)
}

func (f storeReturnFlows) Refuse(ctx context.Context, id int64, d returns.Decision) (returns.Return, error) {
	return f.store.Refuse(ctx, id, d)
}

func (f storeReturnFlows) Receive(ctx context.Context, id int64, in returns.ReceiveInput) (returns.Return, error) {
	return f.store.Receive(ctx, id, in)
}

// deliveredOrder is paidOrder with its one parcel sent and delivered.
func deliveredOrder(t *testing.T, f *fixture, user int64, items ...orders.Item) orders.Order {
	t.Helper()
	ctx := context.Background()
	o, parcels := paidOrder(t, f, user, items...)
	require.Len(t, parcels, 1)
	id := parcels[0].ID
	_, err := f.fulfilment.Pick(ctx, id)
	require.NoError(t, err)
	_, err = f.fulfilment.Pack(ctx, id)
	require.NoError(t, err)
	_, err = f.fulfilment.Ship(ctx, id, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: fmt.Sprintf("TRK-API-%d", o.ID)})
	require.NoError(t, err)
	_, err = f.fulfilment.Deliver(ctx, id)
	require.NoError(t, err)
	return o
}

func TestReturnsOverREST(t *testing.T) {
	f := newServer(t, nil)
	staffer := session(t, f, "stella", identity.RoleStaff)
	customer, carlID := userSession(t, f, "carla", identity.RoleCustomer)
	other, _ := userSession(t, f, "oscar", identity.RoleCustomer)
	o := deliveredOrder(t, f, carlID, orders.Item{ProductID: f.laptop.ID, Quantity: 2})
	line := o.Lines[0].Line
	orderReturns := fmt.Sprintf("%s/api/orders/%d/returns", f.url, o.ID)

	// Bad requests name the field or the reason.
	for _, c := range []struct{ body, want string }{
		{`{"lines":[]}`, "lines"},
		{fmt.Sprintf(`{"lines":[{"line":%d,"quantity":0}]}`, line), "lines[0].quantity"},
		{`{"lines":[{"line":99,"quantity":1}]}`, "lines[0].line"},
		{fmt.Sprintf(`{"lines":[{"line":%d,"quantity":1},{"line":%d,"quantity":1}]}`, line, line), "lines[1].line"},
	} {
		code, _, out := call(t, "POST", orderReturns, customer, c.body)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", c.body, out)
		assert.Equal(t, float64(3), out["code"], "%s: %v", c.body, out)
		assert.Contains(t, out["message"], c.want, c.body)
	}
	code, _, out := call(t, "POST", orderReturns, customer, fmt.Sprintf(`{"lines":[{"line":%d,"quantity":3}]}`, line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Equal(t, float64(9), out["code"], "more than delivered is a failed precondition: %v", out)
	assert.Contains(t, out["message"], "2 delivered")

	// Another customer's order is not found; so is a request for it.
	code, _, out = call(t, "POST", orderReturns, other, fmt.Sprintf(`{"lines":[{"line":%d,"quantity":1}]}`, line))
	assert.Equal(t, http.StatusNotFound, code, out)
	code, _, out = call(t, "GET", orderReturns, other, "")
	assert.Equal(t, http.StatusNotFound, code, out)

	code, _, ret := call(t, "POST", orderReturns, customer,
		fmt.Sprintf(`{"lines":[{"line":%d,"quantity":2,"reason":"too loud"}],"note":"fans"}`, line))
	require.Equal(t, http.StatusOK, code, ret)
	assert.Equal(t, "requested", ret["status"])
	assert.Equal(t, "too loud", ret["reason"])
	id := ret["id"].(string)
	one := f.url + "/api/returns/" + id

	code, _, out = call(t, "GET", one, customer, "")
	require.Equal(t, http.StatusOK, code, out)
	code, _, out = call(t, "GET", one, other, "")
	assert.Equal(t, http.StatusNotFound, code, "another customer's return: %v", out)
	code, _, out = call(t, "GET", orderReturns, customer, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["returns"], 1)

	// Staff's routes.
	staffRoutes := []struct{ method, path, body string }{
		{"GET", "/api/returns", ""},
		{"POST", "/api/returns/" + id + "/approve", ""},
		{"POST", "/api/returns/" + id + "/refuse", `{"note":"x"}`},
		{"POST", "/api/returns/" + id + "/receive", fmt.Sprintf(`{"lines":[{"line":%d,"resellable":2}]}`, line)},
	}
	for _, r := range staffRoutes {
		code, _, out := call(t, r.method, f.url+r.path, customer, r.body)
		assert.Equal(t, http.StatusForbidden, code, "customer %s %s: %v", r.method, r.path, out)
	}
	for _, r := range append(staffRoutes, struct{ method, path, body string }{"GET", "/api/returns/" + id, ""},
		struct{ method, path, body string }{"GET", fmt.Sprintf("/api/orders/%d/returns", o.ID), ""},
		struct{ method, path, body string }{"POST", fmt.Sprintf("/api/orders/%d/returns", o.ID), `{"lines":[{"line":1,"quantity":1}]}`}) {
		code, _, out := call(t, r.method, f.url+r.path, "", r.body)
		assert.Equal(t, http.StatusUnauthorized, code, "anonymous %s %s: %v", r.method, r.path, out)
	}

	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":2}]}`, line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "not approved")
	code, _, out = call(t, "POST", one+"/approve", staffer, `{"note":"ok"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "approved", out["status"])
	code, _, out = call(t, "POST", one+"/refuse", staffer, `{"note":"no"}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Equal(t, float64(9), out["code"], out)

	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":1}]}`, line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "lines[0].resellable")
	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":1,"location_id":987654}]}`+"", line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":1,"damaged":1,"location_id":987654}]}`, line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "lines[0].location_id")
	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":1,"damaged":1}]}`, line))
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "received", out["status"])
	code, _, out = call(t, "POST", one+"/receive", staffer, fmt.Sprintf(`{"lines":[{"line":%d,"resellable":2}]}`, line))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["message"], "already received")

	code, _, out = call(t, "GET", f.url+"/api/returns?status=received", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["returns"], 1)
	assert.Equal(t, id, out["returns"].([]any)[0].(map[string]any)["id"])
	code, _, out = call(t, "GET", f.url+"/api/returns?status=lost", staffer, "")
	assert.Equal(t, http.StatusBadRequest, code, out)
	code, _, out = call(t, "GET", f.url+"/api/returns/"+strconv.Itoa(987654321), staffer, "")
	assert.Equal(t, http.StatusNotFound, code, out)
}
