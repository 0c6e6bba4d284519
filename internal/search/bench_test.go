package search_test

// Benchmarks of the two search backends over a generated catalog, and of
// the cached GetProduct REST route. They need the test services (see
// deploy/stack.sh) and only run with -bench:
//
//	BENCH_PRODUCTS=5000 go test -run '^$' -bench Search -benchtime=1000x ./internal/search/
//	BENCH_DB=postgres://…/shop_bench go test -run '^$' -bench Search -benchtime=2000x -timeout 30m ./internal/search/

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

const benchBatch = 1000

// benchCategories are the 20 categories, each with the nouns of its products.
var benchCategories = []struct {
	name  string
	nouns []string
}{
	{"Laptops", []string{"Laptop", "Notebook", "Ultrabook"}},
	{"Audio", []string{"Headphones", "Earbuds", "Speaker"}},
	{"Cameras", []string{"Camera", "Lens", "Tripod"}},
	{"Phones", []string{"Phone", "Smartphone", "Charger"}},
	{"Monitors", []string{"Monitor", "Display", "Projector"}},
	{"Peripherals", []string{"Keyboard", "Mouse", "Webcam"}},
	{"Kitchen", []string{"Kettle", "Blender", "Toaster"}},
	{"Cookware", []string{"Pan", "Pot", "Wok"}},
	{"Drinkware", []string{"Mug", "Bottle", "Tumbler"}},
	{"Office", []string{"Lamp", "Chair", "Desk"}},
	{"Garden", []string{"Hose", "Shovel", "Planter"}},
	{"Tools", []string{"Drill", "Hammer", "Wrench"}},
	{"Fitness", []string{"Dumbbell", "Treadmill", "Mat"}},
	{"Outdoor", []string{"Tent", "Backpack", "Lantern"}},
	{"Bags", []string{"Bag", "Wallet", "Suitcase"}},
	{"Watches", []string{"Watch", "Smartwatch", "Strap"}},
	{"Gaming", []string{"Console", "Controller", "Headset"}},
	{"Toys", []string{"Puzzle", "Robot", "Drone"}},
	{"Home", []string{"Pillow", "Blanket", "Vase"}},
	{"Storage", []string{"Drive", "Shelf", "Box"}},
}

var benchBrands = []string{
	"Nordvik", "Aurelio", "Brightline", "Calderon", "Driftwood", "Ember", "Fjordic", "Granite", "Halcyon", "Ironbark",
	"Juniper", "Kestrel", "Lumina", "Meridian", "Nimbus", "Obsidian", "Pinnacle", "Quartz", "Redwood", "Solstice",
	"Tundra", "Umbra", "Vantage", "Willow", "Xenon", "Yarrow", "Zephyr", "Acme", "Boreal", "Cobalt",
	"Dynamo", "Evergreen", "Falcon", "Glacier", "Horizon", "Indigo", "Jetstream", "Kodiak", "Lynx", "Monarch",
	"Nova", "Orion", "Polaris", "Quasar", "Radiant", "Sierra", "Titan", "Ultraviolet", "Vertex", "Wolfram",
}

var (
	benchAdjectives = []string{"Wireless", "Gaming", "Portable", "Compact", "Ergonomic", "Smart", "Premium", "Classic",
		"Lightweight", "Waterproof", "Stainless", "Professional", "Foldable", "Rechargeable", "Vintage", "Modern"}
	benchMaterials = []string{"stainless steel", "aluminium", "bamboo", "leather", "recycled plastic", "tempered glass", "oak", "carbon fibre"}
	benchFeatures  = []string{"a two-year warranty", "fast charging", "noise cancelling", "a matte finish", "USB-C",
		"Bluetooth 5.3", "a carry case", "adjustable height", "a non-stick coating", "long battery life", "a quiet motor"}
	benchUses = []string{"everyday use", "travel", "the office", "gamers", "families", "professionals", "outdoor adventures"}
	// priceBuckets roughly follows search's price facet edges.
	benchPriceBuckets = [][2]int64{{199, 2500}, {2500, 5000}, {5000, 10000}, {10000, 25000}, {25000, 50000}, {50000, 100000}, {100000, 400000}}
)

