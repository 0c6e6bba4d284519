package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/outbox"
)

// recorder is a consumer that remembers what it was given and can be told
// to fail.
type recorder struct {
	name    string
	mu      sync.Mutex
	got     []outbox.Event
	busy    atomic.Int32 // concurrent Deliver calls in flight
	overlap atomic.Bool  // set if two relays ever delivered to it at once
	// fail, when set, answers the error for a batch.
	fail func([]outbox.Event) error
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Deliver(_ context.Context, events []outbox.Event) error {
	if r.busy.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.busy.Add(-1)
	for range 100 {
		runtime.Gosched() // a delivery takes time: room for an overlap to show
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(events); err != nil {
			return err
		}
	}
	r.got = append(r.got, events...)
	return nil
}

func (r *recorder) events() []outbox.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) setFail(f func([]outbox.Event) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

const topic = "test.changed"

// newDB returns a migrated database with a consumer registered for topic.
func newDB(t *testing.T, consumers ...string) *pgxpool.Pool {
	pool := dbtest.New(t)
	for _, c := range consumers {
		_, err := pool.Exec(context.Background(), `INSERT INTO outbox_consumers (name, topics) VALUES ($1, $2)`,
			c, []string{topic})
		require.NoError(t, err)
	}
	return pool
}

func record(t *testing.T, pool *pgxpool.Pool, entity int64, payload any) {
	t.Helper()
	require.NoError(t, recordErr(pool, entity, payload))
}

func recordErr(pool *pgxpool.Pool, entity int64, payload any) error {
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return outbox.Record(context.Background(), tx, topic, entity, payload)
	})
}

func run(t *testing.T, r *outbox.Relay) {
	t.Helper()
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func pending(t *testing.T, pool *pgxpool.Pool, consumer string) (n, parked int64) {
	t.Helper()
	bl, err := outbox.Backlogs(context.Background(), pool)
	require.NoError(t, err)
	for _, b := range bl {
		if b.Consumer == consumer {
			return b.Pending, b.Parked
		}
	}
	t.Fatalf("consumer %s not registered", consumer)
	return 0, 0
}

// Every committed event reaches every subscriber once, in order; a
// rolled-back write leaves nothing.
func TestCommittedEventsReachEveryConsumerInOrder(t *testing.T) {
	pool := newDB(t, "a", "b")
	a, b := &recorder{name: "a"}, &recorder{name: "b"}
	run(t, &outbox.Relay{Pool: pool, Consumers: []outbox.Consumer{a, b}, Poll: time.Hour, BatchSize: 7})

	for i := range 30 {
		record(t, pool, int64(i%3), map[string]int{"n": i})
	}
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		require.NoError(t, outbox.Record(context.Background(), tx, topic, 99, nil))
		return errors.New("the write failed")
	})
	require.Error(t, err)

	for _, c := range []*recorder{a, b} {
		require.Eventually(t, func() bool { return len(c.events()) == 30 }, 10*time.Second, 10*time.Millisecond,
			"the NOTIFY at commit wakes the relay (the poll is an hour)")
		got := c.events()
		for i, e := range got {
			assert.Equal(t, int64(i%3), e.EntityID)
			assert.JSONEq(t, fmt.Sprintf(`{"n": %d}`, i), string(e.Payload))
			assert.Equal(t, topic, e.Topic)
		}
		require.Eventually(t, func() bool { n, _ := pending(t, pool, c.name); return n == 0 }, 10*time.Second,
			10*time.Millisecond, "delivered rows are deleted")
	}
}

