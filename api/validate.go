package api

import (
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"connectrpc.com/validate"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The field rules: plain rules on one request field (required, ranges,
// lengths, page sizes, ids above zero, values from a list) are written in
// the schema as protovalidate options ((buf.validate.field) in
// proto/shop/*/v1) and enforced by validationInterceptor on every protocol,
// REST included, after the text rule has trimmed the strings. Every broken
// rule is answered at once (see invalidFields). What a single field's schema
// cannot say stays in Go: rules across fields, rules that need stored data
// or domain knowledge (addresses, currencies, money bounds), and the text
// rule of text.go.

// validationInterceptor checks each request against its schema rules. It
// fails when a rule of one of the services' requests does not compile, so
// a broken rule stops the server at start instead of refusing every call.
func validationInterceptor(services []string) (connect.Interceptor, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("protovalidate: %w", err)
	}
	for _, name := range services {
		sd, err := serviceDescriptor(name)
		if err != nil {
			return nil, err
		}
		for i := range sd.Methods().Len() {
			in := sd.Methods().Get(i).Input()
			mt, err := protoregistry.GlobalTypes.FindMessageByName(in.FullName())
			if err != nil {
				return nil, fmt.Errorf("request %s: %w", in.FullName(), err)
			}
			// An empty request may break rules (a required field); only an
			// error other than a ValidationError means a broken rule.
			var ve *protovalidate.ValidationError
			if err := v.Validate(mt.New().Interface()); err != nil && !errors.As(err, &ve) {
				return nil, fmt.Errorf("validation rules of %s: %w", in.FullName(), err)
			}
		}
	}
	// errorInterceptor answers the violations in the API's own error shape.
	return validate.NewInterceptor(validate.WithValidator(v), validate.WithoutErrorDetails()), nil
}

// fieldViolation is one bad field and why.
type fieldViolation struct {
	field, reason string
}

// schemaViolations lists the rules a request broke, each naming its field
// by proto path ("limit", "items[0].quantity", "attributes[\"colour\"]").
// protovalidate's messages speak of "value" ("value must be greater than
// 0"); the field's name takes its place.
func schemaViolations(ve *protovalidate.ValidationError) []fieldViolation {
	out := make([]fieldViolation, 0, len(ve.Violations))
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		reason := v.Proto.GetMessage()
		if reason == "" {
			reason = "breaks rule " + v.Proto.GetRuleId()
		}
		if field != "" {
			reason = strings.TrimPrefix(reason, "value ")
		}
		out = append(out, fieldViolation{field: field, reason: reason})
	}
	return out
}
