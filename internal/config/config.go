// Package config reads the platform's configuration from the environment.
//
// Every setting has a local default so that `make run` works with nothing set;
// Load validates the result and names the variable at fault.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
)

// Config is the whole configuration of every subcommand.
type Config struct {
	Env string // APP_ENV: development, test or production

	HTTPAddr string // HTTP_ADDR
	// WebAddr (WEB_ADDR, "off": none) serves the storefront and admin, with
	// the API under the same origin.
	WebAddr         string
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT

	DatabaseURL      string // DATABASE_URL
	DatabaseMaxConns int32  // DATABASE_MAX_CONNS

	// A streaming read replica (DATABASE_READ_URL, empty: none) takes the
	// stale-tolerant reads while it is at most DatabaseReadMaxLag behind
	// (DATABASE_READ_MAX_LAG), through a pool of DatabaseReadMaxConns
	// (DATABASE_READ_MAX_CONNS).
	DatabaseReadURL      string
	DatabaseReadMaxLag   time.Duration
	DatabaseReadMaxConns int32

	RedisURL string // REDIS_URL
	// The API's in-process level of the storefront cache: entries live at
	// most CacheLocalTTL (CACHE_LOCAL_TTL) within CacheLocalMaxMB
	// (CACHE_LOCAL_MAX_MB, 0: off).
	CacheLocalTTL   time.Duration
	CacheLocalMaxMB int

	TemporalAddress   string // TEMPORAL_ADDRESS
	TemporalNamespace string // TEMPORAL_NAMESPACE
	TemporalTaskQueue string // TEMPORAL_TASK_QUEUE
	TemporalUIURL     string // TEMPORAL_UI_URL

	SearchBackend    string // SEARCH_BACKEND: postgres or elasticsearch
	ElasticsearchURL string // ELASTICSEARCH_URL
	SearchAlias      string // ELASTICSEARCH_INDEX: the alias the storefront searches

	StripeAPIBase       string // STRIPE_API_BASE
	StripeSecretKey     string // STRIPE_SECRET_KEY (secret)
	StripeWebhookSecret string // STRIPE_WEBHOOK_SECRET (secret)
	// StripePublishableKey (STRIPE_PUBLISHABLE_KEY) lets the web app collect
	// cards with Stripe Elements; without it, outside production, the web
	// app offers a test payment instead (see TestPayments).
	StripePublishableKey string

	CarrierWebhookSecret string // CARRIER_WEBHOOK_SECRET (secret): checks carrier tracking events
	// CarrierTrackingURL makes a manual shipment's tracking link, e.g.
	// https://tracking.example.com/{tracking_number}; empty makes none
	// (CARRIER_TRACKING_URL).
	CarrierTrackingURL string

	// PaymentTimeout is how long an order waits for its payment before the
	// stock is released (PAYMENT_TIMEOUT).
	PaymentTimeout  time.Duration
	Currency        string                  // SHOP_CURRENCY: shipping prices are in it
	ShippingMethods pricing.ShippingMethods // SHIPPING_METHODS
	TaxRates        pricing.TaxRates        // TAX_RATES
	DefaultCountry  string                  // DEFAULT_COUNTRY: for addresses that name none

	SMTPAddr     string // SMTP_ADDR
	SMTPUsername string // SMTP_USERNAME
	SMTPPassword string // SMTP_PASSWORD (secret)
	MailFrom     string // MAIL_FROM

	// ShopURL is the public address links in emails point to (SHOP_URL).
	ShopURL string
	// CartReminderAfter are the idle times after the last change of a cart
	// at which its reminders go out, ascending (CART_REMINDER_AFTER).
	CartReminderAfter []time.Duration
	// CartReminderSecret signs the unsubscribe links of cart reminders
	// (CART_REMINDER_SECRET, at least 32 characters).
	CartReminderSecret string
	// LowStockThreshold: staff are emailed once when a product's sellable
	// stock falls below it (LOW_STOCK_THRESHOLD; 0 switches alerts off).
	LowStockThreshold int
	// StaffEmail receives staff alerts such as low stock (STAFF_EMAIL).
	StaffEmail string
	// Fulfilment deadlines: a parcel not packed within FulfilPackWithin of
	// the payment, without a carrier scan within FulfilFirstScanWithin or
	// not delivered within FulfilDeliverWithin of shipping alerts staff
	// once; one without scans for FulfilLostAfter is lost. The order's
	// workflow stays open ReturnWindow after its parcels.
	FulfilPackWithin      time.Duration // FULFIL_PACK_WITHIN
	FulfilFirstScanWithin time.Duration // FULFIL_FIRST_SCAN_WITHIN
	FulfilDeliverWithin   time.Duration // FULFIL_DELIVER_WITHIN
	FulfilLostAfter       time.Duration // FULFIL_LOST_AFTER
	ReturnWindow          time.Duration // RETURN_WINDOW

	// Returns: a restocking fee of ReturnRestockingFeePercent of the
	// refunded goods is kept; the order's shipping is refunded per
	// ReturnRefundShipping (never, or full_return: when every unit comes
	// back); an approved return not received within ReturnExpireAfter
	// expires.
	ReturnRestockingFeePercent int           // RETURN_RESTOCKING_FEE_PERCENT
	ReturnRefundShipping       string        // RETURN_REFUND_SHIPPING
	ReturnExpireAfter          time.Duration // RETURN_EXPIRE_AFTER

	// JWTKeys maps key ids to HMAC secrets (JWT_SIGNING_KEYS, "kid:base64,...").
	// Empty outside production means an ephemeral key per process.
	JWTKeys         map[string][]byte
	JWTActiveKey    string        // JWT_ACTIVE_KEY_ID (default: the first key)
	JWTIssuer       string        // JWT_ISSUER
	JWTAudience     string        // JWT_AUDIENCE
	AccessTokenTTL  time.Duration // ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // REFRESH_TOKEN_TTL

	RateLimits        string   // RATE_LIMITS, parsed by internal/ratelimit
	CORSOrigins       []string // CORS_ALLOWED_ORIGINS
	TrustProxyHeaders bool     // TRUST_PROXY_HEADERS: take the client IP from X-Forwarded-For

	LogLevel  slog.Level // LOG_LEVEL
	LogFormat string     // LOG_FORMAT: json or text

	// Prometheus metrics: `shop api` and `shop recommender` serve /metrics on
	// their own port unless MetricsAddr (METRICS_ADDR) or
	// RecommenderMetricsAddr (RECOMMENDER_METRICS_ADDR) names an internal
	// address for it; `shop worker` serves it on WorkerMetricsAddr
	// (WORKER_METRICS_ADDR, "off": not at all).
	MetricsAddr            string
	RecommenderMetricsAddr string
	WorkerMetricsAddr      string

	// Go profiling (net/http/pprof): `shop api` serves /debug/pprof/ on
	// PprofAddr (PPROF_ADDR) and `shop worker` on WorkerPprofAddr
	// (WORKER_PPROF_ADDR), internal addresses of their own, never on the
	// public or metrics port nor on every interface; empty or "off" (the
	// default): not at all.
	PprofAddr       string
	WorkerPprofAddr string

	// Behaviour events: the monthly partitions of the event store whose
	// month ended more than EventRetention ago are dropped by the daily
	// event-maintenance schedule (EVENT_RETENTION, at least 24h).
	EventRetention time.Duration

	// Sales analytics: a query may span at most AnalyticsMaxRange
	// (ANALYTICS_MAX_RANGE); hours that ended more than AnalyticsCloseAfter
	// ago are closed and rolled up nightly (ANALYTICS_CLOSE_AFTER, at least
	// 48h: a session converts within 24h and its events may come 24h late).
	AnalyticsMaxRange   time.Duration
	AnalyticsCloseAfter time.Duration

	// Recommendations: `shop recommender` serves them on RecommenderAddr
	// (RECOMMENDER_ADDR); a service sending RecommenderInternalToken in
	// X-Internal-Token may ask for any shopper's (RECOMMENDER_INTERNAL_TOKEN,
	// secret; empty: none may); a published model is picked up at once
	// (LISTEN) or at the latest after RecommenderReloadPoll
	// (RECOMMENDER_RELOAD_POLL).
	RecommenderAddr          string
	RecommenderInternalToken string
	RecommenderReloadPoll    time.Duration
	// The RetrainRecommender schedule runs daily at RecommenderRetrainAt
	// (RECOMMENDER_RETRAIN_AT, "HH:MM" UTC) and tries the training presets
	// RecommenderRetrainCandidates (RECOMMENDER_RETRAIN_CANDIDATES).
	RecommenderRetrainAt         [2]int
	RecommenderRetrainCandidates []string
	// Retraining runs on its own task queue (RECOMMENDER_RETRAIN_TASK_QUEUE),
	// one training at a time per worker process, so checkouts never wait
	// behind minutes of CPU-bound training.
	RecommenderRetrainTaskQueue string

	// Product images: stored by ImageStore (IMAGE_STORE: fs, the default,
	// keeps them under ImageStoreDir, IMAGE_STORE_DIR; s3 in the bucket
	// S3Bucket of the S3-compatible service at S3Endpoint). An upload is at
	// most ImageMaxBytes (IMAGE_MAX_BYTES) and ImageMaxPixels pixels
	// (IMAGE_MAX_PIXELS, read from its header before it is decoded).
	ImageStore     string
	ImageStoreDir  string
	ImageMaxBytes  int64
	ImageMaxPixels int64
	S3Endpoint     string // S3_ENDPOINT (empty: AWS)
	S3Region       string // S3_REGION
	S3Bucket       string // S3_BUCKET
	S3AccessKeyID  string // S3_ACCESS_KEY_ID
	// S3SecretAccessKey is S3_SECRET_ACCESS_KEY (secret).
	S3SecretAccessKey string
	// S3ForcePathStyle (S3_FORCE_PATH_STYLE) addresses the bucket in the
	// URL's path, as self-hosted servers (versitygw, Ceph, ...) need.
	S3ForcePathStyle bool
}

