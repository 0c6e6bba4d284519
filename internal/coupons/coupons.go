// Package coupons keeps discount codes: their terms, their validity window
// and how often they have been used. What a coupon takes off an order is
// pricing's business; whether it may be used at all is decided here.
package coupons

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Errors the API maps to status codes.
var (
	// ErrUnknown means no active coupon has the code.
	ErrUnknown = errors.New("unknown coupon")
	// ErrNotApplicable means the coupon exists but may not be used now: it is
	// outside its window or used up. The wrapping error says which.
	ErrNotApplicable = errors.New("coupon cannot be used")
	// ErrCodeTaken means another coupon already has the code.
	ErrCodeTaken = errors.New("coupon code is already in use")
)

// Kinds of coupon (pricing's).
const (
	KindPercent = pricing.CouponPercent
	KindFixed   = pricing.CouponFixed
)

// Querier is a pool, a connection or a transaction, so that checkout can
// check a coupon inside its own transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Coupon is a stored coupon with its usage.
type Coupon struct {
	Code           string
	Kind           pricing.CouponKind
	PercentBP      int64       // basis points; percent coupons
	AmountOff      money.Money // fixed coupons
	MinSubtotal    money.Money // Amount 0: no minimum
	StartsAt       time.Time   // zero: valid from creation
	EndsAt         time.Time   // zero: never expires
	MaxUses        int32       // 0: unlimited
	MaxUsesPerUser int32       // 0: unlimited
	Uses           int32
	Active         bool
	CreatedAt      time.Time
}

// Pricing returns the terms pricing.Compute applies.
func (c Coupon) Pricing() pricing.Coupon {
	out := pricing.Coupon{Code: c.Code, Kind: c.Kind, PercentBP: c.PercentBP, MinSubtotal: c.MinSubtotal.Amount}
	switch {
	case c.Kind == KindFixed:
		out.AmountOff, out.Currency = c.AmountOff.Amount, c.AmountOff.Currency
	case c.MinSubtotal.Amount > 0:
		out.Currency = c.MinSubtotal.Currency
	}
	return out
}

// Draft is a new coupon as an admin describes it.
type Draft struct {
	Code string
	// Kind is "percent" or "fixed"; empty picks the one whose amount is given.
	Kind string
	// PercentOff is a decimal percentage with at most two decimals: "15", "12.5".
	PercentOff  string
	AmountOff   money.Money
	MinSubtotal money.Money
	StartsAt    time.Time
	EndsAt      time.Time
	MaxUses     int32
	// MaxUsesPerUser limits how many orders of one shopper may use the code.
	MaxUsesPerUser int32
}

var codeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{1,31}$`)

// NormalizeCode is how codes are compared: shoppers type them in any case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// validate normalises d and turns it into the stored form.
func (d Draft) validate() (Coupon, error) {
	c := Coupon{Code: NormalizeCode(d.Code), Kind: pricing.CouponKind(strings.ToLower(strings.TrimSpace(d.Kind))),
		StartsAt: d.StartsAt, EndsAt: d.EndsAt, MaxUses: d.MaxUses, MaxUsesPerUser: d.MaxUsesPerUser, Active: true}
	if !codeRE.MatchString(c.Code) {
		return c, validation.New("code", "must be 2-32 characters of A-Z, 0-9, '_' or '-'")
	}
	if c.Kind == "" {
		switch {
		case strings.TrimSpace(d.PercentOff) != "":
			c.Kind = KindPercent
		case d.AmountOff.Amount != 0:
			c.Kind = KindFixed
		}
	}
	switch c.Kind {
	case KindPercent:
		if d.AmountOff.Amount != 0 {
			return c, validation.New("amount_off", "must not be set on a percent coupon")
		}
		bp, err := money.ParseScaled(d.PercentOff, 2)
		if err != nil || bp < 1 || bp > 10000 {
			return c, validation.New("percent_off", "must be a percentage from 0.01 to 100 with at most 2 decimals, e.g. \"15\" or \"12.5\"")
		}
		c.PercentBP = bp
	case KindFixed:
		if strings.TrimSpace(d.PercentOff) != "" {
			return c, validation.New("percent_off", "must not be set on a fixed coupon")
		}
		if _, err := money.Exponent(d.AmountOff.Currency); err != nil {
			return c, validation.New("amount_off.currency", "%q is not a supported ISO 4217 currency", d.AmountOff.Currency)
		}
		if d.AmountOff.Amount <= 0 {
			return c, validation.New("amount_off", "must be more than zero")
		}
		c.AmountOff = d.AmountOff
	default:
		return c, validation.New("kind", `must be "percent" or "fixed"`)
	}
	if err := c.setMinSubtotal(d.MinSubtotal); err != nil {
		return c, err
	}
	if !c.StartsAt.IsZero() && !c.EndsAt.IsZero() && !c.EndsAt.After(c.StartsAt) {
		return c, validation.New("ends_at", "must be after starts_at")
	}
	if c.MaxUses < 0 {
		return c, validation.New("max_uses", "must not be negative (0 is unlimited)")
	}
	if c.MaxUsesPerUser < 0 {
		return c, validation.New("max_uses_per_user", "must not be negative (0 is unlimited)")
	}
	return c, nil
}

// setMinSubtotal checks the minimum against the one currency column the
// table has: a fixed coupon's minimum is in the currency of its amount.
func (c *Coupon) setMinSubtotal(m money.Money) error {
	if m.Amount < 0 {
		return validation.New("min_subtotal", "must not be negative")
	}
	if m.Amount == 0 {
		return nil
	}
	if m.Currency == "" && c.Kind == KindFixed {
		m.Currency = c.AmountOff.Currency
	}
	if _, err := money.Exponent(m.Currency); err != nil {
		return validation.New("min_subtotal.currency", "%q is not a supported ISO 4217 currency", m.Currency)
	}
	if c.Kind == KindFixed && m.Currency != c.AmountOff.Currency {
		return validation.New("min_subtotal.currency", "must be %s, the currency of amount_off", c.AmountOff.Currency)
	}
	c.MinSubtotal = m
	return nil
}

// Store keeps coupons in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `code, kind, coalesce(percent_bp, 0), coalesce(amount_off_minor, 0), coalesce(currency, ''),
	min_subtotal_minor, starts_at, ends_at, coalesce(max_uses, 0), coalesce(max_uses_per_user, 0), uses, active, created_at`

func scan(r pgx.Row) (Coupon, error) {
	var c Coupon
	var currency string
	var starts, ends *time.Time
	err := r.Scan(&c.Code, &c.Kind, &c.PercentBP, &c.AmountOff.Amount, &currency, &c.MinSubtotal.Amount,
		&starts, &ends, &c.MaxUses, &c.MaxUsesPerUser, &c.Uses, &c.Active, &c.CreatedAt)
	if c.Kind == KindFixed {
		c.AmountOff.Currency = currency
	}
	if c.MinSubtotal.Amount > 0 {
		c.MinSubtotal.Currency = currency
	}
	if starts != nil {
		c.StartsAt = *starts
	}
	if ends != nil {
		c.EndsAt = *ends
	}
	return c, err
}

// nullable stores the zero value as NULL.
func nullable[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// Create adds a coupon.
func (s *Store) Create(ctx context.Context, d Draft) (Coupon, error) {
	c, err := d.validate()
	if err != nil {
		return Coupon{}, err
	}
	currency := c.AmountOff.Currency
	if currency == "" {
		currency = c.MinSubtotal.Currency
	}
	var pct, amount *int64
	if c.Kind == KindPercent {
		pct = &c.PercentBP
	} else {
		amount = &c.AmountOff.Amount
	}
	var starts, ends *time.Time
	if !c.StartsAt.IsZero() {
		starts = &c.StartsAt
	}
	if !c.EndsAt.IsZero() {
		ends = &c.EndsAt
	}
	out, err := scan(s.pool.QueryRow(ctx, `
		INSERT INTO coupons (code, kind, percent_bp, amount_off_minor, currency, min_subtotal_minor,
			starts_at, ends_at, max_uses, max_uses_per_user)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+columns,
		c.Code, c.Kind, pct, amount, nullable(currency), c.MinSubtotal.Amount,
		starts, ends, nullable(c.MaxUses), nullable(c.MaxUsesPerUser)))
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation {
		return Coupon{}, fmt.Errorf("coupon %s: %w", c.Code, ErrCodeTaken)
	}
	if err != nil {
		return Coupon{}, fmt.Errorf("coupons: create: %w", err)
	}
	return out, nil
}

