package search_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

// fixture is the shared catalog both backends are tested on.
type fixture struct {
	pool *pgxpool.Pool
	ids  map[string]int64 // by SKU
	cats map[string]int64 // by slug
}

type product struct {
	sku, name, brand, category string
	price                      int64
	stock                      int32
	desc                       string
}

// Categories: name, parent name, active. Clearance is inactive, and so is
// everything under it even though "Clearance Laptops" itself is active.
var categories = []struct {
	name, parent string
	active       bool
}{
	{"Electronics", "", true}, {"Laptops", "Electronics", true}, {"Audio", "Electronics", true},
	{"Components", "Electronics", true}, {"Home", "", true}, {"Kitchen", "Home", true},
	{"Decor", "Home", true}, {"Clearance", "", false}, {"Clearance Laptops", "Clearance", true},
}

var products = []product{
	{"L1", "Laptop 15", "Nordvik", "Laptops", 89999, 4, "Everyday laptop with a 15-inch screen and all-day battery."},
	{"L2", "Gaming Laptop 17", "Nordvik", "Laptops", 249999, 2, "High-performance gaming laptop with RTX 4080 graphics and a 240 Hz display."},
	{"L3", "Ultrabook Laptop 14", "Lumina", "Laptops", 129999, 0, "Thin and light laptop with an aluminium body."}, // in stock via a variant
	{"L4", "Business Laptop 14", "Nordvik", "Laptops", 99999, 0, "Durable laptop with a fingerprint reader."},      // only an inactive variant has stock
	{"L5", "Chromebook 11", "Lumina", "Laptops", 29999, 7, "Lightweight notebook for school."},
	{"E1", "Laptop Sleeve 15", "Altura", "Electronics", 2999, 20, "Padded sleeve that fits most 15-inch laptops."},
	{"E2", "USB-C Charger 65W", "Voltix", "Electronics", 2499, 50, "Fast charger for phones and laptops."},
	{"A1", "Wireless Headphones", "Sonora", "Audio", 19999, 10, "Noise-cancelling wireless headphones with a 30-hour battery."},
	{"A2", "Wireless Headphones Lite", "Sonora", "Audio", 9999, 0, "Lightweight wireless headphones for travel."},
	{"A3", "Sport Wireless Headphones", "Akustik", "Audio", 12999, 5, "Sweat-resistant wireless headphones with ear hooks."},
	{"A4", "Studio Monitor Headphones", "Akustik", "Audio", 24999, 3, "Closed-back wired headphones for studio monitoring."},
	{"A5", "Wireless Earbuds", "Akustik", "Audio", 7999, 12, "True wireless earbuds with a charging case."},
	{"A6", "Portable Speaker", "Sonora", "Audio", 5999, 8, "Waterproof bluetooth speaker."}, // {"color": "crimson"}
	{"A7", "Soundbar", "Sonora", "Audio", 34999, 2, "Soundbar with a wireless subwoofer."},
	{"A8", "Turntable", "Akustik", "Audio", 49999, 1, "Belt-drive turntable with a built-in preamp."},
	{"A9", "Bookshelf Speakers", "Akustik", "Audio", 50000, 0, "Pair of passive speakers."},
	{"C1", "GeForce RTX 4080 Graphics Card", "Voltix", "Components", 119999, 3, "16 GB GDDR6X graphics card for 4K gaming."},
	{"C2", "GeForce RTX 4070 Graphics Card", "Voltix", "Components", 69999, 6, "12 GB graphics card for 1440p gaming."},
	{"C3", "Radeon RX 7900 Graphics Card", "Redline", "Components", 89999, 0, "20 GB graphics card."},
	{"C4", "NVMe SSD 2TB", "Voltix", "Components", 15999, 25, "PCIe 4.0 solid state drive."},
	{"C5", "DDR5 Memory 32GB", "Voltix", "Components", 11999, 14, "Two 16 GB modules."},
	{"C6", "Tower Cooler", "Redline", "Components", 4999, 9, "Quiet CPU air cooler."},
	{"K1", "Travel Mug", "Altura", "Kitchen", 1500, 40, "Keeps coffee hot for hours."},
	{"K2", "Chef Knife", "Altura", "Kitchen", 4999, 11, "Forged steel chef knife."},
	{"K3", "Espresso Machine", "Brevo", "Kitchen", 45999, 2, "Pump espresso machine with a milk frother."},
	{"K4", "Electric Kettle", "Brevo", "Kitchen", 3999, 0, "A 1.7 litre kettle."},
	{"K5", "Cast Iron Skillet", "Altura", "Kitchen", 3499, 6, "Pre-seasoned skillet <b>& lid</b>."},
	{"K6", "Coffee Grinder", "Brevo", "Kitchen", 8999, 5, "Burr grinder for espresso and filter coffee."},
	{"K7", "Café Cups Set", "Brevo", "Kitchen", 2500, 9, "Four crème-coloured espresso cups."},
	{"D1", "Table Lamp", "Lumina", "Decor", 5999, 4, "Dimmable LED lamp with a crimson shade."},
	{"D2", "Wall Clock", "Lumina", "Decor", 2499, 15, "Silent wall clock."},
	{"D3", "Throw Pillow", "Altura", "Decor", 2500, 30, "Soft cotton pillow."},
	{"D4", "Scented Candle", "Altura", "Decor", 999, 0, "Vanilla candle."},
	{"D5", "Photo Frame", "Altura", "Decor", 1999, 22, "Oak frame."},
	{"H1", "Storage Basket", "Altura", "Home", 100000, 2, "Handwoven basket."},
	{"H2", "Floor Lamp", "Lumina", "Home", 150000, 1, "Designer arc lamp."},
	{"X1", "Gaming Laptop Prototype", "Nordvik", "Laptops", 199999, 1, "Prototype gaming laptop with RTX 4080 graphics."}, // inactive
	{"X2", "Clearance Laptop 13", "Nordvik", "Clearance", 19999, 3, "Refurbished laptop."},
	{"X3", "Refurbished Laptop 15", "Nordvik", "Clearance Laptops", 24999, 2, "Refurbished laptop with a new battery."},
}