// devWebhookSecret signs webhooks between `shop stripe trigger` and a local
// API; production must set its own.
const devWebhookSecret = "whsec_local_development_only"

// devCarrierSecret signs carrier events between `shop carrier trigger` and a
// local API; production must set its own.
const devCarrierSecret = "carrier_local_development_only"

// devReminderSecret signs unsubscribe links locally; production must set its own.
const devReminderSecret = "cart-reminders-local-development-only"

// Defaults for local development; they match deploy/stack.sh.
var defaults = map[string]string{
	"APP_ENV":            "development",
	"HTTP_ADDR":          ":8000",
	"WEB_ADDR":           ":3000",
	"SHUTDOWN_TIMEOUT":   "20s",
	"DATABASE_URL":       "postgres://shop:shop@127.0.0.1:5432/shop?sslmode=disable",
	"DATABASE_MAX_CONNS": "20",

	"DATABASE_READ_URL":       "",
	"DATABASE_READ_MAX_LAG":   "1s",
	"DATABASE_READ_MAX_CONNS": "20",

	"REDIS_URL":             "redis://127.0.0.1:6379/0",
	"TEMPORAL_ADDRESS":      "127.0.0.1:7233",
	"TEMPORAL_NAMESPACE":    "default",
	"TEMPORAL_TASK_QUEUE":   "shop",
	"TEMPORAL_UI_URL":       "http://127.0.0.1:8233",
	"SEARCH_BACKEND":        "postgres",
	"ELASTICSEARCH_URL":     "http://127.0.0.1:9200",
	"ELASTICSEARCH_INDEX":   "products",
	"STRIPE_API_BASE":       "http://127.0.0.1:12111",
	"STRIPE_SECRET_KEY":     "sk_test_stripemock",
	"STRIPE_WEBHOOK_SECRET": devWebhookSecret,
	"PAYMENT_TIMEOUT":       "30m",
	"SHOP_CURRENCY":         "USD",
	"SHIPPING_METHODS":      "standard:5.99:50.00,express:14.99",
	"TAX_RATES":             "US-CA:7.25,US-NY:8.875,US-TX:6.25,US-WA:6.5,DE:19,FR:20,GB:20",
	"DEFAULT_COUNTRY":       "US",
	"SMTP_ADDR":             "127.0.0.1:1025",

	"FULFIL_PACK_WITHIN":       "24h",
	"FULFIL_FIRST_SCAN_WITHIN": "48h",
	"FULFIL_DELIVER_WITHIN":    "168h",
	"FULFIL_LOST_AFTER":        "336h",
	"RETURN_WINDOW":            "720h",

	"RETURN_RESTOCKING_FEE_PERCENT": "0",
	"RETURN_REFUND_SHIPPING":        "never",
	"RETURN_EXPIRE_AFTER":           "336h",

	"SMTP_USERNAME":        "",
	"SMTP_PASSWORD":        "",
	"MAIL_FROM":            "Shop <orders@shop.local>",
	"SHOP_URL":             "http://localhost:3000",
	"CART_REMINDER_AFTER":  "1h,24h",
	"CART_REMINDER_SECRET": devReminderSecret,
	"LOW_STOCK_THRESHOLD":  "5",
	"STAFF_EMAIL":          "staff@shop.local",
	"JWT_SIGNING_KEYS":     "",
	"JWT_ACTIVE_KEY_ID":    "",
	"JWT_ISSUER":           "shop",
	"JWT_AUDIENCE":         "shop-api",
	"ACCESS_TOKEN_TTL":     "15m",
	"REFRESH_TOKEN_TTL":    "720h",
	"CACHE_LOCAL_TTL":      "5s",
	"CACHE_LOCAL_MAX_MB":   "64",
	"RATE_LIMITS":          "login=10/1m,auth=30/1m,user=600/1m,public=1200/1m,events=600/1m",
	"CORS_ALLOWED_ORIGINS": "http://localhost:3000,http://localhost:5173",
	"TRUST_PROXY_HEADERS":  "false",
	"LOG_LEVEL":            "info",
	"LOG_FORMAT":           "json",

	"METRICS_ADDR":             "",
	"RECOMMENDER_METRICS_ADDR": "",
	"WORKER_METRICS_ADDR":      ":9464",
	"PPROF_ADDR":               "",
	"WORKER_PPROF_ADDR":        "",

	"CARRIER_WEBHOOK_SECRET": devCarrierSecret,
	"CARRIER_TRACKING_URL":   "",

	"EVENT_RETENTION": "9600h",

	"ANALYTICS_MAX_RANGE":   "8784h",
	"ANALYTICS_CLOSE_AFTER": "48h",

	"RECOMMENDER_ADDR":           ":8001",
	"RECOMMENDER_INTERNAL_TOKEN": "",
	"RECOMMENDER_RELOAD_POLL":    "30s",

	"RECOMMENDER_RETRAIN_AT":         "02:30",
	"RECOMMENDER_RETRAIN_CANDIDATES": "default",
	"RECOMMENDER_RETRAIN_TASK_QUEUE": "recommender-retrain",

	"IMAGE_STORE":          "fs",
	"IMAGE_STORE_DIR":      ".data/images",
	"IMAGE_MAX_BYTES":      "10485760",
	"IMAGE_MAX_PIXELS":     "40000000",
	"S3_ENDPOINT":          "",
	"S3_REGION":            "us-east-1",
	"S3_BUCKET":            "shop-images",
	"S3_ACCESS_KEY_ID":     "",
	"S3_SECRET_ACCESS_KEY": "",
	"S3_FORCE_PATH_STYLE":  "true",
}

