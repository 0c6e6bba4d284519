package api_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/money"
)

const laAddress = `{"name": "Ann Lee", "line1": "1 Main St", "city": "Los Angeles", "region": "CA", "postal_code": "90001", "country": "US"}`

// badRequest asserts a 400 whose message names field.
func badRequest(t *testing.T, code int, out map[string]any, field, why string) {
	t.Helper()
	assert.Equal(t, http.StatusBadRequest, code, "%s: %v", why, out)
	assert.EqualValues(t, connect.CodeInvalidArgument, out["code"], "%s: %v", why, out)
	msg, _ := out["message"].(string)
	assert.True(t, strings.HasPrefix(msg, field+": "), "%s: the error names %s: %v", why, field, out)
}

func countOrders(t *testing.T, f *fixture) int {
	t.Helper()
	var n int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&n))
	return n
}

// The customer cannot choose the tax jurisdiction: the tax follows the
// validated shipping address, and the legacy shipping_country and
// shipping_region fields must agree with it.
func TestOrderTaxFollowsTheAddressOverREST(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "ann", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-TAX", 10000, 50)
	items := fmt.Sprintf(`"items": [{"product_id": %d, "quantity": 1}]`, mug.ID)

	code, _, o := call(t, "POST", f.url+"/api/orders", tok, `{`+items+`, "shipping": `+laAddress+`}`)
	require.Equal(t, http.StatusOK, code, o)
	totals := o["totals"].(map[string]any)
	assert.Equal(t, "725", amount(t, totals["tax"]), "7.25% of 100.00 in California")
	assert.Equal(t, "7.25", totals["tax_rate_percent"])
	assert.Equal(t, "US", o["shipping_country"])
	assert.Equal(t, "CA", o["shipping_region"])
	assert.Equal(t, "Ann Lee, 1 Main St, Los Angeles, CA 90001, US", o["shipping_address"])
	ship := o["shipping"].(map[string]any)
	assert.Equal(t, "1 Main St", ship["line1"])
	assert.Equal(t, "90001", ship["postal_code"])
	id := orderID(t, o)
	var line1, city, postal string
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(),
		`SELECT shipping_line1, shipping_city, shipping_postal_code FROM orders WHERE id = $1`, id).Scan(&line1, &city, &postal))
	assert.Equal(t, []string{"1 Main St", "Los Angeles", "90001"}, []string{line1, city, postal})

	before := countOrders(t, f)
	free := `"shipping_address": "1 Main St, Los Angeles, CA 90001"`
	for _, c := range []struct{ field, body, why string }{
		{"shipping_country", `{` + items + `, ` + free + `, "shipping_country": "ZZ"}`, "an unknown country"},
		{"shipping_region", `{` + items + `, ` + free + `, "shipping_region": "OR"}`, "Oregon for a California address"},
		{"shipping_region", `{` + items + `, "shipping": ` + laAddress + `, "shipping_region": "OR"}`, "Oregon beside a structured address"},
		{"shipping_country", `{` + items + `, "shipping": ` + laAddress + `, "shipping_country": "ZZ"}`, "ZZ beside a structured address"},
		{"shipping_region", `{` + items + `, "shipping_address": "123 Main St, City, State 12345", "shipping_region": "OR"}`, "a region the free-form address does not show"},
		{"shipping_address", `{` + items + `, "shipping_address": "1 Main St, Los Angeles, OR 90001"}`, "a ZIP code of another state"},
		{"shipping.country", `{` + items + `, "shipping": {"line1": "1 Main St", "city": "LA", "postal_code": "90001", "country": "ZZ"}}`, "an unknown country"},
		{"shipping.region", `{` + items + `, "shipping": {"line1": "1 Main St", "city": "LA", "region": "XX", "postal_code": "90001", "country": "US"}}`, "an unknown state"},
		{"shipping.postal_code", `{` + items + `, "shipping": {"line1": "1 Main St", "city": "LA", "region": "OR", "postal_code": "90001", "country": "US"}}`, "a ZIP code of another state"},
		{"shipping.postal_code", `{` + items + `, "shipping": {"line1": "1 Main St", "city": "Toronto", "region": "ON", "postal_code": "90001", "country": "CA"}}`, "not a Canadian postal code"},
		{"shipping.line1", `{` + items + `, "shipping": {"city": "LA", "postal_code": "90001", "country": "US"}}`, "no street"},
		{"shipping_address", `{` + items + `, "shipping": ` + laAddress + `, ` + free + `}`, "two shipping addresses"},
	} {
		code, _, out := call(t, "POST", f.url+"/api/orders", tok, c.body)
		badRequest(t, code, out, c.field, c.why)
	}
	assert.Equal(t, before, countOrders(t, f), "no refused order was written")

	// The seed's free-form address, verbatim: taxed as DEFAULT_COUNTRY (US,
	// no rate here); agreeing legacy fields are accepted.
	code, _, o = call(t, "POST", f.url+"/api/orders", tok, `{`+items+`, "shipping_address": "123 Main St, City, State 12345", "shipping_country": "US"}`)
	require.Equal(t, http.StatusOK, code, o)
	assert.Equal(t, "0", amount(t, o["totals"].(map[string]any)["tax"]))
	assert.Nil(t, o["shipping"])
	code, _, o = call(t, "POST", f.url+"/api/orders", tok, `{`+items+`, `+free+`, "shipping_country": "us", "shipping_region": "ca"}`)
	require.Equal(t, http.StatusOK, code, o)
	assert.Equal(t, "725", amount(t, o["totals"].(map[string]any)["tax"]))
}