// hidden are the products no search may return.
var hidden = []string{"X1", "X2", "X3"}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := &fixture{pool: pool, ids: map[string]int64{}, cats: map[string]int64{}}
	for _, c := range categories {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO categories (name, slug, parent_id, active)
			VALUES ($1, $2, (SELECT id FROM categories WHERE slug = $3), $4) RETURNING id`,
			c.name, catalog.Slug(c.name), catalog.Slug(c.parent), c.active).Scan(&id))
		f.cats[catalog.Slug(c.name)] = id
	}
	in := make([]catalog.ProductInput, len(products))
	for i, p := range products {
		in[i] = catalog.ProductInput{SKU: p.sku, Name: p.name, Description: p.desc, Category: p.category,
			Brand: p.brand, Price: money.Money{Amount: p.price, Currency: "USD"}, StockQuantity: p.stock}
	}
	_, err := catalog.NewStore(pool).UpsertProducts(ctx, in)
	require.NoError(t, err)
	rows, err := pool.Query(ctx, "SELECT sku, id FROM products")
	require.NoError(t, err)
	for rows.Next() {
		var sku string
		var id int64
		require.NoError(t, rows.Scan(&sku, &id))
		f.ids[sku] = id
	}
	require.NoError(t, rows.Err())
	require.Len(t, f.ids, len(products))

	// What UpsertProducts does not set: attributes, activity, variants, and
	// creation times that are not in id order (two of them equal, to test
	// that ties are broken by id).
	for _, stmt := range []string{
		`UPDATE products SET attributes = '{"color": "crimson", "size": "small"}' WHERE sku = 'A6'`,
		`UPDATE products SET active = false WHERE sku = 'X1'`,
		`INSERT INTO product_variants (product_id, sku, stock_quantity) SELECT id, 'L3-SILVER', 3 FROM products WHERE sku = 'L3'`,
		`INSERT INTO product_variants (product_id, sku, stock_quantity, active) SELECT id, 'L4-OLD', 5, false FROM products WHERE sku = 'L4'`,
		`UPDATE products SET created_at = '2025-01-01T00:00:00Z'::timestamptz + ((id * 7) % 41) * interval '1 hour' + id * interval '1 microsecond'`,
		`UPDATE products SET created_at = '2025-03-01T00:00:00.000001Z' WHERE sku IN ('K1', 'K2')`,
	} {
		_, err := pool.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	return f
}

// newElastic indexes every product of the fixture into a new alias.
func (f *fixture) newElastic(t *testing.T) *search.Elastic {
	t.Helper()
	ctx := context.Background()
	es := newElasticAlias(t)
	var all []int64
	for after := int64(0); ; {
		ids, err := search.AllProductIDs(ctx, f.pool, after, 7) // several pages
		require.NoError(t, err)
		if len(ids) == 0 {
			break
		}
		all = append(all, ids...)
		after = ids[len(ids)-1]
	}
	require.Len(t, all, len(products))
	docs, missing, err := search.LoadDocs(ctx, f.pool, append(all, 999999))
	require.NoError(t, err)
	assert.Equal(t, []int64{999999}, missing)
	var live, dead []search.Doc
	for _, d := range docs {
		if d.Active {
			live = append(live, d)
		} else {
			dead = append(dead, d)
		}
	}
	require.NoError(t, es.Upsert(ctx, "", live))
	deadIDs := make([]int64, len(dead))
	for i, d := range dead {
		deadIDs[i] = d.ID
	}
	assert.ElementsMatch(t, f.idsOf(hidden...), deadIDs, "inactive product and products in inactive categories")
	require.NoError(t, es.Delete(ctx, "", deadIDs))
	return es
}

// newElasticAlias returns a client of a new alias, removed with its indices
// when the test ends.
func newElasticAlias(t *testing.T) *search.Elastic {
	t.Helper()
	es, err := search.NewElastic(testenv.RequireElasticsearch(t), testenv.UniqueName("test-products-"))
	require.NoError(t, err)
	require.NoError(t, es.EnsureIndex(context.Background()))
	t.Cleanup(func() { deleteAlias(t, es) })
	return es
}

func deleteAlias(t *testing.T, es *search.Elastic) {
	ctx := context.Background()
	indices, err := es.Indices(ctx, es.Alias())
	assert.NoError(t, err)
	for _, name := range indices {
		assert.NoError(t, es.DeleteIndex(ctx, name))
	}
}

func (f *fixture) idsOf(skus ...string) []int64 {
	out := make([]int64, len(skus))
	for i, s := range skus {
		id, ok := f.ids[s]
		if !ok {
			panic("unknown sku " + s)
		}
		out[i] = id
	}
	return out
}

func (f *fixture) skusOf(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprint(id)
		for s, v := range f.ids {
			if v == id {
				out[i] = s
			}
		}
	}
	return out
}

func hitIDs(r search.Result) []int64 {
	var ids []int64
	for _, h := range r.Hits {
		ids = append(ids, h.ProductID)
	}
	return ids
}

type backend struct {
	name string
	search.Backend
}

func TestSearchBackends(t *testing.T) {
	f := newFixture(t)
	backends := []backend{{"postgres", search.NewPostgres(f.pool)}, {"elastic", f.newElastic(t)}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("relevance", func(t *testing.T) {
		for _, c := range []struct {
			text string
			top  string   // the best hit on both backends
			top3 []string // the first three hits, in any order
		}{
			{"laptop", "L1", []string{"L1", "L2", "L3", "L4", "E1"}},
			{"laptp", "L1", []string{"L1", "L2", "L3", "L4", "E1"}},
			{"wireless headphones", "A1", []string{"A1", "A2", "A3"}},
			{"headphnes", "A1", []string{"A1", "A2", "A3", "A4"}},
			{"crimson", "A6", []string{"A6", "D1"}},
			{"RTX 4080", "C1", []string{"C1", "L2"}},
			{"brevo", "K3", []string{"K3", "K4", "K6"}},
			{"sonra", "A1", []string{"A1", "A2", "A6", "A7"}}, // a typo in a brand
			{"cafe", "K7", []string{"K7"}},                    // accents fold
			{"CRÈME espresso", "K7", []string{"K7"}},
			{"mugs", "K1", []string{"K1"}}, // plurals without a stemmer in Elasticsearch
			{"espresso cup", "K7", []string{"K7"}},
		} {
			for _, b := range backends {
				r, err := b.Search(ctx, search.Query{Text: c.text, Limit: 10})
				require.NoError(t, err, "%s %q", b.name, c.text)
				ids := hitIDs(r)
				require.NotEmpty(t, ids, "%s %q", b.name, c.text)
				assert.Equal(t, c.top, f.skusOf(ids[:1])[0], "%s %q top hit; all: %v", b.name, c.text, f.skusOf(ids))
				n := min(3, len(ids))
				assert.Subset(t, c.top3, f.skusOf(ids[:n]), "%s %q top %d; all: %v", b.name, c.text, n, f.skusOf(ids))
				assert.Equal(t, len(ids), r.Total, "%s %q: every hit fits the page", b.name, c.text)
				for i := 1; i < len(r.Hits); i++ {
					assert.GreaterOrEqual(t, r.Hits[i-1].Score, r.Hits[i].Score, "%s %q: best first", b.name, c.text)
				}
			}
		}
	})

	t.Run("exact totals", func(t *testing.T) {
		for _, c := range []struct {
			text string
			want []string
		}{
			{"crimson", []string{"A6", "D1"}},
			{"wireless headphones", []string{"A1", "A2", "A3"}},
			{"graphics card", []string{"C1", "C2", "C3"}},
			{"RTX 4080", []string{"C1", "L2"}},
			{"sonra headphnes", []string{"A1", "A2"}},
		} {
			for _, b := range backends {
				r, err := b.Search(ctx, search.Query{Text: c.text, Limit: 100})
				require.NoError(t, err)
				assert.ElementsMatch(t, c.want, f.skusOf(hitIDs(r)), "%s %q", b.name, c.text)
			}
		}
	})

	t.Run("filters and facets", func(t *testing.T) {
		p := func(v int64) *int64 { return &v }
		for _, q := range []search.Query{
			{},
			{CategoryID: f.cats["electronics"]},
			{CategoryID: f.cats["audio"], Brands: []string{"sonora"}},
			{Brands: []string{"AKUSTIK", "Voltix"}, InStock: true},
			{MinPrice: p(2500), MaxPrice: p(49999)},
			{MinPrice: p(2500), MaxPrice: p(49999), InStock: true, CategoryID: f.cats["home"]},
			{CategoryID: f.cats["laptops"], InStock: true},
			{CategoryID: f.cats["clearance"]},
			{CategoryID: f.cats["clearance-laptops"]},
			{Brands: []string{"nobody"}},
		} {
			want := f.truth(t, q)
			q.Limit = 100
			for _, b := range backends {
				r, err := b.Search(ctx, q)
				require.NoError(t, err)
				assert.Equal(t, len(want.ids), r.Total, "%s %+v", b.name, q)
				assert.Equal(t, want.ids, hitIDs(r), "%s %+v: newest first, ties by id", b.name, q)
				assert.Equal(t, want.facets(), facetsOf(r), "%s %+v", b.name, q)
			}
		}
	})

	t.Run("facets of a text query", func(t *testing.T) {
		for _, b := range backends {
			for _, text := range []string{"wireless", "laptop", "graphics"} {
				q := search.Query{Text: text, Limit: 100, InStock: text == "laptop"}
				r, err := b.Search(ctx, q)
				require.NoError(t, err)
				require.NotEmpty(t, r.Hits)
				assert.Equal(t, f.facetsOfIDs(t, hitIDs(r)), facetsOf(r), "%s %q", b.name, text)
			}
		}
	})

	t.Run("sorting and paging", func(t *testing.T) {
		all := f.truth(t, search.Query{})
		for _, c := range []struct {
			sort search.Sort
			less func(a, b row) int
		}{
			{search.SortPriceAsc, func(a, b row) int { return cmp.Or(cmp.Compare(a.price, b.price), cmp.Compare(a.id, b.id)) }},
			{search.SortPriceDesc, func(a, b row) int { return cmp.Or(cmp.Compare(b.price, a.price), cmp.Compare(a.id, b.id)) }},
			{search.SortNewest, func(a, b row) int { return cmp.Or(b.created.Compare(a.created), cmp.Compare(a.id, b.id)) }},
		} {
			rows := slices.Clone(all.rows)
			slices.SortFunc(rows, c.less)
			var want []int64
			for _, r := range rows {
				want = append(want, r.id)
			}
			for _, b := range backends {
				var got []int64
				for off := 0; off < len(want)+5; off += 4 {
					r, err := b.Search(ctx, search.Query{Sort: c.sort, Offset: off, Limit: 4})
					require.NoError(t, err)
					assert.Equal(t, len(want), r.Total, "%s sort %d offset %d: stable total", b.name, c.sort, off)
					got = append(got, hitIDs(r)...)
				}
				assert.Equal(t, want, got, "%s sort %d", b.name, c.sort)
			}
		}
		// A text query sorted by price: only the matches, cheapest first.
		for _, b := range backends {
			r, err := b.Search(ctx, search.Query{Text: "wireless headphones", Sort: search.SortPriceAsc, Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, f.idsOf("A2", "A3", "A1"), hitIDs(r), b.name)
		}
	})

	t.Run("highlights", func(t *testing.T) {
		for _, b := range backends {
			for _, text := range []string{"headphones", "headphnes"} {
				r, err := b.Search(ctx, search.Query{Text: text, Limit: 10})
				require.NoError(t, err)
				require.NotEmpty(t, r.Hits)
				var a1 search.Hit
				for _, h := range r.Hits {
					if h.ProductID == f.ids["A1"] {
						a1 = h
					}
				}
				assert.Equal(t, "Wireless <em>Headphones</em>", a1.Highlights["name"], "%s %q", b.name, text)
				assert.Contains(t, a1.Highlights["description"], "wireless <em>headphones</em>", "%s %q", b.name, text)
			}
			r, err := b.Search(ctx, search.Query{Text: "crimson", Limit: 10})
			require.NoError(t, err)
			require.Len(t, r.Hits, 2)
			assert.Empty(t, r.Hits[0].Highlights, "%s: the speaker matched on an attribute only", b.name)
			assert.Contains(t, r.Hits[1].Highlights["description"], "<em>crimson</em>", b.name)
			assert.NotContains(t, r.Hits[1].Highlights, "name", b.name)
		}
	})

	t.Run("suggest", func(t *testing.T) {
		for _, b := range backends {
			s, err := b.Suggest(ctx, "lap", 10)
			require.NoError(t, err)
			var ids []int64
			for _, x := range s {
				ids = append(ids, x.ProductID)
				assert.Contains(t, strings.ToLower(x.Name), "lap", b.name)
			}
			assert.ElementsMatch(t, f.idsOf("L1", "L2", "L3", "L4", "E1"), ids, b.name)

			s, err = b.Suggest(ctx, "Gaming lap", 10)
			require.NoError(t, err)
			assert.Equal(t, []search.Suggestion{{ProductID: f.ids["L2"], Name: "Gaming Laptop 17"}}, s, b.name)

			s, err = b.Suggest(ctx, "caf", 10)
			require.NoError(t, err)
			assert.Equal(t, []search.Suggestion{{ProductID: f.ids["K7"], Name: "Café Cups Set"}}, s, b.name)

			s, err = b.Suggest(ctx, "lap", 2)
			require.NoError(t, err)
			assert.Len(t, s, 2, b.name)

			for _, prefix := range []string{"refurb", "clearance", "prototype", "", "  ", "*", `"`} {
				s, err := b.Suggest(ctx, prefix, 10)
				require.NoError(t, err)
				assert.Empty(t, s, "%s %q", b.name, prefix)
			}
		}
	})

	t.Run("hostile text", func(t *testing.T) {
		junk := strings.Repeat("ab\"c(d) OR e* ~f^2 \\ [x TO y] ", 350) // ~10 kB
		for _, b := range backends {
			for _, text := range []string{`"unbalanced`, `a & | ! b`, `name:(x) OR *`, `\/[]{}`, "ünïcödé ☃",
				junk, `*`, `-`, "nul\x00byte", "\xff\xfe invalid utf-8", `laptop:*`, `'; DROP TABLE products; --`, "<b>laptop</b>"} {
				_, err := b.Search(ctx, search.Query{Text: text, Limit: 10})
				assert.NoError(t, err, "%s %.40q", b.name, text)
				_, err = b.Suggest(ctx, text, 10)
				assert.NoError(t, err, "%s suggest %.40q", b.name, text)
			}
			// Random mixes of syntax, scripts, combining marks and bad bytes.
			rng := rand.New(rand.NewPCG(1, 2))
			pool := []rune("aZ09 -_\"'()[]{}<>:*?~^!&|+/\\.,;=@#%$éÜßø\u0301\u200b中文あ한🙂☃ـعبر\x7f\t\n")
			for range 200 {
				var sb strings.Builder
				for range rng.IntN(40) {
					sb.WriteRune(pool[rng.IntN(len(pool))])
				}
				if rng.IntN(5) == 0 {
					sb.WriteByte(0xff)
				}
				_, err := b.Search(ctx, search.Query{Text: sb.String(), Limit: 5, Brands: []string{sb.String()}})
				require.NoError(t, err, "%s %q", b.name, sb.String())
				_, err = b.Suggest(ctx, sb.String(), 5)
				require.NoError(t, err, "%s suggest %q", b.name, sb.String())
			}
			r, err := b.Search(ctx, search.Query{Text: "skillet", Limit: 10})
			require.NoError(t, err)
			require.Len(t, r.Hits, 1)
			hl := r.Hits[0].Highlights["description"]
			assert.Contains(t, hl, "<em>skillet</em>", b.name)
			assert.Contains(t, hl, "&amp; lid", b.name)
			assert.NotContains(t, strings.NewReplacer("<em>", "", "</em>", "").Replace(hl), "<", "%s: product text is HTML-escaped", b.name)
			r, err = b.Search(ctx, search.Query{Limit: 10, Offset: 20000})
			require.NoError(t, err)
			assert.Empty(t, r.Hits, "%s: a page past the window is empty", b.name)
			assert.NotZero(t, r.Total)
		}
	})

	t.Run("hidden products", func(t *testing.T) {
		for _, b := range backends {
			for _, text := range []string{"laptop", "prototype", "refurbished", "clearance", "gaming laptop rtx", ""} {
				for off := 0; off < 50; off += 10 {
					r, err := b.Search(ctx, search.Query{Text: text, Offset: off, Limit: 10})
					require.NoError(t, err)
					for _, id := range f.idsOf(hidden...) {
						assert.NotContains(t, hitIDs(r), id, "%s %q", b.name, text)
					}
				}
			}
		}
	})
}

