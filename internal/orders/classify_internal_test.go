package orders

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Only the refusals of a coupon or of pricing become field errors; what the
// database or the context answers passes unchanged, to be retried.
func TestOnlyRefusalsBecomeFieldErrors(t *testing.T) {
	infra := map[string]error{
		"deadline":               fmt.Errorf("coupons: load X: %w", context.DeadlineExceeded),
		"cancelled":              context.Canceled,
		"closed connection":      errors.New("conn closed"),
		"serialization (40001)":  &pgconn.PgError{Code: pgerrcode.SerializationFailure},
		"admin shutdown (57P01)": &pgconn.PgError{Code: pgerrcode.AdminShutdown},
		"plain pricing error":    errors.New("pricing: tax rate 2000000 ppm out of range"),
		"line out of range":      &pricing.LineError{Index: 0, SKU: "X", Err: errors.New("pricing: unit price -1 out of range")},
	}
	items := []wanted{{pos: 3}}
	for name, err := range infra {
		assert.Equal(t, err, couponErr(err), name)
		assert.Equal(t, err, quoteErr(err, items), name)
	}

	field := func(err error) string {
		var fe *validation.Error
		if !errors.As(err, &fe) {
			return ""
		}
		return fe.Field
	}
	assert.Equal(t, "coupon_code", field(couponErr(fmt.Errorf("coupon %q: %w", "X", coupons.ErrUnknown))))
	assert.Equal(t, "coupon_code", field(couponErr(fmt.Errorf("%w: coupon X expired", coupons.ErrNotApplicable))))
	assert.Equal(t, "coupon_code", field(quoteErr(fmt.Errorf("%w: minimum", pricing.ErrCouponNotApplicable), items)))
	assert.Equal(t, "shipping_method", field(quoteErr(fmt.Errorf("%w: EUR", pricing.ErrShippingCurrency), items)))
	assert.Equal(t, "items", field(quoteErr(fmt.Errorf("total: %w", pricing.ErrTooLarge), items)))
	assert.Equal(t, "items[3]", field(quoteErr(&pricing.LineError{Index: 0, Err: fmt.Errorf("line: %w", pricing.ErrTooLarge)}, items)))
}
