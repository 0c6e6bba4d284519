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

// Limits that keep every sum far from int64 overflow.
const (
	MaxLineQuantity = 99
	MaxLines        = 100
	// maxSubtotal is 10^15 minor units (ten trillion dollars).
	maxSubtotal = 1_000_000_000_000_000
)

// ErrCouponNotApplicable means the coupon exists but does not apply to this
// cart (minimum subtotal, currency).
var ErrCouponNotApplicable = errors.New("coupon does not apply")

// Line is one product or variant with its current unit price.
type Line struct {
	ProductID int64
	VariantID int64
	SKU       string
	Name      string
	Quantity  int32
	UnitPrice int64 // minor units of the quote's currency
}

// Coupon is the pricing side of a coupon; validity windows and usage limits
// are checked by whoever loads it.
type Coupon struct {
	Code        string
	Kind        string // "percent" or "fixed"
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

// Compute prices in. Discount and tax round half up to the minor unit; tax
// applies to the goods after discount, not to shipping.
func Compute(in Input) (Quote, error) {
	q := Quote{Currency: in.Currency, TaxPPM: in.TaxPPM}
	if len(in.Lines) == 0 {
		return q, errors.New("pricing: no lines")
	}
	for _, l := range in.Lines {
		if l.Quantity <= 0 || l.Quantity > MaxLineQuantity || l.UnitPrice < 0 || l.UnitPrice > maxSubtotal {
			return q, fmt.Errorf("pricing: line %s out of range", l.SKU)
		}
		t := l.UnitPrice * int64(l.Quantity)
		q.Lines = append(q.Lines, QuotedLine{Line: l, LineTotal: t})
		q.Subtotal += t
		if q.Subtotal > maxSubtotal {
			return q, fmt.Errorf("pricing: subtotal above %d", int64(maxSubtotal))
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
		return q, fmt.Errorf("pricing: shipping method %s is priced in %s, not %s", in.Shipping.Code, in.Shipping.Price.Currency, in.Currency)
	}
	if in.Shipping.FreeOver <= 0 || goods < in.Shipping.FreeOver {
		q.Shipping = in.Shipping.Price.Amount
	}
	q.Tax = mulDivRound(goods, in.TaxPPM, 1_000_000)
	q.Total = goods + q.Shipping + q.Tax
	return q, nil
}

func discount(c *Coupon, currency string, subtotal int64) (int64, error) {
	if (c.Kind == "fixed" || c.MinSubtotal > 0) && c.Currency != "" && c.Currency != currency {
		return 0, fmt.Errorf("%w: coupon %s is for %s orders", ErrCouponNotApplicable, c.Code, c.Currency)
	}
	if subtotal < c.MinSubtotal {
		return 0, fmt.Errorf("%w: coupon %s needs a subtotal of at least %s", ErrCouponNotApplicable,
			c.Code, money.Money{Amount: c.MinSubtotal, Currency: currency})
	}
	switch c.Kind {
	case "percent":
		return min(subtotal, mulDivRound(subtotal, c.PercentBP, 10_000)), nil
	case "fixed":
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
