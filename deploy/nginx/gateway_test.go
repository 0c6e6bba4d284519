// Package nginx_test runs Debian's nginx with the gateway's rendered
// configuration in front of real API servers and sends real requests through.
package nginx_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/api"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
)

// The limits the gateway runs with in this test (GATEWAY_* variables).
const (
	rate      = 20 // per second and client IP
	burst     = 30
	authBurst = 2
	products  = 60 // enough for a product list well over gzip_min_length
)

// nginxBinary is Debian's nginx; a missing one fails the test under
// `make test` and in CI (deploy/test.sh installs it), and skips it elsewhere.
func nginxBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GATEWAY_NGINX")
	if bin == "" {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("nginx is not installed at %s (%v): `deploy/nginx/gateway.sh install` installs Debian's package", bin, err)
		if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// upstream is one real API server, counting what reaches it.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last http.Header // the last request's headers
}

func (u *upstream) lastHeader(name string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last.Get(name)
}

func (u *upstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

func startUpstream(t *testing.T, h http.Handler) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.last = r.Header.Clone()
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	// As `shop api` serves: HTTP/1.1 and cleartext HTTP/2 (for grpc_pass).
	u.srv.Config.Protocols = new(http.Protocols)
	u.srv.Config.Protocols.SetHTTP1(true)
	u.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

type staticModels struct{ loaded *modelstore.Loaded }

func (s staticModels) Current() *modelstore.Loaded { return s.loaded }

// seededDB is a fresh test database with a catalog of products.
func seededDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.New(t)
	var items []catalog.ProductInput
	for i := range products {
		items = append(items, catalog.ProductInput{SKU: fmt.Sprintf("GW-%03d", i), Name: fmt.Sprintf("Gateway product %d", i),
			Description: "A product long enough in words to make the product list worth compressing on its way out.",
			Category:    "Gateway", Price: money.Money{Amount: int64(1000 + i), Currency: "USD"}, StockQuantity: 10})
	}
	_, err := catalog.NewStore(pool).UpsertProducts(context.Background(), items)
	require.NoError(t, err)
	return pool
}

// viaProxy is a pool on the same database through a proxy that can cut it off.
func viaProxy(t *testing.T, pool *pgxpool.Pool) (*pgxpool.Pool, *testenv.Proxy) {
	t.Helper()
	u, err := url.Parse(dbtest.URL(pool))
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg, err := pgxpool.ParseConfig(u.String())
	require.NoError(t, err)
	cfg.ConnConfig.ConnectTimeout = time.Second
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, proxy
}

// apiHandler is the real API handler over pool, as `shop api` and `shop
// recommender` serve it (the app's own rate limits off: the gateway's are
// under test).
func apiHandler(t *testing.T, pool *pgxpool.Pool) http.Handler {
	t.Helper()
	ctx := context.Background()
	store := catalog.NewStore(pool)
	rdb := testenv.Redis(t)
	prefix := testenv.UniqueName("test-gateway-") + ":"
	tokens, err := identity.NewTokens(identity.TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: time.Minute,
		Keys: map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, ActiveKey: "k"})
	require.NoError(t, err)
	ids := identity.NewService(pool, tokens, ratelimit.NewLockout(rdb, prefix+"lock:", ratelimit.LockoutPolicy{}),
		time.Hour, slog.New(slog.DiscardHandler))

	// A small model of a few shoppers, so that recommendations answer.
	snap, err := signals.Read(ctx, pool)
	require.NoError(t, err)
	var ins []recommender.Interaction
	for u := range int64(4) {
		for i, it := range snap.Items {
			if (int64(i)+u)%3 == 0 {
				ins = append(ins, recommender.Interaction{UserID: u + 1, ItemID: it.ID, Kind: recommender.Purchase, At: time.Now().Add(-time.Hour)})
			}
		}
	}
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 4, 2
	m, err := recommender.Train(ins, snap.Items, cfg)
	require.NoError(t, err)

	h, err := api.NewHandler(api.Deps{
		Logger: slog.New(slog.DiscardHandler), Catalog: store, Search: search.NewPostgres(pool), Identity: ids,
		Ready:        map[string]api.Check{"postgres": pool.Ping},
		StripeEvents: payments.NewEvents(pool), StripeWebhookSecret: "whsec_gateway_test",
		Recommendations:   staticModels{&modelstore.Loaded{Version: "gateway", Model: m}},
		Metrics:           metrics.Handler(),
		TrustProxyHeaders: true,
	})
	require.NoError(t, err)
	return h
}

