// Package failure tells permanent errors (retrying cannot change the answer)
// from transient ones, so retries are spent only where they can help.
package failure

import (
	"context"
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"
)

// TypeInvalidData is the Temporal error type of a permanent data error:
// PostgreSQL refused a value (SQLSTATE class 22) or a constraint (class 23
// but for unique and exclusion conflicts).
const TypeInvalidData = "InvalidData"

// Permanent reports whether err is a data or integrity error from
// PostgreSQL: the same statement with the same values fails again.
// Connection trouble, timeouts, serialization failures and deadlocks are
// transient, and so are unique and exclusion violations: those come from a
// concurrent writer (an overlapping retry, say), and a retry sees its row.
func Permanent(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case pgerrcode.UniqueViolation, pgerrcode.ExclusionViolation:
		return false
	}
	return pgerrcode.IsDataException(pe.Code) || pgerrcode.IsIntegrityConstraintViolation(pe.Code)
}

// ForActivity prepares an activity's error for Temporal: a permanent error
// becomes a non-retryable application error of TypeInvalidData; errors the
// activity classified itself, cancellations and transient errors pass as
// they are (retried within the caller's bounded retry policy).
func ForActivity(err error) error {
	var ae *temporal.ApplicationError
	switch {
	case err == nil, errors.As(err, &ae), errors.Is(err, context.Canceled):
		return err
	case Permanent(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeInvalidData, err)
	}
	return err
}

// StripeMessage is what people read of a failed Stripe step in a workflow:
// the activity's own message, without the activity wrapping (worker
// identity, event ids).
func StripeMessage(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "Stripe did not answer in time"
	}
	return err.Error()
}
