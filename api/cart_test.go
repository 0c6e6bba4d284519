package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/money"
)

// productIDs maps the fixture's SKUs to product ids.
func productIDs(t *testing.T, f *fixture) map[string]int64 {
	t.Helper()
	page, _, err := f.store.ListProducts(context.Background(), catalog.ListFilter{Limit: 10})
	require.NoError(t, err)
	out := map[string]int64{}
	for _, p := range page {
		out[p.SKU] = p.ID
	}
	return out
}

func amount(t *testing.T, m any) string {
	t.Helper()
	mm, ok := m.(map[string]any)
	require.True(t, ok, "not a Money: %v", m)
	assert.Equal(t, "USD", mm["currency"])
	return mm["amount_minor"].(string)
}

func lines(t *testing.T, cart map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range cart["lines"].([]any) {
		out = append(out, l.(map[string]any))
	}
	return out
}

func TestCartOverREST(t *testing.T) {
	f := newServer(t, nil)
	ids := productIDs(t, f)
	mug, lamp := ids["MUG-001"], ids["LAMP-001"]
	ann := session(t, f, "ann", identity.RoleCustomer)
	bob := session(t, f, "bob", identity.RoleCustomer)

	code, _, out := call(t, "GET", f.url+"/api/cart", "", "")
	assert.Equal(t, http.StatusUnauthorized, code, out)

	code, _, cart := call(t, "GET", f.url+"/api/cart", ann, "")
	require.Equal(t, http.StatusOK, code, cart)
	assert.Empty(t, cart["lines"])
	assert.Nil(t, cart["totals"], "an empty cart has no totals")
	assert.Equal(t, "standard", cart["shipping_method"])
	assert.Equal(t, "US", cart["shipping_country"])

	code, _, cart = call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d, "quantity": 1}`, mug))
	require.Equal(t, http.StatusOK, code, cart)
	code, _, cart = call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"productId": "%d"}`, mug))
	require.Equal(t, http.StatusOK, code, "camelCase, a string id and no quantity (1): %v", cart)
	require.Len(t, lines(t, cart), 1)
	line := lines(t, cart)[0]
	assert.EqualValues(t, 2, line["quantity"], "the same product adds to the line")
	assert.Equal(t, "MUG-001", line["sku"])
	assert.Equal(t, "1500", amount(t, line["unit_price"]))
	assert.Equal(t, "3000", amount(t, line["line_total"]))
	assert.Equal(t, true, line["in_stock"])
	assert.Equal(t, true, line["available"])
	assert.EqualValues(t, 5, line["available_quantity"])
	item := line["item_id"].(string)

	code, _, cart = call(t, "PUT", f.url+"/api/cart/shipping", ann, `{"country": "us", "region": "ca"}`)
	require.Equal(t, http.StatusOK, code, cart)
	assert.Equal(t, "US", cart["shipping_country"])
	assert.Equal(t, "CA", cart["shipping_region"])
	// 2 x 15.00 = 30.00; standard shipping 5.99; CA tax 7.25% of 30.00 =
	// 2.175 -> 2.18 (half up); total 38.17.
	totals := cart["totals"].(map[string]any)
	assert.Equal(t, "3000", amount(t, totals["subtotal"]))
	assert.Equal(t, "0", amount(t, totals["discount"]))
	assert.Equal(t, "599", amount(t, totals["shipping"]))
	assert.Equal(t, "218", amount(t, totals["tax"]))
	assert.Equal(t, "3817", amount(t, totals["total"]))
	assert.Equal(t, "7.25", totals["tax_rate_percent"])

	code, _, cart = call(t, "PATCH", f.url+"/api/cart/items/"+item, ann, `{"quantity": 4}`)
	require.Equal(t, http.StatusOK, code, cart)
	assert.EqualValues(t, 4, lines(t, cart)[0]["quantity"])
	code, _, cart = call(t, "PUT", f.url+"/api/cart/items/"+item, ann, `{"quantity": 6}`)
	require.Equal(t, http.StatusOK, code, cart)
	assert.Equal(t, false, lines(t, cart)[0]["in_stock"], "6 wanted, 5 in stock")
	assert.Contains(t, cart["warnings"], "Travel Mug: only 5 in stock, 6 in the cart")

	for _, bad := range []struct{ method, path, body, field string }{
		{"PATCH", "/api/cart/items/" + item, `{"quantity": 0}`, "quantity"},
		{"PATCH", "/api/cart/items/" + item, `{"quantity": 100}`, "quantity"},
		{"POST", "/api/cart/items", fmt.Sprintf(`{"product_id": %d, "quantity": 100}`, mug), "quantity"},
		{"POST", "/api/cart/items", fmt.Sprintf(`{"product_id": %d, "quantity": -1}`, mug), "quantity"},
		{"POST", "/api/cart/items", `{"product_id": 987654}`, "product_id"},
		{"POST", "/api/cart/items", `{}`, "product_id"},
		{"POST", "/api/cart/items", fmt.Sprintf(`{"product_id": %d, "variant_id": 987654}`, mug), "variant_id"},
		{"PUT", "/api/cart/shipping", `{"country": "USA"}`, "country"},
		{"PUT", "/api/cart/shipping", `{"shipping_method": "teleport"}`, "shipping_method"},
		{"POST", "/api/cart/coupon", `{"code": "NOSUCHCODE"}`, "code"},
	} {
		code, _, out := call(t, bad.method, f.url+bad.path, ann, bad.body)
		assert.Equal(t, http.StatusBadRequest, code, "%s %s %s: %v", bad.method, bad.path, bad.body, out)
		assert.EqualValues(t, connect.CodeInvalidArgument, out["code"], "REST answers a google.rpc.Status: %v", out)
		assert.Contains(t, out["message"], bad.field, "the error names the field")
	}
	_, _, cart = call(t, "GET", f.url+"/api/cart", ann, "")
	assert.EqualValues(t, 6, lines(t, cart)[0]["quantity"], "refused calls changed nothing")

	// Another shopper can neither see nor touch ann's item.
	code, _, out = call(t, "PATCH", f.url+"/api/cart/items/"+item, bob, `{"quantity": 1}`)
	assert.Equal(t, http.StatusNotFound, code, out)
	code, _, out = call(t, "DELETE", f.url+"/api/cart/items/"+item, bob, "")
	assert.Equal(t, http.StatusNotFound, code, out)
	_, _, cart = call(t, "GET", f.url+"/api/cart", bob, "")
	assert.Empty(t, cart["lines"])

	// A price change since the item was added is shown, and charged.
	_, err := f.store.UpdateProduct(context.Background(), mug, catalog.ProductPatch{Price: &money.Money{Amount: 1250, Currency: "USD"}})
	require.NoError(t, err)
	code, _, cart = call(t, "PATCH", f.url+"/api/cart/items/"+item, ann, `{"quantity": 2}`)
	require.Equal(t, http.StatusOK, code, cart)
	line = lines(t, cart)[0]
	assert.Equal(t, true, line["price_changed"])
	assert.Equal(t, "1500", amount(t, line["added_price"]))
	assert.Equal(t, "1250", amount(t, line["unit_price"]))
	assert.Equal(t, []any{"Travel Mug: price changed from 15.00 USD to 12.50 USD"}, cart["warnings"])
	assert.Equal(t, "2500", amount(t, cart["totals"].(map[string]any)["subtotal"]))

	code, _, cart = call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d}`, lamp))
	require.Equal(t, http.StatusOK, code, cart)
	assert.Contains(t, cart["warnings"], "Desk Lamp is out of stock")
	lamp1 := lines(t, cart)[1]
	assert.Equal(t, false, lamp1["in_stock"])

	code, _, cart = call(t, "DELETE", f.url+"/api/cart/items/"+lamp1["item_id"].(string), ann, "")
	require.Equal(t, http.StatusOK, code, cart)
	assert.Len(t, lines(t, cart), 1)
	code, _, out = call(t, "DELETE", f.url+"/api/cart/items/"+lamp1["item_id"].(string), ann, "")
	assert.Equal(t, http.StatusNotFound, code, out)
}

func TestShippingMethodsAreForEveryone(t *testing.T) {
	f := newServer(t, nil)
	code, _, out := call(t, "GET", f.url+"/api/shipping-methods", "", "")
	require.Equal(t, http.StatusOK, code, out)
	methods := out["shipping_methods"].([]any)
	require.Len(t, methods, 2)
	standard, express := methods[0].(map[string]any), methods[1].(map[string]any)
	assert.Equal(t, "standard", standard["code"], "cheapest first")
	assert.Equal(t, "Standard shipping", standard["name"])
	assert.Equal(t, "599", amount(t, standard["price"]))
	assert.Equal(t, "5000", amount(t, standard["free_over"]))
	assert.Equal(t, "express", express["code"])
	assert.Equal(t, "1499", amount(t, express["price"]))
	assert.Nil(t, express["free_over"])
}

func TestCouponsOverREST(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "root", identity.RoleAdmin)
	staff := session(t, f, "steve", identity.RoleStaff)
	ann := session(t, f, "ann", identity.RoleCustomer)
	mug := productIDs(t, f)["MUG-001"]
	save10 := `{"code": "save10", "percent_off": "10", "max_uses": 100, "max_uses_per_user": 1}`

	code, _, out := call(t, "POST", f.url+"/api/coupons", ann, save10)
	assert.Equal(t, http.StatusForbidden, code, "a customer creating a coupon: %v", out)
	code, _, out = call(t, "POST", f.url+"/api/coupons", "", save10)
	assert.Equal(t, http.StatusUnauthorized, code, out)
	code, _, out = call(t, "POST", f.url+"/api/coupons", staff, save10)
	assert.Equal(t, http.StatusForbidden, code, "creating coupons is for admins: %v", out)

	code, _, c := call(t, "POST", f.url+"/api/coupons", admin, save10)
	require.Equal(t, http.StatusOK, code, c)
	assert.Equal(t, "SAVE10", c["code"])
	assert.Equal(t, "percent", c["kind"])
	assert.Equal(t, "10", c["percent_off"])
	assert.EqualValues(t, 100, c["max_uses"])
	assert.EqualValues(t, 0, c["uses"])
	assert.Equal(t, true, c["active"])
	code, _, out = call(t, "POST", f.url+"/api/coupons", admin, save10)
	assert.Equal(t, http.StatusConflict, code, "duplicate code: %v", out)

	code, _, c = call(t, "POST", f.url+"/api/coupons", admin, `{"code": "BIGSPEND", "kind": "fixed",
		"amount_off": {"amount_minor": "1000", "currency": "USD"}, "min_subtotal": {"amount_minor": 10000, "currency": "usd"}}`)
	require.Equal(t, http.StatusOK, code, c)
	assert.Equal(t, "1000", amount(t, c["amount_off"]))
	assert.Equal(t, "10000", amount(t, c["min_subtotal"]))
	code, _, c = call(t, "POST", f.url+"/api/coupons", admin, `{"code": "HALF", "percent_off": "12.5",
		"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"}`)
	require.Equal(t, http.StatusOK, code, c)
	assert.Equal(t, "12.5", c["percent_off"])
	assert.Equal(t, "2020-02-01T00:00:00Z", c["ends_at"])

	for field, bad := range map[string]string{
		"percent_off":         `{"code": "BAD1", "percent_off": "abc"}`,
		"code":                `{"code": "!", "percent_off": "5"}`,
		"kind":                `{"code": "BAD2"}`,
		"amount_off.currency": `{"code": "BAD3", "kind": "fixed", "amount_off": {"amount_minor": 100}}`,
		"ends_at":             `{"code": "BAD4", "percent_off": "5", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}`,
	} {
		code, _, out := call(t, "POST", f.url+"/api/coupons", admin, bad)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", field, out)
		assert.Contains(t, out["message"], field)
	}

	code, _, out = call(t, "GET", f.url+"/api/coupons", ann, "")
	assert.Equal(t, http.StatusForbidden, code, out)
	code, _, out = call(t, "GET", f.url+"/api/coupons", staff, "")
	require.Equal(t, http.StatusOK, code, out)
	assert.Len(t, out["coupons"], 3)

	// On the cart: 2 x 15.00 = 30.00, less 10% = 27.00; shipping 5.99; no
	// tax in the default country (US, no region); total 32.99.
	code, _, cart := call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d, "quantity": 2}`, mug))
	require.Equal(t, http.StatusOK, code, cart)
	code, _, cart = call(t, "POST", f.url+"/api/cart/coupon", ann, `{"code": "save10"}`)
	require.Equal(t, http.StatusOK, code, cart)
	assert.Equal(t, "SAVE10", cart["coupon_code"])
	assert.Equal(t, "", cart["coupon_problem"])
	totals := cart["totals"].(map[string]any)
	assert.Equal(t, "300", amount(t, totals["discount"]))
	assert.Equal(t, "0", amount(t, totals["tax"]))
	assert.Equal(t, "0", totals["tax_rate_percent"])
	assert.Equal(t, "3299", amount(t, totals["total"]))

	code, _, out = call(t, "POST", f.url+"/api/cart/coupon", ann, `{"code": "BIGSPEND"}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.EqualValues(t, connect.CodeFailedPrecondition, out["code"])
	assert.Contains(t, out["message"], "at least 100.00 USD")
	code, _, out = call(t, "POST", f.url+"/api/cart/coupon", ann, `{"code": "half"}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.EqualValues(t, connect.CodeFailedPrecondition, out["code"], out)
	assert.Contains(t, out["message"], "expired")
	_, _, cart = call(t, "GET", f.url+"/api/cart", ann, "")
	assert.Equal(t, "SAVE10", cart["coupon_code"], "a refused coupon leaves the cart's as it was")

	code, _, cart = call(t, "DELETE", f.url+"/api/cart/coupon", ann, "")
	require.Equal(t, http.StatusOK, code, cart)
	assert.Equal(t, "", cart["coupon_code"])
	assert.Equal(t, "0", amount(t, cart["totals"].(map[string]any)["discount"]))
}