// benchProducts generates n products deterministically.
func benchProducts(n int) []catalog.ProductInput {
	rng := rand.New(rand.NewPCG(42, 2024))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	out := make([]catalog.ProductInput, n)
	for i := range out {
		cat := benchCategories[rng.IntN(len(benchCategories))]
		noun, adj, brand := pick(cat.nouns), pick(benchAdjectives), pick(benchBrands)
		model := fmt.Sprintf("%c%d", 'A'+rng.IntN(26), 10*(1+rng.IntN(99)))
		bucket := benchPriceBuckets[rng.IntN(len(benchPriceBuckets))]
		stock := int32(rng.IntN(200))
		if rng.IntN(100) < 15 {
			stock = 0 // some out of stock
		}
		out[i] = catalog.ProductInput{
			SKU:           fmt.Sprintf("BENCH-%07d", i),
			Name:          fmt.Sprintf("%s %s %s %s", brand, adj, noun, model),
			Description:   fmt.Sprintf("A %s %s in %s with %s and %s. Ideal for %s.", lower(adj), lower(noun), pick(benchMaterials), pick(benchFeatures), pick(benchFeatures), pick(benchUses)),
			Category:      cat.name,
			Brand:         brand,
			Price:         money.Money{Amount: bucket[0] + rng.Int64N(bucket[1]-bucket[0]), Currency: "USD"},
			StockQuantity: stock,
		}
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

func benchN(b *testing.B) int {
	s := os.Getenv("BENCH_PRODUCTS")
	if s == "" {
		return 100000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("BENCH_PRODUCTS=%q: want a positive integer", s)
	}
	return n
}

// benchLoad inserts products with UpsertProducts in batches.
func benchLoad(b *testing.B, store *catalog.Store, items []catalog.ProductInput) {
	ctx := context.Background()
	for start := 0; start < len(items); start += benchBatch {
		if _, err := store.UpsertProducts(ctx, items[start:min(start+benchBatch, len(items))]); err != nil {
			b.Fatalf("upsert: %v", err)
		}
	}
}

// benchIndex fills index from the database and points alias at it.
func benchIndex(b *testing.B, pool *pgxpool.Pool, es *search.Elastic, index string) {
	ctx := context.Background()
	if err := es.CreateIndex(ctx, index); err != nil {
		b.Fatal(err)
	}
	var after int64
	for {
		ids, err := search.AllProductIDs(ctx, pool, after, benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) == 0 {
			break
		}
		docs, _, err := search.LoadDocs(ctx, pool, ids)
		if err != nil {
			b.Fatal(err)
		}
		if err := es.Upsert(ctx, index, docs); err != nil {
			b.Fatal(err)
		}
		after = ids[len(ids)-1]
	}
	if _, err := es.PointAlias(ctx, es.Alias(), index); err != nil {
		b.Fatal(err)
	}
}

// benchData returns the benchmark's catalog in PostgreSQL and
// Elasticsearch: fresh ones dropped at the end, or, with BENCH_DB (the URL
// of an existing database), that database, filled on its first run and
// reused afterwards together with an index kept under an alias named after
// the database, the catalog size and the index mapping.
func benchData(b *testing.B, n, clients int) (*pgxpool.Pool, *search.Elastic) {
	ctx := context.Background()
	keep := os.Getenv("BENCH_DB")
	var pool *pgxpool.Pool
	if keep == "" {
		pool = dbtest.New(b)
	} else {
		cfg, err := pgxpool.ParseConfig(keep)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = int32(max(10, clients))
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		if err := db.Migrate(pool); err != nil {
			b.Fatal(err)
		}
	}
	var have int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&have); err != nil {
		b.Fatal(err)
	}
	reloaded := have != n
	switch {
	case have == 0:
		start := time.Now()
		benchLoad(b, catalog.NewStore(pool), benchProducts(n))
		b.Logf("loaded %d products into PostgreSQL in %s (batches of %d)", n, time.Since(start).Round(time.Millisecond), benchBatch)
	case have != n:
		b.Fatalf("BENCH_DB holds %d products, not BENCH_PRODUCTS=%d: use an empty database", have, n)
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}

	url := testenv.RequireElasticsearch(b)
	if keep == "" {
		es, err := search.NewElastic(url, testenv.UniqueName("bench-products-"))
		if err != nil {
			b.Fatal(err)
		}
		index := search.IndexName(es.Alias(), time.Now())
		b.Cleanup(func() {
			if err := es.DeleteIndex(context.Background(), index); err != nil {
				b.Errorf("delete index %s: %v", index, err)
			}
		})
		start := time.Now()
		benchIndex(b, pool, es, index)
		b.Logf("indexed %d products into Elasticsearch in %s (batches of %d)", n, time.Since(start).Round(time.Millisecond), benchBatch)
		return pool, es
	}
	prefix := "bench-keep-" + strings.ToLower(pool.Config().ConnConfig.Database) + "-"
	es, err := search.NewElastic(url, fmt.Sprintf("%s%d-%s", prefix, n, search.MappingVersion()))
	if err != nil {
		b.Fatal(err)
	}
	if count, err := es.Count(ctx, ""); err == nil && count == n && !reloaded {
		return pool, es
	}
	stale, err := es.Indices(ctx, prefix+"*")
	if err != nil {
		b.Fatal(err)
	}
	for _, index := range stale {
		if err := es.DeleteIndex(ctx, index); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	benchIndex(b, pool, es, search.IndexName(es.Alias(), time.Now()))
	b.Logf("indexed %d products into Elasticsearch in %s (batches of %d)", n, time.Since(start).Round(time.Millisecond), benchBatch)
	return pool, es
}

type benchQuery struct {
	kind string
	q    search.Query
}

func benchQueries(b *testing.B, store *catalog.Store) []benchQuery {
	cats, err := store.ListCategories(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	catID := map[string]int64{}
	for _, c := range cats {
		catID[c.Name] = c.ID
	}
	p := func(v int64) *int64 { return &v }
	return []benchQuery{
		{"text", search.Query{Text: "headphones", Limit: 20}},
		{"text", search.Query{Text: "laptop", Limit: 20}},
		{"text-2-words", search.Query{Text: "wireless headphones", Limit: 20}},
		{"text-2-words", search.Query{Text: "gaming laptop", Limit: 20}},
		{"typo", search.Query{Text: "headphnes", Limit: 20}},
		{"typo", search.Query{Text: "laptp", Limit: 20}},
		{"brand-as-text", search.Query{Text: "Nordvik", Limit: 20}},
		{"brand-facet", search.Query{Brands: []string{"Nordvik", "Zephyr"}, Limit: 20}},
		{"text+stock+price", search.Query{Text: "camera", InStock: true, MaxPrice: p(50000), Limit: 20}},
		{"category-by-price", search.Query{CategoryID: catID["Audio"], Sort: search.SortPriceAsc, Limit: 20}},
		{"text-by-price", search.Query{Text: "speaker", MinPrice: p(10000), Sort: search.SortPriceDesc, Limit: 20}},
		{"text+category+stock", search.Query{Text: "stainless steel", CategoryID: catID["Kitchen"], InStock: true, Limit: 20}},
		{"browse-all", search.Query{Sort: search.SortNewest, Limit: 20}},
		{"deep-page", search.Query{Text: "laptop", Offset: 2000, Limit: 20}},
		{"deep-page", search.Query{CategoryID: catID["Garden"], Sort: search.SortPriceDesc, Offset: 4000, Limit: 20}},
	}
}

// percentile of sorted latencies, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

func reportLatencies(b *testing.B, lat []time.Duration, elapsed time.Duration, rateUnit string) {
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(percentile(lat, 0.95), "p95-ms")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	if elapsed > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), rateUnit)
	}
}

