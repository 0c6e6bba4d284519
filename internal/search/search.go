// Package search finds products by free text, filters and facets. Two
// backends implement the same contract: PostgreSQL (full text + trigrams)
// and Elasticsearch; both read the same rules from this file so that they
// rank, filter and facet alike.
package search

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sort orders the hits. Ties are always broken by product id, ascending.
type Sort int

// Sort orders.
const (
	SortRelevance Sort = iota // best match first; newest first when Text is empty
	SortPriceAsc
	SortPriceDesc
	SortNewest
)

// Query is one search request. Text is always plain text, never syntax.
type Query struct {
	Text               string
	CategoryID         int64    // 0 = all; otherwise the category and its descendants
	Brands             []string // exact brand names, case-insensitive; empty = all
	MinPrice, MaxPrice *int64   // minor units, inclusive; nil = open
	InStock            bool     // product stock > 0 or an active variant with stock > 0
	Sort               Sort
	Offset, Limit      int // Limit 1..100, validated by the caller
}

// Hit is one matching product. Highlights maps "name" and "description" to
// HTML-escaped snippets with the matched words in <em>...</em>; a field
// without a match is absent.
type Hit struct {
	ProductID  int64
	Score      float64
	Highlights map[string]string
}

// FacetCount is one facet value: a category id in decimal, or a brand.
type FacetCount struct {
	Key   string
	Count int
}

// PriceBucket counts products priced in [From, To); To = 0 means no bound.
type PriceBucket struct {
	From, To int64
	Count    int
}

// Result is one page of hits plus facets over everything that matched.
type Result struct {
	Total      int
	Hits       []Hit
	Categories []FacetCount // by count desc, then id
	Brands     []FacetCount // by count desc, then name (byte order)
	Prices     []PriceBucket
}

// Suggestion is a type-ahead completion of a product name.
type Suggestion struct {
	ProductID int64
	Name      string
}

// Backend is implemented by *Postgres and *Elastic.
type Backend interface {
	Search(ctx context.Context, q Query) (Result, error)
	Suggest(ctx context.Context, prefix string, limit int) ([]Suggestion, error)
}

var (
	_ Backend = (*Postgres)(nil)
	_ Backend = (*Elastic)(nil)
)

// priceEdges are the lower bounds of the fixed price buckets (minor units).
var priceEdges = []int64{0, 2500, 5000, 10000, 25000, 50000, 100000}

// emptyPrices returns the buckets with zero counts, in order.
func emptyPrices() []PriceBucket {
	out := make([]PriceBucket, len(priceEdges))
	for i, from := range priceEdges {
		out[i].From = from
		if i+1 < len(priceEdges) {
			out[i].To = priceEdges[i+1]
		}
	}
	return out
}

const (
	facetLimit    = 100 // values per facet
	maxQueryWords = 12  // longer queries are cut: fuzzy expansion grows per word
	maxQueryRunes = 256
	maxWindow     = 10000 // Elasticsearch's max_result_window; PostgreSQL honours it too
	// Typos are tolerated in words of at least minFuzzyLen runes only: on
	// shorter ones trigrams are noise and edits turn "4080" into "4070".
	minFuzzyLen = 5
	// Typo tolerance in PostgreSQL: pg_trgm word similarity at least this.
	// (The default 0.6 misses one edit inside a 5-letter word: "sonra".)
	trigramThreshold = 0.5
)

// cleanText makes user input safe for both backends: valid UTF-8, no control
// characters (PostgreSQL rejects NUL), collapsed spaces and bounded size, so
// that 10 kB of junk is a short query rather than an error or a slow one.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, " ")
	words := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	s = strings.Join(words, " ")
	if utf8.RuneCountInString(s) > maxQueryRunes {
		s = strings.TrimSpace(string([]rune(s)[:maxQueryRunes]))
	}
	return s
}

// cleanBrands makes brand filters valid UTF-8 without NUL (which PostgreSQL
// rejects); such a brand then simply matches nothing.
func cleanBrands(brands []string) []string {
	out := make([]string, len(brands))
	for i, b := range brands {
		out[i] = strings.ReplaceAll(strings.ToValidUTF8(b, "\uFFFD"), "\x00", "\uFFFD")
	}
	return out
}

// words splits folded, lower-cased text into letter/digit runs, as both the
// PostgreSQL suggestion query and Elasticsearch's standard tokenizer do.
func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// matchText is text as the Elasticsearch "search" field and its queries
// see it: folded words, plurals reduced, so that "mugs" finds "Mug" as
// PostgreSQL's english stemmer does (the node has no stemmer).
func matchText(text string) string {
	ws := words(text)
	for i, w := range ws {
		ws[i] = singular(w)
	}
	return strings.Join(ws, " ")
}

// singular is Harman's "S" stemmer: ies -> y, es -> e, s -> "" (not after
// u or s). "this" is kept, being a stop word both backends drop.
func singular(w string) string {
	if utf8.RuneCountInString(w) <= 3 || w == "this" {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && !strings.HasSuffix(w, "eies") && !strings.HasSuffix(w, "aies"):
		return strings.TrimSuffix(w, "ies") + "y"
	case strings.HasSuffix(w, "es") && !strings.HasSuffix(w, "aes") && !strings.HasSuffix(w, "ees") && !strings.HasSuffix(w, "oes"):
		return strings.TrimSuffix(w, "s")
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "ss"):
		return strings.TrimSuffix(w, "s")
	}
	return w
}

// fold lower-cases and strips Latin diacritics, like PostgreSQL's unaccent:
// the Elasticsearch node has no asciifolding filter, so the matching fields
// are folded here at index and query time.
func fold(s string) string {
	return foldPairs.Replace(strings.Map(func(r rune) rune {
		if f, ok := foldRunes[r]; ok {
			return f
		}
		return r
	}, strings.ToLower(s)))
}

var foldPairs = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "þ", "th", "ĳ", "ij")

var foldRunes = func() map[rune]rune {
	m := map[rune]rune{}
	for _, group := range []string{
		"aàáâãäåāăą", "cçćĉċč", "dďđð", "eèéêëēĕėęě", "gĝğġģ", "hĥħ", "iìíîïĩīĭįı", "jĵ",
		"kķ", "lĺļľŀł", "nñńņňŉ", "oòóôõöøōŏő", "rŕŗř", "sśŝşšș", "tţťŧț", "uùúûüũūŭůűų",
		"wŵ", "yýÿŷ", "zźżž",
	} {
		base, size := utf8.DecodeRuneInString(group)
		for _, r := range group[size:] {
			m[r] = base
		}
	}
	return m
}()
