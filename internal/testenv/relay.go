package testenv

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/shopkit/shop/internal/outbox"
)

// RunRelay runs r, as `shop worker` does, until the test ends or stop is
// called (stop waits until the relay has returned; calling it twice is fine).
func RunRelay(t testing.TB, r *outbox.Relay) (stop func()) {
	t.Helper()
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return stop
}
