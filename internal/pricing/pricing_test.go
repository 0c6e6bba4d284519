package pricing

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/money"
)

var standard = ShippingMethod{Code: "standard", Price: money.Money{Amount: 599, Currency: "USD"}, FreeOver: 5000}

func TestComputeLineByLine(t *testing.T) {
	q, err := Compute(Input{Currency: "USD", Shipping: standard, TaxPPM: 72500, Lines: []Line{
		{SKU: "A", Quantity: 3, UnitPrice: 999},
		{SKU: "B", Quantity: 1, UnitPrice: 1},
	}})
	require.NoError(t, err)
	assert.Equal(t, []int64{2997, 1}, []int64{q.Lines[0].LineTotal, q.Lines[1].LineTotal})
	assert.Equal(t, int64(2998), q.Subtotal)
	assert.Equal(t, int64(599), q.Shipping, "below the free threshold")
	assert.Equal(t, int64(217), q.Tax, "7.25% of 29.98 = 2.17355, rounded to 2.17")
	assert.Equal(t, int64(2998+599+217), q.Total)
}

func TestCouponsShippingAndRounding(t *testing.T) {
	lines := []Line{{SKU: "A", Quantity: 2, UnitPrice: 3000}}
	pct := &Coupon{Code: "TEN", Kind: "percent", PercentBP: 1000}
	q, err := Compute(Input{Currency: "USD", Lines: lines, Coupon: pct, Shipping: standard, TaxPPM: 190000})
	require.NoError(t, err)
	assert.Equal(t, int64(600), q.Discount)
	assert.Equal(t, int64(0), q.Shipping, "54.00 after discount is over the 50.00 threshold")
	assert.Equal(t, int64(1026), q.Tax, "19% of 54.00")
	assert.Equal(t, int64(5400+1026), q.Total)

	fixed := &Coupon{Code: "BIG", Kind: "fixed", AmountOff: 100000, Currency: "USD"}
	q, err = Compute(Input{Currency: "USD", Lines: lines, Coupon: fixed, Shipping: standard})
	require.NoError(t, err)
	assert.Equal(t, int64(6000), q.Discount, "never more than the goods")
	assert.Equal(t, int64(599), q.Total, "only shipping is left")

	minSub := &Coupon{Code: "MIN", Kind: "percent", PercentBP: 500, MinSubtotal: 10000, Currency: "USD"}
	_, err = Compute(Input{Currency: "USD", Lines: lines, Coupon: minSub, Shipping: standard})
	assert.True(t, errors.Is(err, ErrCouponNotApplicable), "%v", err)

	eur := &Coupon{Code: "EUR", Kind: "fixed", AmountOff: 100, Currency: "EUR"}
	_, err = Compute(Input{Currency: "USD", Lines: lines, Coupon: eur, Shipping: standard})
	assert.True(t, errors.Is(err, ErrCouponNotApplicable), "%v", err)

	// Half-up: 5% of 0.10 is 0.005 -> 0.01.
	q, err = Compute(Input{Currency: "USD", Lines: []Line{{SKU: "C", Quantity: 1, UnitPrice: 10}}, Shipping: standard, TaxPPM: 50000})
	require.NoError(t, err)
	assert.Equal(t, int64(1), q.Tax)
}

func TestComputeRefusesOutOfRange(t *testing.T) {
	for name, l := range map[string]Line{
		"zero qty":  {Quantity: 0, UnitPrice: 1},
		"too many":  {Quantity: MaxLineQuantity + 1, UnitPrice: 1},
		"negative":  {Quantity: 1, UnitPrice: -1},
		"too large": {Quantity: 1, UnitPrice: math.MaxInt64},
	} {
		_, err := Compute(Input{Currency: "USD", Lines: []Line{l}, Shipping: standard})
		var le *LineError
		assert.ErrorAs(t, err, &le, name)
	}
	_, err := Compute(Input{Currency: "USD", Shipping: standard})
	assert.Error(t, err)
}

