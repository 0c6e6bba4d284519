package address

import (
	"regexp"
	"strings"

	"github.com/shopkit/shop/internal/validation"
)

// usStates are the US states, DC, the territories with ZIP codes and the
// military "states" (AA, AE, AP), by USPS code (the ISO 3166-2 US-xx
// subdivision codes, plus the territories and military codes USPS uses).
var usStates = map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
	"CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
	"HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
	"KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
	"MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
	"NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
	"NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
	"OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
	"TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
	"WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
	"AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
	"VI": "U.S. Virgin Islands",
	"AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}

var caProvinces = map[string]string{
	"AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
	"NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories", "NU": "Nunavut",
	"ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan", "YT": "Yukon",
}

var auStates = map[string]string{
	"ACT": "Australian Capital Territory", "NSW": "New South Wales", "NT": "Northern Territory",
	"QLD": "Queensland", "SA": "South Australia", "TAS": "Tasmania", "VIC": "Victoria", "WA": "Western Australia",
}

var (
	subdivisionNames   = map[string]string{"US": "US state code", "CA": "Canadian province code", "AU": "Australian state code"}
	subdivisionExample = map[string]string{"US": "CA", "CA": "ON", "AU": "NSW"}
)

func subdivisionsOf(country string) map[string]string {
	switch country {
	case "US":
		return usStates
	case "CA":
		return caProvinces
	case "AU":
		return auStates
	}
	return nil
}

// Subdivided reports whether the shop knows the country's regions, so that
// a region of it must be one of them.
func Subdivided(country string) bool { return subdivisionsOf(country) != nil }

// subdivision finds a region of country by code ("CA", "US-CA") or by name
// ("California"), case-insensitively.
func subdivision(country, region string) (string, bool) {
	subs := subdivisionsOf(country)
	r := strings.ToUpper(strings.TrimSpace(region))
	r = strings.TrimPrefix(r, country+"-")
	if _, ok := subs[r]; ok {
		return r, true
	}
	for code, name := range subs {
		if strings.EqualFold(name, region) {
			return code, true
		}
	}
	return "", false
}

// postalFormat checks a postal code and rewrites it in its national form.
type postalFormat struct {
	re     *regexp.Regexp
	format func(string) string // nil: as matched
}

func spaceBefore(n int) func(string) string {
	return func(s string) string {
		s = strings.ReplaceAll(s, " ", "")
		return s[:len(s)-n] + " " + s[len(s)-n:]
	}
}

func dashBefore(n int) func(string) string {
	return func(s string) string {
		s = strings.ReplaceAll(s, "-", "")
		return s[:len(s)-n] + "-" + s[len(s)-n:]
	}
}

// postalFormats are the countries whose postal codes the shop checks; an
// address in one of them needs a postal code. Elsewhere it is free text.
var postalFormats = map[string]*postalFormat{
	"US": {re: regexp.MustCompile(`^\d{5}(-\d{4})?$`)},
	"CA": {re: regexp.MustCompile(`^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$`), format: spaceBefore(3)},
	"GB": {re: regexp.MustCompile(`^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)$`), format: spaceBefore(3)},
	"AU": {re: regexp.MustCompile(`^\d{4}$`)},
	"NZ": {re: regexp.MustCompile(`^\d{4}$`)},
	"AT": {re: regexp.MustCompile(`^\d{4}$`)},
	"BE": {re: regexp.MustCompile(`^\d{4}$`)},
	"CH": {re: regexp.MustCompile(`^\d{4}$`)},
	"DK": {re: regexp.MustCompile(`^\d{4}$`)},
	"NO": {re: regexp.MustCompile(`^\d{4}$`)},
	"DE": {re: regexp.MustCompile(`^\d{5}$`)},
	"FR": {re: regexp.MustCompile(`^\d{5}$`)},
	"IT": {re: regexp.MustCompile(`^\d{5}$`)},
	"ES": {re: regexp.MustCompile(`^\d{5}$`)},
	"FI": {re: regexp.MustCompile(`^\d{5}$`)},
	"MX": {re: regexp.MustCompile(`^\d{5}$`)},
	"SE": {re: regexp.MustCompile(`^\d{3} ?\d{2}$`), format: spaceBefore(2)},
	"NL": {re: regexp.MustCompile(`^\d{4} ?[A-Z]{2}$`), format: spaceBefore(2)},
	"PL": {re: regexp.MustCompile(`^\d{2}-?\d{3}$`), format: dashBefore(3)},
	"PT": {re: regexp.MustCompile(`^\d{4}-?\d{3}$`), format: dashBefore(3)},
	"JP": {re: regexp.MustCompile(`^\d{3}-?\d{4}$`), format: dashBefore(4)},
	"BR": {re: regexp.MustCompile(`^\d{5}-?\d{3}$`), format: dashBefore(3)},
	"IN": {re: regexp.MustCompile(`^\d{6}$`)},
	"CN": {re: regexp.MustCompile(`^\d{6}$`)},
}

