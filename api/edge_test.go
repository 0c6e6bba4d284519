package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	authv1 "github.com/shopkit/shop/gen/shop/auth/v1"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/workflows/checkout"
)

// raw sends body (any reader; one without a length goes chunked) and
// decodes the JSON answer.
func raw(t *testing.T, method, url, token, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	code, _, out := rawWithHeader(t, method, url, token, contentType, body)
	return code, out
}

// rawWithHeader is raw answering the response headers too.
func rawWithHeader(t *testing.T, method, url, token, contentType string, body io.Reader) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &out), "%d %s", res.StatusCode, b)
	}
	return res.StatusCode, res.Header, out
}

// TestTextRuleAtTheEdge: NUL and other control characters in any string
// field, anywhere in the message, answer 400 naming the field; they used to
// reach PostgreSQL and answer 500.
func TestTextRuleAtTheEdge(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "edge-admin", identity.RoleAdmin)
	customer := session(t, f, "edge-customer", identity.RoleCustomer)
	product := fmt.Sprintf(`"sku":"EDGE-1","price":1,"category_id":%d`, f.laptop.CategoryID)
	long := strings.Repeat("x", 1001)
	for _, c := range []struct{ name, method, path, token, body, field string }{
		{"register", "POST", "/api/auth/register", "", `{"username":"a\u0000b","email":"a@example.com","password":"SecurePass123!"}`, "username"},
		{"register password", "POST", "/api/auth/register", "", `{"username":"ab","email":"a@example.com","password":"Secure\u0000Pass123!"}`, "password"},
		{"register email", "POST", "/api/auth/register", "", `{"username":"ab","email":"a\u001b@example.com","password":"SecurePass123!"}`, "email"},
		{"login name", "POST", "/api/auth/login", "", `{"username":"bob\u0000","password":"x"}`, "username"},
		{"profile", "PATCH", "/api/auth/me", customer, `{"first_name":"Jo\u0007"}`, "first_name"},
		{"profile too long", "PATCH", "/api/auth/me", customer, `{"last_name":"` + long + `"}`, "last_name"},
		{"address", "POST", "/api/auth/addresses", customer,
			`{"full_name":"Jo","line1":"1 Main\u0000St","city":"X","postal_code":"1","country":"US"}`, "address.line1"},
		{"address on two lines", "POST", "/api/auth/addresses", customer,
			`{"full_name":"Jo","line1":"1 Main St","city":"New\nYork","postal_code":"1","country":"US"}`, "address.city"},
		{"change password", "POST", "/api/auth/password", customer, `{"current_password":"SecurePass123!","new_password":"Other\u0000Pass123!"}`, "new_password"},
		{"refresh token", "POST", "/api/auth/refresh", "", `{"refresh_token":"abc\u0000"}`, "refresh_token"},
		{"coupon", "POST", "/api/cart/coupon", customer, `{"code":"a\u0000b"}`, "code"},
		{"shipping", "PUT", "/api/cart/shipping", customer, `{"shipping_method":"stan\u0085dard"}`, "shipping_method"},
		{"listing search", "GET", "/api/products?search=a%00b", "", "", "search"},
		{"listing search, not UTF-8", "GET", "/api/products?search=%FF", "", "", "search"},
		{"search", "GET", "/api/search?q=lap%0Atop", "", "", "q"},
		{"search brands", "GET", "/api/search?brands=Nordvik&brands=x%7F", "", "", "brands[1]"},
		{"product name", "POST", "/api/products", admin, `{"name":"Lamp\u0000",` + product + `}`, "name"},
		{"product name on two lines", "POST", "/api/products", admin, `{"name":"Desk\nLamp",` + product + `}`, "name"},
		{"attribute key", "POST", "/api/products", admin, `{"name":"Lamp",` + product + `,"attributes":{"col\u0001our":"red"}}`, `attributes["col\x01our"]`},
		{"attribute value", "POST", "/api/products", admin, `{"name":"Lamp",` + product + `,"attributes":{"colour":"r\u0000ed"}}`, `attributes["colour"]`},
		{"description too long", "POST", "/api/products", admin,
			`{"name":"Lamp",` + product + `,"description":"` + strings.Repeat("y", 20_001) + `"}`, "description"},
		{"category name", "POST", "/api/categories", admin, `{"name":"Toys\u0000"}`, "name"},
		{"category name too long", "POST", "/api/categories", admin, `{"name":"` + long + `"}`, "name"},
		{"stock reason", "POST", fmt.Sprintf("/api/products/%d/stock", f.laptop.ID), admin, `{"delta":1,"reason":"count\u0000"}`, "reason"},
		{"refund note", "POST", "/api/refunds/1/resolve", admin, `{"action":"approve","note":"ok\u0000"}`, "note"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, out := call(t, c.method, f.url+c.path, c.token, c.body)
			assert.Equal(t, http.StatusBadRequest, code, "%v", out)
			assert.Equal(t, float64(connect.CodeInvalidArgument), out["code"], "%v", out)
			assert.Contains(t, out["message"], c.field+": ", "the message names the field")
		})
	}
}