// benchClients is the number of concurrent searchers (BENCH_CLIENTS, default 8).
func benchClients(b *testing.B) int {
	s := os.Getenv("BENCH_CLIENTS")
	if s == "" {
		return 8
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("BENCH_CLIENTS=%q: want a positive integer", s)
	}
	return n
}

// BenchmarkSearch runs the query mix against each backend from
// BENCH_CLIENTS concurrent clients, b.N queries in all, round-robin over
// the mix. It reports the latency percentiles, the throughput and the CPU
// time the server (PostgreSQL's backends, the Elasticsearch node) spent
// per query, and prints them per kind of query beside each kind's median
// latency and server CPU alone (one client): what the query costs without
// queueing, a figure the other load of a shared machine disturbs less.
// BENCH_EXPLAIN=1 prints PostgreSQL's plan of each query first.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	n, clients := benchN(b), benchClients(b)
	pool, es := benchData(b, n, clients)
	queries := benchQueries(b, catalog.NewStore(pool))
	if os.Getenv("BENCH_EXPLAIN") != "" {
		for _, q := range queries {
			plan, err := search.ExplainPostgres(ctx, pool, q.q)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Printf("== %s %+v\n%s\n", q.kind, q.q, plan)
		}
	}
	for _, be := range []struct {
		name    string
		backend search.Backend
		cpu     func() time.Duration
	}{
		{"postgres", search.NewPostgres(pool), func() time.Duration { return pgCPU(b, pool) }},
		{"elasticsearch", es, func() time.Duration { return esCPU(b) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			run := func(q search.Query) time.Duration {
				t := time.Now()
				if _, err := be.backend.Search(ctx, q); err != nil {
					b.Fatalf("%+v: %v", q, err)
				}
				return time.Since(t)
			}
			// Untimed: every query once so that none is cold, then each
			// alone, five times.
			for _, q := range queries {
				run(q.q)
			}
			alone := map[string][]time.Duration{}
			aloneCPU := map[string]time.Duration{}
			if b.N > 1 {
				for range 5 {
					for _, q := range queries {
						cpu := be.cpu()
						alone[q.kind] = append(alone[q.kind], run(q.q))
						aloneCPU[q.kind] += be.cpu() - cpu
					}
				}
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu := be.cpu()
			b.ResetTimer()
			begin := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						lat[i] = run(queries[i%len(queries)].q)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(begin)
			b.StopTimer()
			cpu = be.cpu() - cpu
			if b.N > 1 {
				printKinds(b.Name(), queries, lat, alone, aloneCPU)
			}
			reportLatencies(b, lat, elapsed, "qps")
			b.ReportMetric(float64(clients), "clients")
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "server-cpu-ms/op")
		})
	}
}

