package main

import (
	"context"
	"log/slog"
	"net/http"
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
