package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
)

var (
	spansOnce sync.Once
	spans     = &switchable{}
)

// recordSpans makes the process's tracer provider record every span until
// the test ends (the provider is installed once per process: the global
// one is handed to its users only once; other tests make no spans).
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	spansOnce.Do(func() {
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans),
			sdktrace.WithSampler(sdktrace.ParentBased(spans))))
	})
	rec := tracetest.NewSpanRecorder()
	spans.rec.Store(rec)
	t.Cleanup(func() { spans.rec.Store(nil) })
	return rec
}

// switchable samples and records spans while it has a recorder.
type switchable struct {
	rec atomic.Pointer[tracetest.SpanRecorder]
}

func (s *switchable) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if s.rec.Load() == nil {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (s *switchable) Description() string { return "switchable" }

func (s *switchable) OnStart(ctx context.Context, span sdktrace.ReadWriteSpan) {
	if r := s.rec.Load(); r != nil {
		r.OnStart(ctx, span)
	}
}

func (s *switchable) OnEnd(span sdktrace.ReadOnlySpan) {
	if r := s.rec.Load(); r != nil {
		r.OnEnd(span)
	}
}

func (s *switchable) Shutdown(context.Context) error   { return nil }
func (s *switchable) ForceFlush(context.Context) error { return nil }

// TestOneTraceFromTheOrderToTheStockSQL: POST /api/orders starts a trace
// that the Temporal interceptors carry into the checkout workflow and its
// PlaceOrder activity, down to the SQL that reserves the stock.
func TestOneTraceFromTheOrderToTheStockSQL(t *testing.T) {
	rec := recordSpans(t)
	f := newServerWith(t, options{worker: true})
	john := session(t, f, "trace-john", identity.RoleCustomer)

	code, header, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 1}],
		"shipping_address": "1 Main St, Springfield, CA 90001", "payment_method": "credit_card"}`, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, o)
	requestID := header.Get("X-Request-Id")
	require.NotEmpty(t, requestID)

	// The API's server span of this request.
	var root sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindServer && s.Name() == "POST /shop.order.v1.OrderService/CreateOrder" {
				root = s
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the request's server span")
	assert.False(t, root.Parent().IsValid(), "the request started the trace")
	id := root.SpanContext().TraceID()

	reserve := func() (sdktrace.ReadOnlySpan, []sdktrace.ReadOnlySpan) {
		var in []sdktrace.ReadOnlySpan
		var sql sdktrace.ReadOnlySpan
		for _, s := range rec.Started() { // the workflow's own span lasts as long as it runs
			if s.SpanContext().TraceID() != id {
				continue
			}
			in = append(in, s)
			for _, a := range s.Attributes() {
				if a.Key == "db.query.text" && strings.Contains(a.Value.AsString(), "UPDATE location_stock SET reserved = reserved +") {
					sql = s
				}
			}
		}
		return sql, in
	}
	var sql sdktrace.ReadOnlySpan
	var inTrace []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool { sql, inTrace = reserve(); return sql != nil }, 30*time.Second, 50*time.Millisecond,
		"the stock reservation's SQL is in the request's trace")

	// Its ancestors lead from the SQL through the activity and the
	// workflow back to the request.
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var names []string
	for _, s := range inTrace {
		byID[s.SpanContext().SpanID()] = s
		names = append(names, s.Name())
	}
	var chain []string
	for s := sql; s != nil; s = byID[s.Parent().SpanID()] {
		chain = append(chain, s.Name())
		if !s.Parent().IsValid() {
			break
		}
	}
	t.Logf("trace %s: %d spans; the SQL's ancestors: %s", id, len(inTrace), strings.Join(chain, " <- "))
	assert.Equal(t, root.Name(), chain[len(chain)-1], "the chain ends at the request (%v)", names)
	for _, want := range []string{"RunActivity:PlaceOrder", "StartActivity:PlaceOrder", "RunWorkflow:Checkout",
		"UpdateWithStartWorkflow:reservation", "shop.order.v1.OrderService/CreateOrder"} {
		assert.True(t, slices.Contains(chain, want), "%s is an ancestor of the SQL (%s)", want, strings.Join(chain, " <- "))
	}

	// Stripe's webhook starts a trace of its own that reaches the workflow
	// with the payment signal.
	stored, err := f.shop.Orders.Get(context.Background(), orderID(t, o))
	require.NoError(t, err)
	code, _ = webhook(t, f, paidEvent(stored, "evt_trace_paid"), shoptest.WebhookSecret)
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		hook := map[trace.TraceID]bool{}
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindServer && s.Name() == "POST /webhooks/stripe" {
				hook[s.SpanContext().TraceID()] = true
			}
		}
		var signalled, handled bool
		for _, s := range rec.Started() {
			if hook[s.SpanContext().TraceID()] {
				signalled = signalled || s.Name() == "SignalWorkflow:"+checkout.PaymentSignal
				handled = handled || s.Name() == "HandleSignal:"+checkout.PaymentSignal
			}
		}
		return signalled && handled
	}, 30*time.Second, 50*time.Millisecond, "the webhook's trace holds the signal, sent and handled")
}