// The address book validates like an order, and ordering with an entry
// ships to, and is taxed by, the stored address.
func TestAddressBookOrderUsesTheStoredAddress(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "bea", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-BOOK", 10000, 50)

	for field, body := range map[string]string{
		"country":     `{"kind":"shipping","full_name":"Bea","line1":"1 Main St","city":"LA","postal_code":"90001","country":"ZZ"}`,
		"region":      `{"kind":"shipping","full_name":"Bea","line1":"1 Main St","city":"LA","region":"Oregano","postal_code":"90001","country":"US"}`,
		"postal_code": `{"kind":"shipping","full_name":"Bea","line1":"1 Main St","city":"LA","region":"OR","postal_code":"90001","country":"US"}`,
	} {
		code, _, out := call(t, "POST", f.url+"/api/auth/addresses", tok, body)
		badRequest(t, code, out, field, body)
	}
	code, _, a := call(t, "POST", f.url+"/api/auth/addresses", tok,
		`{"kind":"shipping","full_name":"Bea Ray","line1":"1 Main St","city":"Los Angeles","region":"california","postal_code":"90001","country":"us"}`)
	require.Equal(t, http.StatusOK, code, a)
	assert.Equal(t, "CA", a["region"], "stored in normal form")
	assert.Equal(t, "US", a["country"])

	body := fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address_id": %s}`, mug.ID, a["id"])
	code, _, o := call(t, "POST", f.url+"/api/orders", tok, body)
	require.Equal(t, http.StatusOK, code, o)
	assert.Equal(t, "725", amount(t, o["totals"].(map[string]any)["tax"]))
	assert.Equal(t, "Bea Ray, 1 Main St, Los Angeles, CA 90001, US", o["shipping_address"])
	assert.Equal(t, "Los Angeles", o["shipping"].(map[string]any)["city"])

	for field, body := range map[string]string{
		"shipping_region":     fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address_id": %s, "shipping_region": "OR"}`, mug.ID, a["id"]),
		"shipping_address_id": fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address_id": %s, "shipping_address": "1 Elm St, Portland, OR 97201"}`, mug.ID, a["id"]),
	} {
		code, _, out := call(t, "POST", f.url+"/api/orders", tok, body)
		badRequest(t, code, out, field, body)
	}
}

