package search

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/shopkit/shop/internal/telemetry"
)

// Elastic searches an Elasticsearch alias. Readers and writers use the
// alias; a full reindex builds a new index (CreateIndex, Upsert into it by
// name) and swaps the alias to it with PointAlias, without downtime.
type Elastic struct {
	es    *elasticsearch.Client
	alias string
	// checked: EnsureIndex compared the live mapping's fingerprint once.
	checked atomic.Bool
}

// NewElastic returns a client of the node at url for alias.
func NewElastic(url, alias string) (*Elastic, error) {
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:  []string{url},
		MaxRetries: 3,
		Transport:  telemetry.HTTPTransport(&http.Transport{ResponseHeaderTimeout: 30 * time.Second}),
	})
	if err != nil {
		return nil, fmt.Errorf("search: elasticsearch client: %w", err)
	}
	return &Elastic{es: es, alias: alias}, nil
}

// Alias is the alias this client reads and writes.
func (e *Elastic) Alias() string { return e.alias }

// indexSettings uses only what a bare node has (no analysis-common plugin
// module): no stemmer, no asciifolding, no n-grams. So:
//   - typos are left to fuzziness;
//   - accents are folded (and plurals reduced) in Go into "search" (all the
//     searchable text, which decides what matches: every query word, like
//     the PostgreSQL backend) and "suggest" (the name, with index_prefixes
//     for type-ahead);
//   - name, brand_attrs and description keep the original text and only
//     score and highlight. Brand and attribute values share one field, like
//     they share weight B in PostgreSQL's search_vector: a field that few
//     documents have (attributes) would get a tiny BM25 idf of its own.
//
// The highlighted fields (name, description) keep offsets in their
// postings, so that highlighting a page (a fuzzy query's above all) reads
// them instead of re-analyzing every hit's text, which cost most of a
// search's time. The brand facet's global ordinals are built at refresh
// rather than by the first search after it.
//
// One shard holds a catalog of millions of products; auto_expand_replicas
// keeps a single node green and gives a cluster a copy on a second node,
// which serves searches too.
const indexSettings = `{
  "settings": {
    "number_of_shards": 1, "auto_expand_replicas": "0-1",
    "analysis": {
      "analyzer": {
        "shop_text":   {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "stop"]},
        "shop_prefix": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}
      },
      "normalizer": {"shop_lower": {"type": "custom", "filter": ["lowercase"]}}
    }
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id":              {"type": "long"},
      "sku":             {"type": "keyword"},
      "name":            {"type": "text", "analyzer": "shop_text", "index_options": "offsets"},
      "description":     {"type": "text", "analyzer": "shop_text", "index_options": "offsets"},
      "brand":           {"type": "keyword", "eager_global_ordinals": true,
                          "fields": {"lower": {"type": "keyword", "normalizer": "shop_lower"}}},
      "attributes":      {"type": "flattened"},
      "brand_attrs":     {"type": "text", "analyzer": "shop_text"},
      "search":          {"type": "text", "analyzer": "shop_text"},
      "suggest":         {"type": "text", "analyzer": "shop_prefix", "index_prefixes": {"min_chars": 1, "max_chars": 10}},
      "category_id":     {"type": "long"},
      "category_path":   {"type": "long"},
      "price_minor":     {"type": "long"},
      "currency":        {"type": "keyword"},
      "in_stock":        {"type": "boolean"},
      "active":          {"type": "boolean"},
      "created_at":      {"type": "date_nanos"}
    }
  }
}`

