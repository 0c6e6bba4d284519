package api_test

// BenchmarkGetProductVsBare measures the cached product page against bare
// net/http handlers in the same process and run, so the ratios hold on a
// busy or slow machine. It needs the test services and only runs with -bench:
//
//	go test -run '^$' -bench GetProductVsBare -benchtime=1x ./api/
//
// The targets take turns in short closed-loop rounds (BENCH_ROUND, default
// 500ms, BENCH_ROUNDS of them each, default 10), so a burst of load from
// elsewhere on the machine hits them alike.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

const benchClients = 16 // closed loop: each sends its next request when the last one is answered

func BenchmarkGetProductVsBare(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.New(b)
	store := catalog.NewStore(pool)
	var items []catalog.ProductInput
	for i := range 100 {
		items = append(items, catalog.ProductInput{SKU: fmt.Sprintf("BENCH-%03d", i), Name: fmt.Sprintf("Nordvik Wireless Headphones %d", i),
			Description: "Noise cancelling wireless headphones with a two-year warranty and long battery life.",
			Category:    "Audio", Brand: "Nordvik", Price: money.Money{Amount: 12999 + int64(i), Currency: "USD"}, StockQuantity: 40})
	}
	if _, err := store.UpsertProducts(ctx, items); err != nil {
		b.Fatal(err)
	}
	var ids []int64
	if err := pool.QueryRow(ctx, "SELECT array_agg(id ORDER BY id) FROM products").Scan(&ids); err != nil {
		b.Fatal(err)
	}

	rdb := testenv.Redis(b)
	prefix := testenv.UniqueName("bench-vs-bare-") + ":"
	storefront := cache.New(rdb, prefix+"cache:", nil)
	b.Cleanup(storefront.StartLocal(cache.LocalConfig{TTL: time.Minute}))
	require.Eventually(b, storefront.LocalServing, 10*time.Second, 10*time.Millisecond)
	h, err := api.NewHandler(api.Deps{
		Logger: slog.New(slog.DiscardHandler), Catalog: store, Search: search.NewPostgres(pool), Cache: storefront,
		// A real limit on every request (one that never trips here).
		Limiter: ratelimit.NewLimiter(rdb, prefix+"rl:"),
		Limits:  map[string]ratelimit.Limit{"public": {Rate: 1 << 30, Period: time.Second}},
	})
	if err != nil {
		b.Fatal(err)
	}
	shop := httptest.NewServer(h)
	b.Cleanup(shop.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)

	rest := func(id int64) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, shop.URL+"/api/products/"+strconv.FormatInt(id, 10), nil)
		return r
	}
	connectJSON := func(id int64) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, shop.URL+"/shop.catalog.v1.CatalogService/GetProduct",
			strings.NewReader(`{"product_id":`+strconv.FormatInt(id, 10)+`}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	// The bare handlers serve each product's REST body: from memory, or
	// after one Redis GET.
	bodies := map[string][]byte{}
	for _, id := range ids { // also warms both cache levels
		for _, req := range []*http.Request{connectJSON(id), rest(id)} {
			if _, err := fetch(client, req); err != nil {
				b.Fatal(err)
			}
		}
		body, err := fetch(client, rest(id))
		if err != nil {
			b.Fatal(err)
		}
		path := "/api/products/" + strconv.FormatInt(id, 10)
		bodies[path] = body
		if err := rdb.Set(ctx, prefix+"bare:"+path, body, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	if hits := storefront.Stats().LocalHits; hits == 0 {
		b.Fatal("the local level served nothing while warming")
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(bare.Close)
	bareRedis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := rdb.Get(r.Context(), prefix+"bare:"+r.URL.Path).Bytes()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(bareRedis.Close)
	onBare := func(srv *httptest.Server) func(int64) *http.Request {
		return func(id int64) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/products/"+strconv.FormatInt(id, 10), nil)
			return r
		}
	}

	targets := []struct {
		name string
		req  func(int64) *http.Request
	}{{"bare", onBare(bare)}, {"bare_redis", onBare(bareRedis)}, {"rest", rest}, {"connect", connectJSON}}
	round, rounds := 500*time.Millisecond, envInt(b, "BENCH_ROUNDS", 10)
	if s := os.Getenv("BENCH_ROUND"); s != "" {
		if round, err = time.ParseDuration(s); err != nil || round <= 0 {
			b.Fatalf("BENCH_ROUND=%q: want a positive duration", s)
		}
	}
	done := make([]int64, len(targets))
	spent := make([]time.Duration, len(targets))
	b.ResetTimer()
	for range rounds {
		for i, t := range targets {
			n, d := closedLoop(b, client, ids, t.req, round)
			done[i] += n
			spent[i] += d
		}
	}
	b.StopTimer()
	rate := func(i int) float64 { return float64(done[i]) / spent[i].Seconds() }
	for i, t := range targets {
		b.ReportMetric(rate(i), t.name+"_req/s")
	}
	b.ReportMetric(rate(2)/rate(0), "rest/bare")
	b.ReportMetric(rate(3)/rate(0), "connect/bare")
	b.ReportMetric(rate(2)/rate(1), "rest/bare_redis")
	b.ReportMetric(rate(3)/rate(1), "connect/bare_redis")
	b.ReportMetric(0, "ns/op")
}

// closedLoop keeps benchClients requests in flight for d and counts the answers.
func closedLoop(b *testing.B, client *http.Client, ids []int64, req func(int64) *http.Request, d time.Duration) (int64, time.Duration) {
	var (
		n    atomic.Int64
		wg   sync.WaitGroup
		stop atomic.Bool
	)
	start := time.Now()
	time.AfterFunc(d, func() { stop.Store(true) })
	for g := range benchClients {
		wg.Go(func() {
			for i := g * 7; !stop.Load(); i++ {
				if _, err := fetch(client, req(ids[i%len(ids)])); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), time.Since(start)
}

func fetch(client *http.Client, req *http.Request) ([]byte, error) {
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, res.Status, body)
	}
	return body, nil
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