// webBundle stands in for the built web app (web/dist/app): an index.html
// and a content-hashed script, large enough to be served gzipped.
var webBundle = fstest.MapFS{
	"index.html": {Data: []byte(`<!doctype html><html><head><script type="module" src="/assets/index-Gw3b5e7a.js"></script></head>` +
		`<body><div id="root"></div></body></html>`)},
	"assets/index-Gw3b5e7a.js": {Data: bytes.Repeat([]byte("export const storefront = () => document.getElementById('root');\n"), 64)},
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// gateway is a running nginx with the rendered configuration.
type gateway struct {
	https, http string // base URLs
	certs       *x509.CertPool
	prefix      string
}

// startGateway renders the configuration with deploy/nginx/gateway.sh and
// runs nginx from a prefix in a temporary directory until the test ends.
func startGateway(t *testing.T, nginx string, apis []string, reco, web string) *gateway {
	t.Helper()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "gateway")
	httpPort, httpsPort := freePort(t), freePort(t)
	render := exec.Command("bash", "gateway.sh", "render")
	render.Env = append(os.Environ(),
		"DATA_DIR="+dir, "GATEWAY_PREFIX="+prefix, "GATEWAY_NGINX="+nginx, "GATEWAY_WORKERS=1",
		fmt.Sprintf("GATEWAY_HTTP_LISTEN=127.0.0.1:%d", httpPort),
		fmt.Sprintf("GATEWAY_HTTPS_LISTEN=127.0.0.1:%d", httpsPort),
		"GATEWAY_API_UPSTREAMS="+strings.Join(apis, ","), "GATEWAY_RECOMMENDER_UPSTREAMS="+reco,
		"GATEWAY_WEB_UPSTREAMS="+web,
		fmt.Sprintf("GATEWAY_RATE=%dr/s", rate), fmt.Sprintf("GATEWAY_BURST=%d", burst),
		"GATEWAY_AUTH_RATE=6r/m", fmt.Sprintf("GATEWAY_AUTH_BURST=%d", authBurst))
	out, err := render.CombinedOutput()
	require.NoError(t, err, "gateway.sh render: %s", out)

	cmd := exec.Command(nginx, "-p", prefix+"/", "-c", "conf/nginx.conf", "-e", "logs/error.log")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful, as gateway.sh stop
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})

	pem, err := os.ReadFile(filepath.Join(prefix, "tls", "cert.pem"))
	require.NoError(t, err)
	certs := x509.NewCertPool()
	require.True(t, certs.AppendCertsFromPEM(pem))

	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "nginx does not listen on :%d: %v", httpsPort, err)
		// Until it listens, or at once when it exits (a bad config).
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, stderr.String(), b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return &gateway{https: fmt.Sprintf("https://127.0.0.1:%d", httpsPort), http: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		certs: certs, prefix: prefix}
}

