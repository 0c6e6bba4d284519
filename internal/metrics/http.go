package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Latency buckets in seconds, from a cached read to a slow checkout.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

var (
	rpcRequests = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rpc_requests_total",
		Help: "RPCs answered, by procedure, protocol (connect, grpc, grpcweb, rest) and Connect code (ok, invalid_argument, ...)."},
		[]string{"procedure", "protocol", "code"})
	rpcDuration = factory.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "rpc_request_duration_seconds",
		Help: "Time to answer an RPC, by procedure and protocol.", Buckets: latencyBuckets}, []string{"procedure", "protocol"})
	rpcInFlight = factory.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "rpc_requests_in_flight",
		Help: "RPCs being answered now, by procedure."}, []string{"procedure"})

	httpRequests = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route (the RPC procedure, or the route pattern: webhooks, health, metrics), method and status code."},
		[]string{"route", "method", "code"})
	httpDuration = factory.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route and method.", Buckets: latencyBuckets}, []string{"route", "method"})
	httpInFlight = factory.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being answered now."})
)

type reqInfoKey struct{}

// reqInfo passes what the HTTP layer knows to the RPC interceptor and back.
type reqInfo struct {
	path      string // as received, before REST transcoding
	procedure string // set by the interceptor
}

// HTTP counts every request by route, method and status, and keeps the
// in-flight gauge; it also names the request's span after its route. Wrap
// the router (an http.ServeMux) directly, so the route pattern is known.
func HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		httpInFlight.Inc()
		defer httpInFlight.Dec()
		info := &reqInfo{path: r.URL.Path}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		method := r.Method
		defer func() {
			route := info.procedure
			if route == "" {
				route = r.Pattern
			}
			if route == "" {
				route = "unmatched"
			}
			switch method {
			case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
			default:
				method = "other"
			}
			httpRequests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
			httpDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			name := route
			if !strings.HasPrefix(route, method+" ") { // a pattern like "POST /webhooks/stripe" names it already
				name = method + " " + route
			}
			trace.SpanFromContext(r.Context()).SetName(name)
		}()
		next.ServeHTTP(rec, r)
	})
}

// RPCInterceptor counts every RPC by procedure, protocol and code and times
// it. Put it first (outermost), so it sees the code the caller gets.
func RPCInterceptor() connect.Interceptor { return rpcInterceptor{} }

// ObserveRPC records one RPC answered without its Connect handler (an
// answer served from the local cache) as RPCInterceptor would; protocol is
// the caller's (connect; a REST route is told apart by its path). Call the
// result with the outcome.
func ObserveRPC(ctx context.Context, procedure, protocol string) func(error) {
	return rpcInterceptor{}.observe(ctx, procedure, protocol)
}

type rpcInterceptor struct{}

func (rpcInterceptor) observe(ctx context.Context, procedure, peerProtocol string) func(error) {
	protocol := peerProtocol
	if info, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		info.procedure = procedure
		if info.path != procedure {
			protocol = "rest" // a google.api.http route transcoded onto the procedure
		}
	}
	start := time.Now()
	g := rpcInFlight.WithLabelValues(procedure)
	g.Inc()
	return func(err error) {
		g.Dec()
		code := "ok"
		if err != nil {
			code = connect.CodeOf(err).String()
		}
		rpcRequests.WithLabelValues(procedure, protocol, code).Inc()
		rpcDuration.WithLabelValues(procedure, protocol).Observe(time.Since(start).Seconds())
	}
}

func (i rpcInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		done := i.observe(ctx, req.Spec().Procedure, req.Peer().Protocol)
		res, err := next(ctx, req)
		done(err)
		return res, err
	}
}

func (rpcInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i rpcInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		done := i.observe(ctx, conn.Spec().Procedure, conn.Peer().Protocol)
		err := next(ctx, conn)
		done(err)
		return err
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush and Unwrap keep streaming and http.ResponseController working.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
