package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/ratelimit"
)

// restCase is one request and the REST error it must answer.
type restCase struct {
	name, method, path, token, contentType string
	header                                 map[string]string
	body                                   io.Reader
	status                                 int
	code                                   connect.Code
	message                                string // a part of the message
}

// restErrorOf sends c and checks that the answer has the one REST error
// shape: {"code": <number>, "message": <text>, "details": [...]}, as JSON,
// and nothing else. It answers the details.
func restErrorOf(t *testing.T, base string, c restCase) []any {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, c.body)
	require.NoError(t, err)
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, c.name)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, c.status, res.StatusCode, "%s: %s", c.name, b)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s: %s", c.name, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "%s: %s", c.name, b)
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"code", "message", "details"}, keys, "%s: %s", c.name, b)
	code, ok := out["code"].(float64)
	require.True(t, ok, "%s: the code is a number: %s", c.name, b)
	assert.EqualValues(t, c.code, code, "%s: %s", c.name, b)
	assert.Contains(t, out["message"], c.message, "%s: %s", c.name, b)
	details, ok := out["details"].([]any)
	assert.True(t, ok, "%s: details is a list: %s", c.name, b)
	return details
}

// TestEveryRESTErrorHasOneShape: unknown routes used to answer
// {"code":"not_found"}, a body over the limit {"code":"invalid_argument"},
// a wrong method or content type plain text, while RPC errors answered
// {"code":5,...}. Every REST error now has the transcoder's shape.
func TestEveryRESTErrorHasOneShape(t *testing.T) {
	f := newServer(t, nil)
	customer := session(t, f, "shape-customer", identity.RoleCustomer)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"username":"johndoe","password":"SecurePass123!"}`))
	require.NoError(t, zw.Close())
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `"}`

	for _, c := range []restCase{
		{name: "unknown route", method: "GET", path: "/api/no-such-route", status: 404, code: connect.CodeNotFound,
			message: "no route for GET /api/no-such-route"},
		{name: "unknown route outside /api", method: "POST", path: "/auth/logout", contentType: "application/json",
			body: strings.NewReader(`{}`), status: 404, code: connect.CodeNotFound, message: "no route"},
		{name: "unknown product", method: "GET", path: "/api/products/424242", status: 404, code: connect.CodeNotFound,
			message: "not found"},
		{name: "wrong method", method: "PATCH", path: "/api/orders", status: 405, code: connect.CodeUnimplemented,
			message: "PATCH is not allowed on /api/orders; allowed: GET, POST"},
		{name: "wrong method with a body", method: "PUT", path: "/api/auth/login", contentType: "application/json",
			body: strings.NewReader(`{}`), status: 405, code: connect.CodeUnimplemented, message: "allowed: POST"},
		{name: "body over 1 MiB", method: "POST", path: "/api/auth/register", contentType: "application/json",
			body: strings.NewReader(big), status: 413, code: connect.CodeInvalidArgument, message: "larger than 1 MiB"},
		{name: "chunked body over 1 MiB", method: "POST", path: "/api/auth/register", contentType: "application/json",
			body: chunked{strings.NewReader(big)}, status: 413, code: connect.CodeInvalidArgument, message: "larger than 1 MiB"},
		{name: "compressed body", method: "POST", path: "/api/auth/login", contentType: "application/json",
			header: map[string]string{"Content-Encoding": "gzip"}, body: &gz, status: 415, code: connect.CodeInvalidArgument,
			message: "compressed request bodies"},
		{name: "not JSON", method: "POST", path: "/api/auth/login", contentType: "text/plain",
			body: strings.NewReader(`{}`), status: 415, code: connect.CodeInvalidArgument,
			message: `Content-Type "text/plain" is not accepted`},
		{name: "a body where none is taken", method: "GET", path: "/api/products", contentType: "application/json",
			body: strings.NewReader(`{"limit":1}`), status: 400, code: connect.CodeInvalidArgument, message: "takes no request body"},
		{name: "query text not UTF-8", method: "GET", path: "/api/products?search=%ff", status: 400,
			code: connect.CodeInvalidArgument, message: "search: must be valid UTF-8"},
		{name: "malformed JSON", method: "POST", path: "/api/auth/login", contentType: "application/json",
			body: strings.NewReader(`{"username":`), status: 400, code: connect.CodeInvalidArgument, message: "malformed request body"},
		{name: "no token", method: "GET", path: "/api/auth/me", status: 401, code: connect.CodeUnauthenticated, message: "sign in"},
		{name: "wrong password", method: "POST", path: "/api/auth/login", contentType: "application/json",
			body: strings.NewReader(`{"username":"admin","password":"admin"}`), status: 401, code: connect.CodeUnauthenticated,
			message: "invalid username or password"},
		{name: "wrong role", method: "GET", path: "/api/admin/users", token: customer, status: 403,
			code: connect.CodePermissionDenied, message: "role"},
	} {
		restErrorOf(t, f.url, c)
	}

	details := restErrorOf(t, f.url, restCase{name: "bad field", method: "GET", path: "/api/products?limit=500", status: 400,
		code: connect.CodeInvalidArgument, message: "limit: must be between 1 and 100"})
	require.Len(t, details, 1, "the field violation is kept")
	assert.Equal(t, "type.googleapis.com/google.rpc.BadRequest", details[0].(map[string]any)["@type"])

	// A call on an RPC's own path keeps the Connect protocol's format, which
	// Connect clients read.
	code, out := raw(t, "POST", f.url+"/shop.auth.v1.AuthService/Register", "", "application/json", strings.NewReader(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Equal(t, "invalid_argument", out["code"])
}

func TestRateLimitAndUnavailableRESTErrorsHaveTheShape(t *testing.T) {
	f := newServerWith(t, options{limits: map[string]ratelimit.Limit{
		"auth": {Rate: 1, Period: time.Minute}, "public": {Rate: 1000, Period: time.Minute},
	}})
	register := func() restCase {
		return restCase{name: "over the limit", method: "POST", path: "/api/auth/register", contentType: "application/json",
			body: strings.NewReader(`{"username":"x"}`), status: 429, code: connect.CodeResourceExhausted, message: "too many"}
	}
	code, _, _ := call(t, "POST", f.url+"/api/auth/register", "", `{"username":"x"}`)
	require.Equal(t, http.StatusBadRequest, code, "the first call is within the limit")
	restErrorOf(t, f.url, register())

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	down := newServerWith(t, options{redis: dead, limits: map[string]ratelimit.Limit{"login": {Rate: 5, Period: time.Minute}}})
	restErrorOf(t, down.url, restCase{name: "login while Redis is down", method: "POST", path: "/api/auth/login",
		contentType: "application/json", body: strings.NewReader(seedLogin), status: 503, code: connect.CodeUnavailable})
}

// TestLoginWithoutTheAPIPrefix: the original API's troubleshooting call,
// POST /auth/login, is the login route; it used to answer 404.
func TestLoginWithoutTheAPIPrefix(t *testing.T) {
	f := newServer(t, nil)
	code, _, body := call(t, "POST", f.url+"/api/auth/register", "", seedRegister)
	require.Equal(t, http.StatusOK, code, body)

	code, _, login := call(t, "POST", f.url+"/auth/login", "", seedLogin)
	require.Equal(t, http.StatusOK, code, login)
	assert.Equal(t, "bearer", login["token_type"])
	code, _, me := call(t, "GET", f.url+"/api/auth/me", login["access_token"].(string), "")
	require.Equal(t, http.StatusOK, code, me)
	assert.Equal(t, "johndoe", me["username"])

	// The seed's troubleshooting body, verbatim: an answer from the auth
	// service (no such user here), not a missing route.
	code, _, body = call(t, "POST", f.url+"/auth/login", "", `{"username":"admin","password":"admin"}`)
	assert.Equal(t, http.StatusUnauthorized, code, body)
	assert.EqualValues(t, connect.CodeUnauthenticated, body["code"])

	restErrorOf(t, f.url, restCase{name: "wrong method", method: "GET", path: "/auth/login", status: 405,
		code: connect.CodeUnimplemented, message: "allowed: POST"})
	restErrorOf(t, f.url, restCase{name: "a path below it", method: "POST", path: "/auth/login/x",
		contentType: "application/json", body: strings.NewReader(seedLogin), status: 404, code: connect.CodeNotFound})
}