var postalExample = map[string]string{
	"US": "90001 or 90001-1234", "CA": "K1A 0B1", "GB": "SW1A 2AA", "NL": "1012 AB", "SE": "114 55",
	"PL": "00-950", "PT": "1100-148", "JP": "100-0001", "BR": "01310-100", "IN": "110001", "CN": "100000",
}

func postalCode(country, code, field string) (string, error) {
	pf := postalFormats[country]
	if pf == nil {
		if !freePostal.MatchString(code) {
			return "", validation.New(field, "must be letters, digits, spaces and hyphens")
		}
		return strings.ToUpper(code), nil
	}
	c := strings.ToUpper(strings.Join(strings.Fields(code), " "))
	if !pf.re.MatchString(c) {
		ex := postalExample[country]
		if ex == "" {
			ex = strings.NewReplacer(`^\d{4}$`, "1234", `^\d{5}$`, "12345", `^\d{6}$`, "123456").Replace(pf.re.String())
		}
		return "", validation.New(field, "%q is not a postal code of %s (such as %s)", code, country, ex)
	}
	if pf.format != nil {
		c = pf.format(c)
	}
	if country == "US" && len(zipStates(c)) == 0 {
		return "", validation.New(field, "ZIP code %s is not in use", code)
	}
	return c, nil
}