// client talks to the gateway over TLS (certificate checked, HTTP/2 when
// offered) from the loopback address 127.0.0.<from>, so each test is a
// client IP of its own for the rate limits. It sees responses as sent
// (no transparent gzip) and does not follow redirects.
func (g *gateway) client(from byte) *http.Client {
	d := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:        d.DialContext,
			TLSClientConfig:    &tls.Config{RootCAs: g.certs, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:  true,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// client1 is client limited to HTTP/1.1 (no ALPN h2).
func (g *gateway) client1(from byte) *http.Client {
	c := g.client(from)
	tr := c.Transport.(*http.Transport)
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	return c
}

func call(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, b
}

func TestGateway(t *testing.T) {
	nginx := nginxBinary(t)
	h := apiHandler(t, seededDB(t))
	apiA, apiB, reco := startUpstream(t, h), startUpstream(t, h), startUpstream(t, h)
	// The web listener of `shop api` (WEB_ADDR): the storefront bundle, with
	// the API behind it, plus one page that is rate limited by the upstream
	// itself.
	app, err := api.WebApp(h, webBundle, api.WebConfig{})
	require.NoError(t, err)
	store := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" {
			w.Header().Set("Retry-After", "37")
			http.Error(w, "busy", http.StatusTooManyRequests)
			return
		}
		app.ServeHTTP(w, r)
	}))
	gw := startGateway(t, nginx, []string{apiA.addr(), apiB.addr()}, reco.addr(), store.addr())
	apiHits := func() int64 { return apiA.hits.Load() + apiB.hits.Load() }

	t.Run("TLS 1.2+ with the self-signed certificate and HTTP/2 by ALPN", func(t *testing.T) {
		for _, name := range []string{"localhost", "127.0.0.1"} {
			conn, err := tls.Dial("tcp", strings.TrimPrefix(gw.https, "https://"),
				&tls.Config{RootCAs: gw.certs, ServerName: name, NextProtos: []string{"h2", "http/1.1"}})
			require.NoError(t, err, "the certificate is valid for %s", name)
			st := conn.ConnectionState()
			assert.Equal(t, "h2", st.NegotiatedProtocol)
			assert.GreaterOrEqual(t, st.Version, uint16(tls.VersionTLS12))
			_ = conn.Close()
		}
		_, err := tls.Dial("tcp", strings.TrimPrefix(gw.https, "https://"),
			&tls.Config{RootCAs: gw.certs, MaxVersion: tls.VersionTLS11})
		assert.Error(t, err, "TLS 1.1 is refused")

		res, _ := call(t, gw.client(2), http.MethodGet, gw.https+"/healthz", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "HTTP/2.0", res.Proto)
	})

	t.Run("REST reaches the API instances", func(t *testing.T) {
		before := apiHits()
		res, body := call(t, gw.client(3), http.MethodGet, gw.https+"/api/products?limit=5", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		var page struct {
			Products []struct {
				SKU string `json:"sku"`
			} `json:"products"`
		}
		require.NoError(t, json.Unmarshal(body, &page))
		assert.Len(t, page.Products, 5)
		assert.Equal(t, before+1, apiHits())
		assert.Zero(t, reco.hits.Load())
	})

	t.Run("Connect, gRPC-Web and native gRPC reach the API", func(t *testing.T) {
		c := gw.client(4)
		for name, opts := range map[string][]connect.ClientOption{
			"connect":  {connect.WithProtoJSON()},
			"grpc-web": {connect.WithGRPCWeb()},
			"grpc":     {connect.WithGRPC()},
		} {
			before := apiHits()
			cc := catalogv1connect.NewCatalogServiceClient(c, gw.https, opts...)
			res, err := cc.ListProducts(context.Background(), connect.NewRequest(&catalogv1.ListProductsRequest{Limit: 3}))
			require.NoError(t, err, name)
			assert.Len(t, res.Msg.GetProducts(), 3, name)
			assert.Equal(t, int32(products), res.Msg.GetTotal(), name)
			assert.Equal(t, before+1, apiHits(), name)
			// The API's own errors pass through in each protocol.
			_, err = cc.ListProducts(context.Background(), connect.NewRequest(&catalogv1.ListProductsRequest{Limit: 101}))
			assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), name)
		}
	})

	t.Run("the storefront and its assets reach the web listener, the API's paths the API", func(t *testing.T) {
		c := gw.client(61)
		for _, path := range []string{"/", "/products/gw-001", "/admin/orders"} {
			before, webBefore := apiHits(), store.hits.Load()
			res, body := call(t, c, http.MethodGet, gw.https+path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, body)
			assert.Contains(t, string(body), `<div id="root">`, "%s: the app's index.html", path)
			assert.Equal(t, webBefore+1, store.hits.Load(), "%s: the web listener answered", path)
			assert.Equal(t, before, apiHits(), "%s: not the API instances", path)
			assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), "%s: index.html is never cached", path)
			csp := res.Header.Values("Content-Security-Policy")
			require.Len(t, csp, 1, path)
			assert.Contains(t, csp[0], "script-src 'self' https://js.stripe.com", "%s: the app's own CSP, not the gateway's", path)
		}

		// Hashed assets: the year-long, immutable cache header, the web
		// listener's gzip and ETag, all as the web listener sent them.
		for _, proto := range []*http.Client{c, gw.client1(61)} {
			webBefore := store.hits.Load()
			res, body := call(t, proto, http.MethodGet, gw.https+"/assets/index-Gw3b5e7a.js", nil, "Accept-Encoding", "gzip")
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
			assert.Equal(t, webBefore+1, store.hits.Load())
			assert.Equal(t, []string{"public, max-age=31536000, immutable"}, res.Header.Values("Cache-Control"))
			assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
			assert.Regexp(t, `^"[0-9a-z]+-gz"$`, res.Header.Get("ETag"), "the web listener's ETag")
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.Equal(t, webBundle["assets/index-Gw3b5e7a.js"].Data, plain)
			assert.Contains(t, res.Header.Get("Content-Type"), "javascript")

			// Revalidation passes through: 304 from the web listener.
			res, _ = call(t, proto, http.MethodGet, gw.https+"/assets/index-Gw3b5e7a.js", nil,
				"Accept-Encoding", "gzip", "If-None-Match", res.Header.Get("ETag"))
			assert.Equal(t, http.StatusNotModified, res.StatusCode)
		}
		res, _ := call(t, c, http.MethodGet, gw.https+"/assets/missing-0000.js", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "a missing asset is not the app's index.html")

		// The API's paths still go to the API instances, never the web listener.
		for _, path := range []string{"/api/products?limit=2", "/healthz", "/openapi.json"} {
			before, webBefore := apiHits(), store.hits.Load()
			res, body := call(t, c, http.MethodGet, gw.https+path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, body)
			assert.Equal(t, before+1, apiHits(), path)
			assert.Equal(t, webBefore, store.hits.Load(), "%s is not the web listener's", path)
		}
		before, webBefore := apiHits(), store.hits.Load()
		res, _ = call(t, c, http.MethodGet, gw.https+"/images/none.webp", nil)
		assert.NotEqual(t, http.StatusOK, res.StatusCode, "no such image")
		assert.Equal(t, before+1, apiHits(), "product images are the API's")
		assert.Equal(t, webBefore, store.hits.Load())
	})

	t.Run("the API reference reaches the API instances, with the API's CSP", func(t *testing.T) {
		c := gw.client(60)
		for _, path := range []string{"/openapi.json", "/docs"} {
			before, storeBefore := apiA.hits.Load()+apiB.hits.Load(), store.hits.Load()
			res, body := call(t, c, http.MethodGet, gw.https+path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, body)
			assert.Equal(t, before+1, apiA.hits.Load()+apiB.hits.Load(), path)
			assert.Equal(t, storeBefore, store.hits.Load(), "%s is not the storefront's", path)
			assert.Len(t, res.Header.Values("Content-Security-Policy"), 1, path)
		}
	})

	t.Run("recommendations reach the recommendation service", func(t *testing.T) {
		before, beforeReco := apiHits(), reco.hits.Load()
		res, body := call(t, gw.client(5), http.MethodPost, gw.https+"/recommendations",
			strings.NewReader(`{"limit": 3}`), "Content-Type", "application/json")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		var out struct {
			Recommendations []json.RawMessage `json:"recommendations"`
		}
		require.NoError(t, json.Unmarshal(body, &out))
		assert.NotEmpty(t, out.Recommendations)
		assert.Equal(t, beforeReco+1, reco.hits.Load())
		assert.Equal(t, before, apiHits())
	})

	t.Run("metrics are not served through the gateway", func(t *testing.T) {
		c := gw.client(6)
		before, webHits := apiHits()+reco.hits.Load(), store.hits.Load()
		for _, path := range []string{"/metrics", "/metrics/", "/api/../metrics", "/api/%2e%2e/metrics"} {
			res, body := call(t, c, http.MethodGet, gw.https+path, nil)
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
			assert.NotContains(t, string(body), "go_goroutines", path)
		}
		res, _ := call(t, c, http.MethodGet, gw.http+"/metrics", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.Equal(t, before, apiHits()+reco.hits.Load(), "no upstream was asked")
		assert.Equal(t, webHits, store.hits.Load(), "no upstream was asked")

		// Nor with a native gRPC content type, over HTTP/2 or HTTP/1.1, nor
		// by another spelling of the path that nginx normalises to /metrics.
		paths := []string{"/metrics", "/metrics/", "/metrics/x", "//metrics", "///metrics", "/%6detrics", "/%2Fmetrics",
			"/api/../metrics", "/api/%2e%2e/metrics", "/api/..%2Fmetrics", "/shop.catalog.v1.CatalogService/../metrics",
			"/shop.catalog.v1.CatalogService/%2e%2e/metrics", "/grpc.health.v1.Health/..%2Fmetrics"}
		for proto, c := range map[string]*http.Client{"h2": gw.client(6), "http/1.1": gw.client1(6)} {
			for _, ct := range []string{"application/grpc", "application/grpc+proto", "application/grpc-web", "application/json"} {
				for _, path := range paths {
					for _, method := range []string{http.MethodGet, http.MethodPost} {
						res, body := call(t, c, method, gw.https+path, strings.NewReader(""), "Content-Type", ct)
						assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s %s %s", proto, ct, method, path)
						assert.False(t, strings.Contains(string(body), "go_goroutines"), "%s %s %s %s: metrics", proto, ct, method, path)
					}
				}
			}
		}
		assert.Equal(t, before, apiHits()+reco.hits.Load(), "no upstream was asked")
		assert.Equal(t, webHits, store.hits.Load(), "no upstream was asked")

		// Paths are case-sensitive in nginx and in the API alike: this one
		// reaches the web listener, which hands a POST to the API, which has
		// no such route.
		for _, c := range []*http.Client{gw.client(6), gw.client1(6)} {
			res, body := call(t, c, http.MethodPost, gw.https+"/METRICS", strings.NewReader(""), "Content-Type", "application/grpc")
			assert.Equal(t, http.StatusNotFound, res.StatusCode)
			assert.False(t, strings.Contains(string(body), "go_goroutines"), "metrics")
		}
		// The API itself serves them (to Prometheus, on the private network).
		direct, err := http.Get(apiA.srv.URL + "/metrics")
		require.NoError(t, err)
		_ = direct.Body.Close()
		assert.Equal(t, http.StatusOK, direct.StatusCode)
	})

	t.Run("webhooks reach the API once", func(t *testing.T) {
		before := apiHits()
		res, body := call(t, gw.client(7), http.MethodPost, gw.https+"/webhooks/stripe",
			strings.NewReader(`{"id":"evt_1","type":"payment_intent.succeeded"}`),
			"Content-Type", "application/json", "Stripe-Signature", "t=1,v1=bad")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "the API checks the signature: %s", body)
		assert.Equal(t, before+1, apiHits())
	})

	t.Run("a burst from one client gets 429, other clients are not affected", func(t *testing.T) {
		c := gw.client(8)
		res, _ := call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, "a request within the limit passes")

		// Three bursts' worth at once, each claiming another X-Forwarded-For:
		// the gateway counts them all against the connection's address.
		var mu sync.Mutex
		codes := map[int]int{}
		var limited http.Header
		var limitedBody []byte
		var wg sync.WaitGroup
		for i := range 3 * burst {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, gw.https+"/api/products?limit=1", nil)
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
				res, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				mu.Lock()
				defer mu.Unlock()
				codes[res.StatusCode]++
				if res.StatusCode == http.StatusTooManyRequests {
					limited, limitedBody = res.Header, body
				}
			})
		}
		wg.Wait()
		assert.Positive(t, codes[http.StatusOK], "%v", codes)
		require.Positive(t, codes[http.StatusTooManyRequests], "%v", codes)
		assert.Equal(t, 3*burst, codes[http.StatusOK]+codes[http.StatusTooManyRequests], "%v", codes)
		assert.Equal(t, []string{"1"}, limited.Values("Retry-After"))
		assert.JSONEq(t, `{"code":8,"message":"too many requests; retry after 1s","details":[]}`, string(limitedBody))

		res, _ = call(t, gw.client(9), http.MethodGet, gw.https+"/api/products?limit=1", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, "another client IP has its own bucket")
		// Health checks are never limited.
		res, _ = call(t, c, http.MethodGet, gw.https+"/healthz", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})

	t.Run("logins have a smaller bucket", func(t *testing.T) {
		c := gw.client(10)
		var codes []int
		var last *http.Response
		var lastBody []byte
		for range authBurst + 3 {
			last, lastBody = call(t, c, http.MethodPost, gw.https+"/api/auth/login",
				strings.NewReader(`{"username":"nobody","password":"wrong-password-1"}`), "Content-Type", "application/json")
			codes = append(codes, last.StatusCode)
		}
		assert.Equal(t, http.StatusUnauthorized, codes[0], "the API answers the first: %v", codes)
		assert.Equal(t, http.StatusTooManyRequests, codes[len(codes)-1], "%v", codes)
		// At 6r/m the bucket has room again in 10 s.
		assert.Equal(t, []string{"10"}, last.Header.Values("Retry-After"))
		assert.JSONEq(t, `{"code":8,"message":"too many requests; retry after 10s","details":[]}`, string(lastBody))
		// The same bucket over Connect, in Connect's shape.
		res, body := call(t, c, http.MethodPost, gw.https+"/shop.auth.v1.AuthService/Login",
			strings.NewReader(`{"username":"nobody","password":"wrong-password-1"}`), "Content-Type", "application/json")
		assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
		assert.Equal(t, []string{"10"}, res.Header.Values("Retry-After"))
		assert.JSONEq(t, `{"code":"resource_exhausted","message":"too many requests; retry after 10s"}`, string(body))
		res, _ = call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, "other routes are not in the login bucket")
	})

	t.Run("an upstream's 429 keeps its own Retry-After, and only that", func(t *testing.T) {
		for _, c := range []*http.Client{gw.client(18), gw.client1(18)} {
			before := store.hits.Load()
			res, _ := call(t, c, http.MethodGet, gw.https+"/busy", nil)
			assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
			assert.Equal(t, []string{"37"}, res.Header.Values("Retry-After"))
			assert.Equal(t, before+1, store.hits.Load(), "the upstream answered")
		}
	})

	t.Run("a body over 1 MiB gets 413 from the gateway", func(t *testing.T) {
		c := gw.client(11)
		before := apiHits()
		big := bytes.Repeat([]byte("a"), 1<<20+1)
		res, body := call(t, c, http.MethodPost, gw.https+"/api/products", bytes.NewReader(big), "Content-Type", "application/json")
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		assert.JSONEq(t, `{"code":3,"message":"request body is larger than 1 MiB","details":[]}`, string(body))
		res, body = call(t, c, http.MethodPost, gw.https+"/shop.catalog.v1.CatalogService/ListProducts", bytes.NewReader(big),
			"Content-Type", "application/json")
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		assert.JSONEq(t, `{"code":"invalid_argument","message":"request body is larger than 1 MiB"}`, string(body))
		assert.Equal(t, before, apiHits(), "the API never saw them")

		// Exactly 1 MiB passes on (the API answers it: not JSON it accepts).
		res, _ = call(t, c, http.MethodPost, gw.https+"/api/products", bytes.NewReader(big[:1<<20]), "Content-Type", "application/json")
		assert.NotEqual(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		assert.Equal(t, before+1, apiHits())
	})

	t.Run("the request id is passed on and returned", func(t *testing.T) {
		c := gw.client(12)
		res, _ := call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil, "X-Request-Id", "checkout-debug-42")
		assert.Equal(t, []string{"checkout-debug-42"}, res.Header.Values("X-Request-Id"))
		seen := func() string {
			if v := apiA.lastHeader("X-Request-Id"); v == "checkout-debug-42" {
				return v
			}
			return apiB.lastHeader("X-Request-Id")
		}
		assert.Equal(t, "checkout-debug-42", seen())

		res, _ = call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
		ids := res.Header.Values("X-Request-Id")
		require.Len(t, ids, 1)
		assert.Regexp(t, `^[0-9a-f]{32}$`, ids[0], "made by the gateway")
		assert.Contains(t, []string{apiA.lastHeader("X-Request-Id"), apiB.lastHeader("X-Request-Id")}, ids[0], "the API got the same id")

		// One the API would refuse is replaced, not passed on.
		res, _ = call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil, "X-Request-Id", "bad id <script>")
		assert.Regexp(t, `^[0-9a-f]{32}$`, res.Header.Get("X-Request-Id"))

		// The gateway's own answers carry one too, and the access log has it.
		res, _ = call(t, c, http.MethodGet, gw.https+"/metrics", nil, "X-Request-Id", "metrics-probe-7")
		assert.Equal(t, "metrics-probe-7", res.Header.Get("X-Request-Id"))
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(filepath.Join(gw.prefix, "logs", "access.log"))
			return bytes.Contains(b, []byte(`"request_id":"checkout-debug-42"`)) && bytes.Contains(b, []byte(`"upstream":"127.0.0.1:`))
		}, 5*time.Second, 50*time.Millisecond)
	})

	t.Run("client addresses are set by the gateway, not the client", func(t *testing.T) {
		c := gw.client(13)
		before := apiA.hits.Load()
		call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil, "X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.9")
		last := apiB
		if apiA.hits.Load() > before {
			last = apiA
		}
		assert.Equal(t, "127.0.0.13", last.lastHeader("X-Forwarded-For"), "overwritten: the API takes the leftmost address")
		assert.Equal(t, "127.0.0.13", last.lastHeader("X-Real-IP"))
		assert.Equal(t, "https", last.lastHeader("X-Forwarded-Proto"))
	})

	t.Run("security headers once each", func(t *testing.T) {
		c := gw.client(14)
		res, _ := call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
		for _, name := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy"} {
			assert.Len(t, res.Header.Values(name), 1, name)
		}
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), "the API's own")
		res, _ = call(t, c, http.MethodGet, gw.https+"/metrics", nil)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), "the gateway's own answers")
		assert.Equal(t, "max-age=31536000; includeSubDomains", res.Header.Get("Strict-Transport-Security"))
	})

	t.Run("plain HTTP redirects to HTTPS, health checks answer", func(t *testing.T) {
		c := gw.client(15)
		res, _ := call(t, c, http.MethodPost, gw.http+"/api/orders?x=1", nil)
		assert.Equal(t, http.StatusPermanentRedirect, res.StatusCode)
		assert.Equal(t, gw.https+"/api/orders?x=1", res.Header.Get("Location"))
		res, _ = call(t, c, http.MethodGet, gw.http+"/readyz", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})

	t.Run("large JSON is gzipped", func(t *testing.T) {
		res, body := call(t, gw.client(16), http.MethodGet, gw.https+"/api/products?limit=60", nil, "Accept-Encoding", "gzip")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Greater(t, len(plain), 2*len(body), "compressed")
		var page struct {
			Products []json.RawMessage `json:"products"`
		}
		require.NoError(t, json.Unmarshal(plain, &page))
		assert.Len(t, page.Products, products)
	})

	// Last: it takes an instance away.
	t.Run("one API instance down, the other answers every request", func(t *testing.T) {
		c := gw.client(17)
		apiA.srv.Close()
		before := apiB.hits.Load()
		const n = 20
		for i := range n {
			res, body := call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "request %d: %s", i, body)
		}
		assert.Equal(t, before+n, apiB.hits.Load())
		// A POST that met the dead instance before being sent is retried too;
		// one that reached an instance is never sent twice (nginx's default).
		res, _ := call(t, c, http.MethodPost, gw.https+"/webhooks/carrier", strings.NewReader(`{}`), "Content-Type", "application/json")
		assert.NotEqual(t, http.StatusBadGateway, res.StatusCode)
	})
}

