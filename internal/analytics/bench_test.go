package analytics_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
)

// The benchmark's data: ANALYTICS_BENCH_ORDERS orders (two lines each) and
// ANALYTICS_BENCH_EVENTS storefront events (sessions of eight) over the
// 120 days before now. Built only when a benchmark runs (go test -bench).
func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type benchData struct {
	pool   *pgxpool.Pool
	store  *analytics.Store
	now    time.Time
	orders int
	events int
}

var (
	benchOnce sync.Once
	bench     benchData
)

func setupBench(b *testing.B) benchData {
	benchOnce.Do(func() {
		ctx := context.Background()
		orders := benchSize("ANALYTICS_BENCH_ORDERS", 1_000_000)
		events := benchSize("ANALYTICS_BENCH_EVENTS", 10_000_000)
		now := time.Now().UTC()
		start := now.Add(-120 * 24 * time.Hour)
		// A fresh database, dropped at the end; or ANALYTICS_BENCH_DB, an
		// existing database kept between runs (filled on its first).
		var pool *pgxpool.Pool
		if url := os.Getenv("ANALYTICS_BENCH_DB"); url != "" {
			var err error
			pool, err = pgxpool.New(ctx, url)
			require.NoError(b, err)
			require.NoError(b, db.Migrate(pool))
			var n int
			require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n))
			if n > 0 {
				var events int
				require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM behaviour_events`).Scan(&events))
				store := analytics.NewStore(pool, analytics.Config{})
				require.NoError(b, pool.QueryRow(ctx, `SELECT max(created_at) FROM orders`).Scan(&now))
				rollUp(b, store, now.Add(-120*24*time.Hour), now)
				bench = benchData{pool: pool, store: store, now: now, orders: n, events: events}
				return
			}
		} else {
			pool = dbtest.New(b)
		}
		t0 := time.Now()
		_, err := pool.Exec(ctx, `SELECT behaviour_events_ensure_partitions($1::date, $2::date)`, start, now)
		require.NoError(b, err)
		for _, q := range []string{
			`INSERT INTO categories (name, slug) SELECT 'Bench category ' || g, 'bench-cat-' || g FROM generate_series(1, 20) g`,
			`INSERT INTO products (sku, name, category_id, price_minor, currency)
				SELECT 'BENCH-' || g, 'Bench product ' || g, (SELECT min(id) FROM categories) + g % 20, 1000 + g, 'USD'
				FROM generate_series(1, 2000) g`,
			`INSERT INTO users (username, email, password_hash)
				SELECT 'bench' || g, 'bench' || g || '@example.com', 'x' FROM generate_series(1, 100000) g`,
			// Orders spread evenly over the 120 days; 5% partly refunded, 3%
			// cancelled after payment, 2% never paid.
			`INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
					tax_ppm, total_minor, captured_minor, refunded_minor, shipping_method, shipping_address, billing_address,
					shipping_country, payment_method, created_at, paid_at)
				SELECT 1000 + g, (SELECT min(id) FROM users) + (g::bigint * 7919) % 100000,
					(CASE WHEN g % 100 < 5 THEN 'partially_refunded' WHEN g % 100 < 8 THEN 'cancelled'
						WHEN g % 100 < 10 THEN 'payment_failed' ELSE 'paid' END)::order_status,
					(ARRAY['USD', 'EUR', 'GBP'])[1 + g % 3], 3000, 0, 500, 0, 0, 3500,
					CASE WHEN g % 100 < 8 OR g % 100 >= 10 THEN 3500 ELSE 0 END,
					CASE WHEN g % 100 < 5 THEN 700 WHEN g % 100 < 8 THEN 3500 ELSE 0 END,
					'standard', 'a', 'a', (ARRAY['US', 'DE', 'FR', 'GB', 'JP'])[1 + g % 5], 'card', at, 
					CASE WHEN g % 100 BETWEEN 8 AND 9 THEN NULL ELSE at END
				FROM (SELECT g, $1::timestamptz + (g::float8 / $2) * interval '120 days' AS at
					FROM generate_series(1, $2::int) g) x`,
			`INSERT INTO order_items (order_id, line, product_id, sku, name, quantity, unit_price_minor, line_total_minor)
				SELECT o.id, l, (SELECT min(id) FROM products) + (o.id * 31 + l * 17) % 2000, 'SKU', 'Item', l, 1000, 1000 * l
				FROM orders o, generate_series(1, 2) l`,
			// Sessions of eight events a few minutes apart: views, a search,
			// carts; half of them signed in.
			`INSERT INTO behaviour_events (occurred_at, kind, session_id, user_id, product_id, query, dedup_key)
				SELECT $1::timestamptz + ((g / 8)::float8 / ($3 / 8)) * interval '120 days' + (g % 8) * interval '3 minutes',
					(ARRAY['view', 'view', 'search', 'view', 'add_to_cart', 'view', 'remove_from_cart', 'checkout_started'])[1 + g % 8],
					'bench-session-' || (g / 8),
					CASE WHEN (g / 8) % 2 = 0 THEN (SELECT min(id) FROM users) + ((g::bigint / 8) * 7919) % 100000 END,
					CASE WHEN g % 8 IN (0, 1, 3, 4, 5, 6) THEN (SELECT min(id) FROM products) + (g::bigint * 13) % 2000 END,
					CASE WHEN g % 8 = 2 THEN 'socks' END, 'c:bench-' || g
				FROM generate_series(0, $3::int - 1) g, (SELECT $2::int) AS unused (n)`,
			`ANALYZE`,
		} {
			var args []any
			switch {
			case strings.Contains(q, "$3"):
				args = []any{start, orders, events}
			case strings.Contains(q, "$2"):
				args = []any{start, orders}
			}
			_, err := pool.Exec(ctx, q, args...)
			require.NoError(b, err, q)
		}
		b.Logf("generated %d orders and %d events in %s", orders, events, time.Since(t0).Round(time.Second))
		store := analytics.NewStore(pool, analytics.Config{})
		rollUp(b, store, start, now)
		bench = benchData{pool: pool, store: store, now: now, orders: orders, events: events}
	})
	if bench.store == nil {
		b.Fatal("setup failed")
	}
	return bench
}

// rollUp rolls the closed days of [start, now) that are not rolled yet, as
// the backfill does.
func rollUp(b *testing.B, store *analytics.Store, start, now time.Time) {
	ctx := context.Background()
	t0 := time.Now()
	closed := analytics.ClosedBefore(now, store.Config().CloseAfter)
	days := 0
	for d := start.Truncate(time.Hour); d.Before(closed); d = d.Add(24 * time.Hour) {
		end := d.Add(24 * time.Hour)
		if end.After(closed) {
			end = closed
		}
		n, err := store.RolledHours(ctx, d, end)
		require.NoError(b, err)
		if n == int(end.Sub(d)/time.Hour) {
			continue
		}
		_, err = store.RollHours(ctx, d, end, now)
		require.NoError(b, err)
		days++
	}
	b.Logf("rolled up %d days in %s", days, time.Since(t0).Round(time.Second))
}

// BenchmarkAnalytics90DaysByDay: every metric by day (Europe/Berlin) over
// 90 days, from the rollups and from the raw rows, on one data set:
// "to-now" ends now (its last two days are open and read raw either way),
// "closed" ends at the closed boundary (all rolled up). "sales-to-now"
// asks for the sales metrics only. Reports p50/p99 of single queries in
// milliseconds (ns/op is a batch of ANALYTICS_BENCH_RUNS queries, or
// ANALYTICS_BENCH_RAW_RUNS on raw rows).
func BenchmarkAnalytics90DaysByDay(b *testing.B) {
	d := setupBench(b)
	sales := []analytics.Metric{analytics.TotalSales, analytics.NetSales, analytics.OrderCount, analytics.UnitsSold,
		analytics.AverageOrderValue, analytics.RefundRate, analytics.NewCustomers, analytics.ReturningCustomerRate}
	closed := analytics.ClosedBefore(d.now, d.store.Config().CloseAfter)
	for _, c := range []struct {
		name    string
		end     time.Time
		metrics []analytics.Metric
		raw     bool
	}{
		{"closed/rollups", closed, analytics.Metrics, false}, {"closed/raw", closed, analytics.Metrics, true},
		{"to-now/rollups", d.now, analytics.Metrics, false}, {"to-now/raw", d.now, analytics.Metrics, true},
		{"sales-to-now/rollups", d.now, sales, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			q, err := analytics.Request{Start: c.end.Add(-90 * 24 * time.Hour), End: c.end.Add(-time.Second),
				Metrics: c.metrics, GroupBy: analytics.ByDay, TimeZone: "Europe/Berlin", Raw: c.raw}.Check(0)
			require.NoError(b, err)
			// One iteration is `runs` queries, so a single pass (-benchtime=1x)
			// gives the percentiles; the raw ones take long at full size.
			runs := benchSize("ANALYTICS_BENCH_RUNS", 100)
			if c.raw {
				runs = benchSize("ANALYTICS_BENCH_RAW_RUNS", 3)
			}
			var took []time.Duration
			for b.Loop() {
				for range runs {
					t0 := time.Now()
					ans, err := d.store.Answer(context.Background(), q)
					took = append(took, time.Since(t0))
					if err != nil || len(ans.Rows) < 90 {
						b.Fatal(err, len(ans.Rows))
					}
				}
			}
			slices.Sort(took)
			pct := func(p float64) float64 {
				return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(d.orders), "orders")
			b.ReportMetric(float64(d.events), "events")
		})
	}
}
