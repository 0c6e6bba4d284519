package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// pathParam matches a google.api.http variable with a pattern, {name=...},
// which OpenAPI writes {name}.
var pathParam = regexp.MustCompile(`\{([^}=]+)=[^}]*\}`)

func TestOpenAPIDocument(t *testing.T) {
	f := newServer(t, nil)
	resp, body := get(t, f.url+"/openapi.json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	require.NoError(t, doc.Validate(context.Background()))

	// Every REST route the API serves, with its method.
	routes := annotatedRoutes(t)
	require.NotEmpty(t, routes)
	for _, r := range routes {
		p := pathParam.ReplaceAllString(r.template, "{$1}")
		item := doc.Paths.Value(p)
		if assert.NotNil(t, item, "path %s of %s", p, r) {
			assert.NotNil(t, item.GetOperation(r.method), "%s", r)
		}
	}
	// Every RPC over Connect (POST /package.Service/Method).
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "shop.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				p := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				if item := doc.Paths.Value(p); assert.NotNil(t, item, p) {
					assert.NotNil(t, item.Post, p)
				}
			}
		}
		return true
	})

	// Who may call what follows the access rules: the catalog is public,
	// the admin's user list needs a token.
	require.Contains(t, doc.Components.SecuritySchemes, "bearer")
	public := doc.Paths.Value("/api/products").Get
	require.NotNil(t, public)
	require.NotNil(t, public.Security)
	assert.Empty(t, *public.Security)
	admin := doc.Paths.Value("/api/admin/users").Get
	require.NotNil(t, admin)
	require.NotNil(t, admin.Security)
	require.Len(t, *admin.Security, 1)
	assert.Contains(t, (*admin.Security)[0], "bearer")
	assert.Contains(t, admin.Description, "admin")

	// Every operation documents the errors it can answer, in the API's
	// error shape: google.rpc.Status on REST routes, Connect's own on
	// Connect paths.
	var ops int
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			what := method + " " + p
			if op.Security == nil {
				t.Errorf("%s: no security requirement", what)
			}
			if strings.HasPrefix(p, "/webhooks/") || p == "/healthz" || p == "/readyz" {
				continue // answers of their own, checked below
			}
			want := []string{"200", "400", "401", "429", "503"}
			if op.Security != nil && len(*op.Security) > 0 && strings.Contains(op.Description, "role") {
				want = append(want, "403")
			}
			if op.RequestBody != nil {
				want = append(want, "413", "415")
			}
			if method != http.MethodGet && !rpcPath(p) {
				want = append(want, "409")
			}
			if strings.Contains(p, "{") {
				want = append(want, "404")
			}
			errorShape := "google.rpc.Status"
			if rpcPath(p) {
				errorShape = "connect.error"
			}
			for _, code := range want {
				r := op.Responses.Value(code)
				if !assert.NotNil(t, r, "%s: no %s answer", what, code) || code == "200" {
					continue
				}
				require.NotNil(t, r.Value, "%s %s", what, code)
				assert.NotEmpty(t, *r.Value.Description, "%s %s", what, code)
				mt := r.Value.Content.Get("application/json")
				if assert.NotNil(t, mt, "%s %s", what, code) {
					assert.Equal(t, "#/components/schemas/"+errorShape, mt.Schema.Ref, "%s %s", what, code)
				}
				if code == "429" {
					h := r.Value.Headers["Retry-After"]
					if assert.NotNil(t, h, "%s 429: Retry-After", what) {
						assert.True(t, h.Value.Required, "%s 429: Retry-After", what)
					}
				}
			}
		}
	}
	assert.Greater(t, ops, 150)
	s := doc.Components.Schemas["google.rpc.Status"].Value
	assert.Contains(t, s.Properties, "code")
	assert.Contains(t, s.Properties, "message")
	assert.Contains(t, s.Properties, "details")
	// A customer may not list another customer's orders.
	assert.NotNil(t, doc.Paths.Value("/api/orders").Get.Responses.Value("403"))

	// The webhooks name their signature headers; the probes answer JSON.
	for p, header := range map[string]string{"/webhooks/stripe": "Stripe-Signature", "/webhooks/carrier": "Carrier-Signature"} {
		item := doc.Paths.Value(p)
		require.NotNil(t, item, p)
		require.NotNil(t, item.Post, p)
		param := item.Post.Parameters.GetByInAndName("header", header)
		if assert.NotNil(t, param, "%s: %s", p, header) {
			assert.True(t, param.Required)
		}
		for _, code := range []string{"200", "400", "503"} {
			assert.NotNil(t, item.Post.Responses.Value(code), "%s %s", p, code)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if item := doc.Paths.Value(p); assert.NotNil(t, item, p) {
			assert.NotNil(t, item.Get, p)
		}
	}
	assert.NotNil(t, doc.Paths.Value("/readyz").Get.Responses.Value("503"))
	assert.NotNil(t, doc.Paths.Value("/api/analytics").Post.Responses.Value("200").Value.Content.Get("text/csv"))
}