// List returns every coupon, newest first.
func (s *Store) List(ctx context.Context) ([]Coupon, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM coupons ORDER BY created_at DESC, code`)
	if err != nil {
		return nil, fmt.Errorf("coupons: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Coupon, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("coupons: list: %w", err)
	}
	return out, nil
}

// Check says whether userID may use code at now, and returns the terms to
// price with. It does not look at the cart: a minimum subtotal or a
// currency mismatch is reported by pricing.Compute.
func (s *Store) Check(ctx context.Context, q Querier, code string, userID int64, now time.Time) (pricing.Coupon, error) {
	c, err := usable(ctx, q, NormalizeCode(code), userID, now, false)
	if err != nil {
		return pricing.Coupon{}, err
	}
	return c.Pricing(), nil
}

// usable loads an active coupon and refuses it with a reason when it may
// not be used. lock holds the coupon row until the transaction ends.
func usable(ctx context.Context, q Querier, code string, userID int64, now time.Time, lock bool) (Coupon, error) {
	sql := `SELECT ` + columns + ` FROM coupons WHERE code = $1 AND active`
	if lock {
		sql += ` FOR UPDATE`
	}
	c, err := scan(q.QueryRow(ctx, sql, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("coupon %q: %w", code, ErrUnknown)
	}
	if err != nil {
		return c, fmt.Errorf("coupons: load %s: %w", code, err)
	}
	switch {
	case !c.StartsAt.IsZero() && now.Before(c.StartsAt):
		return c, fmt.Errorf("%w: coupon %s is valid from %s", ErrNotApplicable, c.Code, c.StartsAt.UTC().Format(time.DateOnly))
	case !c.EndsAt.IsZero() && !now.Before(c.EndsAt):
		return c, fmt.Errorf("%w: coupon %s expired on %s", ErrNotApplicable, c.Code, c.EndsAt.UTC().Format(time.DateOnly))
	case c.MaxUses > 0 && c.Uses >= c.MaxUses:
		return c, fmt.Errorf("%w: coupon %s has been used up", ErrNotApplicable, c.Code)
	}
	if c.MaxUsesPerUser > 0 && userID != 0 {
		var used int32
		if err := q.QueryRow(ctx, `SELECT count(*) FROM coupon_redemptions WHERE coupon_code = $1 AND user_id = $2`,
			c.Code, userID).Scan(&used); err != nil {
			return c, fmt.Errorf("coupons: count redemptions of %s: %w", c.Code, err)
		}
		if used >= c.MaxUsesPerUser {
			return c, fmt.Errorf("%w: you have already used coupon %s %s", ErrNotApplicable, c.Code, times(c.MaxUsesPerUser))
		}
	}
	return c, nil
}

func times(n int32) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// Redeem records that orderID uses code, inside the order's transaction.
// The coupon row is locked while its limits are checked and its use
// counted, so concurrent orders can never redeem it more often than its
// limits allow. On error tx is left as it was. Redeeming the same order and
// code again is a no-op.
func (s *Store) Redeem(ctx context.Context, tx pgx.Tx, code string, userID, orderID int64, now time.Time) error {
	code = NormalizeCode(code)
	// A savepoint, so a refusal after the use was counted takes it back
	// even if the caller goes on to commit.
	return pgx.BeginFunc(ctx, tx, func(tx pgx.Tx) error {
		var prior string
		err := tx.QueryRow(ctx, `SELECT coupon_code FROM coupon_redemptions WHERE order_id = $1`, orderID).Scan(&prior)
		switch {
		case err == nil && prior == code:
			return nil
		case err == nil:
			return fmt.Errorf("coupons: order %d already redeemed coupon %s", orderID, prior)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("coupons: redeem %s: %w", code, err)
		}
		// FOR UPDATE waits for concurrent redemptions to commit and then
		// reads the latest uses, and a later statement of this transaction
		// sees their redemption rows.
		if _, err := usable(ctx, tx, code, userID, now, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE coupons SET uses = uses + 1
			WHERE code = $1 AND active AND (max_uses IS NULL OR uses < max_uses)`, code)
		if err != nil {
			return fmt.Errorf("coupons: redeem %s: %w", code, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: coupon %s has been used up", ErrNotApplicable, code)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO coupon_redemptions (order_id, coupon_code, user_id) VALUES ($1, $2, $3)`,
			orderID, code, userID); err != nil {
			return fmt.Errorf("coupons: redeem %s for order %d: %w", code, orderID, err)
		}
		return nil
	})
}

// Release gives back the use an order took, when the order is cancelled or
// fails. Releasing an order without a redemption (or twice) does nothing.
func (s *Store) Release(ctx context.Context, tx pgx.Tx, orderID int64) error {
	var code string
	err := tx.QueryRow(ctx, `DELETE FROM coupon_redemptions WHERE order_id = $1 RETURNING coupon_code`, orderID).Scan(&code)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("coupons: release order %d: %w", orderID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE coupons SET uses = uses - 1 WHERE code = $1 AND uses > 0`, code); err != nil {
		return fmt.Errorf("coupons: release %s of order %d: %w", code, orderID, err)
	}
	return nil
}
