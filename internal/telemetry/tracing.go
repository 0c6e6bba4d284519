package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
)

// TracerName names the spans the shop starts itself.
const TracerName = "github.com/shopkit/shop"

// Tracing describes how SetupTracing configured the process.
type Tracing struct {
	// Exporting is true when spans leave the process (an OTLP endpoint is set).
	Exporting bool
	// Endpoint is where they go.
	Endpoint string
	shutdown func(context.Context) error
}

// Shutdown flushes the spans still buffered.
func (t Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// SetupTracing installs the process's OpenTelemetry tracer provider and the
// W3C trace-context and baggage propagators, configured by the standard
// environment variables:
//
//	OTEL_SDK_DISABLED=true         no tracing at all (no trace ids in logs either)
//	OTEL_SERVICE_NAME              the service name (default: service, e.g. shop-api)
//	OTEL_RESOURCE_ATTRIBUTES       more resource attributes (deployment.environment=prod,...)
//	OTEL_EXPORTER_OTLP_ENDPOINT    OTLP/HTTP collector, e.g. http://localhost:4318;
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the same for traces only; neither: no export
//	OTEL_EXPORTER_OTLP_HEADERS     e.g. authorization for a hosted collector
//	OTEL_TRACES_SAMPLER(_ARG)      e.g. parentbased_traceidratio and 0.1 (default parentbased_always_on)
//
// Without an endpoint spans are still made, and dropped, so that every log
// line of a request, a workflow or an activity carries its trace id.
func SetupTracing(ctx context.Context, service string, log *slog.Logger) (Tracing, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return Tracing{}, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return Tracing{}, fmt.Errorf("telemetry: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	out := Tracing{Endpoint: cmpOr(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))}
	if out.Endpoint != "" {
		// The exporter reads the endpoint, headers, timeout and TLS settings
		// from the same OTEL_EXPORTER_OTLP_* variables.
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return Tracing{}, fmt.Errorf("telemetry: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
		out.Exporting = true
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "error", err)
	}))
	out.shutdown = tp.Shutdown
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Tracer is the shop's own tracer (from the global provider).
func Tracer() trace.Tracer { return otel.Tracer(TracerName) }

// HTTPTransport instruments outgoing requests (Stripe, Elasticsearch): a
// client span per request, and the trace context in its headers.
func HTTPTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base)
}

// HTTPHandler starts a server span per request, continuing the caller's
// trace when the request carries a traceparent header. Probes and scrapes
// (/healthz, /readyz, /metrics) make no spans.
func HTTPHandler(h http.Handler, operation string) http.Handler {
	return otelhttp.NewHandler(h, operation,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method // renamed after its route once routed (metrics.HTTP)
		}),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}))
}

// TemporalInterceptor carries the trace from whoever starts, signals or
// updates a workflow into the workflow and its activities (set on the
// client, it applies to the workers made from that client too). The
// workflow's and activities' Temporal loggers get trace_id and span_id.
func TemporalInterceptor() (interceptor.Interceptor, error) {
	t, err := temporalotel.NewTracer(temporalotel.TracerOptions{
		// The global provider, looked up on every span: it may be set
		// after the client is made.
		Tracer:            otel.GetTracerProvider().Tracer("temporal-sdk-go"),
		TextMapPropagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	})
	if err != nil {
		return nil, err
	}
	return interceptor.NewTracingInterceptor(idTracer{t}), nil
}

// idTracer names the ids in workflow and activity logs like every other
// log line of the shop.
type idTracer struct{ interceptor.Tracer }

func (t idTracer) GetLogger(logger tlog.Logger, ref interceptor.TracerSpanRef) tlog.Logger {
	s, ok := ref.(interface{ SpanContext() trace.SpanContext })
	if !ok || !s.SpanContext().IsValid() {
		return logger
	}
	return tlog.With(logger, "trace_id", s.SpanContext().TraceID().String(), "span_id", s.SpanContext().SpanID().String())
}
