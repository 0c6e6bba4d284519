package failure

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/validation"
)

// Refusal names a business refusal: the Temporal error type an activity
// fails with, the domain sentinel a client answers for it, and the other
// sentinels (of the domains the activity calls) that mean the same.
type Refusal struct {
	Type string
	Err  error
	Also []error
}

// Refusals carries business refusals through Temporal and back: an
// activity's refusal becomes a non-retryable error of its type, and the
// client turns it back into the domain's sentinel for the API to map.
// Invalid is the type of bad input (a *validation.Error, its field kept).
type Refusals struct {
	Invalid string
	List    []Refusal
}

// Types lists the non-retryable error types, for retry policies.
func (rs Refusals) Types() []string {
	out := []string{rs.Invalid}
	for _, r := range rs.List {
		out = append(out, r.Type)
	}
	return out
}

// Activity prepares an activity's error: refusals become non-retryable
// errors of their type; anything else (a dropped connection, a timeout) is
// returned for the worker's classifier and retried.
func (rs Refusals) Activity(err error) error {
	if err == nil {
		return nil
	}
	var ve *validation.Error
	if errors.As(err, &ve) {
		return rs.InvalidError(err)
	}
	for _, r := range rs.List {
		for _, target := range append([]error{r.Err}, r.Also...) {
			if errors.Is(err, target) {
				return temporal.NewNonRetryableApplicationError(err.Error(), r.Type, nil)
			}
		}
	}
	return err
}

// InvalidError is a bad input as a non-retryable error that keeps the
// field's name.
func (rs Refusals) InvalidError(err error) error {
	var ve *validation.Error
	if errors.As(err, &ve) {
		return temporal.NewNonRetryableApplicationError(ve.Reason, rs.Invalid, nil, ve.Field)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), rs.Invalid, nil)
}

// Domain turns a workflow step's failure back into the domain error it
// stands for (a *validation.Error naming field when none is carried).
func (rs Refusals) Domain(err error, field string) error {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return err
	}
	if ae.Type() == rs.Invalid {
		var f string
		if ae.HasDetails() && ae.Details(&f) == nil && f != "" {
			field = f
		}
		return &validation.Error{Field: field, Reason: ae.Message()}
	}
	for _, r := range rs.List {
		if ae.Type() == r.Type {
			return fmt.Errorf("%w: %s", r.Err, ae.Message())
		}
	}
	return err
}
