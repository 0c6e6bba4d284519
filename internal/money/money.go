// Package money handles amounts as integer minor units plus an ISO 4217
// currency code. No floating point is used anywhere.
package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in minor units (cents for USD) of one currency.
type Money struct {
	Amount   int64  `json:"amount_minor"`
	Currency string `json:"currency"`
}

var (
	// ErrCurrency means the currency code is unknown or malformed.
	ErrCurrency = errors.New("unsupported currency")
	// ErrAmount means the decimal amount is malformed, negative or too precise.
	ErrAmount = errors.New("invalid amount")
)

// MaxMajor is the largest amount the shop accepts, in major units of any
// currency: 1,000,000,000.00 USD is 100,000,000,000 cents. Prices, line
// totals and order totals above it are refused, so every accepted amount is
// exact as a float64 too (at most 13 significant digits) and no sum of an
// order's amounts comes near int64 overflow.
const MaxMajor = 1_000_000_000

// ErrTooLarge means an amount is above MaxAmount of its currency; it is
// also an ErrAmount.
var ErrTooLarge = fmt.Errorf("%w: too large", ErrAmount)

// MaxAmount is MaxMajor in minor units of currency; unknown currencies get
// the bound of a two-decimal one.
func MaxAmount(currency string) int64 {
	exp, ok := exponents[currency]
	if !ok {
		exp = 2
	}
	return MaxMajor * int64(math.Pow10(exp))
}

// CheckBound refuses an amount of currency that is negative or above
// MaxAmount.
func CheckBound(amount int64, currency string) error {
	switch {
	case amount < 0:
		return fmt.Errorf("%w: must not be negative", ErrAmount)
	case amount > MaxAmount(currency):
		return fmt.Errorf("%w: %s is above the maximum of %s", ErrTooLarge,
			Money{Amount: amount, Currency: currency}, Money{Amount: MaxAmount(currency), Currency: currency})
	}
	return nil
}

// FromFloat reads a JSON number such as 1999.99 exactly: the float is
// written as the shortest decimal that reads back as the same float (which
// is the number the client wrote, for up to 15 significant digits) and that
// decimal is parsed like Parse does. Amounts within MaxMajor have at most
// 13 significant digits, so none is rounded.
func FromFloat(v float64, currency string) (Money, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return Money{}, fmt.Errorf("%w: must be a non-negative number", ErrAmount)
	}
	if v > MaxMajor {
		return Money{}, fmt.Errorf("%w: %s is above the maximum of %d", ErrTooLarge, strconv.FormatFloat(v, 'g', -1, 64), MaxMajor)
	}
	return Parse(strconv.FormatFloat(v, 'f', -1, 64), currency)
}

// exponents lists the minor-unit digits of the currencies we accept.
var exponents = map[string]int{
	"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "SEK": 2, "NOK": 2,
	"DKK": 2, "PLN": 2, "CZK": 2, "NZD": 2, "SGD": 2, "HKD": 2, "MXN": 2, "BRL": 2,
	"INR": 2, "CNY": 2, "ZAR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3,
}

// Exponent returns the number of minor-unit digits of a currency.
func Exponent(currency string) (int, error) {
	e, ok := exponents[currency]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrCurrency, currency)
	}
	return e, nil
}

// Parse reads a non-negative decimal such as "1999.99" into minor units of
// currency, refusing more decimals than the currency has and amounts above
// MaxAmount.
func Parse(decimal, currency string) (Money, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return Money{}, err
	}
	n, err := ParseScaled(decimal, exp)
	if err != nil {
		return Money{}, fmt.Errorf("%w for %s", err, currency)
	}
	if err := CheckBound(n, currency); err != nil {
		return Money{}, err
	}
	return Money{Amount: n, Currency: currency}, nil
}

// ParseScaled reads a non-negative decimal with at most exp decimals as an
// integer count of 10^-exp units: ParseScaled("7.25", 4) is 72500.
func ParseScaled(decimal string, exp int) (int64, error) {
	s := strings.TrimSpace(decimal)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%w: %q is not a plain decimal number", ErrAmount, decimal)
	}
	if len(frac) > exp {
		return 0, fmt.Errorf("%w: %q has more than %d decimals", ErrAmount, decimal, exp)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || len(whole) > 15 {
		return 0, fmt.Errorf("%w: %q is too large", ErrAmount, decimal)
	}
	return n, nil
}

// Decimal formats the amount in major units, e.g. "1999.99".
func (m Money) Decimal() string {
	exp := exponents[m.Currency]
	neg := m.Amount < 0
	a := m.Amount
	if neg {
		a = -a
	}
	s := strconv.FormatInt(a, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// String formats the amount with its currency, e.g. "1999.99 USD".
func (m Money) String() string { return m.Decimal() + " " + m.Currency }

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
