package coupons_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

var now = time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)

func usd(a int64) money.Money { return money.Money{Amount: a, Currency: "USD"} }

func field(t *testing.T, err error) string {
	t.Helper()
	var ve *validation.Error
	require.ErrorAs(t, err, &ve)
	return ve.Field
}

func newUser(t *testing.T, pool *pgxpool.Pool, name string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO users (username, email, password_hash)
		VALUES ($1, $1 || '@example.com', 'x') RETURNING id`, name).Scan(&id))
	return id
}

// newOrder inserts a bare order for userID. The orders table is checkout's
// and still growing, so every required column is filled from its type.
func newOrder(t *testing.T, pool *pgxpool.Pool, userID int64) int64 {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT column_name, data_type, udt_name, coalesce(character_maximum_length, 1)
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'orders' AND is_nullable = 'NO' AND column_default IS NULL`)
	require.NoError(t, err)
	known := map[string]string{"id": "nextval('order_ids')", "user_id": "$1", "status": "'awaiting_payment'",
		"currency": "'USD'", "shipping_country": "'US'", "shipping_method": "'standard'"}
	var cols, vals []string
	for rows.Next() {
		var name, typ, udt string
		var length int
		require.NoError(t, rows.Scan(&name, &typ, &udt, &length))
		v, ok := known[name]
		if !ok {
			switch typ {
			case "bigint", "integer", "smallint", "numeric":
				v = "0"
			case "boolean":
				v = "false"
			case "character":
				v = fmt.Sprintf("repeat('X', %d)", length)
			case "USER-DEFINED":
				v = fmt.Sprintf("(enum_range(NULL::%s))[1]", udt)
			case "jsonb", "json":
				v = "'{}'"
			case "timestamp with time zone":
				v = "now()"
			default:
				v = "''"
			}
		}
		cols, vals = append(cols, name), append(vals, v)
	}
	require.NoError(t, rows.Err())
	var id int64
	require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`INSERT INTO orders (%s) VALUES (%s) RETURNING id`,
		strings.Join(cols, ", "), strings.Join(vals, ", ")), userID).Scan(&id))
	return id
}

// redeem runs Redeem in a transaction of its own, as checkout does.
func redeem(ctx context.Context, pool *pgxpool.Pool, s *coupons.Store, code string, userID, orderID int64) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return s.Redeem(ctx, tx, code, userID, orderID, now) })
}

func release(ctx context.Context, pool *pgxpool.Pool, s *coupons.Store, orderID int64) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return s.Release(ctx, tx, orderID) })
}

