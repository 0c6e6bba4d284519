package address

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/validation"
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *validation.Error
	require.True(t, errors.As(err, &fe), "not a field error: %v", err)
	return fe.Field
}

func TestIsCountry(t *testing.T) {
	for _, c := range []string{"US", "CA", "DE", "GB", "AQ", "XK", "PR", "SS", "BQ"} {
		assert.True(t, IsCountry(c), c)
	}
	for _, c := range []string{"ZZ", "UK", "EU", "UN", "SU", "YU", "XX", "AA", "QO", "us", "USA", "U1", "", "001"} {
		assert.False(t, IsCountry(c), c)
	}
}

var la = Address{Name: "Ann Lee", Line1: "1 Main St", City: "Los Angeles", Region: "CA", PostalCode: "90001", Country: "US"}

func TestNormalizeUS(t *testing.T) {
	a, err := Normalize(Address{Name: " Ann Lee ", Line1: "1 Main St", City: "Los Angeles", Region: "california",
		PostalCode: "90001-1234", Country: "us", Phone: "+1 (213) 555-0100"}, "shipping", Full)
	require.NoError(t, err)
	assert.Equal(t, "US", a.Country)
	assert.Equal(t, "CA", a.Region, "a state's name is its code")
	assert.Equal(t, "Ann Lee", a.Name)
	assert.Equal(t, "Ann Lee, 1 Main St, Los Angeles, CA 90001-1234, US", a.String())

	// The region comes from the ZIP code when it is left out.
	b := la
	b.Region = ""
	b, err = Normalize(b, "shipping", Full)
	require.NoError(t, err)
	assert.Equal(t, "CA", b.Region)

	// Puerto Rico as a country is the US region PR.
	pr, err := Normalize(Address{Line1: "1 Calle Sol", City: "San Juan", PostalCode: "00901", Country: "PR"}, "", Full)
	require.NoError(t, err)
	assert.Equal(t, [2]string{"US", "PR"}, [2]string{pr.Country, pr.Region})

	for want, bad := range map[string]Address{
		"shipping.country":     {Line1: "1 Main St", City: "LA", Region: "CA", PostalCode: "90001", Country: "ZZ"},
		"shipping.line1":       {City: "LA", Region: "CA", PostalCode: "90001", Country: "US"},
		"shipping.city":        {Line1: "1 Main St", Region: "CA", PostalCode: "90001", Country: "US"},
		"shipping.region":      {Line1: "1 Main St", City: "LA", Region: "XX", PostalCode: "90001", Country: "US"},
		"shipping.postal_code": {Line1: "1 Main St", City: "LA", Region: "OR", PostalCode: "90001", Country: "US"},
		"shipping.phone":       {Line1: "1 Main St", City: "LA", PostalCode: "90001", Country: "US", Phone: "call me"},
	} {
		_, err := Normalize(bad, "shipping", Full)
		assert.Equal(t, want, fieldOf(t, err), "%+v: %v", bad, err)
	}
	_, err = Normalize(Address{Line1: "1 Main St", City: "LA", Region: "CA", PostalCode: "9000", Country: "US"}, "", Full)
	assert.Equal(t, "postal_code", fieldOf(t, err))
	_, err = Normalize(Address{Line1: "1 Main St", City: "LA", Region: "CA", Country: "US"}, "", Full)
	assert.Equal(t, "postal_code", fieldOf(t, err), "a US address needs its ZIP code")
	_, err = Normalize(Address{Line1: "1 Main St\x00", City: "LA", Region: "CA", PostalCode: "90001", Country: "US"}, "", Full)
	assert.Equal(t, "line1", fieldOf(t, err))
}

