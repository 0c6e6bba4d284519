package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/validation"
)

// hourLockClass is the first key of the advisory lock each rolled hour
// takes ("an"), so a rollup and a re-roll of one hour never interleave.
const hourLockClass = 0x616e

// ErrNotClosed: a rollup was asked for an hour that is not closed yet.
var ErrNotClosed = errors.New("analytics: the hour is not closed yet")

// RollHours rebuilds the rollups of the UTC hours in [from, to) (both on
// the hour) from the raw rows, in one transaction, and marks them rolled.
// Hours at or after ClosedBefore(now) are refused (ErrNotClosed). It
// answers how many hours it rolled.
func (s *Store) RollHours(ctx context.Context, from, to, now time.Time) (int, error) {
	from, to = from.UTC(), to.UTC()
	switch {
	case !from.Equal(from.Truncate(time.Hour)) || !to.Equal(to.Truncate(time.Hour)):
		return 0, validation.New("from", "the range must start and end on a UTC hour")
	case !from.Before(to):
		return 0, validation.New("to", "must be after from")
	case to.After(ClosedBefore(now, s.cfg.CloseAfter)):
		return 0, fmt.Errorf("%w: %s (closed before %s)", ErrNotClosed, to.Add(-time.Hour).Format(time.RFC3339),
			ClosedBefore(now, s.cfg.CloseAfter).Format(time.RFC3339))
	}
	hours := int(to.Sub(from) / time.Hour)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		// In hour order, as every roller does, so two never deadlock; the
		// statements below read what was committed before the locks.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, h::int)
			FROM generate_series($2::bigint, $3::bigint - 1) AS h ORDER BY h`,
			hourLockClass, from.Unix()/3600, to.Unix()/3600); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		for _, t := range []string{"analytics_sales_hourly", "analytics_sessions_hourly"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE hour >= $1 AND hour < $2`, from, to); err != nil {
				return fmt.Errorf("clear %s: %w", t, err)
			}
		}
		args := pgx.NamedArgs{"lo": []time.Time{from}, "hi": []time.Time{to}, "currency": "",
			"window": SessionWindow.String()}
		for _, dim := range []string{"all", "product", "category", "country"} {
			if _, err := tx.Exec(ctx, `INSERT INTO analytics_sales_hourly (hour, key, currency, orders, units,
					gross_minor, refunded_minor, refunded_orders, new_customers, returning_orders, dim)
				SELECT *, '`+dim+`' FROM (`+salesSQL(dim, bucketHour)+`) f`, args); err != nil {
				return fmt.Errorf("sales by %s: %w", dim, err)
			}
		}
		for _, dim := range []string{"all", "product", "category"} {
			if _, err := tx.Exec(ctx, `INSERT INTO analytics_sessions_hourly (hour, key, sessions, converted, cart,
					abandoned, dim)
				SELECT *, '`+dim+`' FROM (`+sessionsSQL(dim, bucketHour)+`) f`, args); err != nil {
				return fmt.Errorf("sessions by %s: %w", dim, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO analytics_rollup_hours (hour)
			SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour')
			ON CONFLICT (hour) DO UPDATE SET rolled_at = now()`, from, to)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("analytics: roll %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return hours, nil
}

// RolledHours answers how many hours of [from, to) are rolled up.
func (s *Store) RolledHours(ctx context.Context, from, to time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM analytics_rollup_hours WHERE hour >= $1 AND hour < $2`,
		from, to).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("analytics: rolled hours: %w", err)
	}
	return n, nil
}

// ConsumerName is the outbox consumer that re-rolls the hour of a paid
// order whose status or refunds change (migration 0020).
const ConsumerName = "analytics_rollup"

// TopicOrderChanged is recorded by the orders table for such a change.
const TopicOrderChanged = "analytics.order_changed"

// Rerolls is the analytics_rollup outbox consumer: a refund or
// cancellation of an order paid in a closed hour rebuilds that hour's
// rollup from the raw rows, so the rollups never drift from the orders.
type Rerolls struct {
	Store *Store
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

var _ outbox.Consumer = Rerolls{}

// Name implements outbox.Consumer.
func (Rerolls) Name() string { return ConsumerName }

// Deliver implements outbox.Consumer. Rebuilding an hour is idempotent.
func (c Rerolls) Deliver(ctx context.Context, evs []outbox.Event) error {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	closed := ClosedBefore(now, c.Store.cfg.CloseAfter)
	var hours []time.Time
	for _, ev := range evs {
		if ev.Topic != TopicOrderChanged {
			continue
		}
		var p struct {
			PaidAt *time.Time `json:"paid_at"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return outbox.Permanent(fmt.Errorf("order %d: unreadable %s event: %w", ev.EntityID, ev.Topic, err))
		}
		if p.PaidAt == nil {
			continue
		}
		h := p.PaidAt.UTC().Truncate(time.Hour)
		if !slices.ContainsFunc(hours, h.Equal) {
			hours = append(hours, h)
		}
	}
	slices.SortFunc(hours, time.Time.Compare)
	for _, h := range hours {
		// An open hour is read raw; a closed one is rebuilt whether rolled
		// yet or not (a nightly rollup that read before the change holds
		// the hour's lock, so this waits and reads after it).
		if !h.Before(closed) {
			continue
		}
		if _, err := c.Store.RollHours(ctx, h, h.Add(time.Hour), now); err != nil {
			return err
		}
	}
	return nil
}
