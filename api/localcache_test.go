package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/shopkit/shop/api"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

// TestProductFromLocalCache serves a product page from the API process's
// memory: the same bytes as uncached, one Redis round trip (the rate limit),
// and a catalog write applied by another process (the worker's outbox
// relay) reaches it.
func TestProductFromLocalCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	_, err := store.UpsertProducts(ctx, []catalog.ProductInput{{SKU: "MUG-LOCAL", Name: "Travel Mug", Description: "Keeps tea hot",
		Category: "Kitchen", Brand: "Nordvik", Price: money.Money{Amount: 1500, Currency: "USD"}, StockQuantity: 5}})
	require.NoError(t, err)
	var id int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT id FROM products WHERE sku = 'MUG-LOCAL'").Scan(&id))
	_, err = store.UpdateProduct(ctx, id, catalog.ProductPatch{Attributes: map[string]string{"color": "blue", "size": "350 ml", "lid": "yes"}})
	require.NoError(t, err)

	rdb := testenv.Redis(t)
	var trips testenv.RoundTrips
	rdb.AddHook(&trips)
	prefix := testenv.UniqueName("test-local-") + ":"
	storefront := cache.New(rdb, prefix+"cache:", nil)
	t.Cleanup(storefront.StartLocal(cache.LocalConfig{TTL: time.Hour}))
	require.Eventually(t, storefront.LocalServing, 10*time.Second, 10*time.Millisecond)
	// The worker: its own Redis client and cache, fed by the outbox.
	testenv.RunRelay(t, &outbox.Relay{Pool: pool, Log: slog.New(slog.DiscardHandler), Poll: 50 * time.Millisecond,
		Consumers: []outbox.Consumer{catalog.CacheConsumer{Cache: cache.New(testenv.Redis(t), prefix+"cache:", nil)},
			outbox.Discard(search.ConsumerName)}})

	newServer := func(c *cache.Cache, limit ratelimit.Limit) *httptest.Server {
		h, err := api.NewHandler(api.Deps{Logger: slog.New(slog.DiscardHandler), Catalog: store, Search: search.NewPostgres(pool),
			Cache: c, Limiter: ratelimit.NewLimiter(rdb, testenv.UniqueName(prefix+"rl-")+":"),
			Limits: map[string]ratelimit.Limit{"public": limit}})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	// A burst under 40: one Redis call per request, no lease.
	roomy := ratelimit.Limit{Rate: 1000, Period: time.Second, Burst: 20}
	cached, uncached := newServer(storefront, roomy), newServer(nil, roomy)

	do := func(srv *httptest.Server, form string) (int, http.Header, []byte) {
		t.Helper()
		var req *http.Request
		switch form {
		case "rest":
			req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/products/"+strconv.FormatInt(id, 10), nil)
		case "json", "proto":
			body := `{"product_id":` + strconv.FormatInt(id, 10) + `}`
			if form == "proto" {
				b, err := proto.Marshal(&catalogv1.GetProductRequest{ProductId: id})
				require.NoError(t, err)
				body = string(b)
			}
			req, _ = http.NewRequest(http.MethodPost, srv.URL+"/shop.catalog.v1.CatalogService/GetProduct", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/"+form)
		}
		req.Header.Set("Accept-Encoding", "identity")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Header.Del("Date")
		res.Header.Del("X-Request-Id")
		return res.StatusCode, res.Header, b
	}
	get := func(srv *httptest.Server, form string) (http.Header, []byte) {
		t.Helper()
		status, h, b := do(srv, form)
		require.Equal(t, http.StatusOK, status, "%s: %s", form, b)
		return h, b
	}

	for _, form := range []string{"rest", "json", "proto"} {
		wantType, want := get(uncached, form)
		get(cached, form) // fills
		before := storefront.Stats().LocalHits
		trips.N.Store(0)
		gotType, got := get(cached, form)
		assert.Equal(t, before+1, storefront.Stats().LocalHits, "%s: served from memory", form)
		assert.EqualValues(t, 1, trips.N.Load(), "%s: one Redis round trip (the rate limit) for a warm page", form)
		assert.Equal(t, wantType, gotType, "%s: same headers as uncached", form)
		if form == "proto" { // map order is not fixed in the binary form
			var w, g catalogv1.GetProductResponse
			require.NoError(t, proto.Unmarshal(want, &w))
			require.NoError(t, proto.Unmarshal(got, &g))
			assert.True(t, proto.Equal(&w, &g), "proto: same message as uncached")
			assert.Equal(t, "blue", g.GetProduct().GetAttributes()["color"])
		} else {
			assert.Equal(t, string(want), string(got), "%s: same bytes as uncached", form)
		}
	}

	// A write: the worker's invalidation reaches this process's memory.
	name := "Travel Mug, insulated"
	_, err = store.UpdateProduct(ctx, id, catalog.ProductPatch{Name: &name})
	require.NoError(t, err)
	for _, form := range []string{"rest", "json"} {
		require.Eventually(t, func() bool {
			_, b := get(cached, form)
			return strings.Contains(string(b), name)
		}, 10*time.Second, 20*time.Millisecond, "%s: the write never showed", form)
		_, want := get(uncached, form)
		_, got := get(cached, form)
		assert.Equal(t, string(want), string(got), "%s: same bytes as uncached after the write", form)
	}

	// Past the rate limit, a page held in memory is refused as any other
	// call, and the limit is applied once per call.
	for _, form := range []string{"rest", "json"} {
		tight := newServer(storefront, ratelimit.Limit{Rate: 2, Period: time.Hour})
		require.NotNil(t, storefront.Local(catalog.ProductCacheKey(id)))
		get(tight, form)
		get(tight, form)
		status, h, b := do(tight, form)
		assert.Equal(t, http.StatusTooManyRequests, status, "%s: %s", form, b)
		assert.NotEmpty(t, h.Get("Retry-After"), form)
		want := `"code":8`
		if form == "json" {
			want = `"code":"resource_exhausted"`
		}
		assert.Contains(t, string(b), want, form)
	}
}

// localCacheServers serves one product (SKU sku, category Kitchen) from a
// server with a local cache level and from one without any cache.
func localCacheServers(t *testing.T, sku string) (cached, uncached *httptest.Server, id int64, storefront *cache.Cache) {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	_, err := store.UpsertProducts(ctx, []catalog.ProductInput{{SKU: sku, Name: "Travel Mug", Description: "Keeps tea hot",
		Category: "Kitchen", Brand: "Nordvik", Price: money.Money{Amount: 1500, Currency: "USD"}, StockQuantity: 5}})
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, "SELECT id FROM products WHERE sku = $1", sku).Scan(&id))

	prefix := testenv.UniqueName("test-local-") + ":"
	storefront = cache.New(testenv.Redis(t), prefix+"cache:", nil)
	t.Cleanup(storefront.StartLocal(cache.LocalConfig{TTL: time.Hour}))
	require.Eventually(t, storefront.LocalServing, 10*time.Second, 10*time.Millisecond)
	newServer := func(c *cache.Cache) *httptest.Server {
		h, err := api.NewHandler(api.Deps{Logger: slog.New(slog.DiscardHandler), Catalog: store, Search: search.NewPostgres(pool), Cache: c})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	return newServer(storefront), newServer(nil), id, storefront
}

