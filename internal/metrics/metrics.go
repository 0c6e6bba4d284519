// Package metrics holds the shop's Prometheus metrics: one registry per
// process, served at /metrics, with the API's request metrics, the
// Temporal SDK's own metrics (through OpenTelemetry's Prometheus exporter),
// activity outcomes and the business counters (package probes adds the
// connection pools, the cache and the outbox).
//
// Business counters are counted where the change commits, once: a retried
// activity that finds its work already done counts nothing. They come from
// the process that does the work (orders, payments, refunds and emails in
// the worker; webhooks in the API), so dashboards sum them over processes.
package metrics

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes the shop's own metrics.
const Namespace = "shop"

// Registry is the process's registry; Handler serves it.
var Registry = prometheus.NewRegistry()

var (
	described = &describing{Registerer: Registry, names: map[string]bool{}}
	factory   = promauto.With(described)
)

// describing notes the names of the metrics of every collector it registers.
type describing struct {
	prometheus.Registerer
	mu    sync.Mutex
	names map[string]bool
}

func (d *describing) Register(c prometheus.Collector) error {
	// Compiled here: collectors of other files register while the
	// package's variables are still being initialized.
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	d.mu.Lock()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	d.mu.Unlock()
	return d.Registerer.Register(c)
}

func (d *describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// Register adds a collector to the registry (noting its metrics' names)
// and answers how to take it out again.
func Register(c prometheus.Collector) (unregister func()) {
	described.MustRegister(c)
	return func() { Registry.Unregister(c) }
}

// Described answers the names of the metric families the shop's own
// collectors have described so far: also those without a sample yet (a
// counter by label that has counted nothing), which a scrape leaves out.
func Described() []string {
	described.mu.Lock()
	defer described.mu.Unlock()
	return slices.Sorted(maps.Keys(described.names))
}

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. A collector that fails (PostgreSQL down for the outbox gauges)
// leaves its metrics out instead of failing the scrape.
func Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(Registry, promhttp.HandlerFor(Registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		Registry:          Registry,
	}))
}

// Business counters.
var (
	ordersPlaced = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "orders_placed_total",
		Help: "Orders accepted: stock reserved and totals fixed, waiting for the payment."}, []string{"currency"})
	ordersPaid = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "orders_paid_total",
		Help: "Orders whose payment was captured."}, []string{"currency"})
	revenue = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "revenue_minor_total",
		Help: "Money captured for paid orders, in minor units of the currency (cents), before refunds."}, []string{"currency"})
	ordersClosedUnpaid = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "orders_unpaid_closed_total",
		Help: "Orders that ended without a payment, by status: cancelled, payment_failed."}, []string{"status"})
	ordersCancelled = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "orders_cancelled_total",
		Help: "Orders cancelled, by when: unpaid (the checkout ended) or paid (before shipping, refunded after)."}, []string{"stage"})
	refunds = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "refunds_total",
		Help: "Refunds settled, by result: succeeded, needs_attention (Stripe keeps refusing), failed (given up)."}, []string{"result"})
	refunded = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "refunded_minor_total",
		Help: "Money paid back by succeeded refunds, in minor units of the currency."}, []string{"currency"})
	emails = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "emails_total",
		Help: "Email attempts by kind and result: sent, failed (retried), rejected (for good)."}, []string{"kind", "result"})
	webhooks = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "webhooks_total",
		Help: "Webhook deliveries by source (stripe, carrier), event type and result: processed, duplicate, refused (400), retry (503)."},
		[]string{"source", "type", "result"})
)

func currency(c string) string { return strings.ToUpper(c) }

// OrderPlaced counts an order accepted for the first time.
func OrderPlaced(cur string) { ordersPlaced.WithLabelValues(currency(cur)).Inc() }

// OrderPaid counts an order whose payment of amount minor units was captured.
func OrderPaid(cur string, amount int64) {
	ordersPaid.WithLabelValues(currency(cur)).Inc()
	if amount > 0 {
		revenue.WithLabelValues(currency(cur)).Add(float64(amount))
	}
}

// OrderClosedUnpaid counts an unpaid order that ended with status.
func OrderClosedUnpaid(status string) {
	ordersClosedUnpaid.WithLabelValues(status).Inc()
	if status == "cancelled" {
		ordersCancelled.WithLabelValues("unpaid").Inc()
	}
}

// PaidOrderCancelled counts a paid order cancelled before it shipped.
func PaidOrderCancelled() { ordersCancelled.WithLabelValues("paid").Inc() }

// RefundSucceeded counts a refund of amount minor units paid back.
func RefundSucceeded(cur string, amount int64) {
	refunds.WithLabelValues("succeeded").Inc()
	refunded.WithLabelValues(currency(cur)).Add(float64(amount))
}

// RefundSettled counts a refund that did not succeed: result is
// needs_attention or failed.
func RefundSettled(result string) { refunds.WithLabelValues(result).Inc() }

// Email counts an email attempt: result is sent, failed or rejected.
func Email(kind, result string) { emails.WithLabelValues(kind, result).Inc() }

// Webhook counts a webhook delivery.
func Webhook(source, typ, result string) {
	if typ == "" {
		typ = "unknown"
	}
	webhooks.WithLabelValues(source, typ, result).Inc()
}

// WebhookResult names the result of a webhook answered with code.
func WebhookResult(code int, duplicate bool) string {
	switch {
	case code < 300 && duplicate:
		return "duplicate"
	case code < 300:
		return "processed"
	case code < 500:
		return "refused"
	}
	return "retry"
}
