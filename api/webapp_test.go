package api_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
)

func TestWebAppServesTheBundleAndHandsTheAPIOn(t *testing.T) {
	bundle := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><div id=root></div>" + strings.Repeat(" ", 1000))},
		"assets/app-abc1.js": {Data: []byte("console.log('app');" + strings.Repeat("/* pad */", 200))},
		"favicon.svg":        {Data: []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")},
	}
	apiHits := 0
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiHits++
		_, _ = io.WriteString(w, "api:"+r.URL.Path)
	})
	h, err := api.WebApp(backend, bundle, api.WebConfig{TestPayments: true, TemporalUIURL: "http://127.0.0.1:8233"})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string, hdr ...string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		// The raw transport: no transparent gzip, so the encoding is visible.
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = res.Body.Close() })
		return res
	}
	body := func(res *http.Response) string {
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return string(b)
	}

	// App routes answer index.html, never cached, under a strict CSP.
	for _, p := range []string{"/", "/p/12", "/account/orders/3", "/admin/orders"} {
		res := get(p)
		assert.Equal(t, http.StatusOK, res.StatusCode, p)
		assert.Contains(t, body(res), "<div id=root>", p)
		assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), p)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'", p)
	}
	// Hashed assets are immutable, and gzipped for clients that accept it.
	res := get("/assets/app-abc1.js", "Accept-Encoding", "gzip")
	assert.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(res.Body)
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(plain), "console.log('app');"))
	assert.Contains(t, res.Header.Get("Content-Type"), "javascript")
	// A conditional request with the ETag answers 304.
	res2 := get("/assets/app-abc1.js", "Accept-Encoding", "gzip", "If-None-Match", res.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, res2.StatusCode)

	// A missing file is 404, not the app.
	assert.Equal(t, http.StatusNotFound, get("/assets/gone.js").StatusCode)
	assert.Equal(t, http.StatusNotFound, get("/robots.txt").StatusCode)

	// The server's settings for the app.
	cfg := body(get("/web-config.json"))
	assert.JSONEq(t, `{"stripePublishableKey":"","testPayments":true,"temporalUiUrl":"http://127.0.0.1:8233","temporalNamespace":""}`, cfg)

	// The API's paths reach the API on the same origin.
	for _, p := range []string{"/api/products", "/shop.catalog.v1.CatalogService/GetProduct", "/healthz", "/images/x.webp", "/docs"} {
		assert.Equal(t, "api:"+p, body(get(p)), p)
	}
	before := apiHits
	res = func() *http.Response {
		r, err := http.Post(srv.URL+"/recommendations", "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Body.Close() })
		return r
	}()
	assert.Equal(t, "api:/recommendations", body(res))
	assert.Equal(t, before+1, apiHits)
}

func TestWebAppWithoutABuildSaysHowToBuildIt(t *testing.T) {
	h, err := api.WebApp(http.NotFoundHandler(), nil, api.WebConfig{})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "make web")
}
