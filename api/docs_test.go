package api_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

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
			if strings.HasPrefix(p, "/webhooks/") || p == "/healthz" || p == "/readyz" || p == "/images/{name}" {
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
				if code == "415" && rpcPath(p) {
					continue // Connect's own refusal, without a body
				}
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
	// 64-bit integers are strings of digits, in bodies and parameters.
	id := doc.Paths.Value("/api/products/{product_id}").Get.Parameters.GetByInAndName("path", "product_id")
	require.NotNil(t, id)
	assert.Equal(t, "^-?[0-9]+$", id.Schema.Value.Pattern)
	assert.Equal(t, "^-?[0-9]+$", doc.Components.Schemas["shop.catalog.v1.Money"].Value.Properties["amount_minor"].Value.Pattern)
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
var readmeRoute = regexp.MustCompile(`\b(GET|POST|PUT|PATCH|DELETE) (/[A-Za-z0-9_./{}$-]*)`)

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
	// route does not take), a family of routes, the Connect paths' prefix,
	// or Stripe's API (the calls the shop makes, not routes it serves).
	notRoutes := map[string]bool{"GET /api/no-such-route": true, "PATCH /api/orders": true,
		"DELETE /api/products": true, "POST /shop": true, "POST /v1/payment_intents": true}
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
		if strings.HasPrefix(m[1], "data:") {
			continue // no favicon request
		}
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

// chromiumBinary is Debian's chromium (CHROMIUM overrides the path); a
// missing one fails the test under `make test` and in CI (deploy/stack.sh
// tools installs it), and skips it elsewhere.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin := cmp.Or(os.Getenv("CHROMIUM"), "chromium")
	path, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("chromium is not installed (%v): `deploy/stack.sh tools` installs Debian's package", err)
		if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// artifactsDir is where a test leaves files for people to look at:
// TEST_ARTIFACTS_DIR, or the test's temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestDocsScreenshot opens /docs in headless Chromium: Swagger UI renders
// every operation of /openapi.json under the page's CSP without a console
// error, and the rendered page is saved as a PNG.
func TestDocsScreenshot(t *testing.T) {
	bin := chromiumBinary(t)
	f := newServer(t, nil)
	_, body := get(t, f.url+"/openapi.json")
	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	var want int
	for _, item := range doc.Paths.Map() {
		want += len(item.Operations())
	}

	// Not t.TempDir: Chromium's helper processes may still write to their
	// profile for a moment after the browser has exited, which would fail
	// TempDir's own removal; this one is removed once they are done.
	profile, err := os.MkdirTemp("", "docs-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.Eventually(t, func() bool { return os.RemoveAll(profile) == nil }, 20*time.Second, 100*time.Millisecond,
			"remove Chromium's profile %s", profile)
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin),
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 1000), chromedp.UserDataDir(profile))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Error()
		case *cdplog.EventEntryAdded:
			// CSP violations, failed loads and the like.
			if ev.Entry.Level == cdplog.LevelError {
				p = "log (" + string(ev.Entry.Source) + "): " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})

	var seen []string
	var title string
	var violations []string
	var png []byte
	err = chromedp.Run(ctx,
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(`window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`).Do(ctx)
			return err
		}),
		chromedp.Navigate(f.url+"/docs"),
		// Swagger UI fetches the document and renders one .opblock per
		// operation, tag by tag, in a virtualized list: only those near the
		// viewport are in the DOM at a time. Scroll down, half a screen a
		// step, until every operation has been rendered.
		chromedp.Poll(fmt.Sprintf(`(() => {
			const seen = window.__ops = window.__ops || new Set();
			document.querySelectorAll("#swagger-ui .opblock").forEach(e => seen.add(e.id));
			if (seen.size < %d && seen.size > 0) window.scrollBy(0, window.innerHeight / 2);
			return seen.size >= %d;
		})()`, want, want), nil, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(90*time.Second)),
	)
	// What the page shows, also when it did not get there: the top of it.
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Evaluate(`Array.from(window.__ops || [])`, &seen),
		chromedp.Evaluate(`window.__csp`, &violations),
		chromedp.Evaluate(`window.scrollTo(0, 0)`, nil),
		chromedp.Poll(`window.scrollY === 0 && document.querySelector("#swagger-ui .opblock") !== null`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond)),
		chromedp.CaptureScreenshot(&png),
	))
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "a PNG screenshot")
	out := filepath.Join(artifactsDir(t), "docs.png")
	require.NoError(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot of /docs (%d operations rendered): %s", len(seen), out)
	mu.Lock()
	assert.Empty(t, problems, "console errors")
	mu.Unlock()
	assert.Empty(t, violations, "CSP violations")
	require.NoError(t, err, "Swagger UI did not render %d operations (%d rendered)", want, len(seen))

	// Swagger UI names each block operations-<tag>-<operationId>.
	assert.Len(t, seen, want, "operations rendered by Swagger UI")
	for _, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			found := false
			for _, id := range seen {
				found = found || strings.HasSuffix(id, "-"+op.OperationID)
			}
			assert.True(t, found, "%s %s (%s) not rendered", method, op.OperationID, strings.Join(op.Tags, ","))
		}
	}
	require.NoError(t, chromedp.Run(ctx, chromedp.Text(".information-container .title", &title, chromedp.ByQuery)))
	assert.Contains(t, title, "Shop API")
}