func uses(t *testing.T, pool *pgxpool.Pool, code string) int32 {
	t.Helper()
	var n int32
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT uses FROM coupons WHERE code = $1`, code).Scan(&n))
	return n
}

func TestCreateAndList(t *testing.T) {
	ctx := context.Background()
	s := coupons.NewStore(dbtest.New(t))

	c, err := s.Create(ctx, coupons.Draft{Code: " spring15 ", Kind: "percent", PercentOff: "15"})
	require.NoError(t, err)
	assert.Equal(t, "SPRING15", c.Code)
	assert.Equal(t, int64(1500), c.PercentBP)
	assert.True(t, c.Active)
	assert.Equal(t, pricing.Coupon{Code: "SPRING15", Kind: "percent", PercentBP: 1500}, c.Pricing())

	c, err = s.Create(ctx, coupons.Draft{Code: "HALFTEN", PercentOff: "12.5", MinSubtotal: usd(5000),
		StartsAt: now, EndsAt: now.Add(48 * time.Hour), MaxUses: 10, MaxUsesPerUser: 1})
	require.NoError(t, err, "the kind follows from the amount given")
	assert.Equal(t, coupons.KindPercent, c.Kind)
	assert.Equal(t, int64(1250), c.PercentBP)
	assert.Equal(t, usd(5000), c.MinSubtotal)
	assert.True(t, c.StartsAt.Equal(now))
	assert.Equal(t, int32(10), c.MaxUses)
	assert.Equal(t, pricing.Coupon{Code: "HALFTEN", Kind: "percent", PercentBP: 1250, MinSubtotal: 5000, Currency: "USD"}, c.Pricing())

	c, err = s.Create(ctx, coupons.Draft{Code: "FIVE-OFF", Kind: "fixed", AmountOff: usd(500), MinSubtotal: money.Money{Amount: 2000}})
	require.NoError(t, err)
	assert.Equal(t, usd(500), c.AmountOff)
	assert.Equal(t, usd(2000), c.MinSubtotal, "the minimum takes the amount's currency")
	assert.Equal(t, pricing.Coupon{Code: "FIVE-OFF", Kind: "fixed", AmountOff: 500, Currency: "USD", MinSubtotal: 2000}, c.Pricing())

	_, err = s.Create(ctx, coupons.Draft{Code: "Spring15", PercentOff: "20"})
	assert.ErrorIs(t, err, coupons.ErrCodeTaken)

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)

	for _, bad := range []struct {
		field string
		draft coupons.Draft
	}{
		{"code", coupons.Draft{Code: "x", PercentOff: "10"}},
		{"code", coupons.Draft{Code: "NO SPACES", PercentOff: "10"}},
		{"kind", coupons.Draft{Code: "K1", Kind: "bogo"}},
		{"kind", coupons.Draft{Code: "K2"}},
		{"percent_off", coupons.Draft{Code: "P1", Kind: "percent", PercentOff: "0"}},
		{"percent_off", coupons.Draft{Code: "P2", PercentOff: "100.5"}},
		{"percent_off", coupons.Draft{Code: "P3", PercentOff: "12.345"}},
		{"percent_off", coupons.Draft{Code: "P4", PercentOff: "ten"}},
		{"amount_off", coupons.Draft{Code: "P5", PercentOff: "10", AmountOff: usd(100)}},
		{"amount_off", coupons.Draft{Code: "F1", Kind: "fixed", AmountOff: usd(0)}},
		{"amount_off.currency", coupons.Draft{Code: "F2", AmountOff: money.Money{Amount: 100}}},
		{"percent_off", coupons.Draft{Code: "F3", Kind: "fixed", AmountOff: usd(100), PercentOff: "5"}},
		{"min_subtotal", coupons.Draft{Code: "M1", PercentOff: "10", MinSubtotal: usd(-1)}},
		{"min_subtotal.currency", coupons.Draft{Code: "M2", PercentOff: "10", MinSubtotal: money.Money{Amount: 100}}},
		{"min_subtotal.currency", coupons.Draft{Code: "M3", AmountOff: usd(100), MinSubtotal: money.Money{Amount: 100, Currency: "EUR"}}},
		{"ends_at", coupons.Draft{Code: "W1", PercentOff: "10", StartsAt: now, EndsAt: now}},
		{"max_uses", coupons.Draft{Code: "U1", PercentOff: "10", MaxUses: -1}},
		{"max_uses_per_user", coupons.Draft{Code: "U2", PercentOff: "10", MaxUsesPerUser: -1}},
	} {
		_, err := s.Create(ctx, bad.draft)
		assert.Equal(t, bad.field, field(t, err), "%+v", bad.draft)
	}
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 3, "nothing invalid was written")
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := coupons.NewStore(pool)
	ann := newUser(t, pool, "ann")

	_, err := s.Check(ctx, pool, "NOPE", ann, now)
	assert.ErrorIs(t, err, coupons.ErrUnknown)

	_, err = s.Create(ctx, coupons.Draft{Code: "WINDOW", PercentOff: "10", StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour)})
	require.NoError(t, err)
	_, err = s.Check(ctx, pool, "window", ann, now)
	assert.ErrorIs(t, err, coupons.ErrNotApplicable)
	assert.Contains(t, err.Error(), "valid from 2030-06-15")
	pc, err := s.Check(ctx, pool, "window", ann, now.Add(90*time.Minute))
	require.NoError(t, err, "codes are case-insensitive")
	assert.Equal(t, int64(1000), pc.PercentBP)
	_, err = s.Check(ctx, pool, "WINDOW", ann, now.Add(2*time.Hour))
	assert.ErrorIs(t, err, coupons.ErrNotApplicable, "ends_at is exclusive")
	assert.Contains(t, err.Error(), "expired")

	_, err = s.Create(ctx, coupons.Draft{Code: "OFF", PercentOff: "10"})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE coupons SET active = false WHERE code = 'OFF'`)
	require.NoError(t, err)
	_, err = s.Check(ctx, pool, "OFF", ann, now)
	assert.ErrorIs(t, err, coupons.ErrUnknown, "a deactivated coupon is unknown to shoppers")

	// Minimum subtotal and currency are pricing's to judge, with the terms Check returns.
	_, err = s.Create(ctx, coupons.Draft{Code: "BIGSPEND", AmountOff: usd(1000), MinSubtotal: usd(10000)})
	require.NoError(t, err)
	pc, err = s.Check(ctx, pool, "BIGSPEND", ann, now)
	require.NoError(t, err)
	in := pricing.Input{Currency: "USD", Coupon: &pc, Shipping: pricing.ShippingMethod{Code: "s", Price: usd(0)},
		Lines: []pricing.Line{{SKU: "A", Quantity: 1, UnitPrice: 9999}}}
	_, err = pricing.Compute(in)
	assert.ErrorIs(t, err, pricing.ErrCouponNotApplicable)
	in.Lines[0].UnitPrice = 10000
	q, err := pricing.Compute(in)
	require.NoError(t, err)
	assert.Equal(t, int64(1000), q.Discount)
}

