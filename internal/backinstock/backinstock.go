// Package backinstock keeps the shoppers' "email me when it is back"
// subscriptions to sold-out products and variants, and sends each one
// email once the catalog has stock again: an outbox consumer of
// product.changed, so every writer of stock (staff, imports, cancelled
// orders) triggers it.
package backinstock

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/validation"
)

// ConsumerName is the outbox consumer registered by migration 0012.
const ConsumerName = "back_in_stock"

// Store keeps the subscriptions in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Subscription is one shopper waiting for one product or variant.
type Subscription struct {
	ID        int64
	UserID    int64
	ProductID int64
	VariantID int64 // 0: the product itself
}

// inStock is true for a subscription (s) whose product (p) or variant (v)
// has stock: a product counts as in stock when it or one of its variants is.
const inStock = `coalesce(CASE WHEN s.variant_id IS NULL
		THEN p.stock_quantity > 0 OR EXISTS (SELECT 1 FROM product_variants pv
			WHERE pv.product_id = p.id AND pv.active AND pv.stock_quantity > 0)
		ELSE v.active AND v.stock_quantity > 0 END, false)`

// Subscribe asks for one email when userID's product or variant is back in
// stock. It must be sold out now; subscribing again while waiting answers
// the same subscription.
func (s *Store) Subscribe(ctx context.Context, userID, productID, variantID int64) (Subscription, error) {
	sub := Subscription{UserID: userID, ProductID: productID, VariantID: variantID}
	if productID <= 0 {
		return sub, validation.New("product_id", "is required")
	}
	if variantID < 0 {
		return sub, validation.New("variant_id", "must not be negative")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var available bool
		err := tx.QueryRow(ctx, `SELECT `+inStock+`
			FROM (SELECT $1::bigint AS id, NULLIF($2::bigint, 0) AS variant_id) s
			JOIN products p ON p.id = s.id AND p.active
			LEFT JOIN product_variants v ON v.id = s.variant_id AND v.product_id = p.id AND v.active`,
			productID, variantID).Scan(&available)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("product %d: %w", productID, catalog.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("backinstock: product %d: %w", productID, err)
		}
		if variantID != 0 {
			var owner int64
			err := tx.QueryRow(ctx, `SELECT product_id FROM product_variants WHERE id = $1 AND active`, variantID).Scan(&owner)
			if errors.Is(err, pgx.ErrNoRows) || err == nil && owner != productID {
				return validation.New("variant_id", "variant %d is not a variant of product %d", variantID, productID)
			}
			if err != nil {
				return fmt.Errorf("backinstock: variant %d: %w", variantID, err)
			}
		}
		if available {
			return validation.New("product_id", "product %d is in stock; order it now instead", productID)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO back_in_stock_subscriptions (user_id, product_id, variant_id)
			VALUES ($1, $2, NULLIF($3::bigint, 0))
			ON CONFLICT (user_id, product_id, coalesce(variant_id, 0)) WHERE notified_at IS NULL DO NOTHING`,
			userID, productID, variantID); err != nil {
			return fmt.Errorf("backinstock: subscribe: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT id FROM back_in_stock_subscriptions
			WHERE user_id = $1 AND product_id = $2 AND coalesce(variant_id, 0) = $3 AND notified_at IS NULL`,
			userID, productID, variantID).Scan(&sub.ID)
	})
	return sub, err
}

// Key is the email dedup key of a subscription: one email each.
func Key(subscriptionID int64) string { return fmt.Sprintf("back-in-stock-%d", subscriptionID) }

// Mailer asks for an email, at most once per key (the email workflow).
type Mailer interface {
	Request(ctx context.Context, key, kind, to string, data mail.OrderEmail) error
}

// Consumer sends the emails of the subscriptions whose product changed and
// is in stock now, then marks them notified. A redelivery asks again for
// emails already asked for, which the key makes a no-op.
type Consumer struct {
	Pool    *pgxpool.Pool
	Mail    Mailer
	ShopURL string // links to the product start here
}

// Name implements outbox.Consumer.
func (Consumer) Name() string { return ConsumerName }

type due struct {
	id, productID     int64
	to, name, product string
}

// Deliver implements outbox.Consumer.
func (c Consumer) Deliver(ctx context.Context, events []outbox.Event) error {
	ids := outbox.EntityIDs(events, outbox.TopicProductChanged)
	if len(ids) == 0 {
		return nil
	}
	rows, err := c.Pool.Query(ctx, `SELECT s.id, s.product_id, u.email, u.first_name,
			p.name || coalesce(' (' || v.sku || ')', '')
		FROM back_in_stock_subscriptions s
		JOIN users u ON u.id = s.user_id AND u.active
		JOIN products p ON p.id = s.product_id AND p.active
		LEFT JOIN product_variants v ON v.id = s.variant_id
		WHERE s.notified_at IS NULL AND s.product_id = ANY ($1) AND `+inStock+`
		ORDER BY s.id`, ids)
	if err != nil {
		return fmt.Errorf("backinstock: due subscriptions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		return d, r.Scan(&d.id, &d.productID, &d.to, &d.name, &d.product)
	})
	if err != nil {
		return fmt.Errorf("backinstock: due subscriptions: %w", err)
	}
	for _, d := range list {
		data := mail.OrderEmail{CustomerName: d.name, ProductName: d.product,
			Link: fmt.Sprintf("%s/p/%d", strings.TrimRight(c.ShopURL, "/"), d.productID)}
		if err := c.Mail.Request(ctx, Key(d.id), mail.KindBackInStock, d.to, data); err != nil {
			return fmt.Errorf("backinstock: email of subscription %d: %w", d.id, err)
		}
		if _, err := c.Pool.Exec(ctx, `UPDATE back_in_stock_subscriptions SET notified_at = now()
			WHERE id = $1 AND notified_at IS NULL`, d.id); err != nil {
			return fmt.Errorf("backinstock: mark subscription %d notified: %w", d.id, err)
		}
	}
	return nil
}