// Load reads the configuration from the process environment.
func Load() (*Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup reads the configuration through lookup, so tests need not touch
// the process environment.
func FromLookup(lookup func(string) (string, bool)) (*Config, error) {
	r := reader{lookup: lookup}
	c := &Config{
		Env:                r.oneOf("APP_ENV", "development", "test", "production"),
		HTTPAddr:           r.addr("HTTP_ADDR"),
		WebAddr:            r.optionalAddr("WEB_ADDR"),
		ShutdownTimeout:    r.duration("SHUTDOWN_TIMEOUT"),
		DatabaseURL:        r.url("DATABASE_URL", "postgres", "postgresql"),
		DatabaseMaxConns:   int32(r.intRange("DATABASE_MAX_CONNS", 1, 1000)),
		DatabaseReadURL:    r.optionalURL("DATABASE_READ_URL", "postgres", "postgresql"),
		DatabaseReadMaxLag: r.duration("DATABASE_READ_MAX_LAG"),

		DatabaseReadMaxConns: int32(r.intRange("DATABASE_READ_MAX_CONNS", 1, 1000)),
		RedisURL:             r.url("REDIS_URL", "redis", "rediss"),
		TemporalAddress:      r.addr("TEMPORAL_ADDRESS"),
		TemporalNamespace:    r.nonEmpty("TEMPORAL_NAMESPACE"),
		TemporalTaskQueue:    r.nonEmpty("TEMPORAL_TASK_QUEUE"),
		TemporalUIURL:        r.url("TEMPORAL_UI_URL", "http", "https"),
		SearchBackend:        r.oneOf("SEARCH_BACKEND", "postgres", "elasticsearch"),
		ElasticsearchURL:     r.url("ELASTICSEARCH_URL", "http", "https"),
		SearchAlias:          r.nonEmpty("ELASTICSEARCH_INDEX"),
		StripeAPIBase:        r.url("STRIPE_API_BASE", "http", "https"),
		StripeSecretKey:      r.nonEmpty("STRIPE_SECRET_KEY"),
		StripePublishableKey: r.publishableKey("STRIPE_PUBLISHABLE_KEY"),
		StripeWebhookSecret:  r.nonEmpty("STRIPE_WEBHOOK_SECRET"),
		PaymentTimeout:       r.duration("PAYMENT_TIMEOUT"),
		Currency:             r.currency("SHOP_CURRENCY"),
		DefaultCountry:       r.country("DEFAULT_COUNTRY"),
		SMTPAddr:             r.addr("SMTP_ADDR"),
		SMTPUsername:         r.get("SMTP_USERNAME"),
		SMTPPassword:         r.get("SMTP_PASSWORD"),
		MailFrom:             r.nonEmpty("MAIL_FROM"),
		ShopURL:              r.url("SHOP_URL", "http", "https"),
		CartReminderAfter:    r.schedule("CART_REMINDER_AFTER"),
		CartReminderSecret:   r.nonEmpty("CART_REMINDER_SECRET"),
		LowStockThreshold:    r.intRange("LOW_STOCK_THRESHOLD", 0, 1_000_000),
		StaffEmail:           r.nonEmpty("STAFF_EMAIL"),
		JWTIssuer:            r.nonEmpty("JWT_ISSUER"),
		JWTAudience:          r.nonEmpty("JWT_AUDIENCE"),
		AccessTokenTTL:       r.duration("ACCESS_TOKEN_TTL"),
		RefreshTokenTTL:      r.duration("REFRESH_TOKEN_TTL"),
		RateLimits:           r.get("RATE_LIMITS"),
		CacheLocalTTL:        r.duration("CACHE_LOCAL_TTL"),
		CacheLocalMaxMB:      r.intRange("CACHE_LOCAL_MAX_MB", 0, 1<<20),
		CORSOrigins:          r.list("CORS_ALLOWED_ORIGINS"),
		TrustProxyHeaders:    r.boolean("TRUST_PROXY_HEADERS"),
		LogLevel:             r.level("LOG_LEVEL"),
		LogFormat:            r.oneOf("LOG_FORMAT", "json", "text"),

		FulfilPackWithin:      r.duration("FULFIL_PACK_WITHIN"),
		FulfilFirstScanWithin: r.duration("FULFIL_FIRST_SCAN_WITHIN"),
		FulfilDeliverWithin:   r.duration("FULFIL_DELIVER_WITHIN"),
		FulfilLostAfter:       r.duration("FULFIL_LOST_AFTER"),
		ReturnWindow:          r.duration("RETURN_WINDOW"),

		ReturnRestockingFeePercent: r.intRange("RETURN_RESTOCKING_FEE_PERCENT", 0, 100),
		ReturnRefundShipping:       r.oneOf("RETURN_REFUND_SHIPPING", "never", "full_return"),
		ReturnExpireAfter:          r.duration("RETURN_EXPIRE_AFTER"),

		CarrierWebhookSecret: r.nonEmpty("CARRIER_WEBHOOK_SECRET"),
		CarrierTrackingURL:   r.trackingURL("CARRIER_TRACKING_URL"),

		EventRetention: r.duration("EVENT_RETENTION"),

		MetricsAddr:            r.optionalAddr("METRICS_ADDR"),
		RecommenderMetricsAddr: r.optionalAddr("RECOMMENDER_METRICS_ADDR"),
		WorkerMetricsAddr:      r.optionalAddr("WORKER_METRICS_ADDR"),
		PprofAddr:              r.pprofAddr("PPROF_ADDR"),
		WorkerPprofAddr:        r.pprofAddr("WORKER_PPROF_ADDR"),
		AnalyticsMaxRange:      r.duration("ANALYTICS_MAX_RANGE"),
		AnalyticsCloseAfter:    r.duration("ANALYTICS_CLOSE_AFTER"),

		RecommenderAddr:          r.addr("RECOMMENDER_ADDR"),
		RecommenderInternalToken: r.get("RECOMMENDER_INTERNAL_TOKEN"),
		RecommenderReloadPoll:    r.duration("RECOMMENDER_RELOAD_POLL"),

		RecommenderRetrainAt:         r.timeOfDay("RECOMMENDER_RETRAIN_AT"),
		RecommenderRetrainCandidates: r.list("RECOMMENDER_RETRAIN_CANDIDATES"),
		RecommenderRetrainTaskQueue:  r.nonEmpty("RECOMMENDER_RETRAIN_TASK_QUEUE"),

		ImageStore:        r.oneOf("IMAGE_STORE", "fs", "s3"),
		ImageStoreDir:     r.nonEmpty("IMAGE_STORE_DIR"),
		ImageMaxBytes:     int64(r.intRange("IMAGE_MAX_BYTES", 1<<10, 100<<20)),
		ImageMaxPixels:    int64(r.intRange("IMAGE_MAX_PIXELS", 10_000, 200_000_000)),
		S3Endpoint:        r.optionalURL("S3_ENDPOINT", "http", "https"),
		S3Region:          r.nonEmpty("S3_REGION"),
		S3Bucket:          r.get("S3_BUCKET"),
		S3AccessKeyID:     r.get("S3_ACCESS_KEY_ID"),
		S3SecretAccessKey: r.get("S3_SECRET_ACCESS_KEY"),
		S3ForcePathStyle:  r.boolean("S3_FORCE_PATH_STYLE"),
	}
	if c.ImageStore == "s3" {
		for _, v := range [][2]string{{"S3_BUCKET", c.S3Bucket}, {"S3_ACCESS_KEY_ID", c.S3AccessKeyID},
			{"S3_SECRET_ACCESS_KEY", c.S3SecretAccessKey}} {
			if v[1] == "" {
				r.fail(v[0], "must be set when IMAGE_STORE=s3")
			}
		}
	}
	if len(c.RecommenderRetrainCandidates) == 0 {
		r.fail("RECOMMENDER_RETRAIN_CANDIDATES", "must name at least one training preset, such as default")
	}
	if t := c.RecommenderInternalToken; t != "" && len(t) < 32 {
		r.fail("RECOMMENDER_INTERNAL_TOKEN", "must be at least 32 characters (or empty)")
	}
	if c.DatabaseReadMaxLag > 0 && c.DatabaseReadMaxLag < 100*time.Millisecond {
		r.fail("DATABASE_READ_MAX_LAG", "is %s; want at least 100ms (the lag is measured every 250ms)", c.DatabaseReadMaxLag)
	}
	if c.PprofAddr != "" && (samePort(c.PprofAddr, c.HTTPAddr) || samePort(c.PprofAddr, c.MetricsAddr)) {
		r.fail("PPROF_ADDR", "must be an internal address of its own, not the API's port or METRICS_ADDR's")
	}
	if c.WorkerPprofAddr != "" && samePort(c.WorkerPprofAddr, c.WorkerMetricsAddr) {
		r.fail("WORKER_PPROF_ADDR", "must be an address of its own, not WORKER_METRICS_ADDR's port")
	}
	if c.EventRetention > 0 && c.EventRetention < 24*time.Hour {
		r.fail("EVENT_RETENTION", "is %s; want at least 24h", c.EventRetention)
	}
	if c.AnalyticsMaxRange < time.Hour {
		r.fail("ANALYTICS_MAX_RANGE", "is %s; want at least 1h", c.AnalyticsMaxRange)
	}
	if c.AnalyticsCloseAfter < 48*time.Hour {
		r.fail("ANALYTICS_CLOSE_AFTER", "is %s; want at least 48h", c.AnalyticsCloseAfter)
	}
	if c.Env == "production" && strings.HasPrefix(c.StripeSecretKey, "sk_test_stripemock") {
		r.fail("STRIPE_SECRET_KEY", "must be set to a real key when APP_ENV=production")
	}
	if c.Env == "production" && c.StripeWebhookSecret == devWebhookSecret {
		r.fail("STRIPE_WEBHOOK_SECRET", "must be set to the endpoint's signing secret when APP_ENV=production")
	}
	if c.Env == "production" && c.CarrierWebhookSecret == devCarrierSecret {
		r.fail("CARRIER_WEBHOOK_SECRET", "must be set to the carrier's signing secret when APP_ENV=production")
	}
	if len(c.CartReminderSecret) < 32 {
		r.fail("CART_REMINDER_SECRET", "must be at least 32 characters")
	}
	if c.Env == "production" && c.CartReminderSecret == devReminderSecret {
		r.fail("CART_REMINDER_SECRET", "must be set to a random secret when APP_ENV=production")
	}
	var err error
	if c.ShippingMethods, err = pricing.ParseShippingMethods(r.get("SHIPPING_METHODS"), c.Currency); err != nil {
		r.fail("SHIPPING_METHODS", "%v", err)
	}
	if c.TaxRates, err = pricing.ParseTaxRates(r.get("TAX_RATES")); err != nil {
		r.fail("TAX_RATES", "%v", err)
	}
	c.JWTKeys, c.JWTActiveKey = r.signingKeys("JWT_SIGNING_KEYS", "JWT_ACTIVE_KEY_ID")
	if c.Env == "production" && len(c.JWTKeys) == 0 {
		r.fail("JWT_SIGNING_KEYS", "must be set when APP_ENV=production (e.g. main:$(openssl rand -base64 32))")
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return c, nil
}

// String describes the configuration with secrets and passwords masked, for logs.
func (c *Config) String() string {
	read := "primary"
	if c.DatabaseReadURL != "" {
		read = Redact(c.DatabaseReadURL)
	}
	return fmt.Sprintf("env=%s http=%s database=%s reads=%s redis=%s temporal=%s/%s search=%s stripe=%s key=%s",
		c.Env, c.HTTPAddr, Redact(c.DatabaseURL), read, Redact(c.RedisURL), c.TemporalAddress,
		c.TemporalNamespace, c.SearchBackend, c.StripeAPIBase, mask(c.StripeSecretKey))
}

// LogValue keeps secrets out of structured logs.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Redact hides the password of a URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	return u.Redacted()
}

func mask(secret string) string {
	if len(secret) <= 8 {
		return "****"
	}
	return secret[:8] + "****"
}

type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// Defaults answers every variable the app reads with its default (a copy):
// the deployment files (compose, the Helm chart) are checked against it.
func Defaults() map[string]string { return maps.Clone(defaults) }

func (r *reader) get(name string) string {
	if v, ok := r.lookup(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return defaults[name]
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("config: %s %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) nonEmpty(name string) string {
	v := r.get(name)
	if v == "" {
		r.fail(name, "must not be empty")
	}
	return v
}

func (r *reader) oneOf(name string, allowed ...string) string {
	v := strings.ToLower(r.get(name))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "is %q; want one of %s", v, strings.Join(allowed, ", "))
	return v
}

func (r *reader) addr(name string) string {
	v := r.get(name)
	if _, port, err := net.SplitHostPort(v); err != nil {
		r.fail(name, "is %q; want host:port (%v)", v, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		r.fail(name, "has an invalid port %q", port)
	}
	return v
}

// samePort reports whether two listen addresses share a port (":8000" and
// "127.0.0.1:8000" do).
func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb
}

// publishableKey is empty or a Stripe publishable key; a secret key here
// would be sent to every browser.
func (r *reader) publishableKey(name string) string {
	v := r.get(name)
	if v != "" && !strings.HasPrefix(v, "pk_") {
		r.fail(name, "must be a publishable key (pk_...), never a secret one")
		return ""
	}
	return v
}

// TestPayments reports whether the web app may offer its test payment: a
// signed payment_intent.succeeded sent to the shop's own webhook. Only outside
// production and without real Stripe Elements (no publishable key).
func (c *Config) TestPayments() bool {
	return c.Env != "production" && c.StripePublishableKey == ""
}

// optionalAddr is an address, or "" when empty or "off".
func (r *reader) optionalAddr(name string) string {
	if v := r.get(name); v == "" || v == "off" {
		return ""
	}
	return r.addr(name)
}

// pprofAddr is an optional address that names its host: profiles show the
// process's memory and stacks, so they never listen on every interface
// (":6060", "0.0.0.0:6060", "[::]:6060"); a loopback or a private
// interface's address is the operator's choice.
func (r *reader) pprofAddr(name string) string {
	v := r.optionalAddr(name)
	if v == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return v // reported by addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		r.fail(name, "is %q; want a host, such as 127.0.0.1:%s: profiles must not listen on every interface", v, port)
	}
	return v
}

func (r *reader) url(name string, schemes ...string) string {
	v := r.get(name)
	u, err := url.Parse(v)
	if err != nil {
		// The parse error may quote the URL, password included.
		r.fail(name, "is not a valid URL")
		return v
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return v
		}
	}
	r.fail(name, "is %q; want a %s:// URL with a host", u.Redacted(), schemes[0])
	return v
}