func TestTextIsTrimmedButSecretsAreNot(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "trim-admin", identity.RoleAdmin)

	code, _, cat := call(t, "POST", f.url+"/api/categories", admin,
		`{"name":"  Garden  ","description":"  Plants,\r\nseeds\tand tools.\rMore soon.\n  "}`)
	require.Equal(t, http.StatusOK, code, cat)
	assert.Equal(t, "Garden", cat["name"])
	assert.Equal(t, "Plants,\nseeds\tand tools.\nMore soon.", cat["description"],
		"a description keeps its lines and tabs; line ends become LF")

	code, _, user := call(t, "POST", f.url+"/api/auth/register", "",
		`{"username":" spacey\t","email":"spacey@example.com ","password":"  Secure Pass 123!  "}`)
	require.Equal(t, http.StatusOK, code, user)
	assert.Equal(t, "spacey", user["username"])
	assert.Equal(t, "spacey@example.com", user["email"])

	code, _, login := call(t, "POST", f.url+"/api/auth/login", "", `{"username":"spacey ","password":"  Secure Pass 123!  "}`)
	assert.Equal(t, http.StatusOK, code, "the password is used exactly as given: %v", login)
	code, _, login = call(t, "POST", f.url+"/api/auth/login", "", `{"username":"spacey","password":"Secure Pass 123!"}`)
	assert.Equal(t, http.StatusUnauthorized, code, "a password is never trimmed: %v", login)
}

// TestTextRuleOverEveryProtocol: the rule is an interceptor, so Connect,
// gRPC and gRPC-Web clients meet it as REST does.
func TestTextRuleOverEveryProtocol(t *testing.T) {
	f := newServer(t, nil)
	clients := map[string]authv1connect.AuthServiceClient{
		"connect+json":  authv1connect.NewAuthServiceClient(http.DefaultClient, f.url, connect.WithProtoJSON()),
		"connect+proto": authv1connect.NewAuthServiceClient(http.DefaultClient, f.url),
		"grpc":          authv1connect.NewAuthServiceClient(f.h2c, f.url, connect.WithGRPC()),
		"grpc-web":      authv1connect.NewAuthServiceClient(http.DefaultClient, f.url, connect.WithGRPCWeb()),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			_, err := c.Register(context.Background(), connect.NewRequest(&authv1.RegisterRequest{
				Username: "nul\x00" + name, Email: "nul@example.com", Password: "SecurePass123!"}))
			assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
			assert.ErrorContains(t, err, "username: must not contain control characters")

			res, err := c.Register(context.Background(), connect.NewRequest(&authv1.RegisterRequest{
				Username: "  " + strings.ReplaceAll(name, "+", "-") + "  ", Email: name + "@example.com", Password: "SecurePass123!"}))
			require.NoError(t, err)
			assert.Equal(t, strings.ReplaceAll(name, "+", "-"), res.Msg.GetUser().GetUsername())
		})
	}
}

