package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	authv1 "github.com/shopkit/shop/gen/shop/auth/v1"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/ratelimit"
)

// The seed's register and login examples, verbatim.
const (
	seedRegister = `{
  "username": "johndoe",
  "email": "john@example.com",
  "password": "SecurePass123!",
  "firstName": "John",
  "lastName": "Doe"
}`
	seedLogin = `{
  "username": "johndoe",
  "password": "SecurePass123!"
}`
)

func call(t *testing.T, method, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	return rawWithHeader(t, method, url, token, contentType, strings.NewReader(body))
}

func TestSeedAuthFlowOverREST(t *testing.T) {
	f := newServer(t, nil)
	code, _, body := call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "johndoe", body["username"])
	assert.Equal(t, "John", body["first_name"])
	assert.Equal(t, "customer", body["role"])
	assert.NotContains(t, body, "password")

	code, _, body = call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
	assert.Equal(t, http.StatusConflict, code, "a second registration: %v", body)

	code, _, login := call(t, "POST", f.url+"/api/auth/login", "", seedLogin)
	require.Equal(t, http.StatusOK, code, login)
	assert.Equal(t, "bearer", login["token_type"])
	assert.EqualValues(t, 60, login["expires_in"])
	assert.Len(t, login, 4, "exactly access_token, token_type, expires_in, refresh_token")
	access := login["access_token"].(string)
	refresh := login["refresh_token"].(string)

	code, _, me := call(t, "GET", f.url+"/api/auth/me", access, "")
	require.Equal(t, http.StatusOK, code, me)
	assert.Equal(t, "john@example.com", me["email"])

	code, _, next := call(t, "POST", f.url+"/api/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, code, next)
	code, _, _ = call(t, "POST", f.url+"/api/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	assert.Equal(t, http.StatusUnauthorized, code, "reuse is refused")
	code, _, _ = call(t, "POST", f.url+"/api/auth/refresh", "", `{"refresh_token":"`+next["refresh_token"].(string)+`"}`)
	assert.Equal(t, http.StatusUnauthorized, code, "and revokes the family")
	code, _, _ = call(t, "GET", f.url+"/api/auth/me", access, "")
	assert.Equal(t, http.StatusUnauthorized, code, "and ends the access tokens already issued")

	code, _, login = call(t, "POST", f.url+"/api/auth/login", "", seedLogin)
	require.Equal(t, http.StatusOK, code, login)
	access = login["access_token"].(string)
	code, _, _ = call(t, "POST", f.url+"/api/auth/logout", access, `{}`)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = call(t, "GET", f.url+"/api/auth/me", access, "")
	assert.Equal(t, http.StatusUnauthorized, code, "logout ends the access token too")

	code, _, login = call(t, "POST", f.url+"/api/auth/login", "", `{"username":"john@example.com","password":"SecurePass123!"}`)
	require.Equal(t, http.StatusOK, code, login)
	access = login["access_token"].(string)
	code, _, addr := call(t, "POST", f.url+"/api/auth/addresses", access,
		`{"kind":"shipping","full_name":"John Doe","line1":"123 Main St","city":"City","region":"NY","postal_code":"12345","country":"US"}`)
	require.Equal(t, http.StatusOK, code, addr)
	assert.Equal(t, true, addr["is_default"])
	code, _, body = call(t, "PUT", f.url+"/api/auth/addresses/"+addr["id"].(string), access,
		`{"kind":"shipping","full_name":"John Doe","line1":"1 New St","city":"City","postal_code":"12345","country":"XX1"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["message"], "country")
	code, _, _ = call(t, "DELETE", f.url+"/api/auth/addresses/"+addr["id"].(string), access, "")
	assert.Equal(t, http.StatusOK, code)
}

func TestBadRegistrationsNameTheField(t *testing.T) {
	f := newServer(t, nil)
	for field, body := range map[string]string{
		"email":    `{"username":"ann","email":"nope","password":"SecurePass123!"}`,
		"password": `{"username":"ann","email":"ann@example.com","password":"short"}`,
		"username": `{"email":"ann@example.com","password":"SecurePass123!"}`,
	} {
		code, _, out := call(t, "POST", f.url+"/api/auth/register", "", body)
		assert.Equal(t, http.StatusBadRequest, code, field)
		assert.Contains(t, out["message"], field)
	}
	code, _, _ := call(t, "POST", f.url+"/api/auth/register", "", `{"username": "ann",`)
	assert.Equal(t, http.StatusBadRequest, code, "malformed JSON")
}

func TestRegistrationRaceOverHTTP(t *testing.T) {
	f := newServer(t, nil)
	codes := make([]int, 20)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 19}, count)
}

// session registers a user with role and returns an access token.
func session(t *testing.T, f *fixture, name string, role identity.Role) string {
	t.Helper()
	ctx := context.Background()
	u, err := f.identity.CreateUser(ctx, identity.RegisterInput{Username: name, Email: name + "@example.com", Password: "SecurePass123!"}, role)
	require.NoError(t, err)
	s, _, err := f.identity.Login(ctx, u.Username, "SecurePass123!")
	require.NoError(t, err)
	return s.AccessToken
}

// TestAccessMatrix calls every procedure of every service as nobody, a
// customer, staff and an admin, and checks the gate's answer.
func TestAccessMatrix(t *testing.T) {
	f := newServer(t, nil)
	tokens := map[string]string{
		"anonymous": "",
		"customer":  session(t, f, "cathy", identity.RoleCustomer),
		"staff":     session(t, f, "steve", identity.RoleStaff),
		"admin":     session(t, f, "adele", identity.RoleAdmin),
	}
	// want: 'o' allowed (any answer but 401/403), 'u' 401, 'f' 403.
	matrix := map[string]string{
		"shop.catalog.v1.CatalogService/ListCategories":                   "oooo",
		"shop.catalog.v1.CatalogService/ListProducts":                     "oooo",
		"shop.catalog.v1.CatalogService/GetProduct":                       "oooo",
		"shop.catalog.v1.CatalogService/SearchProducts":                   "oooo",
		"shop.catalog.v1.CatalogService/SuggestProducts":                  "oooo",
		"shop.catalog.v1.CatalogService/CreateProduct":                    "uffo",
		"shop.catalog.v1.CatalogService/UpdateProduct":                    "ufoo",
		"shop.catalog.v1.CatalogService/ArchiveProduct":                   "uffo",
		"shop.catalog.v1.CatalogService/AdjustStock":                      "ufoo",
		"shop.catalog.v1.CatalogService/ListStockAdjustments":             "ufoo",
		"shop.catalog.v1.CatalogService/CreateVariant":                    "ufoo",
		"shop.catalog.v1.CatalogService/UpdateVariant":                    "ufoo",
		"shop.catalog.v1.CatalogService/CreateCategory":                   "uffo",
		"shop.catalog.v1.CatalogService/UpdateCategory":                   "uffo",
		"shop.catalog.v1.CatalogService/ArchiveCategory":                  "uffo",
		"shop.catalog.v1.CatalogService/ListProductImages":                "ufoo",
		"shop.catalog.v1.CatalogService/UpdateProductImage":               "ufoo",
		"shop.catalog.v1.CatalogService/ReorderProductImages":             "ufoo",
		"shop.catalog.v1.CatalogService/DeleteProductImage":               "ufoo",
		"shop.auth.v1.AuthService/Register":                               "oooo",
		"shop.auth.v1.AuthService/Login":                                  "oooo",
		"shop.auth.v1.AuthService/Refresh":                                "oooo",
		"shop.auth.v1.AuthService/Me":                                     "uooo",
		"shop.auth.v1.AuthService/UpdateProfile":                          "uooo",
		"shop.auth.v1.AuthService/ChangePassword":                         "uooo",
		"shop.auth.v1.AuthService/ListAddresses":                          "uooo",
		"shop.auth.v1.AuthService/AddAddress":                             "uooo",
		"shop.auth.v1.AuthService/UpdateAddress":                          "uooo",
		"shop.auth.v1.AuthService/DeleteAddress":                          "uooo",
		"shop.auth.v1.AuthService/ListUsers":                              "ufoo",
		"shop.auth.v1.AuthService/SetUserRole":                            "uffo",
		"shop.cart.v1.CartService/GetCart":                                "uooo",
		"shop.cart.v1.CartService/AddCartItem":                            "uooo",
		"shop.cart.v1.CartService/UpdateCartItem":                         "uooo",
		"shop.cart.v1.CartService/RemoveCartItem":                         "uooo",
		"shop.cart.v1.CartService/ApplyCoupon":                            "uooo",
		"shop.cart.v1.CartService/RemoveCoupon":                           "uooo",
		"shop.cart.v1.CartService/SetShipping":                            "uooo",
		"shop.cart.v1.CartService/ListShippingMethods":                    "oooo",
		"shop.cart.v1.CartService/CreateCoupon":                           "uffo",
		"shop.cart.v1.CartService/ListCoupons":                            "ufoo",
		"shop.cart.v1.CartService/UnsubscribeCartReminders":               "oooo",
		"shop.cart.v1.CartService/NotifyBackInStock":                      "uooo",
		"shop.inventory.v1.InventoryService/ListLocations":                "ufoo",
		"shop.inventory.v1.InventoryService/GetProductStock":              "ufoo",
		"shop.inventory.v1.InventoryService/AdjustLocationStock":          "ufoo",
		"shop.inventory.v1.InventoryService/TransferStock":                "ufoo",
		"shop.inventory.v1.InventoryService/CreateLocation":               "uffo",
		"shop.inventory.v1.InventoryService/UpdateLocation":               "uffo",
		"shop.order.v1.OrderService/CreateOrder":                          "uooo",
		"shop.order.v1.OrderService/ListOrders":                           "uooo",
		"shop.order.v1.OrderService/GetOrder":                             "uooo",
		"shop.order.v1.OrderService/CancelOrder":                          "uooo",
		"shop.order.v1.OrderService/RefundOrder":                          "ufoo",
		"shop.order.v1.OrderService/ResolveRefund":                        "ufoo",
		"shop.fulfilment.v1.FulfilmentService/ListShipments":              "ufoo",
		"shop.fulfilment.v1.FulfilmentService/GetShipment":                "ufoo",
		"shop.fulfilment.v1.FulfilmentService/PickShipment":               "ufoo",
		"shop.fulfilment.v1.FulfilmentService/PackShipment":               "ufoo",
		"shop.fulfilment.v1.FulfilmentService/ShipShipment":               "ufoo",
		"shop.fulfilment.v1.FulfilmentService/DeliverShipment":            "ufoo",
		"shop.fulfilment.v1.FulfilmentService/ReportShipmentProblem":      "ufoo",
		"shop.fulfilment.v1.FulfilmentService/ResolveLostShipment":        "ufoo",
		"shop.returns.v1.ReturnService/RequestReturn":                     "uooo",
		"shop.returns.v1.ReturnService/ListOrderReturns":                  "uooo",
		"shop.returns.v1.ReturnService/GetReturn":                         "uooo",
		"shop.returns.v1.ReturnService/ListReturns":                       "ufoo",
		"shop.returns.v1.ReturnService/ApproveReturn":                     "ufoo",
		"shop.returns.v1.ReturnService/RefuseReturn":                      "ufoo",
		"shop.returns.v1.ReturnService/ReceiveReturn":                     "ufoo",
		"shop.events.v1.EventService/RecordEvents":                        "oooo",
		"shop.recommendation.v1.RecommendationService/GetRecommendations": "oooo",
		"shop.recommendation.v1.RecommendationService/AlsoBought":         "oooo",
		"shop.analytics.v1.AnalyticsService/GetSalesAnalytics":            "ufoo",
		"shop.auth.v1.AuthService/Logout":                                 "uooo", // last: it ends the session
	}
	require.Len(t, matrix, len(api.Procedures()), "every procedure is in the matrix")
	var order []string
	for _, p := range api.Procedures() {
		if p = strings.TrimPrefix(p, "/"); !strings.HasSuffix(p, "/Logout") {
			order = append(order, p)
		}
	}
	for _, proc := range append(order, "shop.auth.v1.AuthService/Logout") {
		want, ok := matrix[proc]
		require.True(t, ok, "procedure %s has no row in the matrix", proc)
		for i, who := range []string{"anonymous", "customer", "staff", "admin"} {
			code, _, body := call(t, "POST", f.url+"/"+proc, tokens[who], `{}`)
			switch want[i] {
			case 'u':
				assert.Equal(t, http.StatusUnauthorized, code, "%s as %s: %v", proc, who, body)
			case 'f':
				assert.Equal(t, http.StatusForbidden, code, "%s as %s: %v", proc, who, body)
			default:
				assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, code, "%s as %s: %v", proc, who, body)
			}
		}
	}
}

func TestTokenAttacksGet401(t *testing.T) {
	f := newServer(t, nil)
	good := session(t, f, "victim", identity.RoleCustomer)
	parts := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"alg none":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"tampered":  parts[0] + "." + parts[1] + "x." + parts[2],
		"re-signed": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"garbage":   "garbage",
	} {
		code, _, _ := call(t, "GET", f.url+"/api/auth/me", tok, "")
		assert.Equal(t, http.StatusUnauthorized, code, name)
	}
	req, _ := http.NewRequest("GET", f.url+"/api/auth/me", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	f := newServerWith(t, options{limits: map[string]ratelimit.Limit{
		"auth":   {Rate: 3, Period: time.Minute},
		"public": {Rate: 1000, Period: time.Minute},
	}})
	var codes []int
	var retry string
	for range 5 {
		code, h, _ := call(t, "POST", f.url+"/api/auth/register", "", `{"username":"x"}`)
		codes = append(codes, code)
		if code == http.StatusTooManyRequests {
			retry = h.Get("Retry-After")
		}
	}
	assert.Equal(t, []int{400, 400, 400, 429, 429}, codes)
	secs, err := strconv.Atoi(retry)
	require.NoError(t, err, "Retry-After %q", retry)
	assert.InDelta(t, 20, secs, 1)

	// Connect clients see ResourceExhausted.
	c := authv1connect.NewAuthServiceClient(http.DefaultClient, f.url)
	_, err = c.Register(context.Background(), connect.NewRequest(&authv1.RegisterRequest{}))
	assert.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err))
}

func TestRedisDownFailsOpenExceptLogin(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	f := newServerWith(t, options{redis: dead, limits: map[string]ratelimit.Limit{
		"login": {Rate: 5, Period: time.Minute}, "public": {Rate: 5, Period: time.Minute},
	}})
	code, _, _ := call(t, "GET", f.url+"/api/products", "", "")
	assert.Equal(t, http.StatusOK, code, "reads keep working")
	code, _, body := call(t, "POST", f.url+"/api/auth/login", "", seedLogin)
	assert.Equal(t, http.StatusServiceUnavailable, code, "login fails closed: %v", body)
}

func TestCORSAndSecurityHeaders(t *testing.T) {
	f := newServer(t, nil)
	req, _ := http.NewRequest("OPTIONS", f.url+"/shop.catalog.v1.CatalogService/ListProducts", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,connect-protocol-version,content-type")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "http://localhost:3000", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "connect-protocol-version")

	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	res, err = http.Get(f.url + "/api/products")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	assert.NotEmpty(t, res.Header.Get("Content-Security-Policy"))
}

// Switching between username and email buys no extra guesses: failures
// count against the account as well as the name typed.
func TestLoginLockoutSpansUsernameAndEmail(t *testing.T) {
	f := newServer(t, nil)
	code, _, body := call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
	require.Equal(t, http.StatusOK, code, body)
	var codes []int
	for i := range 5 { // the default policy locks at the fifth failure
		name := []string{"johndoe", "john@example.com"}[i%2]
		code, _, _ := call(t, "POST", f.url+"/api/auth/login", "", `{"username":"`+name+`","password":"WrongPass123!"}`)
		codes = append(codes, code)
	}
	assert.Equal(t, []int{401, 401, 401, 401, 429}, codes)
	for _, name := range []string{"johndoe", "john@example.com", "JohnDoe"} {
		code, h, body := call(t, "POST", f.url+"/api/auth/login", "", `{"username":"`+name+`","password":"SecurePass123!"}`)
		assert.Equal(t, http.StatusTooManyRequests, code, "%s: %v", name, body)
		secs, err := strconv.Atoi(h.Get("Retry-After"))
		require.NoError(t, err, "Retry-After %q", h.Get("Retry-After"))
		assert.InDelta(t, 30, secs, 1)
	}
}

// A reused refresh token ends the access tokens of the user, not only the
// refresh tokens of its family.
func TestRefreshReuseEndsAccessTokens(t *testing.T) {
	f := newServer(t, nil)
	code, _, user := call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
	require.Equal(t, http.StatusOK, code, user)
	code, _, login := call(t, "POST", f.url+"/api/auth/login", "", seedLogin)
	require.Equal(t, http.StatusOK, code, login)
	access, refresh := login["access_token"].(string), login["refresh_token"].(string)
	code, _, next := call(t, "POST", f.url+"/api/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, code, next)
	code, _, _ = call(t, "GET", f.url+"/api/cart", access, "")
	require.Equal(t, http.StatusOK, code, "rotation alone leaves the access token working")

	code, _, body := call(t, "POST", f.url+"/api/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusUnauthorized, code, "reuse: %v", body)
	for name, tok := range map[string]string{"first": access, "rotated": next["access_token"].(string)} {
		for _, route := range []string{"/api/cart", "/api/auth/me"} {
			code, _, body := call(t, "GET", f.url+route, tok, "")
			assert.Equal(t, http.StatusUnauthorized, code, "%s access token on %s: %v", name, route, body)
		}
	}
	var version int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(),
		`SELECT token_version FROM users WHERE username = 'johndoe'`).Scan(&version))
	assert.Equal(t, 2, version, "the reuse bumped the user's token version once")

	code, _, login = call(t, "POST", f.url+"/api/auth/login", "", seedLogin)
	require.Equal(t, http.StatusOK, code, login)
	code, _, me := call(t, "GET", f.url+"/api/auth/me", login["access_token"].(string), "")
	require.Equal(t, http.StatusOK, code, "a fresh login works: %v", me)
}

func TestTheLastAdminCannotDemoteItself(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	var admins int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&admins))
	require.Zero(t, admins)
	adele := session(t, f, "adele", identity.RoleAdmin)
	code, _, me := call(t, "GET", f.url+"/api/auth/me", adele, "")
	require.Equal(t, http.StatusOK, code, me)
	id := me["id"].(string)

	code, _, body := call(t, "POST", f.url+"/api/admin/users/"+id+"/role", adele, `{"role":"customer"}`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.EqualValues(t, connect.CodeFailedPrecondition, body["code"])
	assert.Contains(t, body["message"], "at least one active admin")
	var role string
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&role))
	assert.Equal(t, "admin", role)
	code, _, _ = call(t, "GET", f.url+"/api/admin/users", adele, "")
	assert.Equal(t, http.StatusOK, code, "the refused change ended no session")

	session(t, f, "bruno", identity.RoleAdmin)
	code, _, body = call(t, "POST", f.url+"/api/admin/users/"+id+"/role", adele, `{"role":"staff"}`)
	require.Equal(t, http.StatusOK, code, "another admin remains: %v", body)
	assert.Equal(t, "staff", body["role"])
}

// When the revocation check cannot run, a token is not trusted: signed-in
// calls answer 503, public ones are served as to an anonymous caller.
func TestRevocationCheckDownAnswers503(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	tok := session(t, f, "cathy", identity.RoleCustomer)
	_, err := f.shop.Pool.Exec(ctx, `ALTER TABLE users RENAME TO users_offline`)
	require.NoError(t, err)
	restore := func() { _, _ = f.shop.Pool.Exec(ctx, `ALTER TABLE IF EXISTS users_offline RENAME TO users`) }
	t.Cleanup(restore)

	code, h, body := call(t, "GET", f.url+"/api/auth/me", tok, "")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.EqualValues(t, connect.CodeUnavailable, body["code"])
	assert.NotEmpty(t, h.Get("X-Request-Id"))
	code, _, body = call(t, "GET", f.url+"/api/products", tok, "")
	assert.Equal(t, http.StatusOK, code, "a public read goes on without the token: %v", body)

	restore()
	code, _, body = call(t, "GET", f.url+"/api/auth/me", tok, "")
	assert.Equal(t, http.StatusOK, code, body)
}