// optionalURL is a URL of one of schemes, or "" when empty.
func (r *reader) optionalURL(name string, schemes ...string) string {
	if r.get(name) == "" {
		return ""
	}
	return r.url(name, schemes...)
}

// trackingURL reads an optional http(s) URL template holding
// {tracking_number}.
func (r *reader) trackingURL(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "is not an http:// or https:// URL")
	} else if !strings.Contains(v, "{tracking_number}") {
		r.fail(name, "must hold {tracking_number}, e.g. https://tracking.example.com/{tracking_number}")
	}
	return v
}

func (r *reader) duration(name string) time.Duration {
	v := r.get(name)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "is %q; want a positive duration such as 20s", v)
	}
	return d
}

// schedule reads ascending positive durations, "1h,24h".
func (r *reader) schedule(name string) []time.Duration {
	var out []time.Duration
	for _, v := range r.list(name) {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			r.fail(name, "has %q; want positive durations such as 1h,24h", v)
			return nil
		}
		if len(out) > 0 && d <= out[len(out)-1] {
			r.fail(name, "must be ascending; %s comes after %s", d, out[len(out)-1])
			return nil
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		r.fail(name, "must list at least one duration, such as 1h,24h")
	}
	return out
}

// timeOfDay reads "HH:MM" (24-hour clock).
func (r *reader) timeOfDay(name string) [2]int {
	v := r.get(name)
	t, err := time.Parse("15:04", v)
	if err != nil {
		r.fail(name, "is %q; want a time of day such as 02:30", v)
	}
	return [2]int{t.Hour(), t.Minute()}
}

