package analytics_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/internal/validation"
)

// check compares every grouping, in several zones and with a currency
// filter and a top-N, with the reference over the raw rows; it answers how
// many hours the answers read from rollups.
func check(t *testing.T, store *analytics.Store, d rawData, from, to time.Time, stage string) int {
	t.Helper()
	ctx := context.Background()
	rolled := 0
	type variant struct {
		tz, currency string
		limit        int
		orderBy      analytics.Metric
	}
	variants := []variant{{tz: "UTC"}, {tz: "America/New_York"}, {tz: "Asia/Kolkata"}, {tz: "Australia/Adelaide"},
		{tz: "Asia/Tokyo", currency: "EUR"}, {tz: "UTC", currency: "JPY", limit: 3, orderBy: analytics.NetSales},
		{tz: "Europe/Berlin", limit: 2, orderBy: analytics.ConversionRate}}
	for _, g := range analytics.GroupBys {
		for _, v := range variants {
			if g == analytics.ByCountry && v.orderBy.IsSession() {
				continue
			}
			metrics := analytics.Metrics
			if g == analytics.ByCountry {
				metrics = []analytics.Metric{analytics.TotalSales, analytics.NetSales, analytics.OrderCount,
					analytics.UnitsSold, analytics.AverageOrderValue, analytics.RefundRate, analytics.NewCustomers,
					analytics.ReturningCustomerRate}
			}
			q, err := analytics.Request{Start: from, End: to, Metrics: metrics, GroupBy: g, TimeZone: v.tz,
				Currency: v.currency, Limit: v.limit, OrderBy: v.orderBy}.Check(0)
			require.NoError(t, err)
			ans, err := store.Answer(ctx, q)
			require.NoError(t, err)
			want := reference(q, d)
			if g == analytics.ByNone && v.currency == "" {
				// The data exercise every definition.
				all := want[0].Totals()
				s := want[0].Sessions
				require.True(t, all.Orders > 1000 && all.RefundedOrders > 0 && all.NewCustomers > 0 && all.ReturningOrders > 0 &&
					s.Converted > 0 && s.Abandoned > 0 && s.Cart > s.Abandoned && s.Sessions > s.Converted, "%+v %+v", all, s)
			}
			require.Equal(t, want, ans.Rows, "%s: group_by %s, %+v", stage, g, v)
			rolled += ans.RollupHours
		}
	}
	return rolled
}

// TestAnalyticsExactness: thousands of random orders, refunds,
// cancellations and sessions over nine days; every metric of every
// grouping equals the plain computation over the raw rows, before the
// rollup, after it, and after a late refund and a late cancellation of
// orders in rolled-up hours (re-rolled through the outbox).
func TestAnalyticsExactness(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	generate(t, pool, 42, now, 9, 4000, 2500)
	store := analytics.NewStore(pool, analytics.Config{})
	d := load(t, pool)
	require.Greater(t, len(d.Orders), 3000)

	// Edges off the hour, so raw parts and rolled hours meet in one answer.
	from := now.Add(-8*24*time.Hour - 17*time.Minute)
	to := now.Add(-5 * time.Minute)
	assert.Zero(t, check(t, store, d, from, to, "raw"), "nothing is rolled up yet")

	closed := analytics.ClosedBefore(now, store.Config().CloseAfter)
	n, err := store.RollHours(ctx, from.Truncate(time.Hour), closed, now)
	require.NoError(t, err)
	require.Greater(t, n, 100)
	_, err = store.RollHours(ctx, closed, closed.Add(time.Hour), now)
	require.ErrorIs(t, err, analytics.ErrNotClosed, "an open hour is not rolled")
	assert.Positive(t, check(t, store, d, from, to, "rolled"), "closed hours come from the rollups")

	// A late refund and a late cancellation of orders paid in rolled hours;
	// the relay hands them to the analytics consumer, which re-rolls.
	var refundID, cancelID int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM orders WHERE status = 'paid' AND paid_at < $1 AND paid_at > $2
		ORDER BY id LIMIT 1`, closed, from).Scan(&refundID))
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM orders WHERE status = 'delivered' AND paid_at < $1 AND paid_at > $2
		ORDER BY id LIMIT 1`, closed, from).Scan(&cancelID))
	_, err = pool.Exec(ctx, `UPDATE orders SET status = 'partially_refunded', refunded_minor = total_minor / 3 WHERE id = $1`, refundID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE orders SET status = 'cancelled', refunded_minor = total_minor WHERE id = $1`, cancelID)
	require.NoError(t, err)
	stop := testenv.RunRelay(t, &outbox.Relay{Pool: pool, Log: slog.New(slog.DiscardHandler), Poll: 50 * time.Millisecond,
		Consumers: []outbox.Consumer{analytics.Rerolls{Store: store}}})
	defer stop()
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox_deliveries WHERE consumer = $1`,
			analytics.ConsumerName).Scan(&pending))
		return pending == 0
	}, 30*time.Second, 20*time.Millisecond, "the changes are consumed")
	d = load(t, pool)
	assert.Positive(t, check(t, store, d, from, to, "after a late refund and cancellation"))
}

// TestAnalyticsRequestChecks: bad input names its field.
func TestAnalyticsRequestChecks(t *testing.T) {
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		r     analytics.Request
		field string
	}{
		{analytics.Request{Start: jan, End: jan.Add(-time.Second)}, "end_date"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 40)}, "end_date"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 1), Metrics: []analytics.Metric{"revenue"}}, "metrics"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 1), GroupBy: "hour"}, "group_by"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 1), TimeZone: "Mars/Olympus"}, "time_zone"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 1), OrderBy: analytics.TotalSales}, "currency"},
		{analytics.Request{Start: jan, End: jan.AddDate(0, 0, 1), GroupBy: analytics.ByCountry,
			Metrics: []analytics.Metric{analytics.ConversionRate}}, "metrics"},
	}
	for i, c := range cases {
		_, err := c.r.Check(31 * 24 * time.Hour)
		var ve *validation.Error
		require.ErrorAs(t, err, &ve, fmt.Sprint(i))
		assert.Equal(t, c.field, ve.Field, "%d: %v", i, err)
	}
	q, err := analytics.Request{Start: jan, End: time.Date(2024, 1, 31, 23, 59, 59, 0, time.UTC)}.Check(31 * 24 * time.Hour)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), q.To, "end_date counts its whole second")
	assert.Equal(t, analytics.DefaultMetrics, q.Metrics)
}
