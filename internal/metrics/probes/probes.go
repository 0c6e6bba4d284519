// Package probes exports, at scrape time, the statistics of the shop's
// connection pools and cache and the gauges read from PostgreSQL (outbox
// backlog, refunds needing attention, checkouts waiting for payment).
package probes

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/outbox"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", name), help, labels, nil)
}

// spec is a metric of a per-instance collector: each instance (a pool, a
// cache) registers its own descriptions, with its name as a constant label.
type spec struct{ name, help string }

func (s spec) desc(label, value string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", s.name), s.help, nil, prometheus.Labels{label: value})
}

// instance builds an instance's descriptions of specs.
func instance(label, value string, specs ...spec) []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(specs))
	for i, s := range specs {
		out[i] = s.desc(label, value)
	}
	return out
}

// funcCollector reads its metrics from a snapshot taken at scrape time.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range f.descs {
		ch <- d
	}
}

func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

var (
	dbAcquired      = spec{"db_pool_acquired_conns", "PostgreSQL connections in use."}
	dbIdle          = spec{"db_pool_idle_conns", "PostgreSQL connections idle in the pool."}
	dbTotal         = spec{"db_pool_total_conns", "PostgreSQL connections open (in use, idle and being opened)."}
	dbMax           = spec{"db_pool_max_conns", "Most PostgreSQL connections the pool may open (DATABASE_MAX_CONNS)."}
	dbAcquires      = spec{"db_pool_acquires_total", "Connections handed out."}
	dbEmptyAcquires = spec{"db_pool_empty_acquires_total", "Connections handed out only after waiting: the pool was empty."}
	dbCanceled      = spec{"db_pool_canceled_acquires_total", "Waits for a connection given up (the caller's deadline)."}
	dbWait          = spec{"db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection from an empty pool."}
)

// DBPool exports a pgx pool's statistics under pool=name.
func DBPool(name string, p *pgxpool.Pool) (unregister func()) {
	d := instance("pool", name, dbAcquired, dbIdle, dbTotal, dbMax, dbAcquires, dbEmptyAcquires, dbCanceled, dbWait)
	return metrics.Register(funcCollector{descs: d, collect: func(ch chan<- prometheus.Metric) {
		s := p.Stat()
		g, c := prometheus.GaugeValue, prometheus.CounterValue
		ch <- prometheus.MustNewConstMetric(d[0], g, float64(s.AcquiredConns()))
		ch <- prometheus.MustNewConstMetric(d[1], g, float64(s.IdleConns()))
		ch <- prometheus.MustNewConstMetric(d[2], g, float64(s.TotalConns()))
		ch <- prometheus.MustNewConstMetric(d[3], g, float64(s.MaxConns()))
		ch <- prometheus.MustNewConstMetric(d[4], c, float64(s.AcquireCount()))
		ch <- prometheus.MustNewConstMetric(d[5], c, float64(s.EmptyAcquireCount()))
		ch <- prometheus.MustNewConstMetric(d[6], c, float64(s.CanceledAcquireCount()))
		ch <- prometheus.MustNewConstMetric(d[7], c, s.EmptyAcquireWaitTime().Seconds())
	}})
}

var (
	redisTotal    = spec{"redis_pool_total_conns", "Redis connections open."}
	redisIdle     = spec{"redis_pool_idle_conns", "Redis connections idle in the pool."}
	redisHits     = spec{"redis_pool_hits_total", "Redis commands that found an idle connection."}
	redisMisses   = spec{"redis_pool_misses_total", "Redis commands that had to open or wait for a connection."}
	redisTimeouts = spec{"redis_pool_timeouts_total", "Redis commands that gave up waiting for a connection."}
)

// Redis exports a Redis client's pool statistics under pool=name.
func Redis(name string, c *redis.Client) (unregister func()) {
	d := instance("pool", name, redisTotal, redisIdle, redisHits, redisMisses, redisTimeouts)
	return metrics.Register(funcCollector{descs: d, collect: func(ch chan<- prometheus.Metric) {
		s := c.PoolStats()
		g, k := prometheus.GaugeValue, prometheus.CounterValue
		ch <- prometheus.MustNewConstMetric(d[0], g, float64(s.TotalConns))
		ch <- prometheus.MustNewConstMetric(d[1], g, float64(s.IdleConns))
		ch <- prometheus.MustNewConstMetric(d[2], k, float64(s.Hits))
		ch <- prometheus.MustNewConstMetric(d[3], k, float64(s.Misses))
		ch <- prometheus.MustNewConstMetric(d[4], k, float64(s.Timeouts))
	}})
}

