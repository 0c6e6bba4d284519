package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"hash/fnv"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// WebConfig is what the web app learns from the server at /web-config.json.
type WebConfig struct {
	StripePublishableKey string `json:"stripePublishableKey"`
	TestPayments         bool   `json:"testPayments"`
	TemporalUIURL        string `json:"temporalUiUrl"`
	TemporalNamespace    string `json:"temporalNamespace"`
}

// webAPIPrefixes are the API's own paths; the web app answers the rest.
var webAPIPrefixes = []string{
	"/shop.", "/grpc.", "/api/", "/images/", "/webhooks/", "/auth/",
	"/healthz", "/readyz", "/openapi.json", "/docs", "/recommendations", "/analytics",
}

// webCSP lets the app load only its own files, plus Stripe.js for card
// payments (https://docs.stripe.com/security/guide#content-security-policy).
const webCSP = "default-src 'self'; script-src 'self' https://js.stripe.com https://*.js.stripe.com; " +
	"frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; " +
	"img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

type webFile struct {
	body, gz    []byte
	contentType string
	etag        string
}

// WebApp serves the storefront and admin bundle, and hands the API's paths to
// api, so the app calls the API on its own origin (no CORS). Hashed assets are
// cached for a year; index.html, the answer to every app route, never is.
// A nil bundle (the binary was built before `make web`) answers app routes
// with 503 and says how to build it.
func WebApp(api http.Handler, bundle fs.FS, cfg WebConfig) (http.Handler, error) {
	files := map[string]*webFile{}
	if bundle != nil {
		err := fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(bundle, p)
			if err != nil {
				return err
			}
			files["/"+p] = newWebFile(p, b)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	index := files["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		for _, prefix := range webAPIPrefixes {
			if strings.HasPrefix(p, prefix) {
				api.ServeHTTP(w, r)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if p == "/web-config.json" {
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-cache")
			_, _ = w.Write(cfgJSON)
			return
		}
		f, ok := files[p]
		switch {
		case ok && strings.HasPrefix(p, "/assets/"):
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		case ok && p != "/index.html":
			h.Set("Cache-Control", "public, max-age=3600")
		case strings.HasPrefix(p, "/assets/") || path.Ext(p) != "":
			http.NotFound(w, r) // a missing file, not an app route
			return
		case index == nil:
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("The web app is not built into this binary: run `make web`, then `make build`.\n"))
			return
		default:
			f = index
		}
		if f == index {
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", webCSP)
		}
		serveWebFile(w, r, f)
	}), nil
}

func newWebFile(name string, b []byte) *webFile {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	sum := fnv.New64a()
	_, _ = sum.Write(b)
	f := &webFile{body: b, contentType: ct, etag: strconv.FormatUint(sum.Sum64(), 36)}
	if compressible(ct) && len(b) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b) {
			f.gz = buf.Bytes()
		}
	}
	return f
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

func serveWebFile(w http.ResponseWriter, r *http.Request, f *webFile) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Vary", "Accept-Encoding")
	body, etag := f.body, f.etag
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body, etag = f.gz, etag+"-gz"
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
