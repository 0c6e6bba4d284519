package api

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The text rule: every string in every request, whatever the protocol
// (Connect, gRPC, gRPC-Web, REST body, path or query), is checked before a
// handler sees it:
//   - it must be valid UTF-8;
//   - surrounding white space (line ends and tabs included) is trimmed in
//     place, except in secrets (passwords, tokens), which are passed on
//     exactly as given;
//   - what is left must not hold control characters (Unicode Cc, NUL
//     included); only multi-line text fields (see multiLineFields) may hold
//     line feeds and tabs, and their CR LF and lone CR line ends become LF;
//   - it must not be longer than maxTextChars characters, or maxLongTextChars
//     in multi-line text and search text fields.
//
// A string that breaks the rule is answered InvalidArgument naming the field
// by its proto path, e.g. "items[0].note" or "attributes[\"colour\"]".
const (
	maxTextChars     = 1_000
	maxLongTextChars = 20_000
)

// multiLineFields are the request fields holding free text that may run over
// several lines: descriptions, reasons, notes and postal addresses.
var multiLineFields = map[protoreflect.FullName]bool{
	"shop.catalog.v1.CreateProductRequest.description":     true,
	"shop.catalog.v1.UpdateProductRequest.description":     true,
	"shop.catalog.v1.CreateCategoryRequest.description":    true,
	"shop.catalog.v1.UpdateCategoryRequest.description":    true,
	"shop.catalog.v1.AdjustStockRequest.reason":            true,
	"shop.inventory.v1.CreateLocationRequest.address":      true,
	"shop.inventory.v1.UpdateLocationRequest.address":      true,
	"shop.inventory.v1.AdjustLocationStockRequest.reason":  true,
	"shop.inventory.v1.TransferStockRequest.reason":        true,
	"shop.order.v1.CreateOrderRequest.shipping_address":    true,
	"shop.order.v1.CreateOrderRequest.billing_address":     true,
	"shop.order.v1.CancelOrderRequest.reason":              true,
	"shop.order.v1.RefundOrderRequest.reason":              true,
	"shop.order.v1.ResolveRefundRequest.note":              true,
	"shop.fulfilment.v1.ReportShipmentProblemRequest.note": true,
	"shop.returns.v1.RequestReturnRequest.reason":          true,
	"shop.returns.v1.RequestReturnRequest.note":            true,
	"shop.returns.v1.RequestLine.reason":                   true,
	"shop.returns.v1.ApproveReturnRequest.note":            true,
	"shop.returns.v1.RefuseReturnRequest.note":             true,
	"shop.returns.v1.ReceiveReturnRequest.note":            true,
}

// searchTextFields hold search text, which the search itself cuts to the
// words it uses: they take up to maxLongTextChars on one line.
var searchTextFields = map[protoreflect.FullName]bool{
	"shop.catalog.v1.ListProductsRequest.search": true,
	"shop.catalog.v1.SearchProductsRequest.q":    true,
	"shop.catalog.v1.SuggestProductsRequest.q":   true,
}

type textKind int

const (
	singleLine textKind = iota
	multiLine
	secret
)

// textKindOf says which rule a string field follows. A field whose name
// mentions a password, token or secret is a secret, so one added later is
// never trimmed by mistake.
func textKindOf(fd protoreflect.FieldDescriptor) textKind {
	name := string(fd.Name())
	switch {
	case strings.Contains(name, "password"), strings.Contains(name, "token"), strings.Contains(name, "secret"):
		return secret
	case multiLineFields[fd.FullName()]:
		return multiLine
	}
	return singleLine
}

// textInterceptor applies the text rule to every request message.
func textInterceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if m, ok := req.Any().(interface{ ProtoReflect() protoreflect.Message }); ok {
				if err := cleanMessage(m.ProtoReflect(), ""); err != nil {
					return nil, err
				}
			}
			return next(ctx, req)
		}
	}
}

