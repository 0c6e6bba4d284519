// Package lowstock emails staff once when a product's sellable stock falls
// below the threshold, not once per sale: an outbox consumer of
// product.changed, so every writer of stock (orders, staff, imports) is
// seen.
package lowstock

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/outbox"
)

// ConsumerName is the outbox consumer registered by migration 0013.
const ConsumerName = "low_stock"

// Mailer asks for an email, at most once per key (the email workflow).
type Mailer interface {
	Request(ctx context.Context, key, kind, to string, data mail.OrderEmail) error
}

// Consumer keeps one alert per product under the threshold and emails
// staff for each new one. A redelivery asks again for an email already
// asked for, which its key (the alert's id) makes a no-op.
type Consumer struct {
	Pool      *pgxpool.Pool
	Mail      Mailer
	Threshold int    // alert below this many sellable units (LOW_STOCK_THRESHOLD)
	StaffTo   string // the address alerts go to (STAFF_EMAIL)
	ShopURL   string // links to the product start here
}

// Name implements outbox.Consumer.
func (Consumer) Name() string { return ConsumerName }

// Key is the email dedup key of an alert.
func Key(alertID int64) string { return "low-stock-" + strconv.FormatInt(alertID, 10) }

// Deliver implements outbox.Consumer.
func (c Consumer) Deliver(ctx context.Context, events []outbox.Event) error {
	ids := outbox.EntityIDs(events, outbox.TopicProductChanged)
	if len(ids) == 0 {
		return nil
	}
	// Stock at or above the threshold closes the product's alert and arms
	// it; an armed product falling below opens one alert (and disarms). A
	// product never seen at or above the threshold does not alert.
	const sellable = `p.stock_quantity + coalesce((SELECT sum(v.stock_quantity) FROM product_variants v
		WHERE v.product_id = p.id AND v.active), 0)`
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM low_stock_alerts a USING products p
			WHERE a.product_id = p.id AND p.id = ANY ($1) AND (NOT p.active OR `+sellable+` >= $2)`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: close alerts: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO low_stock_armed (product_id)
			SELECT p.id FROM products p WHERE p.id = ANY ($1) AND p.active AND `+sellable+` >= $2
			ON CONFLICT DO NOTHING`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: arm: %w", err)
		}
		if _, err := tx.Exec(ctx, `WITH crossed AS (
				DELETE FROM low_stock_armed w USING products p
				WHERE w.product_id = p.id AND p.id = ANY ($1) AND p.active AND `+sellable+` < $2
				RETURNING p.id, `+sellable+` AS stock)
			INSERT INTO low_stock_alerts (product_id, stock) SELECT id, stock FROM crossed
			ON CONFLICT (product_id) DO NOTHING`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: open alerts: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rows, err := c.Pool.Query(ctx, `SELECT a.id, a.product_id, a.stock, p.name || ' (' || p.sku || ')'
		FROM low_stock_alerts a JOIN products p ON p.id = a.product_id
		WHERE a.notified_at IS NULL AND a.product_id = ANY ($1) ORDER BY a.id`, ids)
	if err != nil {
		return fmt.Errorf("lowstock: due alerts: %w", err)
	}
	type alert struct {
		id, product int64
		stock       int
		name        string
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert, error) {
		var a alert
		return a, r.Scan(&a.id, &a.product, &a.stock, &a.name)
	})
	if err != nil {
		return fmt.Errorf("lowstock: due alerts: %w", err)
	}
	for _, a := range due {
		data := mail.OrderEmail{CustomerName: "team", ProductName: a.name,
			Reason: fmt.Sprintf("%d left, below the threshold of %d", a.stock, c.Threshold),
			Link:   fmt.Sprintf("%s/api/products/%d", strings.TrimRight(c.ShopURL, "/"), a.product)}
		if err := c.Mail.Request(ctx, Key(a.id), mail.KindLowStock, c.StaffTo, data); err != nil {
			return fmt.Errorf("lowstock: email of alert %d: %w", a.id, err)
		}
		if _, err := c.Pool.Exec(ctx, `UPDATE low_stock_alerts SET notified_at = now() WHERE id = $1`, a.id); err != nil {
			return fmt.Errorf("lowstock: mark alert %d: %w", a.id, err)
		}
	}
	return nil
}
