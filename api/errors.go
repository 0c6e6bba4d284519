package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/telemetry"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workflows/checkout"
)

// errorInterceptor is the one place that turns domain errors into Connect
// codes (and so HTTP statuses). Anything unexpected is logged in full and
// answered without internals.
func errorInterceptor(log *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			if err == nil {
				return res, nil
			}
			return nil, toConnect(ctx, log, req.Spec().Procedure, err)
		}
	}
}

func toConnect(ctx context.Context, log *slog.Logger, procedure string, err error) error {
	var ce *connect.Error
	var ve *protovalidate.ValidationError
	var fe *validation.Error
	var locked *identity.LockedError
	switch {
	case errors.As(err, &ve):
		// The schema's rules (validationInterceptor's connect.Error wraps it).
		return invalidFields(schemaViolations(ve))
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &fe):
		return invalidArgument(fe.Field, fe.Reason)
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, identity.ErrNotFound), errors.Is(err, orders.ErrNotFound),
		errors.Is(err, images.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, inventory.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, inventory.ErrInsufficientStock), errors.Is(err, inventory.ErrDefaultLocation):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, inventory.ErrCodeTaken):
		return connect.NewError(connect.CodeAlreadyExists, inventory.ErrCodeTaken)
	case errors.Is(err, fulfilment.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, fulfilment.ErrWrongState), errors.Is(err, fulfilment.ErrNoStock):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, returns.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, returns.ErrWrongState), errors.Is(err, returns.ErrNotReturnable):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, fulfilment.ErrTrackingTaken):
		return connect.NewError(connect.CodeAlreadyExists, errors.New("tracking_number: "+fulfilment.ErrTrackingTaken.Error()))
	case errors.Is(err, identity.ErrInvalidCredentials):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, identity.ErrTokenReused):
		return connect.NewError(connect.CodeUnauthenticated, identity.ErrTokenReused)
	case errors.Is(err, identity.ErrInvalidToken):
		return connect.NewError(connect.CodeUnauthenticated, identity.ErrInvalidToken)
	case errors.Is(err, catalog.ErrSKUTaken):
		return connect.NewError(connect.CodeAlreadyExists, catalog.ErrSKUTaken)
	case errors.Is(err, catalog.ErrInsufficientStock), errors.Is(err, catalog.ErrCategoryInUse):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, identity.ErrUsernameTaken), errors.Is(err, identity.ErrEmailTaken):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, identity.ErrLastAdmin):
		return connect.NewError(connect.CodeFailedPrecondition, identity.ErrLastAdmin)
	case errors.Is(err, orders.ErrOutOfStock), errors.Is(err, orders.ErrNotCancellable), errors.Is(err, orders.ErrNotRefundable),
		errors.Is(err, orders.ErrRefundNotOpen), errors.Is(err, orders.ErrWrongState):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, orders.ErrIdempotencyKeyReused):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, checkout.ErrUnavailable):
		log.WarnContext(ctx, "order workflows unreachable", "procedure", procedure, "error", err)
		ce := connect.NewError(connect.CodeUnavailable, checkout.ErrUnavailable)
		ce.Meta().Set("Retry-After", "5")
		return ce
	case errors.Is(err, images.ErrTooLarge):
		// The client's mistake, said as such (not an internal error).
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, images.ErrUnavailable):
		log.WarnContext(ctx, "images unavailable", "procedure", procedure, "error", err)
		ce := connect.NewError(connect.CodeUnavailable, images.ErrUnavailable)
		ce.Meta().Set("Retry-After", "5")
		return ce
	case errors.Is(err, checkout.ErrClosed):
		return connect.NewError(connect.CodeFailedPrecondition, errors.New("the order has moved on; reload it"))
	case errors.As(err, &locked):
		return tooManyRequests(locked.RetryAfter.Seconds())
	case errors.Is(err, cart.ErrNotFound), errors.Is(err, coupons.ErrUnknown):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, coupons.ErrCodeTaken):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, coupons.ErrNotApplicable), errors.Is(err, pricing.ErrCouponNotApplicable):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, identity.ErrLoginUnavailable):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("request timed out"))
	}
	if ce := fromPostgres(ctx, log, procedure, err); ce != nil {
		return ce
	}
	if db.Unavailable(err) {
		log.ErrorContext(ctx, "database unreachable", "procedure", procedure, "error", err)
		ce := connect.NewError(connect.CodeUnavailable, errors.New("the shop's database is unreachable; try again shortly"))
		ce.Meta().Set("Retry-After", "5")
		return ce
	}
	log.ErrorContext(ctx, "request failed", "procedure", procedure, "error", err)
	return connect.NewError(connect.CodeInternal,
		errors.New("internal error; quote request id "+telemetry.RequestID(ctx)+" when reporting it"))
}

// fromPostgres is a safety net for input the edge rules and the domain let
// through and PostgreSQL refused: a data exception (SQLSTATE class 22: bad
// encoding, a number out of range, a string too long) is the caller's bad
// value, an integrity violation (class 23) a conflict with stored data. Each
// is logged in full, since it means a check is missing, and answered without
// internals.
func fromPostgres(ctx context.Context, log *slog.Logger, procedure string, err error) *connect.Error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	id := telemetry.RequestID(ctx)
	switch {
	case pe.Code == pgerrcode.UniqueViolation:
		log.WarnContext(ctx, "database refused a duplicate; a check is missing", "procedure", procedure,
			"constraint", pe.ConstraintName, "error", err)
		return connect.NewError(connect.CodeAlreadyExists,
			errors.New("the request repeats something that already exists; quote request id "+id+" when reporting it"))
	case pgerrcode.IsTransactionRollback(pe.Code):
		// A serialization failure or deadlock: the same request can succeed.
		return connect.NewError(connect.CodeAborted, errors.New("the request met a concurrent change; try again"))
	case pgerrcode.IsDataException(pe.Code):
		log.WarnContext(ctx, "database refused a value; a validation is missing", "procedure", procedure,
			"sqlstate", pe.Code, "error", err)
		return connect.NewError(connect.CodeInvalidArgument,
			errors.New("the request holds a value that cannot be stored; quote request id "+id+" when reporting it"))
	case pgerrcode.IsIntegrityConstraintViolation(pe.Code):
		log.WarnContext(ctx, "database refused a change; a check is missing", "procedure", procedure,
			"sqlstate", pe.Code, "constraint", pe.ConstraintName, "error", err)
		return connect.NewError(connect.CodeFailedPrecondition,
			errors.New("the request conflicts with stored data; quote request id "+id+" when reporting it"))
	}
	return nil
}