// The template's table of waits gives ceil(1 s / rate), at least 1 s, for
// every rate gateway.sh accepts; nginx picks an exact key first, then the
// first regular expression that matches, else the default.
func TestGatewayRetryAfterTable(t *testing.T) {
	tmpl, err := os.ReadFile("gateway.conf.template")
	require.NoError(t, err)
	block := regexp.MustCompile(`(?s)map \$gw_limit_rate \$gw_wait \{\n(.*?)\n\}`).FindSubmatch(tmpl)
	require.NotNil(t, block, "the map of waits")
	exact := map[string]string{}
	type re struct {
		re    *regexp.Regexp
		value string
	}
	var res []re
	def := ""
	for line := range strings.Lines(string(block[1])) {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		require.Len(t, f, 2, "%q", line)
		key, value := strings.Trim(f[0], `"`), f[1]
		switch {
		case key == "default":
			def = value
		case strings.HasPrefix(key, "~"):
			res = append(res, re{regexp.MustCompile(key[1:]), value})
		default:
			exact[key] = value
		}
	}
	wait := func(rate string) string {
		if v, ok := exact[rate]; ok {
			return v
		}
		for _, r := range res {
			if r.re.MatchString(rate) {
				return r.value
			}
		}
		return def
	}
	for n := 1; n <= 1000; n++ {
		assert.Equal(t, "1", wait(fmt.Sprintf("%dr/s", n)), "%dr/s", n)
		assert.Equal(t, strconv.Itoa(max(1, (60+n-1)/n)), wait(fmt.Sprintf("%dr/m", n)), "%dr/m", n)
	}
}

