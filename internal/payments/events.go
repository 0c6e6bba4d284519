package payments

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Events is the ledger of Stripe webhook events: each is stored once and
// marked processed once its workflow has heard of it, so duplicates and
// replays are no-ops while a failed hand-off is retried by Stripe.
type Events struct{ pool *pgxpool.Pool }

// NewEvents returns the ledger.
func NewEvents(pool *pgxpool.Pool) *Events { return &Events{pool: pool} }

// Record stores the event unless it is already there; processed says it
// was handled before and must be ignored.
func (e *Events) Record(ctx context.Context, id, typ string, orderID int64, payload []byte) (processed bool, err error) {
	var order any
	if orderID > 0 {
		order = orderID
	}
	_, err = e.pool.Exec(ctx, `INSERT INTO stripe_events (id, type, order_id, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, id, typ, order, payload)
	if err != nil {
		return false, err
	}
	var at *time.Time
	err = e.pool.QueryRow(ctx, `SELECT processed_at FROM stripe_events WHERE id = $1`, id).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return at != nil, err
}

// MarkProcessed records that the event was handed off.
func (e *Events) MarkProcessed(ctx context.Context, id string) error {
	_, err := e.pool.Exec(ctx, `UPDATE stripe_events SET processed_at = now() WHERE id = $1 AND processed_at IS NULL`, id)
	return err
}
