package money

import (
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
