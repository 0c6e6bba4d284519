package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/metrics/metricstest"
)

func TestActivityOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil:                         "completed",
		activity.ErrResultPending:   "async",
		context.Canceled:            "canceled",
		temporal.NewCanceledError(): "canceled",
		temporal.NewNonRetryableApplicationError("declined", "CardDeclined", nil):          "non_retryable_error",
		fmt.Errorf("wrapped: %w", temporal.NewNonRetryableApplicationError("x", "X", nil)): "non_retryable_error",
		temporal.NewApplicationError("busy", "Busy"):                                       "retryable_error",
		errors.New("connection refused"):                                                   "retryable_error",
	} {
		assert.Equal(t, want, metrics.ActivityOutcome(err), "%v", err)
	}
}

func TestWebhookResult(t *testing.T) {
	assert.Equal(t, "processed", metrics.WebhookResult(200, false))
	assert.Equal(t, "duplicate", metrics.WebhookResult(200, true))
	assert.Equal(t, "refused", metrics.WebhookResult(400, false))
	assert.Equal(t, "retry", metrics.WebhookResult(503, false))
}

// TestHTTPCountsUnmatchedAndPatternRoutes: requests outside the RPCs count
// under their route pattern, and a label set that never counted is still
// described.
func TestHTTPCountsUnmatchedAndPatternRoutes(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("GET /metrics", metrics.Handler())
	srv := httptest.NewServer(metrics.HTTP(mux))
	defer srv.Close()
	before := metricstest.Get(t, srv.URL+"/metrics")
	for range 3 {
		res, err := http.Get(srv.URL + "/healthz")
		if assert.NoError(t, err) {
			_ = res.Body.Close()
		}
	}
	res, err := http.Get(srv.URL + "/nowhere")
	if assert.NoError(t, err) {
		_ = res.Body.Close()
	}
	after := metricstest.Get(t, srv.URL+"/metrics")
	health := map[string]string{"route": "GET /healthz", "method": "GET", "code": "204"}
	assert.Equal(t, 3.0, after.Value("shop_http_requests_total", health)-before.Value("shop_http_requests_total", health))
	nowhere := map[string]string{"route": "unmatched", "code": "404"}
	assert.Equal(t, 1.0, after.Value("shop_http_requests_total", nowhere)-before.Value("shop_http_requests_total", nowhere))
	assert.Contains(t, metrics.Described(), "shop_refunds_total")
	assert.Contains(t, metrics.Described(), "shop_orders_placed_total")
}
