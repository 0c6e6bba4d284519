package catalog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/money"
)

// ErrImportFile means the file as a whole cannot be read (bad JSON, no header).
var ErrImportFile = errors.New("unreadable import file")

// ImportRow is one product of an import file: either valid, or with the
// reason it cannot be imported. Row counts data rows from 1.
type ImportRow struct {
	Row     int
	Product ProductInput
	Err     string
}

var skuPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]{1,63}$`)

// importColumns are the CSV header names, also the JSON keys.
var importColumns = []string{"sku", "name", "description", "category", "brand", "price", "currency", "stock_quantity"}

// ParseImport reads a catalog file, JSON (an array of objects) or CSV (with
// a header line), sniffed from its first byte. Bad rows come back with a
// reason rather than failing the whole file.
func ParseImport(data []byte) ([]ImportRow, error) {
	trimmed := bytes.TrimSpace(data)
	trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return parseJSON(trimmed)
	}
	return parseCSV(trimmed)
}

func parseJSON(data []byte) ([]ImportRow, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImportFile, err)
	}
	rows := make([]ImportRow, 0, len(raw))
	for i, msg := range raw {
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.UseNumber() // prices stay exact decimals, never floats
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			rows = append(rows, ImportRow{Row: i + 1, Err: "not a JSON object"})
			continue
		}
		fields := map[string]string{}
		for _, k := range importColumns {
			switch v := obj[k].(type) {
			case nil:
			case string:
				fields[k] = v
			case json.Number:
				fields[k] = v.String()
			default:
				fields[k] = fmt.Sprint(v)
			}
		}
		rows = append(rows, buildRow(i+1, fields))
	}
	return rows, nil
}

func parseCSV(data []byte) ([]ImportRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: no CSV header: %v", ErrImportFile, err)
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, k := range []string{"sku", "name", "category", "price"} {
		if _, ok := index[k]; !ok {
			return nil, fmt.Errorf("%w: CSV header lacks the %q column", ErrImportFile, k)
		}
	}
	var rows []ImportRow
	for n := 1; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrQuote && pe.Err != csv.ErrBareQuote {
				rows = append(rows, ImportRow{Row: n, Err: pe.Err.Error()})
				continue
			}
			// A broken quote desynchronises the rest of the file.
			return rows, fmt.Errorf("%w: data row %d: %v", ErrImportFile, n, err)
		}
		fields := map[string]string{}
		for k, i := range index {
			if i < len(rec) {
				fields[k] = rec[i]
			}
		}
		rows = append(rows, buildRow(n, fields))
	}
}

// buildRow validates one row's fields into a product input.
func buildRow(n int, f map[string]string) ImportRow {
	row := ImportRow{Row: n}
	bad := func(field, reason string) ImportRow {
		row.Err = field + ": " + reason
		return row
	}
	p := ProductInput{
		SKU:         strings.ToUpper(strings.TrimSpace(f["sku"])),
		Name:        strings.TrimSpace(f["name"]),
		Description: strings.TrimSpace(f["description"]),
		Category:    strings.TrimSpace(f["category"]),
		Brand:       strings.TrimSpace(f["brand"]),
	}
	switch {
	case p.SKU == "":
		return bad("sku", "is required")
	case !skuPattern.MatchString(p.SKU):
		return bad("sku", "must be 2-64 characters of A-Z, 0-9, '.', '_' or '-'")
	case p.Name == "" || len(p.Name) > 300:
		return bad("name", "is required and at most 300 characters")
	case p.Category == "" || Slug(p.Category) == "":
		return bad("category", "is required and must contain a letter or digit")
	case len(p.Category) > 200:
		return bad("category", "must be at most 200 characters")
	case len(p.Description) > 10000:
		return bad("description", "must be at most 10000 characters")
	case len(p.Brand) > 200:
		return bad("brand", "must be at most 200 characters")
	}
	// PostgreSQL text holds neither NUL nor invalid UTF-8: such a row would
	// fail its whole batch at the insert rather than being reported here.
	for _, f := range [][2]string{{"name", p.Name}, {"description", p.Description}, {"category", p.Category}, {"brand", p.Brand}} {
		if !utf8.ValidString(f[1]) || strings.ContainsRune(f[1], 0) {
			return bad(f[0], "must be UTF-8 text without NUL characters")
		}
	}
	currency := strings.ToUpper(strings.TrimSpace(f["currency"]))
	if currency == "" {
		currency = "USD"
	}
	price, err := money.Parse(f["price"], currency)
	if err != nil {
		if errors.Is(err, money.ErrCurrency) {
			return bad("currency", err.Error())
		}
		return bad("price", err.Error())
	}
	p.Price = price
	if s := strings.TrimSpace(f["stock_quantity"]); s != "" {
		q, err := strconv.ParseInt(s, 10, 32)
		if err != nil || q < 0 {
			return bad("stock_quantity", fmt.Sprintf("%q is not a non-negative integer", s))
		}
		p.StockQuantity = int32(q)
	}
	row.Product = p
	return row
}