// TestOrderWithAControlCharacterIsRefusedAtOnce: a NUL in a coupon code
// used to hang POST /api/orders; now it answers 400 before any order id is
// claimed or workflow started.
func TestOrderWithAControlCharacterIsRefusedAtOnce(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	tok := session(t, f, "nul-orderer", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-NUL", 1500, 5)
	for field, extra := range map[string]string{
		"coupon_code":      `"coupon_code": "a\u0000b"`,
		"shipping_address": `"shipping_address": "1 Main St\u0000"`,
		"shipping_region":  `"shipping_region": "C\u0001A", "shipping_address": "1 Main St"`,
	} {
		body := fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "payment_method": "credit_card",
			"billing_address": "1 Main St\nSpringfield", %s}`, mug.ID, extra)
		if !strings.Contains(extra, "shipping_address") {
			body = strings.Replace(body, `"payment_method"`, `"shipping_address": "1 Main St", "payment_method"`, 1)
		}
		req, err := http.NewRequest("POST", f.url+"/api/orders", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		code, out := send(t, req.WithContext(ctx))
		cancel()
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", field, out)
		assert.Contains(t, out["message"], field+": must not contain control characters")
	}
	var claimed bool
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT is_called FROM order_ids`).Scan(&claimed))
	assert.False(t, claimed, "no order id was claimed")
	var first int64
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT last_value FROM order_ids`).Scan(&first))
	_, err := f.shop.Temporal.DescribeWorkflow(context.Background(), checkout.WorkflowID(first), "")
	var notFound *serviceerror.NotFound
	assert.ErrorAs(t, err, &notFound, "no checkout workflow started")
	assert.Equal(t, int32(5), f.shop.Stock(t, mug.ID))
}

// TestUnknownQueryParametersAreIgnored: browsers, analytics and cache
// busters add parameters of their own; they used to answer 500.
func TestUnknownQueryParametersAreIgnored(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "query-admin", identity.RoleAdmin)
	for _, q := range []string{
		"utm_source=x", "_=123", "utm_source=x&utm_medium=y&fbclid=z", "products=1", "limit.x=1", "skip.a.b=2",
		"category_id.x=1", "total=4", "%zz=1", "a%00b=1",
	} {
		code, body := do(t, "GET", f.url+"/api/products?"+q, "", "")
		assert.Equal(t, http.StatusOK, code, "%s: %v", q, body)
		assert.EqualValues(t, 3, body["total"], q)
	}
	code, body := do(t, "GET", f.url+"/api/products?limit=1&utm_source=x", "", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Len(t, body["products"], 1, "known parameters still apply")
	code, body = do(t, "GET", f.url+"/api/products?limit=ten&_=1", "", "")
	assert.Equal(t, http.StatusBadRequest, code, "a known parameter with a bad value is still refused: %v", body)

	code, body = do(t, "GET", fmt.Sprintf("%s/api/products/%d?product_id=424242&_=1", f.url, f.laptop.ID), "", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "Gaming Laptop", body["name"], "the path, not the query, names the product")
	for _, path := range []string{"/api/categories?_=1", "/api/search?q=laptop&gclid=1", "/api/search/suggest?q=lap&x=1",
		"/api/shipping-methods?v=2"} {
		code, body = do(t, "GET", f.url+path, "", "")
		assert.Equal(t, http.StatusOK, code, "%s: %v", path, body)
	}
	code, _, cat := call(t, "POST", f.url+"/api/categories?name=Evil&utm_source=x", admin, `{"name":"Garden"}`)
	require.Equal(t, http.StatusOK, code, cat)
	assert.Equal(t, "Garden", cat["name"], "a route whose body is the message takes nothing from the query")
}

// TestBadBodiesAnswer400: a body that does not decode used to answer 500
// over REST.
func TestBadBodiesAnswer400(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "body-admin", identity.RoleAdmin)
	stock := fmt.Sprintf("%s/api/products/%d/stock", f.url, f.laptop.ID)
	connectStock := f.url + "/shop.catalog.v1.CatalogService/AdjustStock"
	for _, c := range []struct{ body, want string }{
		{`{"delta":"abc","reason":"x"}`, "delta"},
		{`{"delta":2147483648,"reason":"x"}`, "delta"},
		{`{"delta":1e30,"reason":"x"}`, "delta"},
		{`{"delta":1.5,"reason":"x"}`, "delta"},
		{`{"delta":1,"reason":7}`, "reason"},
		{`{"delta":1,"reason":"x"`, "malformed request body"},
		{`[1,2]`, "malformed request body"},
		{`"x"`, "malformed request body"},
		{`{"delta":1,"reason":"x","variant_id":{"a":1}}`, "variantId"},
	} {
		for _, url := range []string{stock, connectStock} {
			code, out := raw(t, "POST", url, admin, "application/json", strings.NewReader(c.body))
			assert.Equal(t, http.StatusBadRequest, code, "%s %s: %v", url, c.body, out)
			assert.Contains(t, out["message"], c.want, "%s %s", url, c.body)
			assert.NotContains(t, out["message"], "catalogv1", "no Go type names")
		}
	}
	code, out := raw(t, "POST", stock, admin, "application/json", strings.NewReader(`{"delta":2147483647,"reason":"pallet"}`))
	assert.Equal(t, http.StatusBadRequest, code, "%v", out)
	assert.Contains(t, out["message"], "delta: would raise stock above 2147483647")

	for _, c := range []struct{ method, path string }{
		{"GET", "/api/products"},
		{"GET", fmt.Sprintf("/api/products/%d", f.laptop.ID)},
		{"DELETE", "/api/categories/424242"},
	} {
		code, out := raw(t, c.method, f.url+c.path, admin, "application/json", strings.NewReader(`{"limit":1}`))
		assert.Equal(t, http.StatusBadRequest, code, "%s %s: %v", c.method, c.path, out)
		assert.Contains(t, out["message"], "takes no request body")
	}
}

// chunked hides a body's length, so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestChunkedBodyOverTheLimitAnswers413: a body without Content-Length
// that runs past 1 MiB used to answer 429 (Connect) or 500 (REST).
func TestChunkedBodyOverTheLimitAnswers413(t *testing.T) {
	f := newServer(t, nil)
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, c := range []struct{ path, contentType string }{
		{"/api/auth/register", "application/json"},
		{"/api/auth/login", "application/json"},
		{"/shop.auth.v1.AuthService/Register", "application/json"},
		{"/shop.auth.v1.AuthService/Register", "application/proto"},
	} {
		code, out := raw(t, "POST", f.url+c.path, "", c.contentType, chunked{strings.NewReader(big)})
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, "%s %s: %v", c.path, c.contentType, out)
		assert.Equal(t, "request body is larger than 1 MiB", out["message"])

		code, out = raw(t, "POST", f.url+c.path, "", c.contentType, bytes.NewReader([]byte(big)))
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, "with Content-Length: %s: %v", c.path, out)
	}
	code, out := raw(t, "POST", f.url+"/api/auth/login", "", "application/json",
		chunked{strings.NewReader(`{"username":"nobody","password":"SecurePass123!"}`)})
	assert.Equal(t, http.StatusUnauthorized, code, "a small chunked body is read as usual: %v", out)

	// gRPC and gRPC-Web keep their own status for a message over the limit.
	for name, c := range map[string]authv1connect.AuthServiceClient{
		"grpc":     authv1connect.NewAuthServiceClient(f.h2c, f.url, connect.WithGRPC()),
		"grpc-web": authv1connect.NewAuthServiceClient(http.DefaultClient, f.url, connect.WithGRPCWeb()),
	} {
		_, err := c.Register(context.Background(), connect.NewRequest(&authv1.RegisterRequest{Username: strings.Repeat("a", 2<<20)}))
		assert.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err), "%s: %v", name, err)
	}
}

// TestRESTChecksAccessBeforeTheBody: a caller without access to a route is
// told so (401, 403) whatever the body holds; only an allowed caller learns
// that the body is malformed.
func TestRESTChecksAccessBeforeTheBody(t *testing.T) {
	f := newServer(t, nil)
	customer := session(t, f, "carla", identity.RoleCustomer)
	admin := session(t, f, "ada", identity.RoleAdmin)
	url := fmt.Sprintf("%s/api/products/%d/stock", f.url, f.laptop.ID)
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"not-a-token", http.StatusUnauthorized}, {customer, http.StatusForbidden}, {admin, http.StatusBadRequest}} {
		code, out := raw(t, "POST", url, c.token, "application/json", strings.NewReader(`{"delta":"abc"}`))
		assert.Equal(t, c.want, code, "%v", out)
	}
	// An allowed caller's call goes through as before.
	code, out := raw(t, "POST", url, admin, "application/json", strings.NewReader(`{"delta": -2, "reason": "damaged"}`))
	require.Equal(t, http.StatusOK, code, "%v", out)
	assert.Equal(t, int32(48), f.shop.Stock(t, f.laptop.ID))
}

// TestRESTGuardSeesTheRouteTheTranscoderServes: the guard matches routes as
// the transcoder does (decoded path, exact method), refuses compressed
// bodies (which would be inflated past the 1 MiB bound), and does not answer
// for methods the transcoder refuses.
func TestRESTGuardSeesTheRouteTheTranscoderServes(t *testing.T) {
	f := newServer(t, nil)
	// %2F decodes to a staff-only route: the guard checks that one.
	code, out := raw(t, "GET", fmt.Sprintf("%s/api/products/%d%%2Fstock%%2Fadjustments", f.url, f.laptop.ID), "", "", nil)
	assert.Equal(t, http.StatusUnauthorized, code, "%v", out)
	code, out = raw(t, "HEAD", f.url+"/api/orders", "", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code, "%v", out)

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(`{"username": "johndoe", "password": "` + strings.Repeat("a", 4<<20) + `"}`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	req, err := http.NewRequest("POST", f.url+"/api/auth/login", &gz)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)
}

// TestInvisibleCharactersAndOddIdempotencyKeys: text that only pretends
// ("admin" plus a zero-width space, a right-to-left override) is refused
// like control characters; an Idempotency-Key is printable ASCII.
func TestInvisibleCharactersAndOddIdempotencyKeys(t *testing.T) {
	f := newServer(t, nil)
	for _, name := range []string{"admin\u200b", "ad\u202emin", "\ufeffadmin"} {
		body, _ := json.Marshal(map[string]string{"username": name, "email": "x@example.com", "password": "SecurePass123!x"})
		code, out := raw(t, "POST", f.url+"/api/auth/register", "", "application/json", bytes.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, code, "%q: %v", name, out)
		assert.Contains(t, out["message"], "username: must not contain invisible")
	}
	tok := session(t, f, "ivy", identity.RoleCustomer)
	for _, key := range []string{"caf\xc3\xa9", "k\xff", strings.Repeat("k", 256)} {
		req, err := http.NewRequest("POST", f.url+"/api/orders", strings.NewReader(fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}], "shipping_address": "1 Main St, Springfield"}`, f.laptop.ID)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Idempotency-Key", key)
		code, out := send(t, req)
		assert.Equal(t, http.StatusBadRequest, code, "%q: %v", key, out)
		assert.Contains(t, out["message"], "Idempotency-Key")
	}
	assert.Equal(t, int32(50), f.shop.Stock(t, f.laptop.ID), "nothing was placed")
}
