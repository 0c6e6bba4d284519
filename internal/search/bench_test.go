package search_test

// Benchmarks of the two search backends over a generated catalog, and of
// the cached GetProduct REST route. They need the test services (see
// deploy/stack.sh) and only run with -bench:
//
//	BENCH_PRODUCTS=5000 go test -run '^$' -bench . -benchtime=300x ./internal/search/
//	go test -run '^$' -bench . -benchtime=2000x -timeout 30m ./internal/search/

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
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

// benchIndex fills a fresh Elasticsearch index from the database, points a
// new alias at it and deletes the index when b ends.
func benchIndex(b *testing.B, pool *pgxpool.Pool) *search.Elastic {
	ctx := context.Background()
	es, err := search.NewElastic(testenv.RequireElasticsearch(b), testenv.UniqueName("bench-products-"))
	if err != nil {
		b.Fatal(err)
	}
	index := search.IndexName(es.Alias(), time.Now())
	if err := es.CreateIndex(ctx, index); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := es.DeleteIndex(context.Background(), index); err != nil {
			b.Errorf("delete index %s: %v", index, err)
		}
	})
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
	return es
}

func benchQueries(b *testing.B, store *catalog.Store) []search.Query {
	cats, err := store.ListCategories(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	catID := map[string]int64{}
	for _, c := range cats {
		catID[c.Name] = c.ID
	}
	p := func(v int64) *int64 { return &v }
	return []search.Query{
		{Text: "headphones", Limit: 20},
		{Text: "laptop", Limit: 20},
		{Text: "wireless headphones", Limit: 20},
		{Text: "gaming laptop", Limit: 20},
		{Text: "headphnes", Limit: 20}, // typo
		{Text: "laptp", Limit: 20},     // typo
		{Text: "Nordvik", Limit: 20},   // a brand as text
		{Brands: []string{"Nordvik", "Zephyr"}, Limit: 20},
		{Text: "camera", InStock: true, MaxPrice: p(50000), Limit: 20},
		{CategoryID: catID["Audio"], Sort: search.SortPriceAsc, Limit: 20},
		{Text: "speaker", MinPrice: p(10000), Sort: search.SortPriceDesc, Limit: 20},
		{Text: "stainless steel", CategoryID: catID["Kitchen"], InStock: true, Limit: 20},
		{Sort: search.SortNewest, Limit: 20}, // browse everything
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
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	if elapsed > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), rateUnit)
	}
}

func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	n := benchN(b)
	pool := dbtest.New(b)
	store := catalog.NewStore(pool)

	start := time.Now()
	benchLoad(b, store, benchProducts(n))
	b.Logf("loaded %d products into PostgreSQL in %s (batches of %d)", n, time.Since(start).Round(time.Millisecond), benchBatch)
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}

	start = time.Now()
	es := benchIndex(b, pool)
	b.Logf("indexed %d products into Elasticsearch in %s (batches of %d)", n, time.Since(start).Round(time.Millisecond), benchBatch)

	queries := benchQueries(b, store)
	for _, be := range []struct {
		name    string
		backend search.Backend
	}{{"postgres", search.NewPostgres(pool)}, {"elasticsearch", es}} {
		b.Run(be.name, func(b *testing.B) {
			// One untimed pass, so that no query is cold.
			for _, q := range queries {
				if _, err := be.backend.Search(ctx, q); err != nil {
					b.Fatalf("%+v: %v", q, err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			begin := time.Now()
			for i := 0; i < b.N; i++ {
				q := queries[i%len(queries)]
				t := time.Now()
				if _, err := be.backend.Search(ctx, q); err != nil {
					b.Fatalf("%+v: %v", q, err)
				}
				lat = append(lat, time.Since(t))
			}
			elapsed := time.Since(begin)
			b.StopTimer()
			reportLatencies(b, lat, elapsed, "qps")
		})
	}
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
