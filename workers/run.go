package workers

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/worker"
)

// StopTimeout is how long a worker lets its in-flight activities finish on
// shutdown (a deploy) before they are handed to another worker. The Helm
// chart's grace period for the worker pods is derived from it.
const StopTimeout = 30 * time.Second

// Run runs the workers until ctx ends or one of them fails, then stops them
// all at once: a shutdown takes one StopTimeout, not one per worker. It
// returns the workers' errors (nil after a plain shutdown).
func Run(ctx context.Context, ws ...worker.Worker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan any)
	go func() { <-ctx.Done(); close(stop) }()
	errs := make(chan error, len(ws))
	for _, w := range ws {
		go func() {
			err := w.Run(stop)
			cancel() // one worker failed (or all stop): stop the others too
			errs <- err
		}()
	}
	var err error
	for range ws {
		err = errors.Join(err, <-errs)
	}
	return err
}
