package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/money"
)

// VariantDraft is a new or changed variant.
type VariantDraft struct {
	SKU           string
	Attributes    map[string]string
	PriceMinor    *int64 // nil: the product's price
	StockQuantity int32
	Active        *bool
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) variants(ctx context.Context, q querier, productID int64) ([]Variant, error) {
	rows, err := q.Query(ctx, `SELECT v.id, v.product_id, v.sku, v.attributes, v.price_minor, p.currency, v.stock_quantity, v.active
		FROM product_variants v JOIN products p ON p.id = v.product_id
		WHERE v.product_id = $1 ORDER BY v.id`, productID)
	if err != nil {
		return nil, fmt.Errorf("catalog: variants: %w", err)
	}
	return pgx.CollectRows(rows, scanVariant)
}

func scanVariant(r pgx.CollectableRow) (Variant, error) {
	var v Variant
	var price *int64
	var currency string
	err := r.Scan(&v.ID, &v.ProductID, &v.SKU, &v.Attributes, &price, &currency, &v.StockQuantity, &v.Active)
	if price != nil {
		v.Price = &money.Money{Amount: *price, Currency: currency}
	}
	return v, err
}

func (d *VariantDraft) validate() error {
	d.SKU = strings.ToUpper(strings.TrimSpace(d.SKU))
	if err := checkSKU(d.SKU); err != nil {
		return err
	}
	if d.PriceMinor != nil && *d.PriceMinor < 0 {
		return fieldErr("price", "must not be negative")
	}
	if d.StockQuantity < 0 {
		return fieldErr("stock_quantity", "must not be negative")
	}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	return checkAttributes(d.Attributes)
}

// checkVariantPrice bounds a variant's own price in its product's currency
// (known once the row is written; an error rolls the write back).
func checkVariantPrice(v Variant) error {
	if v.Price == nil {
		return nil
	}
	return checkPrice("price", *v.Price)
}

// CreateVariant adds a variant to a product.
func (s *Store) CreateVariant(ctx context.Context, productID int64, d VariantDraft) (Variant, error) {
	if err := d.validate(); err != nil {
		return Variant{}, err
	}
	var v Variant
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, productID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("product %d: %w", productID, ErrNotFound)
		}
		rows, err := tx.Query(ctx, `WITH v AS (
			INSERT INTO product_variants (product_id, sku, attributes, price_minor, stock_quantity)
			VALUES ($1, $2, $3, $4, $5) RETURNING *)
			SELECT v.id, v.product_id, v.sku, v.attributes, v.price_minor, p.currency, v.stock_quantity, v.active
			FROM v JOIN products p ON p.id = v.product_id`,
			productID, d.SKU, d.Attributes, d.PriceMinor, d.StockQuantity)
		if err != nil {
			return err
		}
		if v, err = pgx.CollectExactlyOneRow(rows, scanVariant); err != nil {
			return skuErr(err)
		}
		return checkVariantPrice(v)
	})
	return v, err
}

// UpdateVariant changes a variant's attributes, price and active flag
// (stock changes go through AdjustStock, which keeps an audit trail).
func (s *Store) UpdateVariant(ctx context.Context, productID, variantID int64, d VariantDraft) (Variant, error) {
	if err := d.validate(); err != nil {
		return Variant{}, err
	}
	var v Variant
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH v AS (
			UPDATE product_variants SET sku = $3, attributes = $4, price_minor = $5,
				active = coalesce($6, active), updated_at = now()
			WHERE id = $2 AND product_id = $1 RETURNING *)
			SELECT v.id, v.product_id, v.sku, v.attributes, v.price_minor, p.currency, v.stock_quantity, v.active
			FROM v JOIN products p ON p.id = v.product_id`,
			productID, variantID, d.SKU, d.Attributes, d.PriceMinor, d.Active)
		if err != nil {
			return skuErr(err)
		}
		v, err = pgx.CollectExactlyOneRow(rows, scanVariant)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("variant %d of product %d: %w", variantID, productID, ErrNotFound)
		}
		if err != nil {
			return skuErr(err)
		}
		if err := checkVariantPrice(v); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE products SET updated_at = now() WHERE id = $1`, productID)
		return err
	})
	return v, err
}
