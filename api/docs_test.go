package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
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