var (
	cacheHits       = spec{"cache_hits_total", "Storefront reads served from the Redis cache."}
	cacheMisses     = spec{"cache_misses_total", "Storefront reads not in the cache."}
	cacheFills      = spec{"cache_fills_total", "Loads from PostgreSQL to fill the cache (concurrent misses share one)."}
	cacheFillErrors = spec{"cache_fill_errors_total", "Loads that failed (nothing cached)."}
	cacheErrors     = spec{"cache_redis_errors_total", "Redis calls of the cache that failed; the read was served uncached."}
)

// Cache exports a cache's counters under cache=name.
func Cache(name string, c *cache.Cache) (unregister func()) {
	d := instance("cache", name, cacheHits, cacheMisses, cacheFills, cacheFillErrors, cacheErrors)
	return metrics.Register(funcCollector{descs: d, collect: func(ch chan<- prometheus.Metric) {
		s := c.Stats()
		k := prometheus.CounterValue
		ch <- prometheus.MustNewConstMetric(d[0], k, float64(s.Hits))
		ch <- prometheus.MustNewConstMetric(d[1], k, float64(s.Misses))
		ch <- prometheus.MustNewConstMetric(d[2], k, float64(s.Loads))
		ch <- prometheus.MustNewConstMetric(d[3], k, float64(s.LoadErrors))
		ch <- prometheus.MustNewConstMetric(d[4], k, float64(s.Errors))
	}})
}

var (
	outboxPending = desc("outbox_pending", "Outbox deliveries waiting, parked ones included, by consumer.", "consumer")
	outboxParked  = desc("outbox_parked", "Outbox deliveries a consumer refused for good, waiting for `shop outbox retry`.", "consumer")
	outboxAge     = desc("outbox_oldest_pending_age_seconds",
		"Age of the oldest event a consumer has not applied yet (parked ones aside); 0 when none waits.", "consumer")
	refundsAttention = desc("refunds_needing_attention", "Refunds Stripe keeps refusing: staff must resolve them.")
	awaitingPayment  = desc("checkouts_awaiting_payment", "Orders accepted and waiting for their payment.")
	awaitingAge      = desc("checkouts_oldest_awaiting_payment_age_seconds",
		"Age of the oldest order waiting for its payment; past PAYMENT_TIMEOUT its checkout should have released it.")
	opsUp = desc("ops_gauges_up", "1 when the last scrape read the outbox, refund and checkout gauges from PostgreSQL, else 0.")
)

// Ops exports gauges read from PostgreSQL at scrape time: the
// outbox backlog per consumer, refunds needing attention and the orders
// waiting for a payment. One process (the worker) should export them:
// they describe the database, not the process.
func Ops(pool *pgxpool.Pool) (unregister func()) {
	return metrics.Register(funcCollector{
		descs: []*prometheus.Desc{outboxPending, outboxParked, outboxAge, refundsAttention, awaitingPayment, awaitingAge, opsUp},
		collect: func(ch chan<- prometheus.Metric) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			up := 1.0
			if err := collectOps(ctx, pool, ch); err != nil {
				up = 0
			}
			ch <- prometheus.MustNewConstMetric(opsUp, prometheus.GaugeValue, up)
		},
	})
}

func collectOps(ctx context.Context, pool *pgxpool.Pool, ch chan<- prometheus.Metric) error {
	g := prometheus.GaugeValue
	backlogs, err := outbox.Backlogs(ctx, pool)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, b := range backlogs {
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(now.Sub(b.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(outboxPending, g, float64(b.Pending), b.Consumer)
		ch <- prometheus.MustNewConstMetric(outboxParked, g, float64(b.Parked), b.Consumer)
		ch <- prometheus.MustNewConstMetric(outboxAge, g, age, b.Consumer)
	}
	var attention, waiting int64
	var oldest float64
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM refunds WHERE status = 'needs_attention'),
		(SELECT count(*) FROM orders WHERE status = 'awaiting_payment'),
		coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM orders WHERE status = 'awaiting_payment'), 0)::float8`).
		Scan(&attention, &waiting, &oldest); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(refundsAttention, g, float64(attention))
	ch <- prometheus.MustNewConstMetric(awaitingPayment, g, float64(waiting))
	ch <- prometheus.MustNewConstMetric(awaitingAge, g, max(oldest, 0))
	return nil
}
