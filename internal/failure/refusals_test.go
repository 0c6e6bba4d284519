package failure_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/validation"
)

var (
	errWrong = errors.New("wrong state")
	errOther = errors.New("the other domain's wrong state")
)

var refusals = failure.Refusals{Invalid: "Invalid", List: []failure.Refusal{{Type: "WrongState", Err: errWrong, Also: []error{errOther}}}}

// A refusal crosses Temporal as a non-retryable error of its type and
// comes back as the domain's sentinel; bad input keeps its field; other
// errors stay retryable.
func TestRefusalsRoundTrip(t *testing.T) {
	var ae *temporal.ApplicationError
	err := refusals.Activity(fmt.Errorf("step: %w", errOther))
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.NonRetryable())
	assert.Equal(t, "WrongState", ae.Type())
	back := refusals.Domain(err, "thing")
	assert.ErrorIs(t, back, errWrong)
	assert.Contains(t, back.Error(), "step: the other domain's wrong state")

	err = refusals.Activity(validation.New("tracking_number", "is required"))
	var ve *validation.Error
	require.ErrorAs(t, refusals.Domain(err, "thing"), &ve)
	assert.Equal(t, validation.Error{Field: "tracking_number", Reason: "is required"}, *ve)
	require.ErrorAs(t, refusals.Domain(temporal.NewApplicationError("refused", "Invalid"), "thing"), &ve)
	assert.Equal(t, "thing", ve.Field, "a refusal without a field names the caller's")

	dropped := errors.New("connection reset")
	assert.Equal(t, dropped, refusals.Activity(dropped), "not a refusal: retried")
	assert.Equal(t, []string{"Invalid", "WrongState"}, refusals.Types())
}