// invalidArgument names the bad field in the message and in a BadRequest detail.
func invalidArgument(field, reason string) *connect.Error {
	return invalidFields([]fieldViolation{{field: field, reason: reason}})
}

// invalidFields answers InvalidArgument naming every bad field: the message
// is "field: reason", several joined by "; ", and one google.rpc.BadRequest
// detail holds a field violation for each.
func invalidFields(bad []fieldViolation) *connect.Error {
	parts := make([]string, 0, len(bad))
	details := &errdetails.BadRequest{}
	for _, b := range bad {
		if b.field == "" {
			parts = append(parts, b.reason)
		} else {
			parts = append(parts, b.field+": "+b.reason)
		}
		details.FieldViolations = append(details.FieldViolations,
			&errdetails.BadRequest_FieldViolation{Field: b.field, Description: b.reason})
	}
	ce := connect.NewError(connect.CodeInvalidArgument, errors.New(strings.Join(parts, "; ")))
	if d, err := connect.NewErrorDetail(details); err == nil {
		ce.AddDetail(d)
	}
	return ce
}

// The shape of errors. Every error a REST route answers, whoever raises it
// (a handler through the transcoder, the REST guard, the HTTP layer, an
// unknown route or method), is the JSON of google.rpc.Status that the
// transcoder writes for an RPC's error:
//
//	{"code": 3, "message": "limit: must be between 1 and 100", "details": [...]}
//
// code is the Connect (gRPC) code as a number, details is always present
// (empty when there are none). Calls on an RPC's own path (Connect, gRPC,
// gRPC-Web) answer in their protocol's format instead, which their clients
// read: for Connect, {"code": "invalid_argument", "message": ...}.

// restStatus is the HTTP status of a Connect code, as the transcoder maps it.
var restStatus = map[connect.Code]int{
	connect.CodeCanceled: 499, connect.CodeUnknown: http.StatusInternalServerError,
	connect.CodeInvalidArgument: http.StatusBadRequest, connect.CodeDeadlineExceeded: http.StatusGatewayTimeout,
	connect.CodeNotFound: http.StatusNotFound, connect.CodeAlreadyExists: http.StatusConflict,
	connect.CodePermissionDenied: http.StatusForbidden, connect.CodeResourceExhausted: http.StatusTooManyRequests,
	connect.CodeFailedPrecondition: http.StatusBadRequest, connect.CodeAborted: http.StatusConflict,
	connect.CodeOutOfRange: http.StatusBadRequest, connect.CodeUnimplemented: http.StatusNotImplemented,
	connect.CodeInternal: http.StatusInternalServerError, connect.CodeUnavailable: http.StatusServiceUnavailable,
	connect.CodeDataLoss: http.StatusInternalServerError, connect.CodeUnauthenticated: http.StatusUnauthorized,
}

// statusCode is the Connect code of an error answered with an HTTP status
// that no RPC chose (the transcoder's own refusals): 405 is Unimplemented,
// as REST gateways answer it.
func statusCode(status int) connect.Code {
	switch status {
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound:
		return connect.CodeNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return connect.CodeUnimplemented
	case http.StatusConflict:
		return connect.CodeAborted
	case http.StatusTooManyRequests:
		return connect.CodeResourceExhausted
	case 499:
		return connect.CodeCanceled
	case http.StatusServiceUnavailable:
		return connect.CodeUnavailable
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return connect.CodeDeadlineExceeded
	}
	if status >= 500 {
		return connect.CodeInternal
	}
	return connect.CodeInvalidArgument
}

// writeRESTError answers ce in the REST error shape with the given HTTP
// status, its metadata (Retry-After) as headers.
func writeRESTError(w http.ResponseWriter, status int, ce *connect.Error) {
	for k, v := range ce.Meta() {
		w.Header()[k] = v
	}
	st := &rpcstatus.Status{Code: int32(ce.Code()), Message: ce.Message()}
	for _, d := range ce.Details() {
		st.Details = append(st.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
	}
	b, err := jsonMarshal.Marshal(st)
	if err != nil { // a detail of a type this binary does not know
		st.Details = nil
		b, _ = jsonMarshal.Marshal(st)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// rpcPath says whether path names an RPC ("/pkg.Service/Method"), the path
// that Connect, gRPC and gRPC-Web calls use; REST routes never do.
func rpcPath(path string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ok && strings.Contains(service, ".") && method != "" && !strings.Contains(method, "/")
}

// writeHTTPError answers an error that the HTTP layer raises before any
// handler runs (a body over the limit, a panic): on an RPC's path in the
// Connect protocol's format, elsewhere in the REST error shape.
func writeHTTPError(w http.ResponseWriter, path string, status int, code connect.Code, message string) {
	if rpcPath(path) {
		writeJSON(w, status, map[string]any{"code": code.String(), "message": message})
		return
	}
	writeRESTError(w, status, connect.NewError(code, errors.New(message)))
}
