package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Doc is a product as the Elasticsearch index holds it.
type Doc struct {
	ID                                      int64
	SKU, Name, Description, Brand, Currency string
	CategoryID                              int64
	CategoryPath                            []int64 // the category itself, then its ancestors
	PriceMinor                              int64
	InStock                                 bool
	Attributes                              map[string]string // string values only, nested keys dotted
	Active                                  bool              // product and every category on its path active
	CreatedAt                               time.Time
}

// categoryTree is a recursive CTE: each category's path (self first) and
// whether it is live, i.e. it and all its ancestors are active. Starting from the roots also keeps a
// (corrupt) parent cycle from recursing forever.
const categoryTree = `tree AS (
	SELECT id, ARRAY[id] AS path, active FROM categories WHERE parent_id IS NULL
	UNION ALL
	SELECT c.id, c.id || t.path, t.active AND c.active FROM categories c JOIN tree t ON c.parent_id = t.id
)`

// inStockSQL is the InStock rule over products p.
const inStockSQL = `(p.stock_quantity > 0 OR EXISTS (
	SELECT 1 FROM product_variants v WHERE v.product_id = p.id AND v.active AND v.stock_quantity > 0))`

// LoadDocs builds the documents of the given products. Ids not in the
// database come back in missing; inactive products come back with
// Active = false so that the caller deletes them from the index.
func LoadDocs(ctx context.Context, pool *pgxpool.Pool, ids []int64) (docs []Doc, missing []int64, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	rows, err := pool.Query(ctx, `WITH RECURSIVE `+categoryTree+`
		SELECT p.id, p.sku, p.name, p.description, p.brand, p.currency, p.category_id,
			coalesce(t.path, ARRAY[p.category_id]), p.price_minor, `+inStockSQL+`,
			p.attributes, p.active AND coalesce(t.active, false), p.created_at
		FROM products p LEFT JOIN tree t ON t.id = p.category_id
		WHERE p.id = ANY($1) ORDER BY p.id`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("search: load docs: %w", err)
	}
	docs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Doc, error) {
		var d Doc
		var attrs []byte
		err := r.Scan(&d.ID, &d.SKU, &d.Name, &d.Description, &d.Brand, &d.Currency, &d.CategoryID,
			&d.CategoryPath, &d.PriceMinor, &d.InStock, &attrs, &d.Active, &d.CreatedAt)
		if err != nil {
			return d, err
		}
		d.Attributes, err = stringAttributes(attrs)
		return d, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("search: load docs: %w", err)
	}
	found := make(map[int64]bool, len(docs))
	for _, d := range docs {
		found[d.ID] = true
	}
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
			found[id] = true // report duplicates once
		}
	}
	return docs, missing, nil
}

// AllProductIDs pages through every product id (inactive ones too, so a
// full reindex also learns what to delete), ascending, after afterID.
func AllProductIDs(ctx context.Context, pool *pgxpool.Pool, afterID int64, limit int) ([]int64, error) {
	rows, err := pool.Query(ctx, "SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2", afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("search: product ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("search: product ids: %w", err)
	}
	return ids, nil
}

// stringAttributes keeps the string leaves of the attributes object, which
// are what PostgreSQL's jsonb_to_tsvector(..., '["string"]') searches too.
// Nested keys are joined with dots; arrays join their strings with spaces.
func stringAttributes(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	out := map[string]string{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case string:
			if out[key] != "" {
				out[key] += " "
			}
			out[key] += v
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case map[string]any:
			for k, e := range v {
				if key != "" {
					k = key + "." + k
				}
				walk(k, e)
			}
		}
	}
	walk("", v)
	delete(out, "") // a top-level non-object cannot happen (CHECK), but be safe
	return out, nil
}

// attributeText joins the attribute values in key order, for full text.
func attributeText(attrs map[string]string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = attrs[k]
	}
	return strings.Join(vals, " ")
}
