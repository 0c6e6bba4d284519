package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/money"
)

// ProductDraft is a new product as an admin describes it.
type ProductDraft struct {
	SKU           string
	Name          string
	Description   string
	Brand         string
	CategoryID    int64
	Price         money.Money
	StockQuantity int32
	Attributes    map[string]string
}

// ProductPatch changes the fields that are set.
type ProductPatch struct {
	Name, Description, Brand *string
	CategoryID               *int64
	Price                    *money.Money
	Attributes               map[string]string // nil: unchanged
	Active                   *bool
}

var skuRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]{1,63}$`)

func checkSKU(sku string) error {
	if !skuRE.MatchString(sku) {
		return fieldErr("sku", "must be 2-64 characters of A-Z, 0-9, '.', '_' or '-'")
	}
	return nil
}

func checkPrice(field string, m money.Money) error {
	if _, err := money.Exponent(m.Currency); err != nil {
		return fieldErr(field+".currency", "%q is not a supported ISO 4217 currency", m.Currency)
	}
	if m.Amount < 0 {
		return fieldErr(field, "must not be negative")
	}
	if m.Amount > money.MaxAmount(m.Currency) {
		return fieldErr(field, "must be at most %s", money.Money{Amount: money.MaxAmount(m.Currency), Currency: m.Currency})
	}
	return nil
}

func checkText(field, v string, required bool, max int) error {
	if required && strings.TrimSpace(v) == "" {
		return fieldErr(field, "is required")
	}
	if len(v) > max {
		return fieldErr(field, "must be at most %d characters", max)
	}
	return nil
}

func checkAttributes(attrs map[string]string) error {
	if len(attrs) > 50 {
		return fieldErr("attributes", "must have at most 50 entries")
	}
	for k, v := range attrs {
		if k == "" || len(k) > 64 || len(v) > 500 {
			return fieldErr("attributes", "keys must be 1-64 and values at most 500 characters")
		}
	}
	return nil
}

func (d *ProductDraft) validate() error {
	d.SKU = strings.ToUpper(strings.TrimSpace(d.SKU))
	if err := checkSKU(d.SKU); err != nil {
		return err
	}
	if err := checkText("name", d.Name, true, 300); err != nil {
		return err
	}
	if err := checkText("description", d.Description, false, 10000); err != nil {
		return err
	}
	if err := checkText("brand", d.Brand, false, 200); err != nil {
		return err
	}
	if d.CategoryID <= 0 {
		return fieldErr("category_id", "is required")
	}
	if err := checkPrice("price", d.Price); err != nil {
		return err
	}
	if d.StockQuantity < 0 {
		return fieldErr("stock_quantity", "must not be negative")
	}
	return checkAttributes(d.Attributes)
}

// skuErr turns the unique violations of products, variants and the
// cross-table SKU trigger into ErrSKUTaken.
func skuErr(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation {
		return fmt.Errorf("%w", ErrSKUTaken)
	}
	return err
}

// requireActiveCategory refuses, as a field error of field, a category id
// that names no active category. A failed lookup is returned as it is: a
// database that cannot answer says nothing about the category.
func (s *Store) requireActiveCategory(ctx context.Context, q pgx.Tx, id int64, field string) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1 AND active)`, id).Scan(&ok); err != nil {
		return fmt.Errorf("catalog: look up category %d: %w", id, err)
	}
	if !ok {
		return fieldErr(field, "category %d does not exist", id)
	}
	return nil
}

