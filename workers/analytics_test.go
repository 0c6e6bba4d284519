package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
	analyticswf "github.com/shopkit/shop/workflows/analytics"
)

// paidOrder writes an order of one line paid at paidAt and answers its id.
func paidOrder(t *testing.T, s *shoptest.Shop, user, product, total int64, paidAt time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor,
			discount_minor, shipping_minor, tax_minor, tax_ppm, total_minor, captured_minor, shipping_method,
			shipping_address, billing_address, shipping_country, payment_method, created_at, paid_at)
		VALUES (nextval('order_ids'), $1, 'paid', 'USD', $2, 0, 0, 0, 0, $2, $2, 'standard', 'a', 'a', 'US', 'card', $3, $3)
		RETURNING id`, user, total, paidAt).Scan(&id))
	_, err := s.Pool.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, sku, name, quantity, unit_price_minor,
		line_total_minor) VALUES ($1, 1, $2, 'SKU', 'Item', 1, $3, $3)`, id, product, total)
	require.NoError(t, err)
	return id
}

func totalSales(t *testing.T, store *analytics.Store, from, to time.Time) (analytics.Sales, analytics.Answer) {
	t.Helper()
	q, err := analytics.Request{Start: from, End: to, Metrics: []analytics.Metric{analytics.NetSales}}.Check(0)
	require.NoError(t, err)
	ans, err := store.Answer(context.Background(), q)
	require.NoError(t, err)
	require.Len(t, ans.Rows, 1)
	if len(ans.Rows[0].Sales) == 0 {
		return analytics.Sales{}, ans
	}
	return ans.Rows[0].Sales[0], ans
}

// TestAnalyticsRollups: against the real Temporal server, a backfill
// rolls every closed hour of its range (its progress readable while it
// runs), the nightly schedule `shop worker` ensures rolls the last week,
// answers read the rollups and stay equal to the raw rows, and a late
// refund re-rolls its hour through the outbox.
func TestAnalyticsRollups(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store := analytics.NewStore(s.Pool, analytics.Config{})
	user := s.User(t, "ana")
	p := s.Product(t, "ANALYTICS-1", 2500, 5)
	now := time.Now().UTC()
	old := paidOrder(t, s, user, p.ID, 2500, now.Add(-5*24*time.Hour))
	paidOrder(t, s, user, p.ID, 4000, now.Add(-4*24*time.Hour-17*time.Minute))
	paidOrder(t, s, user, p.ID, 1000, now.Add(-time.Hour)) // open: read raw
	from, to := now.Add(-10*24*time.Hour), now
	before, ans := totalSales(t, store, from, to)
	assert.Zero(t, ans.RollupHours)
	assert.Equal(t, int64(7500), before.Gross)

	// Backfill the last ten days: only the closed hours are rolled.
	day := now.Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
	in := analyticswf.BackfillInput{From: day, To: day.Add(11 * 24 * time.Hour)}
	run, err := analyticswf.StartBackfill(ctx, s.Temporal, s.Queue, in)
	require.NoError(t, err)
	again, err := analyticswf.StartBackfill(ctx, s.Temporal, s.Queue, in)
	require.NoError(t, err)
	assert.Equal(t, run.GetRunID(), again.GetRunID(), "the same range joins the running backfill")
	require.Eventually(t, func() bool {
		v, err := s.Temporal.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), analyticswf.ProgressQuery)
		if err != nil {
			return false
		}
		var p analyticswf.Progress
		return v.Get(&p) == nil && p.HoursTotal > 0
	}, 30*time.Second, 20*time.Millisecond, "the progress is readable")
	var res analyticswf.Progress
	require.NoError(t, run.Get(ctx, &res))
	closed := analytics.ClosedBefore(now, analytics.DefaultCloseAfter)
	assert.True(t, !res.To.After(closed) && res.To.After(closed.Add(-time.Hour)), "stops at the closed boundary: %s", res.To)
	assert.Equal(t, int(res.To.Sub(day)/time.Hour), res.HoursRolled)
	n, err := store.RolledHours(ctx, day, to)
	require.NoError(t, err)
	assert.Equal(t, res.HoursRolled, n)
	after, ans := totalSales(t, store, from, to)
	assert.Positive(t, ans.RollupHours)
	assert.Equal(t, before, after, "the rollups answer what the raw rows do")
	shoptest.RecordHistory(t, s.Temporal, run.GetID(), "../workflows/analytics/testdata/backfill.json")

	// The nightly schedule.
	id := testenv.UniqueName("test-analytics-rollup-")
	h, err := analyticswf.EnsureSchedule(ctx, s.Temporal, id, s.Queue, analyticswf.RollupInput{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	_, err = analyticswf.EnsureSchedule(ctx, s.Temporal, id, s.Queue, analyticswf.RollupInput{})
	require.NoError(t, err, "ensuring an existing schedule succeeds")
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", d.Schedule.Action)
	assert.Equal(t, analyticswf.RollupName, action.Workflow)
	require.NotEmpty(t, d.Info.NextActionTimes)
	next := d.Info.NextActionTimes[0].UTC()
	assert.Equal(t, []int{2, 5}, []int{next.Hour(), next.Minute()}, "nightly at 02:05 UTC")
	nightly := shoptest.TriggerSchedule(ctx, t, s.Temporal, h)
	require.NoError(t, nightly.Get(ctx, &res))
	assert.Equal(t, 7*24, res.HoursRolled)
	shoptest.RecordHistory(t, s.Temporal, nightly.GetID(), "../workflows/analytics/testdata/rollup.json")

	// A late refund of the five-day-old order: the outbox re-rolls its hour.
	s.StartRelay(t, analytics.Rerolls{Store: store})
	_, err = s.Pool.Exec(ctx, `UPDATE orders SET status = 'partially_refunded', refunded_minor = 700 WHERE id = $1`, old)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var refunded int64
		require.NoError(t, s.Pool.QueryRow(ctx, `SELECT coalesce(sum(refunded_minor), 0) FROM analytics_sales_hourly
			WHERE dim = 'all'`).Scan(&refunded))
		return refunded == 700
	}, 30*time.Second, 20*time.Millisecond, "the refund reaches the rollup")
	late, ans := totalSales(t, store, from, to)
	assert.Positive(t, ans.RollupHours)
	assert.Equal(t, int64(7500-700), late.Net())
}
