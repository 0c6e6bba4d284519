package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Relay delivers pending events to its consumers until its context ends.
//
// Any number of processes may run a relay over one database: a transaction
// advisory lock per consumer lets one of them deliver a consumer's batch at a
// time, so events stay in order while the others stand by. A relay wakes on
// the trigger's NOTIFY at commit and polls as a fallback.
type Relay struct {
	Pool      *pgxpool.Pool
	Consumers []Consumer
	Log       *slog.Logger

	BatchSize      int           // events per delivery; default 500
	Poll           time.Duration // fallback poll; default 1s
	MaxBackoff     time.Duration // longest wait after a failed delivery; default 30s
	DeliverTimeout time.Duration // bound on one Deliver call; default 1m
	// Retention keeps delivered events this long for inspection; default 24h.
	Retention time.Duration
}

func (r *Relay) defaults() {
	if r.BatchSize <= 0 {
		r.BatchSize = 500
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 30 * time.Second
	}
	if r.DeliverTimeout <= 0 {
		r.DeliverTimeout = time.Minute
	}
	if r.Retention <= 0 {
		r.Retention = 24 * time.Hour
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
}

// Run delivers until ctx ends, then returns nil.
func (r *Relay) Run(ctx context.Context) error {
	r.defaults()
	wakes := make([]chan struct{}, len(r.Consumers))
	for i := range wakes {
		wakes[i] = make(chan struct{}, 1)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		r.listen(ctx, func() {
			for _, w := range wakes {
				select {
				case w <- struct{}{}:
				default:
				}
			}
		})
	})
	wg.Go(func() { r.prune(ctx) })
	for i, c := range r.Consumers {
		wg.Go(func() { r.loop(ctx, c, wakes[i]) })
	}
	wg.Wait()
	return nil
}

// loop delivers one consumer's batches, backing off while it fails.
func (r *Relay) loop(ctx context.Context, c Consumer, wake <-chan struct{}) {
	log := r.Log.With("consumer", c.Name())
	var backoff time.Duration
	for {
		n, err := r.DeliverBatch(ctx, c)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err != nil:
			backoff = min(max(2*backoff, 200*time.Millisecond), r.MaxBackoff)
			wait = backoff
			log.WarnContext(ctx, "outbox delivery failed; retrying", "retry_in", wait, "error", err)
		case n == r.BatchSize:
			backoff = 0
			continue // more are waiting
		default:
			if backoff > 0 {
				log.InfoContext(ctx, "outbox delivery recovered")
			}
			backoff, wait = 0, r.Poll
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
			if err != nil {
				// A failing consumer keeps its backoff: new writes must
				// not turn it into a busy loop.
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// DeliverBatch hands c its oldest pending events, unless another relay is
// delivering to c right now, and answers how many were delivered.
func (r *Relay) DeliverBatch(ctx context.Context, c Consumer) (int, error) {
	r.defaults()
	tx, err := r.Pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var mine bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('outbox:' || $1, 0))`,
		c.Name()).Scan(&mine); err != nil || !mine {
		return 0, err
	}
	rows, err := tx.Query(ctx, `SELECT e.id, e.topic, e.entity_id, e.payload, e.created_at
		FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
		WHERE d.consumer = $1 AND d.parked_at IS NULL ORDER BY d.event_id LIMIT $2`, c.Name(), r.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: pending for %s: %w", c.Name(), err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var e Event
		return e, row.Scan(&e.ID, &e.Topic, &e.EntityID, &e.Payload, &e.At)
	})
	if err != nil || len(events) == 0 {
		return 0, err
	}

	delivered, failed := r.deliver(ctx, tx, c, events)
	if len(delivered) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM outbox_deliveries WHERE consumer = $1 AND event_id = ANY ($2)`,
			c.Name(), delivered); err != nil {
			return 0, fmt.Errorf("outbox: mark delivered: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	return len(delivered), failed
}

// deliver applies events in order. A batch the consumer refuses for good is
// retried one event at a time, so only the events it can never apply are
// parked. It returns the ids delivered and the transient error that stopped
// it, if any (recorded on the event it stopped at).
func (r *Relay) deliver(ctx context.Context, tx pgx.Tx, c Consumer, events []Event) ([]int64, error) {
	first := r.call(ctx, c, events)
	if first == nil {
		return ids(events), nil
	}
	if !IsPermanent(first) {
		return nil, r.failed(ctx, tx, c, events, first)
	}
	var done []int64
	for _, e := range events {
		err := first
		if len(events) > 1 {
			err = r.call(ctx, c, []Event{e})
		}
		switch {
		case err == nil:
			done = append(done, e.ID)
		case IsPermanent(err):
			if err := r.failed(ctx, tx, c, []Event{e}, err); err != nil {
				return done, err
			}
		default:
			return done, r.failed(ctx, tx, c, []Event{e}, err)
		}
	}
	return done, nil
}

func (r *Relay) call(ctx context.Context, c Consumer, events []Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.DeliverTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("consumer %s panicked: %v", c.Name(), p))
		}
	}()
	return c.Deliver(ctx, events)
}

