package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/telemetry"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
)

type fixture struct {
	shop     *shoptest.Shop
	url      string
	store    *catalog.Store
	identity *identity.Service
	laptop   catalog.Product
	h2c      *http.Client
	es       *search.Elastic // set with options.elastic
	// fulfilment is the shipments' store; the API's steps go to it through
	// storeFlows.
	fulfilment *fulfilment.Store
	reads      *db.Pools // the primary, and the replica with options.replicaMaxLag
}

// options tune newServer; the zero value is a working server.
type options struct {
	ready  map[string]api.Check
	limits map[string]ratelimit.Limit
	redis  *redis.Client // for the limiter and lockout; default testenv.Redis
	// worker runs the order workflows; paymentTimeout applies to checkouts.
	worker         bool
	paymentTimeout time.Duration
	// flows replaces the order workflows (to make them fail).
	flows api.OrderFlows
	// elastic searches with Elasticsearch (a fresh index) instead of PostgreSQL.
	elastic bool
	// orders, given the test database, replaces the order store (to make
	// its database fail).
	orders func(*pgxpool.Pool) *orders.Store
	// recommendations, given the test database, serves the models;
	// internalToken is RECOMMENDER_INTERNAL_TOKEN.
	recommendations func(*pgxpool.Pool) api.Models
	internalToken   string
	// replicaMaxLag, when set, routes read-only requests to the test
	// replica (TEST_DATABASE_READ_URL) while it lags at most that much.
	replicaMaxLag time.Duration
	// tokenTTL is the access tokens' lifetime; default a minute.
	tokenTTL time.Duration
	// images, when set, serves product images from it (flows start their processing).
	images      objectstore.Store
	imageFlows  api.ImageFlows
	imageLimits images.Limits
}

func newServer(t *testing.T, ready map[string]api.Check) *fixture {
	return newServerWith(t, options{ready: ready})
}

