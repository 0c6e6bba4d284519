package address

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/validation"
)

// FuzzNormalize: an accepted address is in normal form (normalizing it
// again changes nothing), its text is storable and within bounds, and a
// refused one names a field under the prefix.
func FuzzNormalize(f *testing.F) {
	for _, a := range []Address{
		{Name: " Ann Lee ", Line1: "1 Main St", City: "Los Angeles", Region: "california", PostalCode: "90001-1234", Country: "us", Phone: "+1 (213) 555-0100"},
		la, {Line1: "1 Calle Sol", City: "San Juan", PostalCode: "00901", Country: "PR"},
		{Line1: "1 Main St", City: "LA", Region: "CA", PostalCode: "9000", Country: "US"},
		{Line1: "1 Main St\x00", City: "LA", Region: "CA", PostalCode: "90001", Country: "US"},
		{Line1: "10 Downing St", City: "London", PostalCode: "sw1a2aa", Country: "GB"},
		{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "de"},
		{Line1: "1 Rue", City: "Paris", PostalCode: "75001", Country: "FR", Phone: "call me"},
		{Country: "ca", Region: "Ontario", PostalCode: "k1a0b1"},
		{Line1: "\xff", City: "X", Country: "JP"},
	} {
		f.Add(a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone, false)
		f.Add(a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone, true)
	}
	f.Fuzz(func(t *testing.T, name, line1, line2, city, region, postal, country, phone string, dest bool) {
		need := Full
		if dest {
			need = Destination
		}
		in := Address{Name: name, Line1: line1, Line2: line2, City: city, Region: region, PostalCode: postal, Country: country, Phone: phone}
		a, err := Normalize(in, "shipping", need)
		if err != nil {
			var ve *validation.Error
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "shipping.") {
				t.Fatalf("refusal without a field under the prefix: %v", err)
			}
			return
		}
		for _, v := range []string{a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone} {
			if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 || v != strings.TrimSpace(v) || len(v) > maxText {
				t.Fatalf("accepted %q in %+v", v, a)
			}
		}
		if !IsCountry(a.Country) || a.Country != strings.ToUpper(a.Country) {
			t.Fatalf("accepted country %q", a.Country)
		}
		if need == Full && (a.Line1 == "" || a.City == "") {
			t.Fatalf("accepted an incomplete address %+v", a)
		}
		again, err := Normalize(a, "shipping", need)
		if err != nil || again != a {
			t.Fatalf("not in normal form: %+v -> %+v, %v", a, again, err)
		}
	})
}

// FuzzParseUSTail: a recognised tail is a known state code and a ZIP code
// that the text ends with; a contradiction is an error on the field given.
func FuzzParseUSTail(f *testing.F) {
	for _, s := range []string{"123 Main St, Los Angeles, CA 90001", "123 Main St, Los Angeles, ca 90001-1234",
		"123 Main St, Portland, OR 97201, USA", "1 Infinite Loop, Cupertino, CA 95014, US", "123 Main St, City, State 12345",
		"500 Elm, ST 12345", "Hauptstr. 1, 10115 Berlin, Germany", "Unit 2050 Box 4190, APO, AP 96278",
		"1 Main St, Los Angeles, CA 90001\nUnited States", "1 Main St, Los Angeles, OR 90001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		region, zip, ok, err := ParseUSTail(s, "shipping_address")
		if err != nil {
			var ve *validation.Error
			if !errors.As(err, &ve) || ve.Field != "shipping_address" || ok {
				t.Fatalf("ParseUSTail(%q): %v, ok %v", s, err, ok)
			}
			return
		}
		if !ok {
			if region != "" || zip != "" {
				t.Fatalf("ParseUSTail(%q) not ok but gave %q %q", s, region, zip)
			}
			return
		}
		if _, known := usStates[region]; !known || !strings.Contains(s, zip) || len(zip) < 5 {
			t.Fatalf("ParseUSTail(%q) = %q %q", s, region, zip)
		}
		if st, ok := TrailingZIPState(s); ok && st != region {
			t.Logf("ZIP state %s differs from %s for %q", st, region, s)
		}
	})
}