// cleanMessage applies the text rule to every string in m, nested messages,
// lists and maps included, in field order so the first bad field is named.
func cleanMessage(m protoreflect.Message, prefix string) error {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		path := string(fd.Name())
		if prefix != "" {
			path = prefix + "." + path
		}
		var err error
		switch {
		case fd.IsMap():
			err = cleanMap(fd, m.Mutable(fd).Map(), path)
		case fd.IsList():
			err = cleanList(fd, m.Mutable(fd).List(), path)
		case fd.Kind() == protoreflect.StringKind:
			var s string
			if s, err = cleanText(fd, m.Get(fd).String(), path); err == nil {
				m.Set(fd, protoreflect.ValueOfString(s))
			}
		case fd.Message() != nil:
			err = cleanMessage(m.Mutable(fd).Message(), path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func cleanList(fd protoreflect.FieldDescriptor, l protoreflect.List, path string) error {
	for i := range l.Len() {
		at := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case fd.Kind() == protoreflect.StringKind:
			s, err := cleanText(fd, l.Get(i).String(), at)
			if err != nil {
				return err
			}
			l.Set(i, protoreflect.ValueOfString(s))
		case fd.Message() != nil:
			if err := cleanMessage(l.Get(i).Message(), at); err != nil {
				return err
			}
		}
	}
	return nil
}

func cleanMap(fd protoreflect.FieldDescriptor, m protoreflect.Map, path string) error {
	keyFD, valFD := fd.MapKey(), fd.MapValue()
	type entry struct {
		key protoreflect.MapKey
		val protoreflect.Value
	}
	var entries []entry
	m.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, entry{k, v})
		return true
	})
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key.String(), b.key.String()) })
	for _, e := range entries {
		at := path + "[" + strconv.Quote(e.key.String()) + "]"
		key := e.key
		if keyFD.Kind() == protoreflect.StringKind {
			s, err := cleanText(keyFD, e.key.String(), at)
			if err != nil {
				return err
			}
			if s != e.key.String() {
				key = protoreflect.ValueOfString(s).MapKey()
				if m.Has(key) {
					return invalidArgument(at, "repeats key "+strconv.Quote(s)+" once trimmed")
				}
				m.Clear(e.key)
				m.Set(key, e.val)
			}
		}
		switch {
		case valFD.Kind() == protoreflect.StringKind:
			s, err := cleanText(valFD, e.val.String(), at)
			if err != nil {
				return err
			}
			m.Set(key, protoreflect.ValueOfString(s))
		case valFD.Message() != nil:
			if err := cleanMessage(m.Mutable(key).Message(), at); err != nil {
				return err
			}
		}
	}
	return nil
}

// invisible reports characters that only serve to make text look other than
// it is ("admin\u200b", a right-to-left override reversing a name): zero
// width space, byte order mark, line and paragraph separators, and the
// bidirectional embeddings, overrides and isolates. Joiners (U+200C, U+200D)
// and direction marks stay: scripts and emoji need them.
func invisible(r rune) bool {
	switch {
	case r == '\u200b', r == '\ufeff', r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// cleanText checks s against the text rule for fd and returns it trimmed
// (secrets as given), or an InvalidArgument error naming path.
func cleanText(fd protoreflect.FieldDescriptor, s, path string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidArgument(path, "must be valid UTF-8 text")
	}
	kind := textKindOf(fd)
	if kind == multiLine && strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if kind != secret {
		s = strings.TrimSpace(s)
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) && (kind != multiLine || (r != '\n' && r != '\t')) {
			return "", invalidArgument(path, "must not contain control characters")
		}
		if kind != secret && invisible(r) {
			return "", invalidArgument(path, "must not contain invisible or direction-overriding characters")
		}
	}
	limit := maxTextChars
	if kind == multiLine || searchTextFields[fd.FullName()] {
		limit = maxLongTextChars
	}
	if utf8.RuneCountInString(s) > limit {
		return "", invalidArgument(path, "must be at most "+strconv.Itoa(limit)+" characters")
	}
	return s, nil
}