func TestCartShippingAddressOverREST(t *testing.T) {
	f := newServer(t, nil)
	ids := productIDs(t, f)
	ann := session(t, f, "ann", identity.RoleCustomer)
	code, _, cart := call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d, "quantity": 2}`, ids["MUG-001"]))
	require.Equal(t, http.StatusOK, code, cart)

	code, _, cart = call(t, "PUT", f.url+"/api/cart/shipping", ann, `{"address": `+laAddress+`}`)
	require.Equal(t, http.StatusOK, code, cart)
	assert.Equal(t, "CA", cart["shipping_region"])
	assert.Equal(t, "1 Main St", cart["shipping"].(map[string]any)["line1"])
	assert.Equal(t, "218", amount(t, cart["totals"].(map[string]any)["tax"]), "7.25% of 30.00")

	for _, c := range []struct{ field, body string }{
		{"address.country", `{"address": {"country": "ZZ"}}`},
		{"address.region", `{"address": {"country": "US", "region": "XX"}}`},
		{"address.postal_code", `{"address": {"country": "US", "region": "OR", "postal_code": "90001"}}`},
		{"region", `{"address": ` + laAddress + `, "region": "OR"}`},
		{"country", `{"country": "ZZ"}`},
		{"region", `{"country": "US", "region": "ZZ"}`},
	} {
		code, _, out := call(t, "PUT", f.url+"/api/cart/shipping", ann, c.body)
		badRequest(t, code, out, c.field, c.body)
	}
	_, _, cart = call(t, "GET", f.url+"/api/cart", ann, "")
	assert.Equal(t, "CA", cart["shipping_region"], "refused changes changed nothing")
}

// Prices are exact and bounded; carts and orders above the bound answer
// 400 naming the line, never 500.
func TestMoneyBoundsOverREST(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	admin := session(t, f, "root", identity.RoleAdmin)
	ann := session(t, f, "ann", identity.RoleCustomer)
	product := func(sku, price string) (int, map[string]any) {
		code, _, out := call(t, "POST", f.url+"/api/products", admin,
			fmt.Sprintf(`{"name": "x", "sku": %q, "categoryId": %d, "stockQuantity": 10, %s}`, sku, f.laptop.CategoryID, price))
		return code, out
	}
	for price, minor := range map[string]string{
		`"price": 1999.99`:      "199999",
		`"price": 999999999.99`: "99999999999",
		`"price": 1000000000`:   "100000000000",
		`"price": 0.29`:         "29",
		`"price": 123456789.01`: "12345678901",
	} {
		code, out := product(fmt.Sprintf("EXACT-%s", minor), price)
		require.Equal(t, http.StatusOK, code, "%s: %v", price, out)
		assert.Equal(t, minor, out["price_money"].(map[string]any)["amount_minor"], price)
	}
	for i, price := range []string{
		`"price": 1000000000.01`, `"price": 90071992547409.93`, `"price": 9.2233720368547758e18`, `"price": 1e300`,
		`"price_money": {"amount_minor": "9223372036854775807", "currency": "USD"}`,
		`"price_money": {"amount_minor": "100000000001", "currency": "USD"}`,
	} {
		code, out := product(fmt.Sprintf("TOO-MUCH-%d", i), price)
		badRequest(t, code, out, "price", price)
	}

	// A product priced above the bound before there was one.
	big := f.shop.Product(t, "LEGACY-BIG", 100, 10)
	half := f.shop.Product(t, "HALF-MAX", money.MaxAmount("USD")/2+1, 10)
	_, err := f.shop.Pool.Exec(context.Background(), `UPDATE products SET price_minor = $2 WHERE id = $1`, big.ID, int64(math.MaxInt64))
	require.NoError(t, err)

	code, _, out := call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d}`, big.ID))
	badRequest(t, code, out, "quantity", "an int64-max price")
	code, _, cart := call(t, "POST", f.url+"/api/cart/items", ann, fmt.Sprintf(`{"product_id": %d}`, half.ID))
	require.Equal(t, http.StatusOK, code, cart)
	item := lines(t, cart)[0]["item_id"].(string)
	code, _, out = call(t, "PATCH", f.url+"/api/cart/items/"+item, ann, `{"quantity": 2}`)
	badRequest(t, code, out, "quantity", "2 x half the maximum")
	// The cart stays viewable when a stored price is out of bounds.
	_, err = f.shop.Pool.Exec(context.Background(), `UPDATE products SET price_minor = $2 WHERE id = $1`, half.ID, int64(math.MaxInt64))
	require.NoError(t, err)
	code, _, cart = call(t, "GET", f.url+"/api/cart", ann, "")
	require.Equal(t, http.StatusOK, code, cart)
	assert.Nil(t, cart["totals"])
	assert.NotEmpty(t, cart["warnings"])
	code, _, out = call(t, "POST", f.url+"/api/orders", ann, `{"shipping_address": "1 Main St, Springfield"}`)
	badRequest(t, code, out, "items[0]", "ordering the cart")

	before := countOrders(t, f)
	code, _, out = call(t, "POST", f.url+"/api/orders", ann, fmt.Sprintf(
		`{"items": [{"product_id": %d, "quantity": 1}, {"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St, Springfield"}`,
		f.laptop.ID, big.ID))
	badRequest(t, code, out, "items[1]", "an int64-max price")
	assert.Equal(t, before, countOrders(t, f))
	assert.Equal(t, int32(10), f.shop.Stock(t, big.ID), "no stock held")
}
