// Package lowstock emails staff once when what a location can sell of a
// product falls below the threshold, not once per sale: an outbox consumer
// of product.changed and stock.changed, so every writer of stock (orders,
// staff, transfers, imports) is seen.
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

// TopicStockChanged is recorded when what a location can sell of a
// product changes (EntityID: the product id).
const TopicStockChanged = "stock.changed"

// levels is what each active location can sell of the products $1 (their
// own stock and their active variants'), while the product is active.
const levels = `levels AS (
	SELECT s.product_id, s.location_id, sum(s.on_hand - s.reserved)::integer AS stock
	FROM location_stock s
	JOIN stock_locations l ON l.id = s.location_id AND l.active
	JOIN products p ON p.id = s.product_id AND p.active
	LEFT JOIN product_variants v ON v.id = s.variant_id
	WHERE s.product_id = ANY ($1) AND (s.variant_id IS NULL OR v.active)
	GROUP BY s.product_id, s.location_id)`

// Deliver implements outbox.Consumer.
func (c Consumer) Deliver(ctx context.Context, events []outbox.Event) error {
	ids := append(outbox.EntityIDs(events, outbox.TopicProductChanged), outbox.EntityIDs(events, TopicStockChanged)...)
	if len(ids) == 0 {
		return nil
	}
	// Per product and location: stock at or above the threshold closes the
	// alert and arms it; an armed one falling below opens one alert (and
	// disarms). Stock never seen at or above the threshold does not alert.
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `WITH `+levels+` DELETE FROM low_stock_alerts a WHERE a.product_id = ANY ($1)
			AND NOT EXISTS (SELECT 1 FROM levels x WHERE x.product_id = a.product_id AND x.location_id = a.location_id
				AND x.stock < $2)`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: close alerts: %w", err)
		}
		if _, err := tx.Exec(ctx, `WITH `+levels+` INSERT INTO low_stock_armed (product_id, location_id)
			SELECT product_id, location_id FROM levels WHERE stock >= $2 ON CONFLICT DO NOTHING`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: arm: %w", err)
		}
		if _, err := tx.Exec(ctx, `WITH `+levels+`, crossed AS (
				DELETE FROM low_stock_armed w USING levels x
				WHERE w.product_id = x.product_id AND w.location_id = x.location_id AND x.stock < $2
				RETURNING x.product_id, x.location_id, x.stock)
			INSERT INTO low_stock_alerts (product_id, location_id, stock) SELECT product_id, location_id, stock FROM crossed
			ON CONFLICT (product_id, location_id) DO NOTHING`, ids, c.Threshold); err != nil {
			return fmt.Errorf("lowstock: open alerts: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rows, err := c.Pool.Query(ctx, `SELECT a.id, a.product_id, a.stock, p.name || ' (' || p.sku || ')', l.code
		FROM low_stock_alerts a JOIN products p ON p.id = a.product_id JOIN stock_locations l ON l.id = a.location_id
		WHERE a.notified_at IS NULL AND a.product_id = ANY ($1) ORDER BY a.id`, ids)
	if err != nil {
		return fmt.Errorf("lowstock: due alerts: %w", err)
	}
	type alert struct {
		id, product int64
		stock       int
		name, at    string
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert, error) {
		var a alert
		return a, r.Scan(&a.id, &a.product, &a.stock, &a.name, &a.at)
	})
	if err != nil {
		return fmt.Errorf("lowstock: due alerts: %w", err)
	}
	for _, a := range due {
		data := mail.OrderEmail{CustomerName: "team", ProductName: a.name + " at " + a.at,
			Reason: fmt.Sprintf("%d left at %s, below the threshold of %d", a.stock, a.at, c.Threshold),
			Link:   fmt.Sprintf("%s/admin/products/%d", strings.TrimRight(c.ShopURL, "/"), a.product)}
		if err := c.Mail.Request(ctx, Key(a.id), mail.KindLowStock, c.StaffTo, data); err != nil {
			return fmt.Errorf("lowstock: email of alert %d: %w", a.id, err)
		}
		if _, err := c.Pool.Exec(ctx, `UPDATE low_stock_alerts SET notified_at = now() WHERE id = $1`, a.id); err != nil {
			return fmt.Errorf("lowstock: mark alert %d: %w", a.id, err)
		}
	}
	return nil
}
