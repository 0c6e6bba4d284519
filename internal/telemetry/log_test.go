package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tlog "go.temporal.io/sdk/log"
)

func TestLogLinesCarryTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, "json").With("component", "api")
	ctx := WithRequestID(context.Background(), "abc123")
	log.InfoContext(ctx, "hello", "n", 1)

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, "abc123", line["request_id"])
	assert.Equal(t, "api", line["component"])
	assert.Equal(t, "hello", line["msg"])
}

func TestLogLinesCarryTheTraceAndSpanID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, "json")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(WithRequestID(context.Background(), "r1"), "op")
	defer span.End()
	log.InfoContext(ctx, "inside a span")
	log.InfoContext(context.Background(), "outside")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var in, out map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &in))
	require.NoError(t, json.Unmarshal(lines[1], &out))
	assert.Equal(t, span.SpanContext().TraceID().String(), in["trace_id"])
	assert.Equal(t, span.SpanContext().SpanID().String(), in["span_id"])
	assert.Equal(t, "r1", in["request_id"])
	assert.NotContains(t, out, "trace_id")
}

func TestTemporalLoggersGetTheTraceID(t *testing.T) {
	var buf bytes.Buffer
	log := tlog.NewStructuredLogger(NewLogger(&buf, slog.LevelInfo, "json"))
	i, err := TemporalInterceptor()
	require.NoError(t, err)
	require.NotNil(t, i)
	tp := sdktrace.NewTracerProvider()
	_, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	idTracer{}.GetLogger(log, spanRef{span}).Info("in an activity")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, span.SpanContext().TraceID().String(), line["trace_id"])
	assert.Equal(t, span.SpanContext().SpanID().String(), line["span_id"])
}

type spanRef struct{ trace.Span }

func TestProbesAndScrapesMakeNoSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	h := HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), "test")
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/products"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	require.Len(t, rec.Ended(), 1)
	assert.Equal(t, "GET", rec.Ended()[0].Name())
}