func TestZIPCodesAndStates(t *testing.T) {
	for zip, state := range map[string]string{
		"00501": "NY", "00901": "PR", "00802": "VI", "02108": "MA", "02903": "RI", "05501": "MA", "06390": "NY",
		"10001": "NY", "12345": "NY", "19901": "DE", "20001": "DC", "20101": "VA", "21201": "MD", "30301": "GA",
		"33101": "FL", "34002": "AA", "39901": "GA", "56901": "DC", "60601": "IL", "73301": "TX", "73101": "OK",
		"79901": "TX", "88510": "TX", "83414": "WY", "83201": "ID", "89501": "NV", "90001": "CA", "96201": "AP",
		"96799": "AS", "96813": "HI", "96910": "GU", "96950": "MP", "97201": "OR", "98101": "WA", "99501": "AK",
	} {
		a, err := Normalize(Address{Line1: "1 Main St", City: "Town", PostalCode: zip, Country: "US"}, "", Full)
		require.NoError(t, err, zip)
		assert.Equal(t, state, a.Region, zip)
	}
	// A ZIP code across a state line is either state's, but needs the state.
	_, err := Normalize(Address{Line1: "1 Main St", City: "Texhoma", PostalCode: "73949", Country: "US"}, "", Full)
	assert.Equal(t, "region", fieldOf(t, err))
	for _, st := range []string{"OK", "TX"} {
		_, err := Normalize(Address{Line1: "1 Main St", City: "Texhoma", Region: st, PostalCode: "73949", Country: "US"}, "", Full)
		assert.NoError(t, err, st)
	}
	_, err = Normalize(Address{Line1: "1 Main St", City: "Nowhere", PostalCode: "00001", Country: "US"}, "", Full)
	assert.Equal(t, "postal_code", fieldOf(t, err), "a prefix not in use")
}

func TestNormalizeCanadaAndOthers(t *testing.T) {
	a, err := Normalize(Address{Line1: "24 Sussex Dr", City: "Ottawa", PostalCode: "k1m1m4", Country: "CA"}, "", Full)
	require.NoError(t, err)
	assert.Equal(t, "K1M 1M4", a.PostalCode)
	assert.Equal(t, "ON", a.Region)
	_, err = Normalize(Address{Line1: "1 Rue", City: "Montréal", Region: "ON", PostalCode: "H2X 1Y4", Country: "CA"}, "", Full)
	assert.Equal(t, "postal_code", fieldOf(t, err), "H is Quebec")
	_, err = Normalize(Address{Line1: "1 Rue", City: "Iqaluit", PostalCode: "X0A 0H0", Country: "CA"}, "", Full)
	assert.Equal(t, "region", fieldOf(t, err), "X is both NT and NU")

	gb, err := Normalize(Address{Line1: "10 Downing St", City: "London", PostalCode: "sw1a2aa", Country: "gb"}, "", Full)
	require.NoError(t, err)
	assert.Equal(t, "SW1A 2AA", gb.PostalCode)
	_, err = Normalize(Address{Line1: "Unter den Linden 1", City: "Berlin", PostalCode: "1011", Country: "DE"}, "", Full)
	assert.Equal(t, "postal_code", fieldOf(t, err))
	de, err := Normalize(Address{Line1: "Unter den Linden 1", City: "Berlin", Region: "Berlin", PostalCode: "10117", Country: "DE"}, "", Full)
	require.NoError(t, err, "regions of countries the shop does not subdivide are free text")
	assert.Equal(t, "Berlin", de.Region)
	hk, err := Normalize(Address{Line1: "1 Queen's Rd", City: "Hong Kong", Country: "HK"}, "", Full)
	require.NoError(t, err, "no postal code where the shop knows no format")
	assert.Equal(t, "HK", hk.Country)

	au, err := Normalize(Address{Line1: "1 George St", City: "Sydney", Region: "new south wales", PostalCode: "2000", Country: "AU"}, "", Full)
	require.NoError(t, err)
	assert.Equal(t, "NSW", au.Region)
	_, err = Normalize(Address{Line1: "1 George St", City: "Sydney", PostalCode: "2000", Country: "AU"}, "", Full)
	assert.Equal(t, "region", fieldOf(t, err))
}

