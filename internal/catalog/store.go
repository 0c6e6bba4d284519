package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/money"
)

// Store reads and writes the catalog in PostgreSQL.
type Store struct {
	pool  *pgxpool.Pool
	reads db.Reader // StockAdjustments
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, reads: db.PrimaryReader(pool)} }

// ReadFrom routes the staff's stock-adjustment history through r (a
// replica when the request allows it, db.ReplicaOK). The storefront's
// reads stay on the primary: they fill the cache the outbox invalidates,
// and a fill from a lagging replica would store the old row again.
func (s *Store) ReadFrom(r db.Reader) { s.reads = r }

// ListCategories returns every category, parents before their children.
func (s *Store) ListCategories(ctx context.Context) ([]Category, error) {
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE tree AS (
			SELECT id, name, slug, parent_id, description, ARRAY[name] AS path
			FROM categories WHERE parent_id IS NULL AND active
			UNION ALL
			SELECT c.id, c.name, c.slug, c.parent_id, c.description, t.path || c.name
			FROM categories c JOIN tree t ON c.parent_id = t.id WHERE c.active
		)
		SELECT id, name, slug, coalesce(parent_id, 0), description FROM tree ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list categories: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Category, error) {
		var c Category
		err := r.Scan(&c.ID, &c.Name, &c.Slug, &c.ParentID, &c.Description)
		return c, err
	})
}

const productColumns = `id, sku, name, description, brand, category_id, price_minor, currency,
	stock_quantity, attributes, active, created_at, updated_at`

