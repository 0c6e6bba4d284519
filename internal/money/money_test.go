package money

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, cur string
		want    int64
		printed string
	}{
		{"1999.99", "USD", 199999, "1999.99"},
		{"0.1", "USD", 10, "0.10"},
		{"5", "EUR", 500, "5.00"},
		{"0", "USD", 0, "0.00"},
		{"1500", "JPY", 1500, "1500"},
		{"1.234", "KWD", 1234, "1.234"},
	}
	for _, c := range cases {
		m, err := Parse(c.in, c.cur)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, m.Amount, c.in)
		assert.Equal(t, c.printed, m.Decimal(), c.in)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "-1", "1.999", "abc", "1.", ".5", "1e3", "1,5", "99999999999999999999"} {
		_, err := Parse(in, "USD")
		assert.ErrorIs(t, err, ErrAmount, in)
	}
	_, err := Parse("1.5", "JPY")
	assert.ErrorIs(t, err, ErrAmount)
	_, err = Parse("1", "XXX")
	assert.ErrorIs(t, err, ErrCurrency)
}

func TestDecimal(t *testing.T) {
	assert.Equal(t, "1999.99", Money{199999, "USD"}.Decimal())
	assert.Equal(t, "0.05", Money{5, "USD"}.Decimal())
	assert.Equal(t, "-0.05", Money{-5, "USD"}.Decimal())
	assert.Equal(t, "1500", Money{1500, "JPY"}.Decimal())
	assert.Equal(t, "1.234 KWD", Money{1234, "KWD"}.String())
}

func TestBounds(t *testing.T) {
	assert.Equal(t, int64(100_000_000_000), MaxAmount("USD"))
	assert.Equal(t, int64(1_000_000_000), MaxAmount("JPY"))
	assert.Equal(t, int64(1_000_000_000_000), MaxAmount("KWD"))

	m, err := Parse("1000000000.00", "USD")
	require.NoError(t, err)
	assert.Equal(t, MaxAmount("USD"), m.Amount)
	for _, in := range []string{"1000000000.01", "90071992547409.93", "999999999999999"} {
		_, err := Parse(in, "USD")
		assert.ErrorIs(t, err, ErrTooLarge, in)
		assert.ErrorIs(t, err, ErrAmount, in)
	}
	assert.NoError(t, CheckBound(MaxAmount("EUR"), "EUR"))
	assert.ErrorIs(t, CheckBound(MaxAmount("EUR")+1, "EUR"), ErrTooLarge)
	assert.ErrorIs(t, CheckBound(-1, "EUR"), ErrAmount)
}

func TestFromFloatIsExact(t *testing.T) {
	for in, want := range map[float64]int64{
		1999.99:        199999,
		0.1:            10,
		0.29:           29, // 0.29 * 100 is 28.999999999999996 as a float
		19.99:          1999,
		1:              100,
		999999999.99:   99999999999,
		123456789.01:   12345678901,
		1000000000:     100000000000,
		4503599627.37:  0, // above the bound: refused below
		0.000000000001: 0, // too many decimals: refused below
	} {
		m, err := FromFloat(in, "USD")
		if want == 0 {
			assert.Error(t, err, "%v", in)
			continue
		}
		require.NoError(t, err, "%v", in)
		assert.Equal(t, want, m.Amount, "%v", in)
	}
	// Every cent up to the bound survives the float: spot-check the
	// largest ones, where a float has the fewest digits to spare.
	for c := MaxAmount("USD") - 1000; c <= MaxAmount("USD"); c++ {
		f, err := strconv.ParseFloat(Money{Amount: c, Currency: "USD"}.Decimal(), 64)
		require.NoError(t, err)
		m, err := FromFloat(f, "USD")
		require.NoError(t, err)
		require.Equal(t, c, m.Amount)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1), 19.999, 1e15, math.MaxInt64} {
		_, err := FromFloat(bad, "USD")
		assert.ErrorIs(t, err, ErrAmount, "%v", bad)
	}
}
