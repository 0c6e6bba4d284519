// Package pricing computes what an order costs: line totals, coupon discount,
// shipping and tax, all in integer minor units. Carts and checkout both call
// Quote, so the shopper sees exactly what they will be charged.
package pricing

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/shopkit/shop/internal/money"
)

// Limits of one order. With money.MaxAmount bounding every unit price,
// line total and sum, no arithmetic here comes near int64 overflow.
const (
	MaxLineQuantity = 99
	MaxLines        = 100
)

// ErrCouponNotApplicable means the coupon exists but does not apply to this
// cart (minimum subtotal, currency).
var ErrCouponNotApplicable = errors.New("coupon does not apply")

// ErrTooLarge means a line total, the subtotal or the total is above
// money.MaxAmount of the currency. A *LineError wraps it when one line is.
var ErrTooLarge = errors.New("amount above the maximum")

// tooLarge is an ErrTooLarge with its own message.
type tooLarge string

func (e tooLarge) Error() string { return string(e) }
func (e tooLarge) Unwrap() error { return ErrTooLarge }

func tooLargef(format string, args ...any) error { return tooLarge(fmt.Sprintf(format, args...)) }

// ErrShippingCurrency means the shipping method is priced in another
// currency than the goods.
var ErrShippingCurrency = errors.New("shipping is priced in another currency")

