// Package validation is the one error type for "this input field is wrong",
// which the API answers with InvalidArgument (HTTP 400) naming the field.
package validation

import "fmt"

// Error says which input field is wrong and why.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// New returns an *Error for field.
func New(field, format string, args ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}