// CreateProduct adds a product.
func (s *Store) CreateProduct(ctx context.Context, d ProductDraft) (Product, error) {
	if err := d.validate(); err != nil {
		return Product{}, err
	}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	var p Product
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.requireActiveCategory(ctx, tx, d.CategoryID, "category_id"); err != nil {
			return err
		}
		var err error
		p, err = scanProduct(tx.QueryRow(ctx, `
			INSERT INTO products (sku, name, description, brand, category_id, price_minor, currency, stock_quantity, attributes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+productColumns,
			d.SKU, strings.TrimSpace(d.Name), d.Description, strings.TrimSpace(d.Brand), d.CategoryID,
			d.Price.Amount, d.Price.Currency, d.StockQuantity, d.Attributes))
		return skuErr(err)
	})
	return p, err
}

// UpdateProduct changes a product, archived or not (so it can be restored).
func (s *Store) UpdateProduct(ctx context.Context, id int64, up ProductPatch) (Product, error) {
	var p Product
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("product %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		d := ProductDraft{SKU: cur.SKU, Name: cur.Name, Description: cur.Description, Brand: cur.Brand,
			CategoryID: cur.CategoryID, Price: cur.Price, StockQuantity: cur.StockQuantity, Attributes: cur.Attributes}
		active := cur.Active
		setIf(&d.Name, up.Name)
		setIf(&d.Description, up.Description)
		setIf(&d.Brand, up.Brand)
		setIf(&d.CategoryID, up.CategoryID)
		setIf(&d.Price, up.Price)
		setIf(&active, up.Active)
		if up.Attributes != nil {
			d.Attributes = up.Attributes
		}
		if err := d.validate(); err != nil {
			return err
		}
		if up.CategoryID != nil {
			if err := s.requireActiveCategory(ctx, tx, d.CategoryID, "category_id"); err != nil {
				return err
			}
		}
		p, err = scanProduct(tx.QueryRow(ctx, `
			UPDATE products SET name = $2, description = $3, brand = $4, category_id = $5, price_minor = $6,
				currency = $7, attributes = $8, active = $9, updated_at = now()
			WHERE id = $1 RETURNING `+productColumns,
			id, strings.TrimSpace(d.Name), d.Description, strings.TrimSpace(d.Brand), d.CategoryID,
			d.Price.Amount, d.Price.Currency, d.Attributes, active))
		return err
	})
	return p, err
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ArchiveProduct hides a product from the storefront; its orders keep it.
func (s *Store) ArchiveProduct(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE products SET active = false, updated_at = now() WHERE id = $1 AND active`, id)
	if err != nil {
		return fmt.Errorf("catalog: archive product: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("product %d: %w", id, ErrNotFound)
	}
	return nil
}

// StockAdjustment is one audited change of stock.
type StockAdjustment struct {
	ID         int64
	ProductID  int64
	VariantID  int64 // 0: the product itself
	LocationID int64
	Delta      int32
	StockAfter int32 // the sellable stock after the change
	Reason     string
	ActorID    int64
	CreatedAt  time.Time
}

// AdjustStock adds delta (negative to remove) to the stock of a product or
// one of its variants at the default location (see AdjustStockAt).
func (s *Store) AdjustStock(ctx context.Context, productID, variantID int64, delta int32, reason string, actorID int64) (int32, error) {
	return s.AdjustStockAt(ctx, 0, productID, variantID, delta, reason, actorID)
}

// AdjustStockAt adds delta (negative to remove) to the units on hand of a
// product or variant at a location (0: the default one), atomically, never
// below what the location holds reserved for orders (nor below zero) nor
// above 2147483647, and records why. It answers the sellable stock after.
func (s *Store) AdjustStockAt(ctx context.Context, locationID, productID, variantID int64, delta int32, reason string, actorID int64) (int32, error) {
	var after int32
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := inventory.Adjust(ctx, tx, inventory.Adjustment{LocationID: locationID, ProductID: productID,
			VariantID: variantID, Delta: delta, Reason: reason, ActorID: actorID})
		after = r.Sellable
		return err
	})
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		return 0, fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, inventory.ErrInsufficientStock):
		return 0, fmt.Errorf("%w: %w", ErrInsufficientStock, err)
	}
	return after, err
}

// StockAdjustments returns the newest adjustments of a product.
func (s *Store) StockAdjustments(ctx context.Context, productID int64, limit int32) ([]StockAdjustment, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	var out []StockAdjustment
	err := s.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		rows, err := pool.Query(ctx, `SELECT id, product_id, coalesce(variant_id, 0), location_id, delta, stock_after, reason,
			coalesce(actor_user_id, 0), created_at FROM stock_adjustments WHERE product_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, productID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (StockAdjustment, error) {
			var a StockAdjustment
			err := r.Scan(&a.ID, &a.ProductID, &a.VariantID, &a.LocationID, &a.Delta, &a.StockAfter, &a.Reason, &a.ActorID, &a.CreatedAt)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: stock adjustments: %w", err)
	}
	return out, nil
}