type esDoc struct {
	ID           int64             `json:"id"`
	SKU          string            `json:"sku"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Brand        string            `json:"brand"`
	Attributes   map[string]string `json:"attributes"`
	BrandAttrs   string            `json:"brand_attrs"`
	Search       string            `json:"search"`
	Suggest      string            `json:"suggest"`
	CategoryID   int64             `json:"category_id"`
	CategoryPath []int64           `json:"category_path"`
	PriceMinor   int64             `json:"price_minor"`
	Currency     string            `json:"currency"`
	InStock      bool              `json:"in_stock"`
	Active       bool              `json:"active"`
	CreatedAt    time.Time         `json:"created_at"` // date_nanos: PostgreSQL's microseconds order alike
}

func toES(d Doc) esDoc {
	attrs := attributeText(d.Attributes)
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	return esDoc{
		ID: d.ID, SKU: d.SKU, Name: d.Name, Description: d.Description, Brand: d.Brand,
		Attributes: d.Attributes, BrandAttrs: d.Brand + "\n" + attrs,
		Search:     matchText(strings.Join([]string{d.Name, d.Brand, attrs, d.Description}, " ")),
		Suggest:    strings.Join(words(d.Name), " "), // tokenized like Suggest's prefix
		CategoryID: d.CategoryID, CategoryPath: d.CategoryPath, PriceMinor: d.PriceMinor,
		Currency: d.Currency, InStock: d.InStock, Active: d.Active, CreatedAt: d.CreatedAt.UTC(),
	}
}

// IndexName names a new index behind alias, by creation time.
func IndexName(alias string, t time.Time) string {
	return alias + "-" + t.UTC().Format("20060102-150405.000000")
}

// CreateIndex creates an index with the product mapping.
func (e *Elastic) CreateIndex(ctx context.Context, name string) error {
	return e.createIndex(ctx, name, "")
}

// createIndex creates name, optionally as alias's write index in the same
// step; Elasticsearch refuses a second write index for an alias, so two
// racing EnsureIndex calls cannot both win.
func (e *Elastic) createIndex(ctx context.Context, name, alias string) error {
	return e.createIndexAs(ctx, name, alias, mappingFingerprint)
}

// createIndexAs creates an index recording fingerprint in its mapping's _meta.
func (e *Elastic) createIndexAs(ctx context.Context, name, alias, fingerprint string) error {
	var body map[string]any
	if err := json.Unmarshal([]byte(indexSettings), &body); err != nil {
		return err
	}
	body["mappings"].(map[string]any)["_meta"] = map[string]any{fingerprintKey: fingerprint}
	if alias != "" {
		body["aliases"] = map[string]any{alias: map[string]any{"is_write_index": true}}
	}
	return e.do(ctx, "create index "+name, esapi.IndicesCreateRequest{Index: name, Body: jsonBody(body)}, nil)
}

// DeleteIndex removes an index; a missing one is not an error.
func (e *Elastic) DeleteIndex(ctx context.Context, name string) error {
	err := e.do(ctx, "delete index "+name, esapi.IndicesDeleteRequest{Index: []string{name}}, nil)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// Indices returns the indices alias points to, sorted; none if it is absent.
func (e *Elastic) Indices(ctx context.Context, alias string) ([]string, error) {
	var out map[string]json.RawMessage
	err := e.do(ctx, "get alias "+alias, esapi.IndicesGetAliasRequest{Name: []string{alias}}, &out)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// PointAlias makes alias point to index only, in one atomic _aliases
// request, and returns the indices it pointed to before (not index itself).
// If another swap moved the alias in between, the request fails as a whole.
func (e *Elastic) PointAlias(ctx context.Context, alias, index string) (previous []string, err error) {
	current, err := e.Indices(ctx, alias)
	if err != nil {
		return nil, err
	}
	var actions []any
	for _, old := range current {
		if old != index {
			previous = append(previous, old)
			actions = append(actions, map[string]any{"remove": map[string]any{"index": old, "alias": alias, "must_exist": true}})
		}
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": index, "alias": alias, "is_write_index": true}})
	err = e.do(ctx, "point alias "+alias, esapi.IndicesUpdateAliasesRequest{Body: jsonBody(map[string]any{"actions": actions})}, nil)
	if err != nil {
		return nil, err
	}
	return previous, nil
}

// fingerprintKey names the mapping _meta entry holding mappingFingerprint.
const fingerprintKey = "shop_settings_fingerprint"

// mappingFingerprint identifies indexSettings (canonical JSON, so layout
// edits do not count). An index records the one it was created with: a
// settings or mapping change reaches an existing index only by a reindex.
var mappingFingerprint = func() string {
	var v any
	if err := json.Unmarshal([]byte(indexSettings), &v); err != nil {
		panic(err)
	}
	b, _ := json.Marshal(v) // map keys sorted
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}()

// StaleIndices returns the indices behind the alias whose settings or
// mapping differ from this version's (an index made before fingerprints
// counts as stale); `shop reindex` rebuilds them.
func (e *Elastic) StaleIndices(ctx context.Context) ([]string, error) {
	var out map[string]struct {
		Mappings struct {
			Meta map[string]any `json:"_meta"`
		} `json:"mappings"`
	}
	err := e.do(ctx, "get mapping "+e.alias, esapi.IndicesGetMappingRequest{Index: []string{e.alias}}, &out)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stale []string
	for name, m := range out {
		if m.Mappings.Meta[fingerprintKey] != mappingFingerprint {
			stale = append(stale, name)
		}
	}
	slices.Sort(stale)
	return stale, nil
}

// EnsureIndex creates a first index behind the alias unless the alias
// exists. Once per client, it warns when the existing index was built with
// other settings or mapping than this version's: they do not apply until
// `shop reindex` rebuilds it.
func (e *Elastic) EnsureIndex(ctx context.Context) error {
	current, err := e.Indices(ctx, e.alias)
	if err != nil {
		return err
	}
	if len(current) > 0 {
		if !e.checked.Load() {
			stale, err := e.StaleIndices(ctx)
			if err != nil {
				return err
			}
			e.checked.Store(true)
			if len(stale) > 0 {
				slog.WarnContext(ctx, "search: the index behind the alias was built with an older mapping or settings; run `shop reindex` to apply this version's",
					"alias", e.alias, "indices", stale)
			}
		}
		return nil
	}
	err = e.createIndex(ctx, IndexName(e.alias, time.Now()), e.alias)
	if err != nil {
		// A concurrent EnsureIndex may have won; then the alias is there.
		if current, err2 := e.Indices(ctx, e.alias); err2 == nil && len(current) > 0 {
			return nil
		}
	}
	return err
}

func (e *Elastic) target(index string) string {
	if index == "" {
		return e.alias
	}
	return index
}

// Upsert writes docs into index ("" = the alias) in one bulk request; they
// are searchable on return. Every failed document is reported.
func (e *Elastic) Upsert(ctx context.Context, index string, docs []Doc) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, d := range docs {
		meta := map[string]any{"index": map[string]any{"_id": strconv.FormatInt(d.ID, 10)}}
		if err := enc.Encode(meta); err != nil {
			return err
		}
		if err := enc.Encode(toES(d)); err != nil {
			return err
		}
	}
	if index != "" {
		// Bulk would auto-create a missing index with a guessed mapping.
		err := e.do(ctx, "index exists "+index, esapi.IndicesExistsRequest{Index: []string{index}}, nil)
		if err != nil {
			return err
		}
	}
	return e.bulk(ctx, e.target(index), len(docs), &body)
}

// Delete removes documents from index ("" = the alias); ids that are not
// in the index are fine.
func (e *Elastic) Delete(ctx context.Context, index string, ids []int64) error {
	var body bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&body, `{"delete":{"_id":"%d"}}`+"\n", id)
	}
	return e.bulk(ctx, e.target(index), len(ids), &body)
}

func (e *Elastic) bulk(ctx context.Context, index string, n int, body io.Reader) error {
	if n == 0 {
		return nil
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID     string          `json:"_id"`
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	// require_alias: writing to a missing alias must not create an index of that name.
	requireAlias := index == e.alias
	err := e.do(ctx, "bulk "+index, esapi.BulkRequest{Index: index, Body: body, Refresh: "wait_for",
		RequireAlias: &requireAlias}, &out)
	if err != nil || !out.Errors {
		return err
	}
	var errs []error
	for _, item := range out.Items {
		for op, r := range item {
			if len(r.Error) > 0 { // a delete of a missing id is a 404 without an error
				errs = append(errs, fmt.Errorf("search: bulk %s product %s: %d %s", op, r.ID, r.Status, r.Error))
			}
		}
	}
	return errors.Join(errs...)
}

// Count returns the number of documents in index ("" = the alias).
func (e *Elastic) Count(ctx context.Context, index string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	err := e.do(ctx, "count", esapi.CountRequest{Index: []string{e.target(index)}}, &out)
	return out.Count, err
}

// esQuery is the query of q (text already cleaned): a product matches when
// every query word occurs, fuzzily, in its folded text (as in the PostgreSQL
// backend); it is scored by a fuzzy multi_match over the original fields,
// boosted like the tsvector weights.
func esQuery(q Query, text string) map[string]any {
	filter := []any{term("active", true)}
	var should []any
	if text != "" {
		filter = append(filter, map[string]any{"match": map[string]any{"search": map[string]any{
			"query": matchText(text), "operator": "and", "fuzziness": fuzziness}}})
		should = append(should, map[string]any{"multi_match": map[string]any{
			"query": text, "fields": []string{"name^3", "brand_attrs^2", "description"},
			"type": "best_fields", "tie_breaker": 0.3, "fuzziness": fuzziness}})
	}
	if q.CategoryID != 0 {
		filter = append(filter, term("category_path", q.CategoryID)) // the path holds every ancestor
	}
	if len(q.Brands) > 0 {
		filter = append(filter, map[string]any{"terms": map[string]any{"brand.lower": cleanBrands(q.Brands)}}) // normalized by the field
	}
	if q.MinPrice != nil || q.MaxPrice != nil {
		r := map[string]any{}
		if q.MinPrice != nil {
			r["gte"] = *q.MinPrice
		}
		if q.MaxPrice != nil {
			r["lte"] = *q.MaxPrice
		}
		filter = append(filter, map[string]any{"range": map[string]any{"price_minor": r}})
	}
	if q.InStock {
		filter = append(filter, term("in_stock", true))
	}
	b := map[string]any{"filter": filter}
	if should != nil {
		b["should"] = should
	}
	return map[string]any{"bool": b}
}

// fuzziness is AUTO with exact matching below minFuzzyLen characters
// (default: below 3). 5-7 characters allow one edit, longer ones two.
var fuzziness = fmt.Sprintf("AUTO:%d,8", minFuzzyLen)

func term(field string, v any) map[string]any {
	return map[string]any{"term": map[string]any{field: v}}
}

func esSort(s Sort, hasText bool) []any {
	by := map[string]any{"created_at": "desc"}
	switch {
	case s == SortPriceAsc:
		by = map[string]any{"price_minor": "asc"}
	case s == SortPriceDesc:
		by = map[string]any{"price_minor": "desc"}
	case s == SortRelevance && hasText:
		by = map[string]any{"_score": "desc"}
	}
	return []any{by, map[string]any{"id": "asc"}}
}

// Search implements Backend.
func (e *Elastic) Search(ctx context.Context, q Query) (Result, error) {
	text := cleanText(q.Text)
	offset, limit := pageWindow(q)
	order := []map[string]string{{"_count": "desc"}, {"_key": "asc"}}
	ranges := make([]map[string]int64, len(priceEdges))
	for i, p := range emptyPrices() {
		ranges[i] = map[string]int64{"from": p.From}
		if p.To != 0 {
			ranges[i]["to"] = p.To
		}
	}
	req := map[string]any{
		"from": offset, "size": limit, "_source": false,
		"track_total_hits": true, "track_scores": true,
		"query": esQuery(q, text),
		"sort":  esSort(q.Sort, text != ""),
		"aggs": map[string]any{
			"categories": map[string]any{"terms": map[string]any{"field": "category_id", "size": facetLimit, "order": order}},
			"brands": map[string]any{"terms": map[string]any{"field": "brand", "size": facetLimit, "order": order,
				"exclude": []string{""}}},
			"prices": map[string]any{"range": map[string]any{"field": "price_minor", "ranges": ranges}},
		},
	}
	if text != "" {
		req["highlight"] = map[string]any{
			// Marked like PostgreSQL's headlines and escaped by the same markup().
			"pre_tags": []string{hlStart}, "post_tags": []string{hlStop},
			"fields": map[string]any{
				"name":        map[string]any{"number_of_fragments": 0},
				"description": map[string]any{"fragment_size": 160, "number_of_fragments": 1},
			},
		}
	}
	type bucket struct {
		Key      json.RawMessage `json:"key"`
		DocCount int             `json:"doc_count"`
	}
	var out struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				ID        string              `json:"_id"`
				Score     float64             `json:"_score"`
				Highlight map[string][]string `json:"highlight"`
			} `json:"hits"`
		} `json:"hits"`
		Aggregations map[string]struct {
			Buckets []bucket `json:"buckets"`
		} `json:"aggregations"`
	}
	err := e.do(ctx, "search", esapi.SearchRequest{Index: []string{e.alias}, Body: jsonBody(req)}, &out)
	if err != nil {
		return Result{}, err
	}
	res := Result{Total: out.Hits.Total.Value, Hits: make([]Hit, 0, len(out.Hits.Hits)), Prices: emptyPrices()}
	for _, h := range out.Hits.Hits {
		id, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil {
			return Result{}, fmt.Errorf("search: unexpected document id %q", h.ID)
		}
		hit := Hit{ProductID: id, Score: h.Score, Highlights: map[string]string{}}
		for field, frags := range h.Highlight {
			hit.Highlights[field] = markup(strings.Join(frags, " … "))
		}
		res.Hits = append(res.Hits, hit)
	}
	facet := func(name string) []FacetCount {
		fc := []FacetCount{}
		for _, b := range out.Aggregations[name].Buckets {
			key := string(b.Key)
			if s, err := strconv.Unquote(key); err == nil {
				key = s // brand keys are strings, category keys numbers
			}
			fc = append(fc, FacetCount{Key: key, Count: b.DocCount})
		}
		return fc
	}
	res.Categories, res.Brands = facet("categories"), facet("brands")
	for i, b := range out.Aggregations["prices"].Buckets {
		if i < len(res.Prices) {
			res.Prices[i].Count = b.DocCount
		}
	}
	return res, nil
}

// Suggest implements Backend: names with every complete word of prefix and
// a word starting with its last word (match_bool_prefix over index_prefixes).
func (e *Elastic) Suggest(ctx context.Context, prefix string, limit int) ([]Suggestion, error) {
	ws := words(cleanText(prefix))
	if len(ws) == 0 {
		return nil, nil
	}
	req := map[string]any{
		"size": suggestLimit(limit), "_source": []string{"name"},
		"query": map[string]any{"bool": map[string]any{
			"filter": []any{term("active", true)},
			"must": []any{map[string]any{"match_bool_prefix": map[string]any{"suggest": map[string]any{
				"query": strings.Join(ws, " "), "operator": "and"}}}},
		}},
		"sort": []any{map[string]any{"_score": "desc"}, map[string]any{"id": "asc"}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string `json:"_id"`
				Source struct {
					Name string `json:"name"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := e.do(ctx, "suggest", esapi.SearchRequest{Index: []string{e.alias}, Body: jsonBody(req)}, &out); err != nil {
		return nil, err
	}
	var sugg []Suggestion
	for _, h := range out.Hits.Hits {
		id, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("search: unexpected document id %q", h.ID)
		}
		sugg = append(sugg, Suggestion{ProductID: id, Name: h.Source.Name})
	}
	return sugg, nil
}

// statusError is an error answer from Elasticsearch.
type statusError struct {
	what   string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("search: %s: %d %s", e.what, e.status, e.body)
}

func isStatus(err error, status int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == status
}

// do sends req and decodes a successful JSON answer into out (if not nil).
func (e *Elastic) do(ctx context.Context, what string, req esapi.Request, out any) error {
	res, err := req.Do(ctx, e.es)
	if err != nil {
		return fmt.Errorf("search: %s: %w", what, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return &statusError{what: what, status: res.StatusCode, body: string(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("search: %s: response: %w", what, err)
	}
	return nil
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil { // only maps of plain values are passed
		panic(err)
	}
	return bytes.NewReader(b)
}