var freePostal = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 -]*$`)

// regionOfPostal is the one region a postal code lies in, or "".
func regionOfPostal(country, code string) string {
	var states []string
	switch country {
	case "US":
		states = zipStates(code)
	case "CA":
		states = caDistricts[code[0]]
	}
	if len(states) == 1 {
		return states[0]
	}
	return ""
}

func postalMatchesRegion(country, region, code, field string) error {
	var states []string
	switch country {
	case "US":
		if states = zipStates(code); len(states) == 0 {
			return validation.New(field, "ZIP code %s is not in use", code)
		}
	case "CA":
		states = caDistricts[code[0]]
	default:
		return nil
	}
	for _, s := range states {
		if s == region {
			return nil
		}
	}
	return validation.New(field, "%s is in %s, not %s", code, describe(country, states[0]), describe(country, region))
}

// caDistricts maps the first letter of a Canadian postal code (its postal
// district) to its province or territories.
var caDistricts = map[byte][]string{
	'A': {"NL"}, 'B': {"NS"}, 'C': {"PE"}, 'E': {"NB"}, 'G': {"QC"}, 'H': {"QC"}, 'J': {"QC"},
	'K': {"ON"}, 'L': {"ON"}, 'M': {"ON"}, 'N': {"ON"}, 'P': {"ON"}, 'R': {"MB"}, 'S': {"SK"},
	'T': {"AB"}, 'V': {"BC"}, 'X': {"NT", "NU"}, 'Y': {"YT"},
}

// zipRanges maps USPS three-digit ZIP prefixes to states (USPS's sectional
// centre table). Prefixes missing here are not in use.
var zipRanges = []struct {
	from, to int
	state    string
}{
	{5, 5, "NY"}, {6, 7, "PR"}, {8, 8, "VI"}, {9, 9, "PR"},
	{10, 27, "MA"}, {28, 29, "RI"}, {30, 38, "NH"}, {39, 49, "ME"}, {50, 54, "VT"}, {55, 55, "MA"},
	{56, 59, "VT"}, {60, 69, "CT"}, {70, 89, "NJ"}, {90, 99, "AE"},
	{100, 149, "NY"}, {150, 196, "PA"}, {197, 199, "DE"}, {200, 200, "DC"}, {201, 201, "VA"}, {202, 205, "DC"},
	{206, 219, "MD"}, {220, 246, "VA"}, {247, 268, "WV"}, {270, 289, "NC"}, {290, 299, "SC"},
	{300, 319, "GA"}, {320, 339, "FL"}, {340, 340, "AA"}, {341, 349, "FL"}, {350, 369, "AL"},
	{370, 385, "TN"}, {386, 397, "MS"}, {398, 399, "GA"},
	{400, 427, "KY"}, {430, 459, "OH"}, {460, 479, "IN"}, {480, 499, "MI"},
	{500, 528, "IA"}, {530, 549, "WI"}, {550, 567, "MN"}, {569, 569, "DC"}, {570, 577, "SD"},
	{580, 588, "ND"}, {590, 599, "MT"},
	{600, 629, "IL"}, {630, 658, "MO"}, {660, 679, "KS"}, {680, 693, "NE"},
	{700, 715, "LA"}, {716, 729, "AR"}, {730, 732, "OK"}, {733, 733, "TX"}, {734, 749, "OK"}, {750, 799, "TX"},
	{800, 816, "CO"}, {820, 831, "WY"}, {832, 838, "ID"}, {840, 847, "UT"}, {850, 865, "AZ"},
	{870, 884, "NM"}, {885, 885, "TX"}, {889, 898, "NV"},
	{900, 961, "CA"}, {962, 966, "AP"}, {967, 968, "HI"}, {969, 969, "GU"}, {970, 979, "OR"},
	{980, 994, "WA"}, {995, 999, "AK"},
}

// zipExceptions are five-digit ZIP codes whose state is not their prefix's,
// or that serve places on both sides of a state line.
var zipExceptions = map[string][]string{
	"06390": {"NY"}, // Fishers Island, NY, in Connecticut's sectional centre
	"83414": {"WY"}, // Alta, WY, served from Idaho
	"96799": {"AS"}, // American Samoa, in Hawaii's range
	"96950": {"MP"}, "96951": {"MP"}, "96952": {"MP"},
	"03579": {"NH", "ME"}, "20135": {"VA", "WV"}, "24604": {"VA", "WV"}, "30165": {"GA", "AL"},
	"31905": {"GA", "AL"}, "42223": {"KY", "TN"}, "52626": {"IA", "MO"}, "57638": {"SD", "ND"},
	"57724": {"SD", "MT"}, "58623": {"ND", "SD"}, "58653": {"ND", "SD"}, "59221": {"MT", "ND"},
	"63673": {"MO", "IL"}, "69201": {"NE", "SD"}, "69212": {"NE", "SD"}, "69216": {"NE", "SD"},
	"71749": {"AR", "LA"}, "73949": {"OK", "TX"}, "73960": {"TX", "OK"}, "81137": {"CO", "NM"},
	"82063": {"WY", "CO"}, "82082": {"WY", "NE"}, "82930": {"WY", "UT"}, "83120": {"WY", "ID"},
	"83342": {"ID", "UT"}, "84034": {"UT", "NV"}, "84536": {"UT", "AZ"}, "86044": {"AZ", "UT"},
	"86514": {"AZ", "NM", "UT"}, "86515": {"AZ", "NM"}, "87328": {"NM", "AZ"}, "88063": {"NM", "TX"},
	"89010": {"NV", "CA"}, "89019": {"NV", "CA"}, "89060": {"NV", "CA"}, "89061": {"NV", "CA"},
	"89439": {"NV", "CA"}, "97635": {"OR", "CA"}, "97910": {"OR", "ID"}, "99128": {"WA", "ID"},
	"99362": {"WA", "OR"},
}

// zipStates returns the states a ZIP code ("12345" or "12345-6789") may
// be in; none when its prefix is not in use.
func zipStates(zip string) []string {
	five := zip[:5]
	if s, ok := zipExceptions[five]; ok {
		return s
	}
	p := int(five[0]-'0')*100 + int(five[1]-'0')*10 + int(five[2]-'0')
	for _, r := range zipRanges {
		if p >= r.from && p <= r.to {
			return []string{r.state}
		}
	}
	return nil
}

// trailingZIP is a ZIP code ending a free-form address ("… 90001[, USA]").
var trailingZIP = regexp.MustCompile(`(?i)(?:^|[\s,])(\d{5})(?:-\d{4})?\s*(?:,\s*(?:US|USA|U\.S\.A?\.?|United States(?: of America)?)\s*)?$`)

// TrailingZIPState answers the US state of the ZIP code ending a free-form
// address, when the ZIP's prefix belongs to one state alone.
func TrailingZIPState(s string) (string, bool) {
	m := trailingZIP.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	if states := zipStates(m[1]); len(states) == 1 {
		return states[0], true
	}
	return "", false
}

// usTail is ", ST 12345[-6789][, US|USA|United States]" at the end.
var usTail = regexp.MustCompile(`(?i),\s*([A-Z]{2})\.?\s+(\d{5}(?:-\d{4})?)\s*(?:,\s*(?:US|USA|U\.S\.A?\.?|United States(?: of America)?)\s*)?$`)