func newServerWith(t *testing.T, o options) *fixture {
	t.Helper()
	ready := o.ready
	timeout := o.paymentTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	shop := shoptest.NewWithoutWorker(t, timeout)
	if o.worker {
		shop.StartWorker(t)
	}
	pool := shop.Pool
	store := shop.Catalog
	rdb := o.redis
	if rdb == nil {
		rdb = testenv.Redis(t)
	}
	prefix := testenv.UniqueName("test-api-") + ":"
	tokens, err := identity.NewTokens(identity.TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: cmp.Or(o.tokenTTL, time.Minute),
		Keys: map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, ActiveKey: "k"})
	require.NoError(t, err)
	ids := identity.NewService(pool, tokens, ratelimit.NewLockout(rdb, prefix+"lock:", ratelimit.LockoutPolicy{}),
		time.Hour, slog.New(slog.DiscardHandler))
	_, err = store.UpsertProducts(context.Background(), []catalog.ProductInput{
		// The demo catalog's laptop SKU, as on a fresh `make run`.
		{SKU: "LAPTOP-GAMER-001", Name: "Gaming Laptop", Description: "High-performance gaming laptop with RTX 4080",
			Category: "Laptops", Brand: "Nordvik", Price: money.Money{Amount: 199999, Currency: "USD"}, StockQuantity: 50},
		{SKU: "MUG-001", Name: "Travel Mug", Category: "Kitchen", Price: money.Money{Amount: 1500, Currency: "USD"}, StockQuantity: 5},
		{SKU: "LAMP-001", Name: "Desk Lamp", Category: "Office", Price: money.Money{Amount: 4999, Currency: "USD"}},
	})
	require.NoError(t, err)
	page, _, err := store.ListProducts(context.Background(), catalog.ListFilter{Search: "gaming laptop"})
	require.NoError(t, err)
	require.Len(t, page, 1)

	// The outbox relay runs beside the API, as `shop worker` does.
	storefrontCache := cache.New(rdb, prefix+"cache:", slog.New(slog.DiscardHandler))
	// The API keeps encoded answers in memory as `shop api` does.
	t.Cleanup(storefrontCache.StartLocal(cache.LocalConfig{}))
	reads, err := db.NewPools(pool, db.ReplicaOptions{})
	require.NoError(t, err)
	if o.replicaMaxLag > 0 {
		reads, err = db.NewPools(pool, db.ReplicaOptions{URL: dbtest.ReplicaURL(t, pool), MaxConns: 4,
			MaxLag: o.replicaMaxLag, Poll: 50 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(reads.Close)
	}
	store.ReadFrom(reads)
	pgSearch := search.NewPostgres(pool)
	pgSearch.ReadFrom(reads)
	var backend search.Backend = pgSearch
	var index outbox.Consumer = outbox.Discard(search.ConsumerName)
	var es *search.Elastic
	if o.elastic {
		es = newElastic(t)
		backend, index = es, search.IndexConsumer{Pool: pool, Elastic: es}
	}
	testenv.RunRelay(t, &outbox.Relay{Pool: pool, Log: slog.New(slog.DiscardHandler), Poll: 50 * time.Millisecond,
		Consumers: []outbox.Consumer{catalog.CacheConsumer{Cache: storefrontCache}, index}})

	settings := shoptest.Settings()
	orderStore := shop.Orders
	if o.orders != nil {
		orderStore = o.orders(pool)
	}
	analyticsStore := analytics.NewStore(pool, analytics.Config{MaxRange: 400 * 24 * time.Hour})
	analyticsStore.ReadFrom(reads)
	if ready == nil {
		ready = map[string]api.Check{"postgres": pool.Ping}
	}
	shipments := fulfilment.NewStore(pool)
	var models api.Models
	if o.recommendations != nil {
		models = o.recommendations(pool)
	} else {
		models = fixedModel(t, pool)
	}
	h, err := api.NewHandler(api.Deps{
		Logger: slog.New(slog.DiscardHandler), Catalog: store, Identity: ids, Ready: ready,
		Search:  backend,
		Limiter: ratelimit.NewLimiter(rdb, prefix+"rl:"), Limits: o.limits,
		Cache:       storefrontCache,
		CORSOrigins: []string{"http://localhost:3000"},
		Cart:        shop.Carts, Coupons: shop.Coupons,
		BackInStock: backinstock.NewStore(pool), CartReminderSecret: shoptest.ReminderSecret,
		Shipping: settings.ShippingMethods, TaxRates: settings.TaxRates, DefaultCountry: settings.DefaultCountry,
		Orders: orderStore, OrderFlows: cmp.Or[api.OrderFlows](o.flows, api.Workflows{CheckoutFlows: shop.Checkout, RefundFlows: shop.Refunds}), StripeEvents: payments.NewEvents(pool),
		PaymentIntents:      payments.NewStripe("sk_test_123", shop.Stripe.URL(), nil),
		StripeWebhookSecret: shoptest.WebhookSecret,
		Inventory:           inventory.NewStore(pool),
		Fulfilment:          shipments, FulfilmentFlows: storeFlows{store: shipments},
		Returns: shop.ReturnStore, ReturnFlows: storeReturnFlows{store: shop.ReturnStore},
		Events:          events.NewStore(pool),
		Recommendations: models, RecommenderInternalToken: o.internalToken,
		Metrics:   metrics.Handler(),
		Analytics: analyticsStore,
		Reads:     reads, WriteMarks: db.NewWriteMarks(rdb, prefix+"ryw:", db.MarkTTL(o.replicaMaxLag)),
		Images: imagesDeps(t, pool, o),
	})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &fixture{shop: shop, url: srv.URL, store: store, identity: ids, laptop: page[0], h2c: &http.Client{Transport: tr}, es: es,
		fulfilment: shipments, reads: reads}
}

// imagesDeps serves images from o.images, or a fresh directory (as `shop
// api` always has an image store).
func imagesDeps(t *testing.T, pool *pgxpool.Pool, o options) api.Images {
	objects := o.images
	if objects == nil {
		fs, err := objectstore.NewFS(t.TempDir())
		require.NoError(t, err)
		objects = fs
	}
	return api.Images{Store: images.NewStore(pool), Objects: objects, Flows: o.imageFlows, Limits: o.imageLimits}
}

// newElastic returns a client for a fresh index alias, dropped after the test.
func newElastic(t *testing.T) *search.Elastic {
	t.Helper()
	url := testenv.RequireElasticsearch(t)
	alias := testenv.UniqueName("test-api-products-")
	es, err := search.NewElastic(url, alias)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		names, _ := es.Indices(ctx, alias)
		for _, n := range names {
			_ = es.DeleteIndex(ctx, n)
		}
	})
	return es
}

func TestCatalogOverConnectGRPCAndGRPCWeb(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	clients := map[string]catalogv1connect.CatalogServiceClient{
		"connect+json":  catalogv1connect.NewCatalogServiceClient(http.DefaultClient, f.url, connect.WithProtoJSON()),
		"connect+proto": catalogv1connect.NewCatalogServiceClient(http.DefaultClient, f.url),
		"grpc":          catalogv1connect.NewCatalogServiceClient(f.h2c, f.url, connect.WithGRPC()),
		"grpc-web":      catalogv1connect.NewCatalogServiceClient(http.DefaultClient, f.url, connect.WithGRPCWeb()),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			res, err := c.ListProducts(ctx, connect.NewRequest(&catalogv1.ListProductsRequest{Limit: 2}))
			require.NoError(t, err)
			assert.Equal(t, int32(3), res.Msg.GetTotal())
			assert.Len(t, res.Msg.GetProducts(), 2)

			got, err := c.GetProduct(ctx, connect.NewRequest(&catalogv1.GetProductRequest{ProductId: f.laptop.ID}))
			require.NoError(t, err)
			p := got.Msg.GetProduct()
			assert.Equal(t, "LAPTOP-GAMER-001", p.GetSku())
			assert.Equal(t, "1999.99", p.GetPrice())
			assert.Equal(t, int64(199999), p.GetPriceMoney().GetAmountMinor())

			_, err = c.GetProduct(ctx, connect.NewRequest(&catalogv1.GetProductRequest{ProductId: 987654}))
			assert.Equal(t, connect.CodeNotFound, connect.CodeOf(err))

			_, err = c.ListProducts(ctx, connect.NewRequest(&catalogv1.ListProductsRequest{Limit: 101}))
			assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
			assert.Contains(t, err.Error(), "limit")

			cats, err := c.ListCategories(ctx, connect.NewRequest(&catalogv1.ListCategoriesRequest{}))
			require.NoError(t, err)
			assert.Len(t, cats.Msg.GetCategories(), 3)
		})
	}
}

