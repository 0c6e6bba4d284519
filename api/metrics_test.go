package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/deploy/monitoring"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/metrics/metricstest"
	"github.com/shopkit/shop/internal/metrics/probes"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
)

// TestMetricsAfterACheckout places and pays an order over REST, as the
// storefront and Stripe do, and reads /metrics as Prometheus would: the
// request counters, the Temporal SDK's and the business counters moved by
// exactly this checkout.
func TestMetricsAfterACheckout(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	defer probes.DBPool("test", f.shop.Pool)()
	rdb := testenv.Redis(t)
	defer probes.Redis("test", rdb)()
	defer probes.Cache("test", cache.New(rdb, testenv.UniqueName("test-metrics-")+":", nil))()
	defer probes.Ops(f.shop.Pool)()
	john := session(t, f, "metrics-john", identity.RoleCustomer)
	mug := f.shop.Product(t, "MUG-METRICS", 1500, 10)
	ctx := context.Background()

	before := metricstest.Get(t, f.url+"/metrics")
	code, _, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(seedOrder, f.laptop.ID, mug.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)
	stored, err := f.shop.Orders.Get(ctx, id)
	require.NoError(t, err)
	code, _ = webhook(t, f, paidEvent(stored, "evt_metrics_paid"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	code, _ = webhook(t, f, paidEvent(stored, "evt_metrics_paid"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code, "a redelivery is acknowledged")
	code, _ = webhook(t, f, paidEvent(stored, "evt_metrics_forged"), "whsec_not_the_secret")
	require.Equal(t, http.StatusBadRequest, code)
	f.shop.WaitStatus(t, id, orders.StatusPaid, 30*time.Second)
	f.shop.SMTP.WaitFor(t, 1, 30*time.Second)
	code, _, _ = call(t, "GET", f.url+"/api/orders/999999999999", john, "")
	require.Equal(t, http.StatusNotFound, code)

	var after metricstest.Scrape
	delta := func(name string, labels map[string]string) float64 {
		return after.Value(name, labels) - before.Value(name, labels)
	}
	// The email is counted once the activity returns, just after the SMTP
	// server has it.
	require.Eventually(t, func() bool {
		after = metricstest.Get(t, f.url+"/metrics")
		return delta("shop_emails_total", map[string]string{"kind": "order_confirmation", "result": "sent"}) == 1
	}, 10*time.Second, 50*time.Millisecond, "one confirmation email counted")

	// Requests, by procedure, protocol and code, and by route.
	create := map[string]string{"procedure": "/shop.order.v1.OrderService/CreateOrder", "protocol": "rest"}
	assert.Equal(t, 1.0, delta("shop_rpc_requests_total", plus(create, "code", "ok")), "POST /api/orders is CreateOrder over REST")
	assert.Equal(t, 1.0, delta("shop_rpc_request_duration_seconds", create), "and timed")
	assert.Equal(t, 1.0, delta("shop_rpc_requests_total", map[string]string{"procedure": "/shop.order.v1.OrderService/GetOrder",
		"protocol": "rest", "code": "not_found"}))
	assert.Equal(t, 2.0, delta("shop_http_requests_total", map[string]string{"route": "POST /webhooks/stripe", "code": "200"}))
	assert.Equal(t, 1.0, delta("shop_http_requests_total", map[string]string{"route": "POST /webhooks/stripe", "code": "400"}))
	assert.True(t, after.Has("shop_http_requests_in_flight", nil))
	assert.True(t, after.Has("shop_rpc_requests_in_flight", map[string]string{"procedure": create["procedure"]}))

	// Webhooks by type and result.
	paid := map[string]string{"source": "stripe", "type": "payment_intent.succeeded"}
	assert.Equal(t, 1.0, delta("shop_webhooks_total", plus(paid, "result", "processed")))
	assert.Equal(t, 1.0, delta("shop_webhooks_total", plus(paid, "result", "duplicate")))
	assert.Equal(t, 1.0, delta("shop_webhooks_total", map[string]string{"source": "stripe", "type": "unknown", "result": "refused"}),
		"a forged event is refused before its type is believed")

	// The business: one order placed and paid, its total captured.
	usd := map[string]string{"currency": "USD"}
	assert.Equal(t, 1.0, delta("shop_orders_placed_total", usd))
	assert.Equal(t, 1.0, delta("shop_orders_paid_total", usd))
	assert.Equal(t, float64(stored.Total), delta("shop_revenue_minor_total", usd), "revenue in cents")
	assert.Zero(t, delta("shop_orders_unpaid_closed_total", nil))

	// The worker's activities and the Temporal SDK's own metrics.
	assert.Equal(t, 1.0, delta("shop_activity_executions_total", map[string]string{"activity": "PlaceOrder", "outcome": "completed"}))
	assert.Equal(t, 1.0, delta("shop_activity_executions_total", map[string]string{"activity": "MarkPaid", "outcome": "completed"}))
	for _, name := range []string{"temporal_workflow_task_schedule_to_start_latency_seconds",
		"temporal_activity_schedule_to_start_latency_seconds", "temporal_activity_execution_latency_seconds",
		"temporal_workflow_task_execution_latency_seconds", "temporal_request_total"} {
		assert.Positive(t, after.Value(name, nil), name)
	}

	// Pools, the cache and the outbox.
	assert.Positive(t, after.Value("shop_db_pool_acquires_total", map[string]string{"pool": "test"}))
	assert.Equal(t, 10.0, after.Value("shop_db_pool_max_conns", map[string]string{"pool": "test"}))
	assert.True(t, after.Has("shop_redis_pool_total_conns", map[string]string{"pool": "test"}))
	assert.True(t, after.Has("shop_cache_hits_total", map[string]string{"cache": "test"}))
	assert.Equal(t, 1.0, after.Value("shop_ops_gauges_up", nil))
	assert.True(t, after.Has("shop_outbox_oldest_pending_age_seconds", map[string]string{"consumer": "cache"}))
	assert.Zero(t, after.Value("shop_checkouts_awaiting_payment", nil), "the order was paid")
	assert.Zero(t, after.Value("shop_refunds_needing_attention", nil))
	assert.True(t, strings.HasPrefix(after["go_goroutines"].GetName(), "go_"), "the Go runtime's")

	// Every metric the dashboards and alert rules may use is exported,
	// with its type and labels; a counter by label that has counted
	// nothing yet (no refund in this test) is at least described.
	listed, err := monitoring.Metrics()
	require.NoError(t, err)
	described := metrics.Described()
	for _, m := range listed {
		f, ok := after[m.Name]
		if !ok {
			assert.Contains(t, described, m.Name, "deploy/monitoring/metrics.txt lists %s; the code does not export it", m.Name)
			continue
		}
		assert.Equal(t, strings.ToUpper(m.Type), f.GetType().String(), m.Name)
		for _, l := range m.Labels {
			found := false
			for _, s := range f.Metric {
				for _, have := range s.Label {
					found = found || have.GetName() == l
				}
			}
			assert.True(t, found, "%s has label %s", m.Name, l)
		}
	}

}

func plus(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		out[mk] = mv
	}
	return out
}