// readmeRoute matches a route the README names: "POST /api/orders",
// "GET /api/products/{id}".
var readmeRoute = regexp.MustCompile("\\b(GET|POST|PUT|PATCH|DELETE) (/[A-Za-z0-9_./{}$-]*)")

// TestOpenAPIDocumentHasREADMERoutes: every route the README names is in
// the document.
func TestOpenAPIDocumentHasREADMERoutes(t *testing.T) {
	f := newServer(t, nil)
	_, body := get(t, f.url+"/openapi.json")
	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)

	// Named as counter-examples (a route that does not exist, a method a
	// route does not take), a family of routes, or the Connect paths' prefix.
	notRoutes := map[string]bool{"GET /api/no-such-route": true, "PATCH /api/orders": true,
		"DELETE /api/products": true, "POST /shop": true}
	// A path's variables may be named differently: {id}, {product_id}, $O.
	shape := func(p string) string {
		parts := strings.Split(p, "/")
		for i, s := range parts {
			if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "$") {
				parts[i] = "{}"
			}
		}
		return strings.Join(parts, "/")
	}
	documented := map[string]bool{}
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+shape(p)] = true
		}
	}
	var n int
	for _, m := range readmeRoute.FindAllStringSubmatch(string(readme), -1) {
		r := m[1] + " " + strings.TrimRight(m[2], ".")
		if notRoutes[r] {
			continue
		}
		n++
		assert.True(t, documented[m[1]+" "+shape(strings.TrimRight(m[2], "."))], "README names %s; /openapi.json does not", r)
	}
	assert.Greater(t, n, 50)
}

// rpcPath says whether p is a Connect path: /package.Service/Method.
func rpcPath(p string) bool {
	service, _, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return ok && strings.Contains(service, ".")
}

func TestDocsPage(t *testing.T) {
	f := newServer(t, nil)
	resp, body := get(t, f.url+"/docs")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self';")
	assert.Contains(t, csp, "default-src 'none'")
	page := string(body)

	// Everything the page loads comes from the API itself: no CDN.
	assert.NotRegexp(t, `(?i)(https?:)?//`, page)
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	var scripts int
	for _, m := range refs {
		u, err := url.Parse(f.url + "/docs")
		require.NoError(t, err)
		u, err = u.Parse(m[1])
		require.NoError(t, err)
		resp, asset := get(t, u.String())
		require.Equal(t, http.StatusOK, resp.StatusCode, m[1])
		assert.NotEmpty(t, asset, m[1])
		assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"), m[1])
		if strings.HasSuffix(m[1], ".js") {
			scripts++
			assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"), m[1])
		} else {
			assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"), m[1])
		}
	}
	assert.Equal(t, 2, scripts, "the Swagger UI bundle and its start script")

	resp, _ = get(t, f.url+"/docs/assets/missing.js")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