func do(t *testing.T, method, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &out), string(b))
	}
	return res.StatusCode, out
}

func TestSeedRESTRoutes(t *testing.T) {
	f := newServer(t, nil)

	code, body := do(t, "GET", f.url+"/api/products?skip=0&limit=50", "", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.EqualValues(t, 3, body["total"])
	products := body["products"].([]any)
	require.Len(t, products, 3)
	first := products[0].(map[string]any)
	assert.Contains(t, first, "stock_quantity", "REST answers in the seed's snake_case")
	assert.Contains(t, first, "category_id")

	code, body = do(t, "GET", fmt.Sprintf("%s/api/products?category_id=%d&search=laptop", f.url, f.laptop.CategoryID), "", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.EqualValues(t, 1, body["total"])

	code, body = do(t, "GET", fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID), "", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "Gaming Laptop", body["name"], "GET /api/products/{id} answers the product itself")
	assert.Equal(t, "1999.99", body["price"])

	for url, want := range map[string]int{
		"/api/products/424242":       http.StatusNotFound,
		"/api/products?limit=101":    http.StatusBadRequest,
		"/api/products?skip=-1":      http.StatusBadRequest,
		"/api/products?limit=ten":    http.StatusBadRequest,
		"/api/products/not-a-number": http.StatusBadRequest,
		"/api/no-such-route":         http.StatusNotFound,
	} {
		code, body := do(t, "GET", f.url+url, "", "")
		assert.Equal(t, want, code, "%s: %v", url, body)
	}
	code, body = do(t, "GET", f.url+"/api/products?skip=-1", "", "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["message"], "skip", "the error names the field")
}

func TestConnectJSONOverPlainHTTP(t *testing.T) {
	f := newServer(t, nil)
	path := f.url + "/shop.catalog.v1.CatalogService/ListProducts"

	code, body := do(t, "POST", path, "application/json", `{"limit": 2, "skip": 1}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Len(t, body["products"], 2)
	assert.EqualValues(t, 3, body["total"])

	code, body = do(t, "POST", path, "application/json", `{"limit": 2,`)
	assert.Equal(t, http.StatusBadRequest, code, "malformed JSON: %v", body)
	code, body = do(t, "POST", path, "application/json", `{"limit": 500}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "invalid_argument", body["code"])
	assert.Contains(t, body["message"], "limit")
	code, _ = do(t, "POST", path, "application/json", `{"limit": "`+strings.Repeat("9", 2<<20)+`"}`)
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, code, "oversized bodies are refused")
}

func TestHealthAndReadiness(t *testing.T) {
	f := newServer(t, map[string]api.Check{
		"postgres": func(context.Context) error { return nil },
		"temporal": func(context.Context) error { return errors.New("connection refused") },
	})
	code, body := do(t, "GET", f.url+"/healthz", "", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body["status"])

	code, body = do(t, "GET", f.url+"/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	checks := body["checks"].(map[string]any)
	assert.Equal(t, "ok", checks["postgres"])
	assert.Equal(t, "connection refused", checks["temporal"])
}

func TestRequestIDIsEchoed(t *testing.T) {
	f := newServer(t, nil)
	req, _ := http.NewRequest("GET", f.url+"/healthz", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "trace-42", res.Header.Get("X-Request-Id"))

	res, err = http.Get(f.url + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Len(t, res.Header.Get("X-Request-Id"), 16, "a missing ID is generated")
}

func TestAccessLogCarriesRequestIDAndOriginalPath(t *testing.T) {
	var buf syncBuffer
	store := catalog.NewStore(dbtest.New(t))
	h, err := api.NewHandler(api.Deps{Logger: telemetry.NewLogger(&buf, slog.LevelInfo, "json"), Catalog: store,
		Limits: map[string]ratelimit.Limit{}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/products?limit=1", nil)
	req.Header.Set("X-Request-Id", "req-7")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	srv.Close()

	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line), buf.String())
	assert.Equal(t, "req-7", line["request_id"])
	assert.Equal(t, "/api/products", line["path"])
	assert.EqualValues(t, 200, line["status"])
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