func TestDestinationNeedsOnlyTheCountry(t *testing.T) {
	d, err := Normalize(Address{Country: "us", Region: "ca"}, "shipping", Destination)
	require.NoError(t, err)
	assert.Equal(t, Address{Country: "US", Region: "CA"}, d)
	d, err = Normalize(Address{Country: "US", PostalCode: "97201"}, "shipping", Destination)
	require.NoError(t, err)
	assert.Equal(t, "OR", d.Region)
	_, err = Normalize(Address{Country: "US", Region: "CA", PostalCode: "97201"}, "shipping", Destination)
	assert.Equal(t, "shipping.postal_code", fieldOf(t, err))
	_, err = Normalize(Address{Region: "CA"}, "shipping", Destination)
	assert.Equal(t, "shipping.country", fieldOf(t, err))
}

func TestJurisdiction(t *testing.T) {
	for _, c := range []struct{ country, region, wantC, wantR string }{
		{"us", "ca", "US", "CA"}, {"US", "US-NY", "US", "NY"}, {"US", "", "US", ""}, {"CA", "Quebec", "CA", "QC"},
		{"DE", "", "DE", ""}, {"GU", "", "US", "GU"}, {"PR", "PR", "US", "PR"},
	} {
		gc, gr, err := Jurisdiction(c.country, c.region, "country", "region")
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, [2]string{c.wantC, c.wantR}, [2]string{gc, gr}, "%+v", c)
	}
	for _, c := range []struct{ country, region, field string }{
		{"ZZ", "", "country"}, {"USA", "", "country"}, {"", "CA", "country"}, {"US", "XX", "region"},
		{"US", "ON", "region"}, {"PR", "CA", "region"},
	} {
		_, _, err := Jurisdiction(c.country, c.region, "country", "region")
		assert.Equal(t, c.field, fieldOf(t, err), "%+v", c)
	}
}

func TestParseUSTail(t *testing.T) {
	for in, want := range map[string]string{
		"123 Main St, Los Angeles, CA 90001":              "CA",
		"123 Main St, Los Angeles, ca 90001-1234":         "CA",
		"123 Main St, Portland, OR 97201, USA":            "OR",
		"1 Infinite Loop, Cupertino, CA 95014, US":        "CA",
		"123 Main St, City, State 12345":                  "",
		"1 Main St, Springfield":                          "",
		"10 Downing St, London SW1A 2AA":                  "",
		"500 Some St 12345":                               "",
		"500 Elm, ST 12345":                               "",
		"Hauptstr. 1, 10115 Berlin, Germany":              "",
		"1 Main St, Schenectady, NY 12345":                "NY",
		"1 Main St, Fishers Island, NY 06390":             "NY",
		"P.O. Box 1, Texhoma, TX 73949":                   "TX",
		"1 Calle Sol, San Juan, PR 00901":                 "PR",
		"Unit 2050 Box 4190, APO, AP 96278":               "AP",
		"1 Main St, Los Angeles, CA 90001\nUnited States": "",
	} {
		r, _, ok, err := ParseUSTail(in, "shipping_address")
		require.NoError(t, err, in)
		assert.Equal(t, want != "", ok, in)
		assert.Equal(t, want, r, in)
	}
	_, _, _, err := ParseUSTail("1 Main St, Los Angeles, OR 90001", "shipping_address")
	assert.Equal(t, "shipping_address", fieldOf(t, err), "the ZIP code says CA")
	assert.Contains(t, err.Error(), "90001 is in CA (California), not OR (Oregon)")
}

func TestTrailingZIPState(t *testing.T) {
	for in, want := range map[string]string{
		"1 Main St, Los Angeles CA 90001":          "CA",
		"1 Main St, Los Angeles, California 90001": "CA",
		"123 Main St, City, State 12345":           "NY",
		"500 Some St 97201, USA":                   "OR",
		"1 Main St, Los Angeles, CA 90001-1234":    "CA",
		"1 Main St, Springfield":                   "",
		"Hauptstr. 1, 10115 Berlin":                "",
		"Fishers Island 06390":                     "NY",
		"1 Main St, Stateline 89019":               "",
		"Unit 123456":                              "",
	} {
		got, ok := TrailingZIPState(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}
