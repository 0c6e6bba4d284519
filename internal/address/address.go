// Package address validates postal addresses and derives the tax
// jurisdiction (country and region) from them. Orders, the cart's shipping
// destination, the address book and the tax configuration all go through
// it, so "where is this taxed" has one answer.
//
// A country is an ISO 3166-1 alpha-2 code (golang.org/x/text's region
// table, less the reserved and withdrawn codes). For the countries whose
// subdivisions the shop knows (US states, DC, territories and military
// codes; Canadian provinces and territories; Australian states) the region
// must be one of them and agree with the postal code where the postal code
// tells the region (US ZIP prefixes, Canadian postal districts).
package address

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/shopkit/shop/internal/validation"
)

// Address is a postal address. Region is a subdivision code ("CA" for
// California) for the countries in Subdivisions; elsewhere it is free text.
type Address struct {
	Name       string `json:"name,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// Completeness says how much of an address is required.
type Completeness int

const (
	// Full is a deliverable address: line1, city, country, and the region
	// and postal code where the country has them.
	Full Completeness = iota
	// Destination is enough to estimate tax: the country, and the region
	// and postal code if given (checked all the same).
	Destination
)

// Field lengths.
const (
	maxText   = 200
	maxCity   = 100
	maxPostal = 20
	maxPhone  = 40
)

// withdrawn lists two-letter codes that x/text counts as countries but that
// are not officially assigned in ISO 3166-1: exceptional, transitional and
// withdrawn reservations (UK, EU-like groupings, SU, YU, ...). XK (Kosovo,
// user-assigned but used by carriers and Stripe) stays accepted.
var withdrawn = set("AC AN BU CP CQ CS CT DD DG DY EA EZ FQ FX HV IC JT MI NH NQ NT PC PU PZ RH SU TA TP UK UN VD WK YD YU ZR")

// usTerritories are ISO countries that are US states for shipping and tax;
// an address in one is normalised to country US with that region, so one
// place has one jurisdiction however it is written.
var usTerritories = set("AS GU MP PR VI")

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

// IsCountry reports whether code (upper case) is an ISO 3166-1 alpha-2
// country code.
func IsCountry(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' || withdrawn[code] {
		return false
	}
	r, err := language.ParseRegion(code)
	return err == nil && r.String() == code && r.IsCountry()
}

// fieldName joins a prefix ("shipping") and a field ("country").
func fieldName(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// Jurisdiction checks a country and an optional region as a tax
// destination and returns their normal form: upper case, a region name
// turned into its code ("California" is "CA"), a US territory given as a
// country turned into US and its code. countryField and regionField name
// the inputs in errors.
func Jurisdiction(country, region, countryField, regionField string) (string, string, error) {
	c := strings.ToUpper(strings.TrimSpace(country))
	r := strings.TrimSpace(region)
	switch {
	case c == "":
		return "", "", validation.New(countryField, "is required")
	case !IsCountry(c):
		return "", "", validation.New(countryField, "%q is not an ISO 3166-1 alpha-2 country code such as US", country)
	}
	if usTerritories[c] {
		if r != "" && !strings.EqualFold(r, c) && !strings.EqualFold(r, "US-"+c) {
			return "", "", validation.New(regionField, "%q is not a region of %s", region, c)
		}
		c, r = "US", c
	}
	if r == "" {
		return c, "", nil
	}
	if !Subdivided(c) {
		if err := text(regionField, r, maxCity); err != nil {
			return "", "", err
		}
		return c, r, nil
	}
	code, ok := subdivision(c, r)
	if !ok {
		return "", "", validation.New(regionField, "%q is not a %s; use a code such as %s", region, subdivisionNames[c], subdivisionExample[c])
	}
	return c, code, nil
}

// Agree holds claimed country and region fields (the older API's) to the
// jurisdiction the address decided (country, region): they are checked like
// an address's and may only repeat it, so they never choose the tax. basis
// describes the address in errors.
func Agree(claimCountry, claimRegion, country, region, countryField, regionField, basis string) error {
	if strings.TrimSpace(claimCountry) == "" && strings.TrimSpace(claimRegion) == "" {
		return nil
	}
	if strings.TrimSpace(claimCountry) == "" {
		claimCountry = country
	}
	c, r, err := Jurisdiction(claimCountry, claimRegion, countryField, regionField)
	if err != nil {
		return err
	}
	if c != country {
		return validation.New(countryField, "%s contradicts %s, which is in %s", c, basis, country)
	}
	if r != "" && r != region {
		where := country
		if region != "" {
			where += "-" + region
		}
		return validation.New(regionField, "%s contradicts %s, which is in %s", r, basis, where)
	}
	return nil
}

// Normalize checks a and returns it in normal form: trimmed, codes upper
// case, the region as its code, the postal code in its national format, the
// region filled in from the postal code when that is unambiguous. Errors
// name the field under prefix ("shipping.postal_code").
func Normalize(a Address, prefix string, need Completeness) (Address, error) {
	f := func(field string) string { return fieldName(prefix, field) }
	for _, p := range []*string{&a.Name, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Country, &a.Phone} {
		*p = strings.TrimSpace(*p)
	}
	for _, c := range []struct {
		field, v string
		max      int
	}{
		{"name", a.Name, maxText}, {"line1", a.Line1, maxText}, {"line2", a.Line2, maxText}, {"city", a.City, maxCity},
		{"postal_code", a.PostalCode, maxPostal}, {"phone", a.Phone, maxPhone},
	} {
		if err := text(f(c.field), c.v, c.max); err != nil {
			return a, err
		}
	}
	if need == Full {
		switch {
		case a.Line1 == "":
			return a, validation.New(f("line1"), "is required")
		case a.City == "":
			return a, validation.New(f("city"), "is required")
		}
	}
	if a.Phone != "" && !phoneOK(a.Phone) {
		return a, validation.New(f("phone"), "must be digits, spaces and + - ( ) . only")
	}
	var err error
	if a.Country, a.Region, err = Jurisdiction(a.Country, a.Region, f("country"), f("region")); err != nil {
		return a, err
	}
	if a.PostalCode != "" {
		if a.PostalCode, err = postalCode(a.Country, a.PostalCode, f("postal_code")); err != nil {
			return a, err
		}
	} else if need == Full && postalFormats[a.Country] != nil {
		return a, validation.New(f("postal_code"), "is required for an address in %s", a.Country)
	}
	if a.Region == "" && a.PostalCode != "" {
		a.Region = regionOfPostal(a.Country, a.PostalCode)
	}
	if a.Region == "" && need == Full && Subdivided(a.Country) {
		return a, validation.New(f("region"), "is required for an address in %s (a %s code such as %s)",
			a.Country, subdivisionNames[a.Country], subdivisionExample[a.Country])
	}
	if a.Region != "" && a.PostalCode != "" {
		if err := postalMatchesRegion(a.Country, a.Region, a.PostalCode, f("postal_code")); err != nil {
			return a, err
		}
	}
	return a, nil
}

// IsZero reports whether no field is set.
func (a Address) IsZero() bool { return a == Address{} }

// String renders the address on one line, as orders and emails show it:
// "Ann Lee, 1 Main St, Apt 2, Los Angeles, CA 90001, US".
func (a Address) String() string {
	var parts []string
	for _, p := range []string{a.Name, a.Line1, a.Line2, a.City, strings.TrimSpace(a.Region + " " + a.PostalCode), a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

func text(field, v string, max int) error {
	if len(v) > max {
		return validation.New(field, "must be at most %d characters", max)
	}
	if !utf8.ValidString(v) { // PostgreSQL refuses it as text
		return validation.New(field, "must be valid UTF-8 text")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return validation.New(field, "must not contain control characters")
		}
	}
	return nil
}

func phoneOK(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			return false
		}
	}
	return digits >= 4
}

// ParseUSTail reads the US state and ZIP code ending a free-form address,
// as in "123 Main St, Springfield, IL 62701" (optionally followed by ", US"
// or ", USA"). ok is false when the address does not end so, or when the two
// letters are not a US state code ("…, ST 12345" is a street). A state the
// ZIP code contradicts is an error on field.
func ParseUSTail(s, field string) (region, zip string, ok bool, err error) {
	m := usTail.FindStringSubmatch(s)
	if m == nil {
		return "", "", false, nil
	}
	state := strings.ToUpper(m[1])
	if _, known := usStates[state]; !known {
		return "", "", false, nil
	}
	zip = m[2]
	if err := postalMatchesRegion("US", state, zip, field); err != nil {
		return "", "", false, err
	}
	return state, zip, true, nil
}

// describe is for messages: "CA (California)".
func describe(country, region string) string {
	if n := subdivisionsOf(country)[region]; n != "" {
		return fmt.Sprintf("%s (%s)", region, n)
	}
	return region
}