func (r *reader) intRange(name string, lo, hi int) int {
	v := r.get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "is %q; want an integer from %d to %d", v, lo, hi)
	}
	return n
}

func (r *reader) list(name string) []string {
	var out []string
	for _, v := range strings.Split(r.get(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (r *reader) currency(name string) string {
	v := strings.ToUpper(r.get(name))
	if _, err := money.Exponent(v); err != nil {
		r.fail(name, "is %q; want a supported ISO 4217 code such as USD", v)
	}
	return v
}

func (r *reader) country(name string) string {
	v := strings.ToUpper(r.get(name))
	if !address.IsCountry(v) {
		r.fail(name, "is %q; want an ISO 3166-1 alpha-2 country code such as US", v)
	}
	return v
}

func (r *reader) boolean(name string) bool {
	b, err := strconv.ParseBool(r.get(name))
	if err != nil {
		r.fail(name, "is %q; want true or false", r.get(name))
	}
	return b
}

// signingKeys reads "kid:base64secret,kid2:base64secret". Errors never quote
// the secrets.
func (r *reader) signingKeys(name, activeName string) (map[string][]byte, string) {
	keys := map[string][]byte{}
	var first string
	for i, entry := range r.list(name) {
		kid, secret, ok := strings.Cut(entry, ":")
		kid = strings.TrimSpace(kid)
		if !ok || kid == "" {
			r.fail(name, "entry %d is not kid:base64secret", i+1)
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secret))
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(strings.TrimSpace(secret))
		}
		if err != nil || len(key) < 32 {
			r.fail(name, "key %q must be base64 of at least 32 random bytes", kid)
			continue
		}
		if first == "" {
			first = kid
		}
		keys[kid] = key
	}
	active := r.get(activeName)
	if active == "" {
		active = first
	}
	if len(keys) > 0 && keys[active] == nil {
		r.fail(activeName, "names key %q, which JWT_SIGNING_KEYS does not hold", active)
	}
	return keys, active
}

func (r *reader) level(name string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.get(name))); err != nil {
		r.fail(name, "is %q; want debug, info, warn or error", r.get(name))
	}
	return l
}