func scanProduct(r pgx.Row) (Product, error) {
	var p Product
	err := r.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.Brand, &p.CategoryID,
		&p.Price.Amount, &p.Price.Currency, &p.StockQuantity, &p.Attributes, &p.Active, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// ListProducts returns one page of active products and the total matching.
func (s *Store) ListProducts(ctx context.Context, f ListFilter) ([]Product, int32, error) {
	if err := f.Normalize(); err != nil {
		return nil, 0, err
	}
	where := []string{"active", "category_id IN (SELECT id FROM categories WHERE active)"}
	args := []any{}
	if f.CategoryID != 0 {
		// The category and everything below it.
		args = append(args, f.CategoryID)
		where = append(where, fmt.Sprintf(`category_id IN (WITH RECURSIVE sub AS (
			SELECT id FROM categories WHERE id = $%d
			UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub)`, len(args)))
	}
	order := "id"
	if q := strings.TrimSpace(f.Search); q != "" {
		// websearch_to_tsquery never fails on user input: quotes and
		// operators are read as text, not as query syntax.
		args = append(args, q)
		where = append(where, fmt.Sprintf("search_vector @@ websearch_to_tsquery('english', $%d)", len(args)))
		order = fmt.Sprintf("ts_rank(search_vector, websearch_to_tsquery('english', $%d)) DESC, id", len(args))
	}
	cond := strings.Join(where, " AND ")

	var total int32
	if err := s.pool.QueryRow(ctx, "SELECT LEAST(count(*), 2147483647)::int FROM products WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count products: %w", err)
	}
	args = append(args, f.Limit, f.Skip)
	rows, err := s.pool.Query(ctx, fmt.Sprintf("SELECT %s FROM products WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
		productColumns, cond, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	products, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Product, error) { return scanProduct(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	return products, total, nil
}

// GetProduct returns an active product by id.
func (s *Store) GetProduct(ctx context.Context, id int64) (Product, error) {
	if id <= 0 {
		return Product{}, fieldErr("product_id", "must be a positive integer")
	}
	p, err := scanProduct(s.pool.QueryRow(ctx, "SELECT "+productColumns+" FROM products WHERE id = $1 AND active", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Product{}, fmt.Errorf("product %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Product{}, fmt.Errorf("catalog: get product %d: %w", id, err)
	}
	if p.Variants, err = s.variants(ctx, s.pool, id); err != nil {
		return Product{}, err
	}
	return p, nil
}

// ProductInput is a product as an import file or an admin describes it.
type ProductInput struct {
	SKU           string      `json:"sku"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	Category      string      `json:"category"`
	Brand         string      `json:"brand"`
	Price         money.Money `json:"price"`
	StockQuantity int32       `json:"stock_quantity"`
}

// setDefaultOnHand sets the units on hand of a product (not a variant) at
// the default location, never below what it holds reserved for orders, and
// says whether that changed anything.
func setDefaultOnHand(ctx context.Context, tx pgx.Tx, productID int64, n int32) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO location_stock (location_id, product_id, on_hand)
		SELECT l.id, $1, $2 FROM stock_locations l
		WHERE l.is_default AND ($2 > 0 OR EXISTS (SELECT 1 FROM location_stock s
			WHERE s.product_id = $1 AND s.variant_id IS NULL AND s.location_id = l.id))
		ON CONFLICT (product_id, (coalesce(variant_id, 0)), location_id) DO UPDATE
			SET on_hand = greatest(EXCLUDED.on_hand, location_stock.reserved)
			WHERE location_stock.on_hand <> greatest(EXCLUDED.on_hand, location_stock.reserved)`, productID, n)
	return tag.RowsAffected() > 0, err
}

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Inserted int
	Updated  int
}

// UpsertProducts inserts or updates products by SKU in one transaction,
// creating missing categories by name. Re-running it with the same input
// changes nothing, which makes import batches safe to retry.
func (s *Store) UpsertProducts(ctx context.Context, items []ProductInput) (UpsertResult, error) {
	var res UpsertResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		categories := map[string]int64{}
		for _, it := range items {
			if _, ok := categories[it.Category]; ok {
				continue
			}
			id, err := ensureCategory(ctx, tx, it.Category)
			if err != nil {
				return err
			}
			categories[it.Category] = id
		}
		for _, it := range items {
			var id int64
			var inserted bool
			err := tx.QueryRow(ctx, `
				INSERT INTO products (sku, name, description, brand, category_id, price_minor, currency, stock_quantity)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (sku) DO UPDATE SET
					name = EXCLUDED.name, description = EXCLUDED.description, brand = EXCLUDED.brand,
					category_id = EXCLUDED.category_id, price_minor = EXCLUDED.price_minor,
					currency = EXCLUDED.currency, updated_at = now()
				WHERE (products.name, products.description, products.brand, products.category_id,
				       products.price_minor, products.currency)
				   IS DISTINCT FROM
				      (EXCLUDED.name, EXCLUDED.description, EXCLUDED.brand, EXCLUDED.category_id,
				       EXCLUDED.price_minor, EXCLUDED.currency)
				RETURNING id, (xmax = 0)`,
				it.SKU, it.Name, it.Description, it.Brand, categories[it.Category],
				it.Price.Amount, it.Price.Currency, it.StockQuantity).Scan(&id, &inserted)
			updated := err == nil && !inserted
			if errors.Is(err, pgx.ErrNoRows) { // the product's fields are unchanged
				err = tx.QueryRow(ctx, `SELECT id FROM products WHERE sku = $1`, it.SKU).Scan(&id)
			}
			if err != nil {
				return fmt.Errorf("catalog: upsert %s: %w", it.SKU, err)
			}
			if !inserted {
				// A new product's stock went to the default location with
				// the row; an existing one's is set there.
				stocked, err := setDefaultOnHand(ctx, tx, id, it.StockQuantity)
				if err != nil {
					return fmt.Errorf("catalog: upsert %s: %w", it.SKU, err)
				}
				updated = updated || stocked
			}
			switch {
			case inserted:
				res.Inserted++
			case updated:
				res.Updated++
			}
		}
		return nil
	})
	return res, err
}

func ensureCategory(ctx context.Context, tx pgx.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO categories (name, slug) VALUES ($1, $2)
		ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
		RETURNING id`, name, Slug(name)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("catalog: category %q: %w", name, err)
	}
	return id, nil
}

// Slug turns a name into a URL-safe identifier: "Home & Kitchen" -> "home-kitchen".
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// ProductsByIDs loads active products by id, for search results; ids that
// are missing or archived are left out.
func (s *Store) ProductsByIDs(ctx context.Context, ids []int64) (map[int64]Product, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+productColumns+" FROM products WHERE id = ANY($1) AND active", ids)
	if err != nil {
		return nil, fmt.Errorf("catalog: products by id: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Product, error) { return scanProduct(r) })
	if err != nil {
		return nil, fmt.Errorf("catalog: products by id: %w", err)
	}
	out := make(map[int64]Product, len(list))
	for _, p := range list {
		out[p.ID] = p
	}
	return out, nil
}