type row struct {
	id, category, price int64
	brand               string
	created             time.Time
}

type truth struct {
	rows []row
	ids  []int64 // newest first, ties by id
}

type facets struct {
	Categories, Brands []search.FacetCount
	Prices             []search.PriceBucket
}

func facetsOf(r search.Result) facets { return facets{r.Categories, r.Brands, r.Prices} }

// truth selects what q (without text) matches, straight from the tables.
func (f *fixture) truth(t *testing.T, q search.Query) truth {
	t.Helper()
	lower := []string{}
	for _, b := range q.Brands {
		lower = append(lower, strings.ToLower(b))
	}
	rows, err := f.pool.Query(context.Background(), `
		WITH RECURSIVE live AS (
			SELECT id FROM categories WHERE parent_id IS NULL AND active
			UNION ALL SELECT c.id FROM categories c JOIN live ON c.parent_id = live.id WHERE c.active
		), sub AS (
			SELECT id FROM categories WHERE id = $1
			UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
		)
		SELECT p.id, p.category_id, p.price_minor, p.brand, p.created_at FROM products p
		WHERE p.active AND p.category_id IN (SELECT id FROM live)
			AND ($1 = 0 OR p.category_id IN (SELECT id FROM sub))
			AND (cardinality($2::text[]) = 0 OR lower(p.brand) = ANY($2))
			AND ($3::bigint IS NULL OR p.price_minor >= $3) AND ($4::bigint IS NULL OR p.price_minor <= $4)
			AND (NOT $5 OR p.stock_quantity > 0 OR p.id IN (
				SELECT product_id FROM product_variants WHERE active AND stock_quantity > 0))
		ORDER BY p.created_at DESC, p.id`, q.CategoryID, lower, q.MinPrice, q.MaxPrice, q.InStock)
	require.NoError(t, err)
	var tr truth
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.id, &r.category, &r.price, &r.brand, &r.created))
		tr.rows = append(tr.rows, r)
		tr.ids = append(tr.ids, r.id)
	}
	require.NoError(t, rows.Err())
	return tr
}

