// Package search indexes and queries products. This file is the
// Elasticsearch backend, spoken to through go-elasticsearch/v8.
package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/shopkit/shop/internal/catalog"
)

// Elastic keeps products in one Elasticsearch index.
type Elastic struct {
	es    *elasticsearch.Client
	index string
}

// NewElastic returns a client of the node at url for index.
func NewElastic(url, index string) (*Elastic, error) {
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:  []string{url},
		MaxRetries: 3,
		Transport:  &http.Transport{ResponseHeaderTimeout: 30 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("search: elasticsearch client: %w", err)
	}
	return &Elastic{es: es, index: index}, nil
}

// productMapping uses only analyzers built into the server (no plugins), so
// it works on the minimal distribution as well as a full one.
const productMapping = `{
  "settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id":             {"type": "long"},
      "sku":            {"type": "keyword"},
      "name":           {"type": "text", "analyzer": "standard"},
      "description":    {"type": "text", "analyzer": "standard"},
      "brand":          {"type": "text", "fields": {"raw": {"type": "keyword"}}},
      "category_id":    {"type": "long"},
      "price_minor":    {"type": "long"},
      "currency":       {"type": "keyword"},
      "stock_quantity": {"type": "integer"},
      "created_at":     {"type": "date"}
    }
  }
}`

type doc struct {
	ID            int64     `json:"id"`
	SKU           string    `json:"sku"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	Brand         string    `json:"brand"`
	CategoryID    int64     `json:"category_id"`
	PriceMinor    int64     `json:"price_minor"`
	Currency      string    `json:"currency"`
	StockQuantity int32     `json:"stock_quantity"`
	CreatedAt     time.Time `json:"created_at"`
}

// EnsureIndex creates the index with its mapping unless it exists.
func (e *Elastic) EnsureIndex(ctx context.Context) error {
	res, err := e.es.Indices.Exists([]string{e.index}, e.es.Indices.Exists.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("search: index exists: %w", err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return nil
	}
	res, err = e.es.Indices.Create(e.index, e.es.Indices.Create.WithBody(strings.NewReader(productMapping)),
		e.es.Indices.Create.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("search: create index: %w", err)
	}
	return check(res, "create index "+e.index)
}

// DeleteIndex removes the index (and every document in it).
func (e *Elastic) DeleteIndex(ctx context.Context) error {
	res, err := e.es.Indices.Delete([]string{e.index}, e.es.Indices.Delete.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("search: delete index: %w", err)
	}
	if res.StatusCode == http.StatusNotFound {
		res.Body.Close()
		return nil
	}
	return check(res, "delete index "+e.index)
}

// Index writes products with one bulk request, visible to search on return.
func (e *Elastic) Index(ctx context.Context, products []catalog.Product) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, p := range products {
		meta := map[string]any{"index": map[string]any{"_index": e.index, "_id": strconv.FormatInt(p.ID, 10)}}
		if err := enc.Encode(meta); err != nil {
			return err
		}
		if err := enc.Encode(doc{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, Brand: p.Brand,
			CategoryID: p.CategoryID, PriceMinor: p.Price.Amount, Currency: p.Price.Currency,
			StockQuantity: p.StockQuantity, CreatedAt: p.CreatedAt}); err != nil {
			return err
		}
	}
	res, err := e.es.Bulk(&body, e.es.Bulk.WithContext(ctx), e.es.Bulk.WithRefresh("wait_for"))
	if err != nil {
		return fmt.Errorf("search: bulk: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("search: bulk: %s", res.String())
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID    string          `json:"_id"`
			Error json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("search: bulk response: %w", err)
	}
	if out.Errors {
		for _, item := range out.Items {
			for _, r := range item {
				if len(r.Error) > 0 {
					return fmt.Errorf("search: bulk: document %s: %s", r.ID, r.Error)
				}
			}
		}
	}
	return nil
}

// Search returns the ids of the best-matching products, best first. The
// query is plain text with typo tolerance, never query syntax.
func (e *Elastic) Search(ctx context.Context, text string, limit int) ([]int64, error) {
	q := map[string]any{
		"size":    limit,
		"_source": false,
		"query": map[string]any{"multi_match": map[string]any{
			"query":     text,
			"fields":    []string{"name^3", "brand^2", "description"},
			"fuzziness": "AUTO",
		}},
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	res, err := e.es.Search(e.es.Search.WithIndex(e.index), e.es.Search.WithBody(bytes.NewReader(body)),
		e.es.Search.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("search: query: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, fmt.Errorf("search: query: %s", res.String())
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("search: response: %w", err)
	}
	ids := make([]int64, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		id, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("search: unexpected document id %q", h.ID)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func check(res *esapi.Response, what string) error {
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("search: %s: %s: %s", what, res.Status(), b)
	}
	return nil
}
