package orders

import (
	"context"
	"errors"
	"fmt"
)

// Errors of the order workflows (checkout, refunds), shared by their
// clients and mapped by the API.
var (
	// ErrClosed is answered to a signal or update for a checkout or refund
	// workflow that has already finished.
	ErrClosed = errors.New("the workflow has already finished")
	// ErrUnavailable means Temporal could not be reached to start or talk to
	// an order's workflow; the request may be retried (with its
	// Idempotency-Key).
	ErrUnavailable = errors.New("orders are temporarily unavailable; try again shortly")
)

// Unavailable reports a failure to reach an order's workflow (what failed:
// err) as ErrUnavailable, keeping the cause for the logs. nil and a
// cancelled caller pass through.
func Unavailable(what string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w (%s: %w)", ErrUnavailable, what, err)
}