// TestLocalCacheAnswersEveryJSONContentType serves the cached catalog reads
// from memory with the body of an uncached answer, whatever spelling of the
// JSON content type the client sends (Connect gives
// "application/json; charset=utf-8" a codec of its own) and over a
// Connect GET.
func TestLocalCacheAnswersEveryJSONContentType(t *testing.T) {
	t.Parallel()
	cached, uncached, id, storefront := localCacheServers(t, "MUG-CHARSET")

	post := func(srv *httptest.Server, method, body, contentType string) []byte {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/shop.catalog.v1.CatalogService/"+method, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept-Encoding", "identity")
		if contentType == "" { // a Connect GET
			q := url.Values{"connect": {"v1"}, "encoding": {"json"}, "message": {body}}
			req, err = http.NewRequest(http.MethodGet, srv.URL+"/shop.catalog.v1.CatalogService/"+method+"?"+q.Encode(), nil)
			require.NoError(t, err)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s %q: %s", method, contentType, b)
		return b
	}
	calls := map[string]struct{ body, shows string }{
		"GetProduct":     {`{"product_id":` + strconv.FormatInt(id, 10) + `}`, "MUG-CHARSET"},
		"ListProducts":   {`{"limit":5}`, "MUG-CHARSET"},
		"ListCategories": {`{}`, "Kitchen"},
	}
	for method, call := range calls {
		body := call.body
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8", ""} {
			want := post(uncached, method, body, ct)
			require.Contains(t, string(want), call.shows, "%s %q", method, ct)
			post(cached, method, body, ct) // fills
			before := storefront.Stats().LocalHits
			got := post(cached, method, body, ct)
			assert.Equal(t, before+1, storefront.Stats().LocalHits, "%s %q: served from memory", method, ct)
			assert.Equal(t, string(want), string(got), "%s %q: same body as uncached", method, ct)
		}
	}
}

// TestLocalCacheFastPathsRefuseAsUncached: a request the normal path
// refuses is refused the same way when its answer is held in memory.
func TestLocalCacheFastPathsRefuseAsUncached(t *testing.T) {
	t.Parallel()
	cached, uncached, id, storefront := localCacheServers(t, "MUG-REFUSE")
	idText := strconv.FormatInt(id, 10)
	do := func(srv *httptest.Server, connectTimeout, query string) (int, string) {
		t.Helper()
		var req *http.Request
		if connectTimeout != "" {
			req, _ = http.NewRequest(http.MethodPost, srv.URL+"/shop.catalog.v1.CatalogService/GetProduct", strings.NewReader(`{"product_id":`+idText+`}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Connect-Timeout-Ms", connectTimeout)
		} else {
			req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/products/"+idText+query, nil)
		}
		req.Header.Set("Accept-Encoding", "identity")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	status, _ := do(cached, "5000", "")
	require.Equal(t, http.StatusOK, status) // fills
	require.NotNil(t, storefront.Local(catalog.ProductCacheKey(id)), "held in memory")
	for _, c := range []struct{ timeout, query string }{
		{"not-a-number", ""}, {"12345678901", ""}, {"5000", ""},
		{"", "?x=%ff"}, {"", "?x=%zz"}, {"", "?x;y=1"}, {"", "?utm_source=mail"},
	} {
		wantStatus, want := do(uncached, c.timeout, c.query)
		gotStatus, got := do(cached, c.timeout, c.query)
		assert.Equal(t, wantStatus, gotStatus, "%+v: %s", c, got)
		if wantStatus != http.StatusOK {
			assert.Equal(t, want, got, "%+v: same refusal as uncached", c)
		}
	}
}
