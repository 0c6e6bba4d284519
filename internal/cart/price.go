package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
)

// Line is an item as the shopper sees it.
type Line struct {
	Item
	PriceChanged bool // UnitPrice differs from AddedPrice
	InStock      bool // available, with at least Quantity units in stock
	LineTotal    money.Money
}

// Cart is a cart priced as checkout would charge it.
type Cart struct {
	Lines      []Line
	CouponCode string
	// CouponProblem says why CouponCode is not applied; "" when it is.
	CouponProblem string
	// CouponErr is the error behind CouponProblem: coupons.ErrUnknown,
	// coupons.ErrNotApplicable or pricing.ErrCouponNotApplicable.
	CouponErr error
	// Coupon is the coupon priced in; nil when none is.
	Coupon *pricing.Coupon
	// ShippingMethod is the method priced, which is the cart's unless the
	// shop stopped offering it.
	ShippingMethod string
	// Country and Region are the destination taxed: the cart's
	// destination's, else the shop's default country.
	Country string
	Region  string
	// Destination is the cart's shipping destination as the shopper set it
	// (zero when none was).
	Destination address.Address
	// Quote is nil when no line can be bought, or when the cart is above
	// the amount bounds (TotalErr).
	Quote *pricing.Quote
	// TotalProblem says why the cart has no totals although it has lines
	// to buy: a line or the total above money.MaxAmount. TotalErr is the
	// pricing.ErrTooLarge behind it.
	TotalProblem string
	TotalErr     error
	Warnings     []string
	UpdatedAt    time.Time
}

// View returns userID's cart priced now.
func (s *Store) View(ctx context.Context, userID int64, cfg Config) (Cart, error) {
	c, err := s.load(ctx, s.pool, userID, false)
	if err != nil {
		return Cart{}, err
	}
	return s.Price(ctx, s.pool, userID, c, cfg, time.Now())
}

// Price prices contents for userID at now: current prices of the lines
// still for sale, the coupon when it may be used and applies, the shipping
// method and the destination's tax. Checkout calls it with the contents it
// read from Lines, in the same transaction q, to charge what the shopper saw.
func (s *Store) Price(ctx context.Context, q Querier, userID int64, c Contents, cfg Config, now time.Time) (Cart, error) {
	out := Cart{CouponCode: c.CouponCode, Country: c.Destination.Country, Region: c.Destination.Region,
		Destination: c.Destination, UpdatedAt: c.UpdatedAt}
	if out.Country == "" {
		out.Country, out.Region = cfg.DefaultCountry, ""
	}
	method, ok := cfg.Shipping[c.ShippingMethod]
	if !ok && len(cfg.Shipping) > 0 {
		if method, ok = cfg.Shipping[DefaultShippingMethod]; !ok {
			method = cfg.Shipping.Sorted()[0]
		}
		out.Warnings = append(out.Warnings, fmt.Sprintf("shipping method %q is no longer offered; %s is used instead", c.ShippingMethod, method.Code))
	}
	out.ShippingMethod = method.Code

	currency := cfg.currency()
	var lines []pricing.Line
	for _, it := range c.Items {
		if currency == "" && it.Available {
			currency = it.UnitPrice.Currency
		}
		switch {
		case !it.Available:
			out.Warnings = append(out.Warnings, it.Name+" is no longer available; remove it to check out")
		case it.UnitPrice.Currency != currency:
			// The catalog re-priced it in another currency; an order has one.
			it.Available = false
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is now priced in %s, not %s; remove it to check out", it.Name, it.UnitPrice.Currency, currency))
		}
		l := Line{Item: it, PriceChanged: it.UnitPrice != it.AddedPrice, InStock: it.Available && it.Stock >= it.Quantity}
		// A line above the bound has no total; pricing below refuses it.
		if t, err := pricing.LineTotal(it.UnitPrice.Amount, it.Quantity, it.UnitPrice.Currency); err == nil {
			l.LineTotal = money.Money{Amount: t, Currency: it.UnitPrice.Currency}
		}
		out.Lines = append(out.Lines, l)
		if !it.Available {
			continue
		}
		if l.PriceChanged {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: price changed from %s to %s", it.Name, it.AddedPrice, it.UnitPrice))
		}
		switch {
		case it.Stock <= 0:
			out.Warnings = append(out.Warnings, it.Name+" is out of stock")
		case it.Stock < it.Quantity:
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: only %d in stock, %d in the cart", it.Name, it.Stock, it.Quantity))
		}
		lines = append(lines, pricing.Line{ProductID: it.ProductID, VariantID: it.VariantID, SKU: it.SKU, Name: it.Name,
			Quantity: it.Quantity, UnitPrice: it.UnitPrice.Amount})
	}

	var coupon *pricing.Coupon
	if c.CouponCode != "" {
		pc, err := s.coupons.Check(ctx, q, c.CouponCode, userID, now)
		switch {
		case errors.Is(err, coupons.ErrUnknown):
			out.CouponErr, out.CouponProblem = err, fmt.Sprintf("coupon %s is no longer valid", c.CouponCode)
		case errors.Is(err, coupons.ErrNotApplicable):
			out.CouponErr, out.CouponProblem = err, err.Error()
		case err != nil:
			return Cart{}, err
		default:
			coupon = &pc
		}
	}
	if len(lines) == 0 {
		return out, nil
	}
	if len(cfg.Shipping) == 0 {
		return Cart{}, errors.New("cart: no shipping methods are configured")
	}
	in := pricing.Input{Currency: currency, Lines: lines, Coupon: coupon, Shipping: method,
		TaxPPM: cfg.TaxRates.Rate(out.Country, out.Region)}
	quote, err := pricing.Compute(in)
	if errors.Is(err, pricing.ErrCouponNotApplicable) {
		out.CouponErr, out.CouponProblem = err, err.Error()
		in.Coupon = nil
		quote, err = pricing.Compute(in)
	}
	if errors.Is(err, pricing.ErrTooLarge) {
		// The shopper can fix it by lowering a quantity or removing a line;
		// the cart is still shown, without totals.
		out.TotalErr = err
		var le *pricing.LineError
		if errors.As(err, &le) {
			out.TotalProblem = fmt.Sprintf("%s: %v; lower the quantity or remove it", lines[le.Index].Name, le.Err)
		} else {
			out.TotalProblem = fmt.Sprintf("cart: %v; lower a quantity or remove a line", err)
		}
		out.Warnings = append(out.Warnings, out.TotalProblem)
		return out, nil
	}
	if err != nil {
		return Cart{}, fmt.Errorf("cart: price: %w", err)
	}
	out.Quote, out.Coupon = &quote, in.Coupon
	return out, nil
}