// printKinds prints each kind's percentiles under load, and its median
// latency and mean server CPU alone. (Printed rather than logged: a
// benchmark's log is cut to ten lines.)
func printKinds(name string, queries []benchQuery, lat []time.Duration, alone map[string][]time.Duration, aloneCPU map[string]time.Duration) {
	byKind := map[string][]time.Duration{}
	var kinds []string
	for i, d := range lat {
		k := queries[i%len(queries)].kind
		if byKind[k] == nil {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], d)
	}
	fmt.Printf("%s per kind of query:\n%-20s %5s %8s %8s %8s %9s %9s\n", name, "kind", "n", "p50-ms", "p95-ms", "p99-ms", "alone-ms", "cpu-ms")
	for _, k := range kinds {
		l, a := byKind[k], alone[k]
		slices.Sort(l)
		slices.Sort(a)
		fmt.Printf("%-20s %5d %8.1f %8.1f %8.1f %9.1f %9.1f\n", k, len(l), percentile(l, 0.5), percentile(l, 0.95),
			percentile(l, 0.99), percentile(a, 0.5), float64(aloneCPU[k])/float64(time.Millisecond)/float64(len(a)))
	}
}

// pgCPU is the CPU time that the backends of pool's database have used, from
// /proc (PostgreSQL on this host); 0 when it cannot be read. A backend that
// exits meanwhile drops its share, so the pool keeps its connections.
func pgCPU(b *testing.B, pool *pgxpool.Pool) time.Duration {
	rows, err := pool.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, pid := range pids {
		// The first field of schedstat is the time on CPU, in nanoseconds.
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(raw)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// esCPU is the CPU time the Elasticsearch node has used (all its work,
// other clients' included).
func esCPU(b *testing.B) time.Duration {
	res, err := http.Get(testenv.ElasticsearchURL() + "/_nodes/_local/stats/process?filter_path=nodes.*.process.cpu")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Nodes map[string]struct {
			Process struct {
				CPU struct {
					TotalInMillis int64 `json:"total_in_millis"`
				} `json:"cpu"`
			} `json:"process"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, n := range out.Nodes {
		total += time.Duration(n.Process.CPU.TotalInMillis) * time.Millisecond
	}
	return total
}

func BenchmarkGetProductWarmCache(b *testing.B) {
	ctx := context.Background()
	const warm = 1000
	pool := dbtest.New(b)
	store := catalog.NewStore(pool)
	benchLoad(b, store, benchProducts(warm))

	h, err := api.NewHandler(api.Deps{
		Logger:  slog.New(slog.DiscardHandler),
		Catalog: store,
		Search:  search.NewPostgres(pool),
		Cache:   cache.New(testenv.Redis(b), testenv.UniqueName("bench-api-")+":", nil),
		Limits:  map[string]ratelimit.Limit{},
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var ids []int64
	if err := pool.QueryRow(ctx, "SELECT array_agg(id ORDER BY id) FROM products").Scan(&ids); err != nil {
		b.Fatal(err)
	}
	get := func(id int64) error {
		res, err := client.Get(srv.URL + "/api/products/" + strconv.FormatInt(id, 10))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET product %d: %s", id, res.Status)
		}
		return nil
	}
	for _, id := range ids { // warm the cache
		if err := get(id); err != nil {
			b.Fatal(err)
		}
	}

	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, b.N)
		next = make(chan int, 1)
	)
	next <- 0
	b.ResetTimer()
	begin := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := <-next // each goroutine starts at a different id
		next <- i + 97
		var local []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := get(ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t))
			i++
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(begin)
	b.StopTimer()
	reportLatencies(b, lat, elapsed, "req/s")
}