func TestRedeemLimitsAndRelease(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := coupons.NewStore(pool)
	ann, bob := newUser(t, pool, "ann"), newUser(t, pool, "bob")

	_, err := s.Create(ctx, coupons.Draft{Code: "ONCE", PercentOff: "10", MaxUses: 2, MaxUsesPerUser: 1})
	require.NoError(t, err)

	o1 := newOrder(t, pool, ann)
	require.NoError(t, redeem(ctx, pool, s, "once", ann, o1))
	require.NoError(t, redeem(ctx, pool, s, "ONCE", ann, o1), "redeeming the same order again is a no-op")
	assert.Equal(t, int32(1), uses(t, pool, "ONCE"))

	_, err = s.Check(ctx, pool, "ONCE", ann, now)
	assert.ErrorIs(t, err, coupons.ErrNotApplicable)
	assert.Contains(t, err.Error(), "already used coupon ONCE once")
	err = redeem(ctx, pool, s, "ONCE", ann, newOrder(t, pool, ann))
	assert.ErrorIs(t, err, coupons.ErrNotApplicable, "per-user limit")

	_, err = s.Check(ctx, pool, "ONCE", bob, now)
	require.NoError(t, err)
	require.NoError(t, redeem(ctx, pool, s, "ONCE", bob, newOrder(t, pool, bob)))
	assert.Equal(t, int32(2), uses(t, pool, "ONCE"))

	carl := newUser(t, pool, "carl")
	_, err = s.Check(ctx, pool, "ONCE", carl, now)
	assert.ErrorIs(t, err, coupons.ErrNotApplicable)
	assert.Contains(t, err.Error(), "used up")
	assert.ErrorIs(t, redeem(ctx, pool, s, "ONCE", carl, newOrder(t, pool, carl)), coupons.ErrNotApplicable)
	assert.ErrorIs(t, redeem(ctx, pool, s, "NOPE", carl, newOrder(t, pool, carl)), coupons.ErrUnknown)

	// Ann's order is cancelled: the use comes back, to her and in total.
	require.NoError(t, release(ctx, pool, s, o1))
	assert.Equal(t, int32(1), uses(t, pool, "ONCE"))
	require.NoError(t, release(ctx, pool, s, o1), "releasing twice is a no-op")
	require.NoError(t, release(ctx, pool, s, newOrder(t, pool, ann)), "an order without a coupon has nothing to release")
	assert.Equal(t, int32(1), uses(t, pool, "ONCE"))
	_, err = s.Check(ctx, pool, "ONCE", ann, now)
	require.NoError(t, err)
	require.NoError(t, redeem(ctx, pool, s, "ONCE", carl, newOrder(t, pool, carl)))
	assert.Equal(t, int32(2), uses(t, pool, "ONCE"))
}

func TestRefusedRedeemLeavesTheTransactionUntouched(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := coupons.NewStore(pool)
	ann := newUser(t, pool, "ann")
	_, err := s.Create(ctx, coupons.Draft{Code: "ONCE", PercentOff: "10", MaxUsesPerUser: 1})
	require.NoError(t, err)
	require.NoError(t, redeem(ctx, pool, s, "ONCE", ann, newOrder(t, pool, ann)))

	// The caller ignores the refusal and commits; nothing of the attempt stays.
	order := newOrder(t, pool, ann)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		err := s.Redeem(ctx, tx, "ONCE", ann, order, now)
		assert.ErrorIs(t, err, coupons.ErrNotApplicable)
		_, err = tx.Exec(ctx, `SELECT 1`)
		return err
	}))
	assert.Equal(t, int32(1), uses(t, pool, "ONCE"))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM coupon_redemptions`).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestConcurrentRedeemsNeverExceedMaxUses(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := coupons.NewStore(pool)
	_, err := s.Create(ctx, coupons.Draft{Code: "FIRST5", AmountOff: usd(500), MaxUses: 5})
	require.NoError(t, err)
	const n = 20
	type attempt struct{ user, order int64 }
	attempts := make([]attempt, n)
	for i := range attempts {
		u := newUser(t, pool, fmt.Sprintf("user%02d", i))
		attempts[i] = attempt{u, newOrder(t, pool, u)}
	}

	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range attempts {
		wg.Go(func() {
			<-start
			err := redeem(ctx, pool, s, "FIRST5", a.user, a.order)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, coupons.ErrNotApplicable):
				refused.Add(1)
			default:
				t.Errorf("redeem: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(5), ok.Load())
	assert.Equal(t, int32(n-5), refused.Load())
	assert.Equal(t, int32(5), uses(t, pool, "FIRST5"))
	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM coupon_redemptions WHERE coupon_code = 'FIRST5'`).Scan(&rows))
	assert.Equal(t, 5, rows)
}

func TestConcurrentRedeemsOfOneShopperRespectThePerUserLimit(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := coupons.NewStore(pool)
	ann := newUser(t, pool, "ann")
	_, err := s.Create(ctx, coupons.Draft{Code: "TWICE", PercentOff: "5", MaxUsesPerUser: 2})
	require.NoError(t, err)
	orders := make([]int64, 10)
	for i := range orders {
		orders[i] = newOrder(t, pool, ann)
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for _, o := range orders {
		wg.Go(func() {
			if redeem(ctx, pool, s, "TWICE", ann, o) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(2), ok.Load())
	assert.Equal(t, int32(2), uses(t, pool, "TWICE"))
}
