package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/eventstore"
)

type orderFact struct {
	Kind     string
	User     int64
	Amount   int64
	Currency string
	Occurred time.Time
}

func orderFacts(t *testing.T, s *shoptest.Shop, orderID int64) []orderFact {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `SELECT kind, user_id, amount_minor, currency, occurred_at
		FROM behaviour_events WHERE order_id = $1 ORDER BY occurred_at, id`, orderID)
	require.NoError(t, err)
	defer rows.Close()
	var out []orderFact
	for rows.Next() {
		var f orderFact
		require.NoError(t, rows.Scan(&f.Kind, &f.User, &f.Amount, &f.Currency, &f.Occurred))
		out = append(out, f)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestOrderFactsReachTheEventStore: an order placed and paid through the
// checkout becomes order_placed and order_paid, each stored once even when
// the outbox delivers its events again.
func TestOrderFactsReachTheEventStore(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	s.StartRelay(t, events.OrderFacts{Store: events.NewStore(s.Pool)})
	user := s.User(t, "eve")
	p := s.Product(t, "EVENTS-1", 2500, 5)
	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	require.True(t, r.Accepted)
	pay(t, s, r)
	o := s.WaitStatus(t, r.OrderID, orders.StatusPaid, time.Minute)

	want := []orderFact{{Kind: "order_placed", User: user, Amount: o.Total, Currency: "USD"},
		{Kind: "order_paid", User: user, Amount: o.Total, Currency: "USD"}}
	kinds := func() []orderFact {
		var out []orderFact
		for _, f := range orderFacts(t, s, r.OrderID) {
			f.Occurred = time.Time{}
			out = append(out, f)
		}
		return out
	}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, kinds()) }, 30*time.Second, 50*time.Millisecond,
		"the order's facts are stored: %v", kinds())

	// The relay delivers every event of the order again, as after a crash
	// before it noted the delivery.
	ctx := context.Background()
	tag, err := s.Pool.Exec(ctx, `INSERT INTO outbox_deliveries (consumer, event_id)
		SELECT $1, id FROM outbox_events WHERE entity_id = $2 AND topic IN ('order.placed', 'order.status_changed')`,
		events.ConsumerName, r.OrderID)
	require.NoError(t, err)
	require.GreaterOrEqual(t, tag.RowsAffected(), int64(2))
	_, err = s.Pool.Exec(ctx, `NOTIFY outbox`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox_deliveries WHERE consumer = $1`, events.ConsumerName).Scan(&pending))
		return pending == 0
	}, 30*time.Second, 50*time.Millisecond, "the redelivery is consumed")
	assert.Equal(t, want, kinds(), "stored once")
}

// TestEventMaintenanceOnASchedule: the schedule `shop worker` ensures exists
// with its policies (ensuring it again is harmless), and its run creates
// the months ahead and drops the months past the retention.
func TestEventMaintenanceOnASchedule(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := events.NewStore(s.Pool)
	old := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err := store.EnsurePartitions(ctx, old, old)
	require.NoError(t, err)

	id := testenv.UniqueName("test-event-maintenance-")
	in := eventstore.Input{Retention: 9600 * time.Hour}
	h, err := eventstore.EnsureSchedule(ctx, s.Temporal, id, s.Queue, in)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	_, err = eventstore.EnsureSchedule(ctx, s.Temporal, id, s.Queue, in)
	require.NoError(t, err, "ensuring an existing schedule succeeds")

	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	assert.Equal(t, 24*time.Hour, d.Schedule.Policy.CatchupWindow)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", d.Schedule.Action)
	assert.Equal(t, eventstore.Name, action.Workflow)
	assert.Equal(t, s.Queue, action.TaskQueue)
	require.NotEmpty(t, d.Info.NextActionTimes)
	next := d.Info.NextActionTimes[0].UTC()
	assert.Equal(t, []int{3, 17}, []int{next.Hour(), next.Minute()}, "daily at 03:17 UTC")

	run := shoptest.TriggerSchedule(ctx, t, s.Temporal, h)
	var res eventstore.Result
	require.NoError(t, run.Get(ctx, &res))
	assert.Contains(t, res.Dropped, "behaviour_events_2019_03")

	parts, err := store.Partitions(ctx)
	require.NoError(t, err)
	have := map[string]bool{}
	for _, p := range parts {
		have[p.Name] = true
	}
	now := time.Now().UTC()
	for i := range 4 {
		m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, i, 0)
		assert.True(t, have["behaviour_events_"+m.Format("2006_01")], "month %s exists", m.Format("2006-01"))
	}
	assert.False(t, have["behaviour_events_2019_03"], "the old month is gone")

	shoptest.RecordHistory(t, s.Temporal, run.GetID(), "../workflows/eventstore/testdata/maintenance.json")
}