// An instance whose database is gone answers 503. The gateway retries an
// idempotent request on another instance, but never a POST that reached
// one: a login (or an order, or a webhook) is delivered exactly once.
func TestGatewayRetriesOnlyIdempotentRequests(t *testing.T) {
	nginx := nginxBinary(t)
	pool := seededDB(t)
	cut, proxy := viaProxy(t, pool)
	broken, healthy := startUpstream(t, apiHandler(t, cut)), startUpstream(t, apiHandler(t, pool))
	gw := startGateway(t, nginx, []string{broken.addr(), healthy.addr()}, healthy.addr(), healthy.addr())
	proxy.SetDown(true)

	// POSTs first, each from a client of its own (the login bucket is per IP),
	// before the failures take the broken instance out of rotation.
	codes := map[int]int{}
	const posts = 4
	for i := range posts {
		res, body := call(t, gw.client(byte(40+i)), http.MethodPost, gw.https+"/api/auth/login",
			strings.NewReader(`{"username":"nobody","password":"wrong-password-1"}`), "Content-Type", "application/json")
		codes[res.StatusCode]++
		if res.StatusCode == http.StatusServiceUnavailable {
			assert.Contains(t, string(body), `"code":14`, "the API's own answer")
		}
	}
	assert.Positive(t, codes[http.StatusServiceUnavailable], "a POST that met the broken instance is not retried: %v", codes)
	assert.Positive(t, codes[http.StatusUnauthorized], "%v", codes)
	assert.Equal(t, int64(posts), broken.hits.Load()+healthy.hits.Load(), "each POST reached exactly one instance")

	c := gw.client(50)
	for i := range 10 {
		res, body := call(t, c, http.MethodGet, gw.https+"/api/products?limit=1", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "GET %d is retried on the healthy instance: %s", i, body)
	}
}