// LineError says which line (its index in Input.Lines) cannot be priced.
type LineError struct {
	Index int
	SKU   string
	Err   error // ErrTooLarge, or a plain range error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d (%s): %v", e.Index+1, e.SKU, e.Err) }

// Unwrap makes errors.Is(err, ErrTooLarge) see through.
func (e *LineError) Unwrap() error { return e.Err }

// Line is one product or variant with its current unit price.
type Line struct {
	ProductID int64
	VariantID int64
	SKU       string
	Name      string
	Quantity  int32
	UnitPrice int64 // minor units of the quote's currency
}

// CouponKind is how a coupon discounts.
type CouponKind string

// Coupon kinds.
const (
	CouponPercent CouponKind = "percent" // PercentBP of the subtotal
	CouponFixed   CouponKind = "fixed"   // AmountOff
)

// Coupon is the pricing side of a coupon; validity windows and usage limits
// are checked by whoever loads it.
type Coupon struct {
	Code        string
	Kind        CouponKind
	PercentBP   int64  // basis points, 1000 = 10%
	AmountOff   int64  // minor units, fixed coupons
	Currency    string // of AmountOff and MinSubtotal
	MinSubtotal int64
}

// ShippingMethod is a flat rate, free when the discounted goods reach FreeOver.
type ShippingMethod struct {
	Code     string
	Name     string
	Price    money.Money
	FreeOver int64 // 0: never free
}

// Input is everything a quote depends on.
type Input struct {
	Currency string
	Lines    []Line
	Coupon   *Coupon
	Shipping ShippingMethod
	// TaxPPM is the tax rate in parts per million of the discounted goods.
	TaxPPM int64
}

// QuotedLine is a line with its total.
type QuotedLine struct {
	Line
	LineTotal int64
}

// Quote is the priced order.
type Quote struct {
	Currency string
	Lines    []QuotedLine
	Subtotal int64
	Discount int64
	Shipping int64
	Tax      int64
	Total    int64
	TaxPPM   int64
}

// Money wraps an amount of the quote's currency.
func (q Quote) Money(amount int64) money.Money {
	return money.Money{Amount: amount, Currency: q.Currency}
}

// LineTotal is unit × quantity in minor units of currency, refused with
// ErrTooLarge when the unit price or the product is above
// money.MaxAmount(currency).
func LineTotal(unit int64, quantity int32, currency string) (int64, error) {
	max := money.MaxAmount(currency)
	switch {
	case unit < 0 || quantity <= 0:
		return 0, fmt.Errorf("pricing: unit price %d or quantity %d out of range", unit, quantity)
	case unit > max:
		return 0, tooLargef("the unit price %s is above the maximum of %s",
			money.Money{Amount: unit, Currency: currency}, money.Money{Amount: max, Currency: currency})
	case unit > max/int64(quantity):
		return 0, tooLargef("%d × %s is above the maximum of %s", quantity,
			money.Money{Amount: unit, Currency: currency}, money.Money{Amount: max, Currency: currency})
	}
	return unit * int64(quantity), nil
}

// Compute prices in. Discount and tax round half up to the minor unit; tax
// applies to the goods after discount, not to shipping. Every amount of the
// quote is within money.MaxAmount, or Compute fails with ErrTooLarge (a
// *LineError naming the line when one line alone is too large).
func Compute(in Input) (Quote, error) {
	q := Quote{Currency: in.Currency, TaxPPM: in.TaxPPM}
	if len(in.Lines) == 0 {
		return q, errors.New("pricing: no lines")
	}
	max := money.MaxAmount(in.Currency)
	above := func(what string, amount int64) error {
		return tooLargef("the %s %s is above the maximum of %s", what,
			money.Money{Amount: amount, Currency: in.Currency}, money.Money{Amount: max, Currency: in.Currency})
	}
	for i, l := range in.Lines {
		if l.Quantity > MaxLineQuantity {
			return q, &LineError{Index: i, SKU: l.SKU, Err: fmt.Errorf("quantity %d is above %d", l.Quantity, MaxLineQuantity)}
		}
		t, err := LineTotal(l.UnitPrice, l.Quantity, in.Currency)
		if err != nil {
			return q, &LineError{Index: i, SKU: l.SKU, Err: err}
		}
		q.Lines = append(q.Lines, QuotedLine{Line: l, LineTotal: t})
		// Both terms are at most max (far below int64's range).
		if q.Subtotal += t; q.Subtotal > max {
			return q, above("subtotal", q.Subtotal)
		}
	}
	if c := in.Coupon; c != nil {
		d, err := discount(c, in.Currency, q.Subtotal)
		if err != nil {
			return q, err
		}
		q.Discount = d
	}
	goods := q.Subtotal - q.Discount
	if in.Shipping.Price.Currency != in.Currency {
		return q, fmt.Errorf("%w: shipping method %s is priced in %s, not %s", ErrShippingCurrency, in.Shipping.Code, in.Shipping.Price.Currency, in.Currency)
	}
	if in.Shipping.FreeOver <= 0 || goods < in.Shipping.FreeOver {
		q.Shipping = in.Shipping.Price.Amount
	}
	if q.Shipping < 0 || q.Shipping > max {
		return q, above("shipping", q.Shipping)
	}
	if in.TaxPPM < 0 || in.TaxPPM > 1_000_000 {
		return q, fmt.Errorf("pricing: tax rate %d ppm out of range", in.TaxPPM)
	}
	q.Tax = mulDivRound(goods, in.TaxPPM, 1_000_000)
	// goods, shipping and tax are each at most max.
	if q.Total = goods + q.Shipping + q.Tax; q.Total > max {
		return q, above("total", q.Total)
	}
	return q, nil
}

func discount(c *Coupon, currency string, subtotal int64) (int64, error) {
	if (c.Kind == CouponFixed || c.MinSubtotal > 0) && c.Currency != "" && c.Currency != currency {
		return 0, fmt.Errorf("%w: coupon %s is for %s orders", ErrCouponNotApplicable, c.Code, c.Currency)
	}
	if subtotal < c.MinSubtotal {
		return 0, fmt.Errorf("%w: coupon %s needs a subtotal of at least %s", ErrCouponNotApplicable,
			c.Code, money.Money{Amount: c.MinSubtotal, Currency: currency})
	}
	switch c.Kind {
	case CouponPercent:
		return min(subtotal, mulDivRound(subtotal, c.PercentBP, 10_000)), nil
	case CouponFixed:
		return min(subtotal, c.AmountOff), nil
	}
	return 0, fmt.Errorf("pricing: coupon %s has unknown kind %q", c.Code, c.Kind)
}

// mulDivRound returns a*b/c rounded half up, for non-negative a, b and
// positive c, without overflowing in the product.
func mulDivRound(a, b, c int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo, carry := bits.Add64(lo, uint64(c/2), 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// PartValue is what part of an order's goods is worth as paid: lines worth
// part (at their unit prices) of an order with subtotal, discount and tax
// rate, with the discount shared pro rata and the tax of the discounted
// part, each rounded half up. Refunds of some lines (a lost parcel, a
// return) pay back this much; the parts of an order never add up to more
// than its goods and tax.
func PartValue(part, subtotal, discount, taxPPM int64) int64 {
	if part <= 0 || subtotal <= 0 {
		return 0
	}
	part = min(part, subtotal)
	goods := part - mulDivRound(discount, part, subtotal)
	return goods + mulDivRound(goods, taxPPM, 1_000_000)
}