func (f *fixture) facetsOfIDs(t *testing.T, ids []int64) facets {
	all := f.truth(t, search.Query{})
	var tr truth
	for _, r := range all.rows {
		if slices.Contains(ids, r.id) {
			tr.rows = append(tr.rows, r)
		}
	}
	return tr.facets()
}

// facets counts the rows the way the contract says.
func (tr truth) facets() facets {
	count := func(key func(row) string) []search.FacetCount {
		n := map[string]int{}
		for _, r := range tr.rows {
			if k := key(r); k != "" {
				n[k]++
			}
		}
		out := []search.FacetCount{}
		for k, c := range n {
			out = append(out, search.FacetCount{Key: k, Count: c})
		}
		return out
	}
	cats := count(func(r row) string { return strconv.FormatInt(r.category, 10) })
	slices.SortFunc(cats, func(a, b search.FacetCount) int {
		x, _ := strconv.ParseInt(a.Key, 10, 64)
		y, _ := strconv.ParseInt(b.Key, 10, 64)
		return cmp.Or(b.Count-a.Count, cmp.Compare(x, y))
	})
	brands := count(func(r row) string { return r.brand })
	slices.SortFunc(brands, func(a, b search.FacetCount) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Key, b.Key)) })
	edges := []int64{0, 2500, 5000, 10000, 25000, 50000, 100000}
	prices := make([]search.PriceBucket, len(edges))
	for i, from := range edges {
		prices[i].From = from
		if i+1 < len(edges) {
			prices[i].To = edges[i+1]
		}
		for _, r := range tr.rows {
			if r.price >= from && (prices[i].To == 0 || r.price < prices[i].To) {
				prices[i].Count++
			}
		}
	}
	return facets{cats, brands, prices}
}