// A consumer that is down (Redis, Elasticsearch) gets everything once it is
// back, in order, and the other consumers are not held up meanwhile.
func TestAFailingConsumerCatchesUpWithoutHoldingOthers(t *testing.T) {
	pool := newDB(t, "down", "up")
	down, up := &recorder{name: "down"}, &recorder{name: "up"}
	down.setFail(func([]outbox.Event) error { return errors.New("connection refused") })
	run(t, &outbox.Relay{Pool: pool, Consumers: []outbox.Consumer{down, up}, Poll: 20 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond})

	for i := range 10 {
		record(t, pool, 7, i)
	}
	require.Eventually(t, func() bool { return len(up.events()) == 10 }, 10*time.Second, 10*time.Millisecond)
	var attempts int
	require.Eventually(t, func() bool {
		err := pool.QueryRow(context.Background(), `SELECT min(attempts) FROM outbox_deliveries WHERE consumer = 'down'`).Scan(&attempts)
		return err == nil && attempts >= 2
	}, 10*time.Second, 10*time.Millisecond, "the failures are retried and recorded")
	var lastError string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT max(last_error) FROM outbox_deliveries WHERE consumer = 'down'`).Scan(&lastError))
	assert.Equal(t, "connection refused", lastError)
	assert.Empty(t, down.events())

	down.setFail(nil)
	require.Eventually(t, func() bool { return len(down.events()) == 10 }, 10*time.Second, 10*time.Millisecond)
	for i, e := range down.events() {
		assert.JSONEq(t, fmt.Sprint(i), string(e.Payload), "in the order written")
	}
}

// Events written while no relay runs (the worker is down) are delivered
// when one starts.
func TestEventsWrittenWhileNoRelayRunsAreDeliveredLater(t *testing.T) {
	pool := newDB(t, "late")
	for i := range 5 {
		record(t, pool, int64(i), nil)
	}
	late := &recorder{name: "late"}
	run(t, &outbox.Relay{Pool: pool, Consumers: []outbox.Consumer{late}, Poll: time.Hour})
	require.Eventually(t, func() bool { return len(late.events()) == 5 }, 10*time.Second, 10*time.Millisecond)
}

// An event the consumer can never apply is parked for an operator; the
// events around it go through.
func TestAPoisonEventIsParkedAndTheRestDelivered(t *testing.T) {
	pool := newDB(t, "picky")
	picky := &recorder{name: "picky"}
	picky.setFail(func(events []outbox.Event) error {
		for _, e := range events {
			if e.EntityID == 13 {
				return outbox.Permanent(errors.New("entity 13 cannot be applied"))
			}
		}
		return nil
	})
	for _, id := range []int64{1, 13, 2} {
		record(t, pool, id, nil)
	}
	run(t, &outbox.Relay{Pool: pool, Consumers: []outbox.Consumer{picky}, Poll: 20 * time.Millisecond})
	require.Eventually(t, func() bool { return len(picky.events()) == 2 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []int64{1, 2}, []int64{picky.events()[0].EntityID, picky.events()[1].EntityID})
	// The consumer has seen them; the relay notes the deliveries just after.
	require.Eventually(t, func() bool {
		n, parked := pending(t, pool, "picky")
		return n == 1 && parked == 1
	}, 10*time.Second, 10*time.Millisecond, "only the poison event stays, parked")

	// The operator's fix (`shop outbox retry picky`) once the consumer can apply it.
	picky.setFail(nil)
	n, err := outbox.Requeue(context.Background(), pool, "picky")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = outbox.Requeue(context.Background(), pool, "pickyy")
	assert.ErrorContains(t, err, `no consumer named "pickyy"`, "a typo is not a silent no-op")
	require.Eventually(t, func() bool { return len(picky.events()) == 3 }, 10*time.Second, 10*time.Millisecond)
}

// Several processes run relays over one database: each event is delivered,
// one batch at a time per consumer, in order per entity.
func TestRelaysInSeveralProcessesKeepOrderPerEntity(t *testing.T) {
	pool := newDB(t, "shared")
	shared := &recorder{name: "shared"}
	for range 3 {
		run(t, &outbox.Relay{Pool: pool, Consumers: []outbox.Consumer{shared}, Poll: 5 * time.Millisecond, BatchSize: 3})
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				assert.NoError(t, recordErr(pool, int64(w), i))
			}
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool { return len(shared.events()) >= 100 }, 20*time.Second, 10*time.Millisecond)
	next := map[int64]int{}
	for _, e := range shared.events() {
		var i int
		_, err := fmt.Sscan(string(e.Payload), &i)
		require.NoError(t, err)
		assert.Equal(t, next[e.EntityID], i, "entity %d out of order", e.EntityID)
		next[e.EntityID] = i + 1
	}
	assert.Len(t, shared.events(), 100, "nothing delivered twice when no delivery failed")
	assert.False(t, shared.overlap.Load(), "one relay at a time delivers to a consumer")
}

// A variant written in one transaction and its product in another: the
// later writer waits for the earlier, so its event comes later and the
// relay can never see it first.
func TestEventsOfOneProductAreRecordedInCommitOrder(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	var cat, product, variant int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO categories (name, slug) VALUES ('C', 'c') RETURNING id`).Scan(&cat))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO products (sku, name, category_id, price_minor, currency)
		VALUES ('P-1', 'P', $1, 100, 'USD') RETURNING id`, cat).Scan(&product))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO product_variants (product_id, sku, attributes)
		VALUES ($1, 'P-1-R', '{"color":"red"}') RETURNING id`, product).Scan(&variant))

	first, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = first.Rollback(ctx) }()
	_, err = first.Exec(ctx, `UPDATE product_variants SET sku = 'P-1-RED' WHERE id = $1`, variant)
	require.NoError(t, err)
	var firstTx string
	require.NoError(t, first.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&firstTx))

	second := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `UPDATE products SET name = 'P renamed' WHERE id = $1`, product)
		second <- err
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, 10*time.Millisecond, "the product's writer waits for the variant's")
	require.NoError(t, first.Commit(ctx))
	require.NoError(t, <-second)

	// Which transaction wrote each event, in event-id order.
	rows, err := pool.Query(ctx, `SELECT xmin::text FROM outbox_events WHERE topic = 'product.changed' AND entity_id = $1 ORDER BY id`, product)
	require.NoError(t, err)
	writers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, writers, 4, "product insert, variant insert, variant update, product update")
	assert.Equal(t, firstTx, writers[2], "the variant's update comes third")
	assert.NotEqual(t, firstTx, writers[3], "the product's update, committed later, comes last")
}
