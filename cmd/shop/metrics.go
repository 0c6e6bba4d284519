package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/shopkit/shop/internal/metrics"
)

// serveMetrics serves GET /metrics on addr, an internal address of its own,
// until ctx ends; a failure to listen is logged, not fatal.
func serveMetrics(ctx context.Context, log *slog.Logger, addr string) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	go func() {
		if err := serve(ctx, log.With("component", "metrics"), addr, mux, 2*time.Second); err != nil {
			log.Error("metrics not served", "addr", addr, "error", err)
		}
	}()
}

// pprofMux serves Go's profiles (net/http/pprof) under /debug/pprof/.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// servePprof serves the profiles on addr, an internal address of its own
// (never the public port: they reveal internals and a CPU profile costs
// CPU), until ctx ends; a failure to listen is logged, not fatal. The
// server's write timeout stays off: a CPU profile streams for its whole
// duration.
func servePprof(ctx context.Context, log *slog.Logger, addr string) {
	if addr == "" {
		return
	}
	go func() {
		if err := serve(ctx, log.With("component", "pprof"), addr, pprofMux(), 2*time.Second); err != nil {
			log.Error("pprof not served", "addr", addr, "error", err)
		}
	}()
}
