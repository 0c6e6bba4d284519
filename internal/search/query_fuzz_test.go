package search

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
)

// queryTextSeeds are user texts from the search tests and the README.
var queryTextSeeds = []string{
	"laptop", "wireless headphones", "crimson", "skillet", "mugs", "sonra", "café crème", "Straße",
	`"unbalanced`, `a & | ! b`, `name:(x) OR *`, `\/[]{}`, "ünïcödé ☃", `*`, `-`, "nul\x00byte",
	"\xff\xfe invalid utf-8", `laptop:*`, `'; DROP TABLE products; --`, "<b>laptop</b>",
	"aZ09 -_\"'()[]{}<>:*?~^!&|+/\\.,;=@#%$éÜßø\u0301\u200b中文あ한🙂☃ـعبر\x7f\t\n",
	strings.Repeat("ab\"c(d) OR e* ~f^2 \\ [x TO y] ", 20), "4080 rtx", "İstanbul ǅ ﬁ",
}

// FuzzQueryText checks the pure text pipeline both backends share: what
// reaches a tsquery, a LIKE pattern or Elasticsearch is bounded, valid
// UTF-8 without control characters, and the words carry no syntax.
func FuzzQueryText(f *testing.F) {
	for _, s := range queryTextSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		text := cleanText(in)
		if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxQueryRunes {
			t.Fatalf("cleanText(%q) = %q: invalid or too long", in, text)
		}
		if strings.IndexFunc(text, unicode.IsControl) >= 0 || text != strings.TrimSpace(text) || strings.Contains(text, "  ") {
			t.Fatalf("cleanText(%q) = %q: control characters or loose spaces", in, text)
		}
		if len(strings.Fields(text)) > maxQueryWords {
			t.Fatalf("cleanText(%q) has more than %d words", in, maxQueryWords)
		}
		if again := cleanText(text); again != text {
			t.Fatalf("cleanText is not idempotent: %q -> %q -> %q", in, text, again)
		}
		for _, w := range words(text) {
			if w == "" || strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
				t.Fatalf("words(%q) holds %q, which is not a plain word", text, w)
			}
		}
		m := matchText(text)
		if !utf8.ValidString(m) || strings.IndexFunc(m, func(r rune) bool { return r != ' ' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
			t.Fatalf("matchText(%q) = %q", text, m)
		}
		for _, b := range cleanBrands([]string{in}) {
			if !utf8.ValidString(b) || strings.ContainsRune(b, 0) {
				t.Fatalf("cleanBrands(%q) = %q", in, b)
			}
		}
		if _, err := json.Marshal(esQuery(Query{Text: in, Brands: []string{in}}, text)); err != nil {
			t.Fatalf("Elasticsearch query for %q: %v", in, err)
		}
	})
}

// FuzzPostgresQueryText runs user text through the PostgreSQL backend's
// search and suggestions on a one-product catalog: no text may make the
// tsquery (or any other part of the query) an error.
func FuzzPostgresQueryText(f *testing.F) {
	for _, s := range queryTextSeeds {
		f.Add(s)
	}
	pool := dbtest.New(f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	_, err := catalog.NewStore(pool).UpsertProducts(ctx, []catalog.ProductInput{{SKU: "FUZZ-1",
		Name: "Nordvik Café Crème Laptop 4080", Description: "Wireless skillet with straße mugs.", Category: "Laptops",
		Brand: "Nordvik", Price: money.Money{Amount: 1999, Currency: "USD"}, StockQuantity: 1}})
	cancel()
	if err != nil {
		f.Fatal(err)
	}
	pg := NewPostgres(pool)
	f.Fuzz(func(t *testing.T, in string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pg.Search(ctx, Query{Text: in, Brands: []string{in}, Limit: 5}); err != nil {
			t.Fatalf("search %q: %v", in, err)
		}
		if _, err := pg.Suggest(ctx, in, 5); err != nil {
			t.Fatalf("suggest %q: %v", in, err)
		}
	})
}
