package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/validation"
)

func view(session, id string, at time.Time, product int64) events.Event {
	return events.Event{Kind: events.KindView, OccurredAt: at, SessionID: session, ProductID: product,
		DedupKey: events.ClientKey(session, id)}
}

// where answers the partition holding the event with key.
func where(t *testing.T, pool *pgxpool.Pool, key string) string {
	t.Helper()
	var name string
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT tableoid::regclass::text FROM behaviour_events WHERE dedup_key = $1`, key).Scan(&name))
	return name
}

func TestPartitionsDedupAndPrune(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	store := events.NewStore(pool)
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)

	// The migration created the current month and two either side.
	parts, err := store.Partitions(ctx)
	require.NoError(t, err)
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	assert.Contains(t, names, "behaviour_events_"+now.Format("2006_01"))
	n, err := store.EnsurePartitions(ctx, now, now.AddDate(0, 1, 0))
	require.NoError(t, err)
	assert.Zero(t, n, "existing months are kept")

	// Stored once, whatever a retry or a repeated key in the batch does.
	s := "session-0001"
	batch := []events.Event{view(s, "e1", now, 7), view(s, "e2", now, 8), view(s, "e1", now, 7)}
	stored, err := store.Record(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 2, stored)
	stored, err = store.Record(ctx, batch)
	require.NoError(t, err)
	assert.Zero(t, stored, "a retried batch stores nothing new")
	// A retry whose time was clamped to the server clock is still the same event.
	stored, err = store.Record(ctx, []events.Event{view(s, "e1", now.Add(3*time.Hour), 7)})
	require.NoError(t, err)
	assert.Zero(t, stored)
	// The same client id in another session is another event.
	stored, err = store.Record(ctx, []events.Event{view("session-0002", "e1", now, 7)})
	require.NoError(t, err)
	assert.Equal(t, 1, stored)
	assert.Equal(t, "behaviour_events_"+now.Format("2006_01"), where(t, pool, events.ClientKey(s, "e1")))

	// A row far in the past has no month yet: the default partition takes
	// it, and it moves into its month when that is created.
	old := time.Date(2019, 3, 14, 12, 0, 0, 0, time.UTC)
	_, err = store.Record(ctx, []events.Event{view(s, "old", old, 9)})
	require.NoError(t, err)
	assert.Equal(t, "behaviour_events_default", where(t, pool, events.ClientKey(s, "old")))
	n, err = store.EnsurePartitions(ctx, old, old)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "behaviour_events_2019_03", where(t, pool, events.ClientKey(s, "old")))

	// Pruning before the current month drops the old months alone.
	dropped, err := store.Prune(ctx, month)
	require.NoError(t, err)
	assert.Equal(t, []string{"behaviour_events_2019_03", "behaviour_events_" + month.AddDate(0, -2, 0).Format("2006_01"),
		"behaviour_events_" + month.AddDate(0, -1, 0).Format("2006_01")}, dropped)
	parts, err = store.Partitions(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, parts)
	assert.Equal(t, month, parts[0].Month, "the current month is the oldest left")
	var left int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM behaviour_events`).Scan(&left))
	assert.Equal(t, 3, left, "this month's rows stay")
}

func TestValidationNamesTheField(t *testing.T) {
	now := time.Now()
	for field, e := range map[string]events.Event{
		"events[0].type":       {Kind: "click", OccurredAt: now, SessionID: "session-1", DedupKey: "k"},
		"events[0].product_id": {Kind: events.KindView, OccurredAt: now, SessionID: "session-1", DedupKey: "k"},
		"events[0].query":      {Kind: events.KindSearch, OccurredAt: now, SessionID: "session-1", DedupKey: "k"},
		"events[0].order_id":   {Kind: events.KindOrderPaid, OccurredAt: now, DedupKey: "k"},
		"session_id":           {Kind: events.KindCheckoutStarted, OccurredAt: now, SessionID: "short", DedupKey: "k"},
	} {
		_, err := events.NewStore(nil).Record(context.Background(), []events.Event{e})
		var ve *validation.Error
		require.True(t, errors.As(err, &ve), "%s: %v", field, err)
		assert.Equal(t, field, ve.Field)
	}
}
