package pricing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/money"
)

// TaxRates maps "CC" or "CC-REGION" to a rate in parts per million.
type TaxRates map[string]int64

// Rate returns the region's rate, else the country's, else zero. country
// and region come from a validated address (address.Jurisdiction), never
// from a separately chosen destination.
func (t TaxRates) Rate(country, region string) int64 {
	country, region = strings.ToUpper(country), strings.ToUpper(strings.TrimSpace(region))
	if r, ok := t[country+"-"+region]; ok && region != "" {
		return r
	}
	return t[country]
}

// ParseTaxRates reads "US-CA:7.25,US-NY:8.875,DE:19" (percent, up to four
// decimals). Countries must be ISO 3166-1 codes; a regional rate is only
// for a country whose regions the shop validates (address.Subdivided), so
// no shopper can name a region to pick a rate. A US territory given as a
// country ("PR:11.5") is the region of the US it is for addresses too.
func ParseTaxRates(s string) (TaxRates, error) {
	out := TaxRates{}
	for _, entry := range splitList(s) {
		place, pct, ok := strings.Cut(entry, ":")
		place = strings.ToUpper(strings.TrimSpace(place))
		country, region, _ := strings.Cut(place, "-")
		if !ok || len(country) != 2 {
			return nil, fmt.Errorf("%q is not COUNTRY[-REGION]:PERCENT", entry)
		}
		if !address.IsCountry(country) {
			return nil, fmt.Errorf("%q: %s is not an ISO 3166-1 alpha-2 country code", entry, country)
		}
		if region != "" && !address.Subdivided(country) {
			return nil, fmt.Errorf("%q: the shop does not know the regions of %s, so it can only have one rate", entry, country)
		}
		country, region, err := address.Jurisdiction(country, region, "country", "region")
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		// Percent with four decimals is parts per million.
		m, err := money.ParseScaled(strings.TrimSpace(pct), 4)
		if err != nil || m > 100_0000 {
			return nil, fmt.Errorf("%q: the rate must be a percentage from 0 to 100 with at most 4 decimals", entry)
		}
		key := country
		if region != "" {
			key += "-" + region
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%q: %s has two rates", entry, key)
		}
		out[key] = m
	}
	return out, nil
}

// ShippingMethods are the configured methods by code.
type ShippingMethods map[string]ShippingMethod

// Sorted lists the methods cheapest first.
func (s ShippingMethods) Sorted() []ShippingMethod {
	out := make([]ShippingMethod, 0, len(s))
	for _, m := range s {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Price.Amount != out[j].Price.Amount {
			return out[i].Price.Amount < out[j].Price.Amount
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// ParseShippingMethods reads "standard:5.99:50.00,express:14.99" in currency:
// code, flat price, and optionally the goods total from which it is free.
func ParseShippingMethods(s, currency string) (ShippingMethods, error) {
	out := ShippingMethods{}
	for _, entry := range splitList(s) {
		parts := strings.Split(entry, ":")
		code := strings.ToLower(strings.TrimSpace(parts[0]))
		if len(parts) < 2 || len(parts) > 3 || code == "" {
			return nil, fmt.Errorf("%q is not code:price[:free_over]", entry)
		}
		price, err := money.Parse(parts[1], currency)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		m := ShippingMethod{Code: code, Name: strings.ToUpper(code[:1]) + code[1:] + " shipping", Price: price}
		if len(parts) == 3 {
			free, err := money.Parse(parts[2], currency)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", entry, err)
			}
			m.FreeOver = free.Amount
		}
		out[code] = m
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one shipping method is needed")
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
