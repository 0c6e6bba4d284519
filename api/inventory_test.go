package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
)

func TestStockLocationsOverREST(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "root", identity.RoleAdmin)
	staffer := session(t, f, "stan", identity.RoleStaff)
	customer := session(t, f, "carl", identity.RoleCustomer)
	laptop := fmt.Sprint(f.laptop.ID)

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/locations", ""},
		{"POST", "/api/locations", `{"name":"East","code":"EAST"}`},
		{"PATCH", "/api/locations/1", `{"priority":3}`},
		{"GET", "/api/products/" + laptop + "/stock", ""},
		{"POST", "/api/stock/adjustments", `{"product_id":` + laptop + `,"delta":1,"reason":"x"}`},
		{"POST", "/api/stock/transfers", `{"product_id":` + laptop + `,"from_location_id":1,"to_location_id":2,"quantity":1,"reason":"x"}`},
	} {
		code, _, out := call(t, c.method, f.url+c.path, customer, c.body)
		assert.Equal(t, http.StatusForbidden, code, "%s %s: %v", c.method, c.path, out)
	}

	// The default location holds the laptop's 50 units.
	code, _, out := call(t, "GET", f.url+"/api/locations", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	locs := out["locations"].([]any)
	require.Len(t, locs, 1)
	main := locs[0].(map[string]any)
	assert.Equal(t, "MAIN", main["code"])
	assert.Equal(t, "Main warehouse", main["name"])
	assert.Equal(t, true, main["is_default"])
	mainID := main["id"].(string)

	code, _, east := call(t, "POST", f.url+"/api/locations", admin, `{"name":"East store","code":"east","country":"us","priority":10}`)
	require.Equal(t, http.StatusOK, code, east)
	assert.Equal(t, "EAST", east["code"])
	assert.Equal(t, true, east["active"])
	eastID := east["id"].(string)
	code, _, out = call(t, "POST", f.url+"/api/locations", admin, `{"name":"Again","code":"EAST"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	code, _, out = call(t, "POST", f.url+"/api/locations", staffer, `{"name":"Staff","code":"STAFF"}`)
	assert.Equal(t, http.StatusForbidden, code, "locations are the admins': %v", out)

	for field, c := range map[string]struct{ method, path, body string }{
		"name":             {"POST", "/api/locations", `{"code":"X1"}`},
		"code":             {"POST", "/api/locations", `{"name":"x","code":"no spaces"}`},
		"country":          {"POST", "/api/locations", `{"name":"x","code":"X2","country":"USA"}`},
		"id":               {"PATCH", "/api/locations/0", `{"name":"x"}`},
		"product_id":       {"POST", "/api/stock/adjustments", `{"delta":1,"reason":"x"}`},
		"delta":            {"POST", "/api/stock/adjustments", `{"product_id":` + laptop + `,"reason":"x"}`},
		"reason":           {"POST", "/api/stock/adjustments", `{"product_id":` + laptop + `,"delta":1}`},
		"quantity":         {"POST", "/api/stock/transfers", `{"product_id":` + laptop + `,"from_location_id":` + mainID + `,"to_location_id":` + eastID + `,"reason":"x"}`},
		"to_location_id":   {"POST", "/api/stock/transfers", `{"product_id":` + laptop + `,"from_location_id":` + mainID + `,"to_location_id":` + mainID + `,"quantity":1,"reason":"x"}`},
		"from_location_id": {"POST", "/api/stock/transfers", `{"product_id":` + laptop + `,"to_location_id":` + mainID + `,"quantity":1,"reason":"x"}`},
	} {
		code, _, out := call(t, c.method, f.url+c.path, admin, c.body)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", field, out)
		assert.Contains(t, out["message"], field)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/locations/424242", `{"name":"x"}`},
		{"GET", "/api/products/424242/stock", ""},
		{"POST", "/api/stock/adjustments", `{"location_id":424242,"product_id":` + laptop + `,"delta":1,"reason":"x"}`},
		{"POST", "/api/stock/transfers", `{"product_id":` + laptop + `,"from_location_id":` + mainID + `,"to_location_id":424242,"quantity":1,"reason":"x"}`},
	} {
		code, _, out := call(t, c.method, f.url+c.path, admin, c.body)
		assert.Equal(t, http.StatusNotFound, code, "%s %s: %v", c.method, c.path, out)
	}

	code, _, out = call(t, "POST", f.url+"/api/stock/transfers", staffer,
		`{"product_id":`+laptop+`,"from_location_id":`+mainID+`,"to_location_id":`+eastID+`,"quantity":20,"reason":"open the east store"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 30, out["from"].(map[string]any)["on_hand"])
	assert.EqualValues(t, 20, out["to"].(map[string]any)["on_hand"])
	assert.Equal(t, []any{"MAIN", true, "EAST", true}, []any{out["from"].(map[string]any)["location_code"],
		out["from"].(map[string]any)["location_active"], out["to"].(map[string]any)["location_code"],
		out["to"].(map[string]any)["location_active"]}, "each side names its location")
	assert.EqualValues(t, 50, out["stock_quantity"])
	code, _, out = call(t, "POST", f.url+"/api/stock/transfers", staffer,
		`{"product_id":`+laptop+`,"from_location_id":`+mainID+`,"to_location_id":`+eastID+`,"quantity":31,"reason":"too many"}`)
	assert.Equal(t, http.StatusBadRequest, code, "FailedPrecondition: %v", out)
	assert.Contains(t, out["message"], "insufficient stock")

	code, _, out = call(t, "POST", f.url+"/api/stock/adjustments", staffer,
		`{"location_id":`+eastID+`,"product_id":`+laptop+`,"delta":-2,"reason":"display units"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 18, out["level"].(map[string]any)["on_hand"])
	assert.Equal(t, "EAST", out["level"].(map[string]any)["location_code"])
	assert.EqualValues(t, 48, out["stock_quantity"])
	// The catalog's adjustment names a location too, or means the default one.
	code, _, out = call(t, "POST", f.url+"/api/products/"+laptop+"/stock", staffer, `{"delta":-1,"reason":"scratched","location_id":`+eastID+`}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 47, out["stock_quantity"])
	code, _, out = call(t, "GET", f.url+"/api/products/"+laptop+"/stock/adjustments", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	last := out["adjustments"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{eastID, "scratched", 47.0}, []any{last["location_id"], last["reason"], last["stock_after"]})

	code, _, out = call(t, "PATCH", f.url+"/api/locations/"+eastID, admin, `{"active":false}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, false, out["active"])
	code, _, out = call(t, "PATCH", f.url+"/api/locations/"+mainID, admin, `{"active":false}`)
	assert.Equal(t, http.StatusBadRequest, code, "the default location stays open: %v", out)

	code, _, out = call(t, "GET", f.url+"/api/products/"+laptop+"/stock", staffer, "")
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 30, out["stock_quantity"], "the closed store's units are not for sale")
	levels := out["levels"].([]any)
	require.Len(t, levels, 2)
	first, second := levels[0].(map[string]any), levels[1].(map[string]any)
	assert.Equal(t, []any{"MAIN", 30.0, 0.0, 30.0, true},
		[]any{first["location_code"], first["on_hand"], first["reserved"], first["available"], first["location_active"]})
	assert.Equal(t, []any{"EAST", 17.0, false}, []any{second["location_code"], second["on_hand"], second["location_active"]})
	code, _, out = call(t, "GET", f.url+"/api/products/"+laptop, "", "")
	require.Equal(t, http.StatusOK, code, out)
	eventuallyServes(t, f.url+"/api/products/"+laptop, "stock_quantity", 30.0, "the storefront shows the sellable stock")
}
