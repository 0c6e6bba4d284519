package money

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// canonical is what Decimal should print for an accepted plain decimal:
// no surrounding space, no leading zeros, exactly exp decimals.
func canonical(in string, exp int) string {
	whole, frac, _ := strings.Cut(strings.TrimSpace(in), ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if exp == 0 {
		return whole
	}
	return whole + "." + frac + strings.Repeat("0", exp-len(frac))
}

func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{"1999.99", "USD"}, {"0.1", "USD"}, {"5", "EUR"}, {"0", "USD"}, {"1500", "JPY"}, {"1.234", "KWD"},
		{"", "USD"}, {"-1", "USD"}, {"1.999", "USD"}, {"abc", "USD"}, {"1.", "USD"}, {".5", "USD"},
		{"1e3", "USD"}, {"1,5", "USD"}, {"99999999999999999999", "USD"}, {"1.5", "JPY"}, {"1", "XXX"},
		{"1000000000.00", "USD"}, {"1000000000.01", "USD"}, {"90071992547409.93", "USD"},
		{"999999999999999", "USD"}, {" 007.50 ", "EUR"}, {"+1", "USD"}, {"１", "USD"}, {"1", "usd"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, in, cur string) {
		m, err := Parse(in, cur)
		exp, expErr := Exponent(cur)
		if expErr != nil {
			if !errors.Is(err, ErrCurrency) {
				t.Fatalf("Parse(%q, %q) with an unknown currency: %v", in, cur, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrAmount) {
				t.Fatalf("Parse(%q, %q) failed with a non-amount error: %v", in, cur, err)
			}
			return
		}
		if m.Currency != cur || m.Amount < 0 || m.Amount > MaxAmount(cur) {
			t.Fatalf("Parse(%q, %q) = %+v: out of bounds", in, cur, m)
		}
		s := strings.TrimSpace(in)
		if strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 {
			t.Fatalf("Parse(%q, %q) accepted something that is not a plain decimal", in, cur)
		}
		if _, frac, _ := strings.Cut(s, "."); len(frac) > exp {
			t.Fatalf("Parse(%q, %q) accepted more than %d decimals", in, cur, exp)
		}
		if got, want := m.Decimal(), canonical(in, exp); got != want {
			t.Fatalf("Parse(%q, %q).Decimal() = %q, want %q", in, cur, got, want)
		}
		back, err := Parse(m.Decimal(), cur)
		if err != nil || back != m {
			t.Fatalf("round trip of %q %s: %+v, %v", m.Decimal(), cur, back, err)
		}
	})
}

func FuzzFromFloat(f *testing.F) {
	for _, v := range []float64{1999.99, 0.1, 0.29, 19.99, 1, 999999999.99, 123456789.01, 1e9,
		4503599627.37, 0.000000000001, -1, 19.999, 1e15, math.MaxInt64, 0, math.SmallestNonzeroFloat64} {
		f.Add(v, "USD")
	}
	f.Add(1500.0, "JPY")
	f.Add(1.234, "KWD")
	f.Fuzz(func(t *testing.T, v float64, cur string) {
		m, err := FromFloat(v, cur)
		if err != nil {
			if !errors.Is(err, ErrAmount) && !errors.Is(err, ErrCurrency) {
				t.Fatalf("FromFloat(%v, %q): unexpected error kind %v", v, cur, err)
			}
			return
		}
		if m.Amount < 0 || m.Amount > MaxAmount(cur) {
			t.Fatalf("FromFloat(%v, %q) = %+v: out of bounds", v, cur, m)
		}
		// Exact: the printed decimal reads back as the very same float.
		back, err := strconv.ParseFloat(m.Decimal(), 64)
		if err != nil || back != v {
			t.Fatalf("FromFloat(%v, %q) = %s, which is not the float given", v, cur, m.Decimal())
		}
	})
}