func TestComputeBoundsEveryAmount(t *testing.T) {
	max := money.MaxAmount("USD") // 1,000,000,000.00
	// The largest price, once, with 100% tax: every amount at the bound.
	q, err := Compute(Input{Currency: "USD", Lines: []Line{{SKU: "MAX", Quantity: 1, UnitPrice: max - 599}},
		Shipping: standard, TaxPPM: 0})
	require.NoError(t, err)
	assert.Equal(t, max-599, q.Subtotal)
	assert.Equal(t, max-599, q.Total, "free shipping above 50.00")

	for name, c := range map[string]struct {
		lines []Line
		tax   int64
		line  int // -1: no one line is to blame
	}{
		"int64 max price":      {[]Line{{SKU: "A", Quantity: 1, UnitPrice: 1}, {SKU: "B", Quantity: 1, UnitPrice: math.MaxInt64}}, 0, 1},
		"price just above":     {[]Line{{SKU: "A", Quantity: 1, UnitPrice: max + 1}}, 0, 0},
		"quantity times price": {[]Line{{SKU: "A", Quantity: 2, UnitPrice: max/2 + 1}}, 0, 0},
		"99 of a large price":  {[]Line{{SKU: "A", Quantity: 99, UnitPrice: math.MaxInt64 / 50}}, 0, 0},
		"sum of lines":         {[]Line{{SKU: "A", Quantity: 1, UnitPrice: max}, {SKU: "B", Quantity: 1, UnitPrice: 1}}, 0, -1},
		"tax pushes it over":   {[]Line{{SKU: "A", Quantity: 1, UnitPrice: max/2 + 1}}, 1_000_000, -1},
		"100 full lines":       {hundred(max / 5000), 0, -1},
	} {
		_, err := Compute(Input{Currency: "USD", Lines: c.lines, Shipping: standard, TaxPPM: c.tax})
		require.ErrorIs(t, err, ErrTooLarge, name)
		var le *LineError
		if c.line >= 0 {
			require.ErrorAs(t, err, &le, name)
			assert.Equal(t, c.line, le.Index, name)
		} else {
			assert.False(t, errors.As(err, &le), "%s: %v", name, err)
		}
	}
	// Big amounts do not overflow the tax product.
	q, err = Compute(Input{Currency: "USD", Lines: []Line{{Quantity: 99, UnitPrice: max / 200}}, Shipping: standard, TaxPPM: 1_000_000})
	require.NoError(t, err)
	assert.Equal(t, q.Subtotal, q.Tax)
	// The bound is in major units: a three-decimal currency has more minor units.
	_, err = Compute(Input{Currency: "KWD", Lines: []Line{{Quantity: 1, UnitPrice: max * 10}},
		Shipping: ShippingMethod{Price: money.Money{Currency: "KWD"}}})
	assert.NoError(t, err)
}

func hundred(price int64) []Line {
	out := make([]Line, MaxLines)
	for i := range out {
		out[i] = Line{SKU: fmt.Sprint(i), Quantity: MaxLineQuantity, UnitPrice: price}
	}
	return out
}

func TestParseConfig(t *testing.T) {
	rates, err := ParseTaxRates("US-CA:7.25, us-ny:8.875,DE:19")
	require.NoError(t, err)
	assert.Equal(t, int64(72500), rates.Rate("US", "ca"))
	assert.Equal(t, int64(88750), rates.Rate("US", "NY"))
	assert.Equal(t, int64(0), rates.Rate("US", "OR"))
	assert.Equal(t, int64(190000), rates.Rate("DE", ""))
	assert.Equal(t, int64(0), rates.Rate("ZZ", ""))
	pr, err := ParseTaxRates("PR:11.5")
	require.NoError(t, err)
	assert.Equal(t, int64(115000), pr.Rate("US", "PR"), "a territory is taxed as the US region it is for addresses")
	for _, bad := range []string{"US:abc", "USA", "US:101", "US-CA:7.123456", "ZZ:5", "UK:20", "US-XX:5",
		"GB-SCT:20", "US-CA:1,US-California:2", "EU:20", "U1:5"} {
		_, err := ParseTaxRates(bad)
		assert.Error(t, err, bad)
	}
	m, err := ParseShippingMethods("standard:5.99:50.00, express:14.99", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(599), m["standard"].Price.Amount)
	assert.Equal(t, int64(5000), m["standard"].FreeOver)
	assert.Equal(t, "express", m.Sorted()[1].Code)
	for _, bad := range []string{"", "x", "x:1.999", "x:1:y"} {
		_, err := ParseShippingMethods(bad, "USD")
		assert.Error(t, err, bad)
	}
}
