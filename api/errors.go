package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/pricing"
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
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, identity.ErrNotFound), errors.Is(err, orders.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
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
