package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/web"
	imageswf "github.com/shopkit/shop/workflows/images"
)

// The journey's catalogue and staff (web/e2e/journey.spec.ts reads them
// from the environment).
const (
	journeyProduct  = "Trail Running Shoes"
	journeyTypo     = "Trail Runnimg Shoes" // one letter wrong
	journeyBrand    = "Nordvik"
	journeyPassword = "JourneyPass123!"
)

// requireTool fails (under `make test` and in CI) or skips the test with
// msg when a tool the test needs is missing.
func requireTool(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// webBundle is the built web app embedded in package web.
func webBundle(t *testing.T) fs.FS {
	t.Helper()
	bundle, built := web.Bundle()
	if !built {
		requireTool(t, "the web app is not built into web/dist/app: run `make web` (npm ci and npm run build in web/) first")
	}
	return bundle
}

// TestWebJourney runs the browser journey of web/e2e (Playwright driving
// Debian's Chromium, axe on every page) against the built web app served
// with the real API and worker: the workflows on the test Temporal server,
// stripe-mock, a database schema of its own. A guest searches with a typo,
// filters, buys as a new customer and pays with the test payment; staff
// ship the order from the fulfilment queue; the customer sees the tracking
// number and asks for a return; an admin sees the sale on the dashboard.
// Screenshots and axe's findings land in $TEST_ARTIFACTS_DIR/web.
func TestWebJourney(t *testing.T) {
	if raceDetector {
		// A race-instrumented server is too slow for a browser's timeouts;
		// deploy/test.sh runs this test on its own without -race.
		t.Skip("run without -race: go test -count=1 -run '^TestWebJourney$' ./api/")
	}
	if testing.Short() {
		t.Skip("the browser journey takes minutes")
	}
	bundle := webBundle(t)
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = chromiumBinary(t)
	}
	webDir, err := filepath.Abs("../web")
	require.NoError(t, err)
	playwright := filepath.Join(webDir, "node_modules", ".bin", "playwright")
	if _, err := os.Stat(playwright); err != nil {
		requireTool(t, "Playwright is not installed in web/node_modules: run `make web-deps` (npm ci in web/)")
	}

	// Staff upload a product picture: stored on the real S3 server, resized
	// by the ProcessProductImage workflow on a worker of its own.
	objects := testenv.S3(t)
	imageQueue := testenv.UniqueName("journey-images-")
	f := newServerWith(t, options{worker: true, testPayments: true, workflows: true, tokenTTL: 15 * time.Minute,
		images: objects, imageFlows: imageswf.Client{Temporal: testenv.Temporal(t), TaskQueue: imageQueue}})
	startImageWorker(t, f, objects, imageQueue)
	ctx := context.Background()
	_, err = f.store.UpsertProducts(ctx, []catalog.ProductInput{
		{SKU: "SHOE-TRAIL-001", Name: journeyProduct, Description: "Light trail shoes with a grippy sole.",
			Category: "Footwear", Brand: journeyBrand, Price: money.Money{Amount: 8900, Currency: "USD"}, StockQuantity: 12},
		// Out of stock, of another brand: the filters hide it.
		{SKU: "SOCK-TRAIL-001", Name: "Trail Running Socks", Description: "Merino socks for long runs.",
			Category: "Footwear", Brand: "Alpenweg", Price: money.Money{Amount: 1400, Currency: "USD"}},
	})
	require.NoError(t, err)
	users := map[identity.Role]string{identity.RoleStaff: "journey-staff", identity.RoleAdmin: "journey-admin"}
	for role, name := range users {
		_, err := f.identity.CreateUser(ctx, identity.RegisterInput{Username: name, Email: name + "@example.com",
			Password: journeyPassword, FirstName: "Sam", LastName: "Staff"}, role)
		require.NoError(t, err)
	}

	// The journey's first search must find the product despite its typo.
	require.Eventually(t, func() bool {
		code, _, body := call(t, "GET", f.url+"/api/search?q="+url.QueryEscape(journeyTypo), "", "")
		return code == http.StatusOK && strings.Contains(fmt.Sprint(body["hits"]), journeyProduct)
	}, 20*time.Second, 200*time.Millisecond, "GET /api/search?q=%s does not find %s", journeyTypo, journeyProduct)

	app, err := api.WebApp(f.handler, bundle, api.WebConfig{TestPayments: true,
		TemporalUIURL: "http://127.0.0.1:8233", TemporalNamespace: testenv.TemporalNamespace()})
	require.NoError(t, err)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)

	artifacts := filepath.Join(artifactsDir(t), "web")
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	customer := fmt.Sprintf("shopper%d", time.Now().UnixNano()%1_000_000_000)
	runCtx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, playwright, "test")
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(),
		"BASE_URL="+srv.URL, "CHROMIUM_PATH="+chromium, "TEST_ARTIFACTS_DIR="+filepath.Dir(artifacts), "FORCE_COLOR=0",
		"E2E_PRODUCT="+journeyProduct, "E2E_SEARCH_TYPO="+journeyTypo, "E2E_BRAND="+journeyBrand,
		"E2E_CUSTOMER_USERNAME="+customer, "E2E_CUSTOMER_PASSWORD="+journeyPassword,
		"E2E_STAFF_USERNAME="+users[identity.RoleStaff], "E2E_STAFF_PASSWORD="+journeyPassword,
		"E2E_ADMIN_USERNAME="+users[identity.RoleAdmin], "E2E_ADMIN_PASSWORD="+journeyPassword,
	)
	cmd.WaitDelay = 10 * time.Second
	out := &tailWriter{prefix: "playwright: ", max: 60}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err = cmd.Run()
	t.Logf("the browser journey took %s; screenshots and axe's report in %s", time.Since(start).Round(time.Second), artifacts)
	require.NoError(t, err, "the browser journey failed (screenshots, traces and axe's report in %s):\n%s", artifacts, out.String())

	// What the browser did, as the shop recorded it.
	var id int64
	var status string
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT o.id, o.status FROM orders o JOIN users u ON u.id = o.user_id
		WHERE u.username = $1`, customer).Scan(&id, &status))
	assert.Equal(t, string(orders.StatusDelivered), status)
	var returns int
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM returns WHERE order_id = $1`, id).Scan(&returns))
	assert.Equal(t, 1, returns, "the customer asked for a return")
	// The storefront recorded what the shopper did (fire-and-forget).
	var kinds []string
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT kind ORDER BY kind), '{}')
		FROM behaviour_events WHERE session_id IS NOT NULL`).Scan(&kinds))
	assert.Subset(t, kinds, []string{"checkout_started", "search", "view"}, "behaviour events the storefront sent")
	// Analytics count today's sale from live data (no rollup has run).
	s, _, err := f.identity.Login(ctx, users[identity.RoleAdmin], journeyPassword)
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	code, _, body := call(t, "POST", f.url+"/api/analytics", s.AccessToken, fmt.Sprintf(
		`{"start_date": %q, "end_date": %q, "group_by": "product", "metrics": ["units_sold", "total_sales"]}`,
		today.Format(time.RFC3339), today.Add(24*time.Hour-time.Second).Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, fmt.Sprint(body["rows"]), journeyProduct, "today's sale in the analytics: %v", body)
}

// tailWriter streams a command's output to the test's stdout line by line
// and keeps the last max lines for the failure message.
type tailWriter struct {
	prefix  string
	max     int
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		_, _ = io.WriteString(os.Stdout, w.prefix+line+"\n")
		w.lines = append(w.lines, line)
		if len(w.lines) > w.max {
			w.lines = w.lines[1:]
		}
	}
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(w.lines, string(w.partial)), "\n")
}
