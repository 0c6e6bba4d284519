// Package signals reads what the recommender trains on from PostgreSQL:
// purchases (the lines of paid orders), views and cart adds of signed-in
// shoppers (behaviour_events), and the active catalog.
package signals

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/recommender"
)

// Snapshot is the training data at one moment.
type Snapshot struct {
	Interactions []recommender.Interaction
	Items        []recommender.Item
	// Purchases, Views and Carts count the interactions of each kind.
	Purchases, Views, Carts int
	TakenAt                 time.Time
}

// paidStatuses are orders whose goods the shopper keeps (or kept in part);
// awaiting_payment, failed, cancelled and refunded ones say nothing.
const paidStatuses = `'paid', 'partially_shipped', 'shipped', 'delivered', 'partially_refunded'`

// Read takes a snapshot in one repeatable-read transaction, so purchases,
// events and catalog agree with each other.
func Read(ctx context.Context, pool *pgxpool.Pool) (Snapshot, error) {
	var s Snapshot
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&s.TakenAt); err != nil {
			return err
		}
		// Quantity weighs a purchase: three of a thing say more than one.
		rows, err := tx.Query(ctx, `SELECT o.user_id, i.product_id, i.quantity, o.created_at
			FROM order_items i JOIN orders o ON o.id = i.order_id
			WHERE o.status IN (`+paidStatuses+`)`)
		if err != nil {
			return err
		}
		purchases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.Interaction, error) {
			in := recommender.Interaction{Kind: recommender.Purchase}
			var qty int32
			err := r.Scan(&in.UserID, &in.ItemID, &qty, &in.At)
			in.Weight = float64(qty)
			return in, err
		})
		if err != nil {
			return err
		}
		s.Purchases = len(purchases)
		rows, err = tx.Query(ctx, `SELECT user_id, product_id, kind, occurred_at FROM behaviour_events
			WHERE user_id IS NOT NULL AND product_id IS NOT NULL AND kind IN ('view', 'add_to_cart')`)
		if err != nil {
			return err
		}
		browsing, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.Interaction, error) {
			var in recommender.Interaction
			var kind string
			err := r.Scan(&in.UserID, &in.ItemID, &kind, &in.At)
			if kind == "add_to_cart" {
				in.Kind = recommender.Cart
				s.Carts++
			} else {
				in.Kind = recommender.View
				s.Views++
			}
			return in, err
		})
		if err != nil {
			return err
		}
		s.Interactions = append(purchases, browsing...)
		// Consumables marked with the attribute repeatable=true may be
		// recommended again by buy_again; nothing else is.
		rows, err = tx.Query(ctx, `SELECT p.id, coalesce(p.category_id, 0), coalesce(c.name, ''), p.brand, p.name, p.description,
			coalesce(p.attributes->>'repeatable', '') = 'true'
			FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.active ORDER BY p.id`)
		if err != nil {
			return err
		}
		s.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (recommender.Item, error) {
			var it recommender.Item
			return it, r.Scan(&it.ID, &it.CategoryID, &it.Category, &it.Brand, &it.Name, &it.Description, &it.Repeatable)
		})
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("signals: %w", err)
	}
	return s, nil
}
