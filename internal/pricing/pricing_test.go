package pricing

import (
	"errors"
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
		assert.Error(t, err, name)
	}
	_, err := Compute(Input{Currency: "USD", Shipping: standard})
	assert.Error(t, err)
	// Big amounts do not overflow the tax product.
	q, err := Compute(Input{Currency: "USD", Lines: []Line{{Quantity: 99, UnitPrice: maxSubtotal / 100}}, Shipping: standard, TaxPPM: 1_000_000})
	require.NoError(t, err)
	assert.Equal(t, q.Subtotal, q.Tax)
}

func TestParseConfig(t *testing.T) {
	rates, err := ParseTaxRates("US-CA:7.25, us-ny:8.875,DE:19")
	require.NoError(t, err)
	assert.Equal(t, int64(72500), rates.Rate("US", "ca"))
	assert.Equal(t, int64(88750), rates.Rate("US", "NY"))
	assert.Equal(t, int64(0), rates.Rate("US", "OR"))
	assert.Equal(t, int64(190000), rates.Rate("DE", ""))
	for _, bad := range []string{"US:abc", "USA", "US:101", "US-CA:7.123456"} {
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
