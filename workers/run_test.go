package workers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/shopkit/shop/workers"
)

// stoppingWorker reports when it is told to stop, then finishes its
// in-flight work only when released (as WorkerStopTimeout lets it).
type stoppingWorker struct {
	worker.Worker // the methods Run does not call
	name          string
	failStart     error
	stopping      chan<- string
	release       <-chan struct{}
}

func (w *stoppingWorker) Run(stop <-chan any) error {
	if w.failStart != nil {
		return w.failStart
	}
	<-stop
	w.stopping <- w.name
	<-w.release
	return nil
}

func runAsync(ctx context.Context, ws ...worker.Worker) <-chan error {
	done := make(chan error, 1)
	go func() { done <- workers.Run(ctx, ws...) }()
	return done
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		require.FailNow(t, "timed out waiting for "+what)
		panic("unreachable")
	}
}

// TestRunStopsWorkersAtOnce: on shutdown both workers drain together, so
// the pod's grace period needs one StopTimeout, not the sum.
func TestRunStopsWorkersAtOnce(t *testing.T) {
	stopping, release := make(chan string, 2), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(ctx,
		&stoppingWorker{name: "main", stopping: stopping, release: release},
		&stoppingWorker{name: "retrain", stopping: stopping, release: release})
	cancel()
	// Both are stopping while neither has finished.
	got := []string{receive(t, stopping, "a worker to stop"), receive(t, stopping, "the other worker to stop")}
	assert.ElementsMatch(t, []string{"main", "retrain"}, got)
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before the workers finished", err)
	default:
	}
	close(release)
	assert.NoError(t, receive(t, done, "Run to return"))
}

// TestRunStopsTheOthersWhenOneFails: a worker that cannot start ends the
// process (to be restarted) instead of leaving it half working.
func TestRunStopsTheOthersWhenOneFails(t *testing.T) {
	stopping, release := make(chan string, 1), make(chan struct{})
	failed := errors.New("namespace not found")
	done := runAsync(context.Background(),
		&stoppingWorker{name: "main", stopping: stopping, release: release},
		&stoppingWorker{name: "retrain", failStart: failed})
	assert.Equal(t, "main", receive(t, stopping, "the healthy worker to stop"))
	close(release)
	assert.ErrorIs(t, receive(t, done, "Run to return"), failed)
}