// failed records an attempt on events and answers the error to report:
// cause when the events stay pending, nil when they were parked for good.
func (r *Relay) failed(ctx context.Context, tx pgx.Tx, c Consumer, events []Event, cause error) error {
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = strings.ToValidUTF8(msg[:2000], "")
	}
	park := IsPermanent(cause)
	if _, err := tx.Exec(ctx, `UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = $3,
		parked_at = CASE WHEN $4 THEN now() END WHERE consumer = $1 AND event_id = ANY ($2)`,
		c.Name(), ids(events), msg, park); err != nil {
		return errors.Join(cause, err)
	}
	if !park {
		return cause
	}
	r.Log.ErrorContext(ctx, "outbox event parked: the consumer can never apply it", "consumer", c.Name(),
		"event_ids", ids(events), "error", cause)
	return nil
}

func ids(events []Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// listen wakes the consumers on every commit that recorded events.
func (r *Relay) listen(ctx context.Context, wake func()) {
	for ctx.Err() == nil {
		if err := r.listenOnce(ctx, wake); err != nil && ctx.Err() == nil {
			r.Log.WarnContext(ctx, "outbox listener lost its connection; polling meanwhile", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(r.Poll):
			}
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake func()) error {
	pc, err := r.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection stays in LISTEN mode, so it never returns to the pool.
	conn := pc.Hijack()
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN outbox"); err != nil {
		return err
	}
	wake() // catch up with what was committed before listening
	for {
		// A bounded wait, then a ping: a connection that died silently is
		// noticed and replaced instead of leaving the relay on its poll.
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			wake()
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := conn.Ping(ctx); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// prune drops delivered events older than the retention, in bounded
// deletes. The retention must outlast a search reindex (6 h at most), whose
// catch-up reads the changes made while it copied.
func (r *Relay) prune(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			tag, err := r.Pool.Exec(ctx, `DELETE FROM outbox_events WHERE id IN (
				SELECT e.id FROM outbox_events e WHERE e.created_at < now() - $1::interval
				AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = e.id) LIMIT 10000)`,
				r.Retention.String())
			if err != nil && ctx.Err() == nil {
				r.Log.WarnContext(ctx, "outbox pruning failed", "error", err)
			}
			if err != nil || tag.RowsAffected() < 10000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Backlog is one consumer's pending work.
type Backlog struct {
	Consumer string
	Pending  int64     // deliveries waiting, parked ones included
	Parked   int64     // refused for good, waiting for an operator
	Oldest   time.Time // when the oldest waiting event was written; zero when none
}

// Backlogs reports every consumer's pending work, for health checks and
// operators.
func Backlogs(ctx context.Context, pool *pgxpool.Pool) ([]Backlog, error) {
	rows, err := pool.Query(ctx, `SELECT c.name, count(d.event_id), count(d.parked_at),
		coalesce(min(e.created_at) FILTER (WHERE d.parked_at IS NULL), 'epoch')
		FROM outbox_consumers c
		LEFT JOIN outbox_deliveries d ON d.consumer = c.name
		LEFT JOIN outbox_events e ON e.id = d.event_id
		GROUP BY c.name ORDER BY c.name`)
	if err != nil {
		return nil, fmt.Errorf("outbox: backlog: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Backlog, error) {
		var b Backlog
		err := row.Scan(&b.Consumer, &b.Pending, &b.Parked, &b.Oldest)
		if b.Oldest.Equal(time.Unix(0, 0)) {
			b.Oldest = time.Time{}
		}
		return b, err
	})
}

// Requeue gives a consumer's parked events another chance (after the cause
// was fixed) and answers how many; consumer "" requeues every consumer's.
func Requeue(ctx context.Context, pool *pgxpool.Pool, consumer string) (int64, error) {
	if consumer != "" {
		var known bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_consumers WHERE name = $1)`, consumer).Scan(&known); err != nil {
			return 0, fmt.Errorf("outbox: requeue: %w", err)
		}
		if !known {
			return 0, fmt.Errorf("outbox: no consumer named %q (shop outbox lists them)", consumer)
		}
	}
	tag, err := pool.Exec(ctx, `UPDATE outbox_deliveries SET parked_at = NULL
		WHERE parked_at IS NOT NULL AND ($1 = '' OR consumer = $1)`, consumer)
	if err != nil {
		return 0, fmt.Errorf("outbox: requeue: %w", err)
	}
	_, _ = pool.Exec(ctx, "NOTIFY outbox")
	return tag.RowsAffected(), nil
}
