package catalog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shopkit/shop/internal/catalog/demodata"
	"github.com/shopkit/shop/internal/money"
)

// checkImportRows asserts what every import must hold: rows numbered in
// order, each accepted row within the domain's rules (the ones the
// database enforces too, so a batch never fails on an accepted row), and
// each refused row naming the field it refuses.
func checkImportRows(t *testing.T, rows []ImportRow) {
	t.Helper()
	last := 0
	for _, r := range rows {
		if r.Row <= last {
			t.Fatalf("row numbers not increasing: %d after %d", r.Row, last)
		}
		last = r.Row
		if r.Err != "" {
			field, _, ok := strings.Cut(r.Err, ": ")
			known := map[string]bool{"sku": true, "name": true, "description": true, "category": true,
				"brand": true, "price": true, "currency": true, "stock_quantity": true}
			if r.Err != "not a JSON object" && !(ok && known[field]) && !strings.Contains(r.Err, "field") {
				t.Fatalf("row %d: error names no field: %q", r.Row, r.Err)
			}
			continue
		}
		p := r.Product
		if !skuPattern.MatchString(p.SKU) {
			t.Fatalf("row %d: accepted SKU %q", r.Row, p.SKU)
		}
		for _, f := range []struct {
			name, v  string
			required bool
			max      int
		}{
			{"name", p.Name, true, 300}, {"category", p.Category, true, 200},
			{"description", p.Description, false, 10000}, {"brand", p.Brand, false, 200},
		} {
			if (f.required && f.v == "") || len(f.v) > f.max {
				t.Fatalf("row %d: accepted %s of %d bytes", r.Row, f.name, len(f.v))
			}
			if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
				t.Fatalf("row %d: accepted %s %q, which PostgreSQL refuses as text", r.Row, f.name, f.v)
			}
		}
		if Slug(p.Category) == "" {
			t.Fatalf("row %d: accepted category %q without a slug", r.Row, p.Category)
		}
		if _, err := money.Exponent(p.Price.Currency); err != nil {
			t.Fatalf("row %d: accepted currency %q", r.Row, p.Price.Currency)
		}
		if p.Price.Amount < 0 || p.Price.Amount > money.MaxAmount(p.Price.Currency) {
			t.Fatalf("row %d: accepted price %v", r.Row, p.Price)
		}
		if p.StockQuantity < 0 {
			t.Fatalf("row %d: accepted stock %d", r.Row, p.StockQuantity)
		}
	}
}

func FuzzParseImport(f *testing.F) {
	f.Add(demodata.SampleCSV)
	f.Add([]byte(`[
		{"sku":"lap-1","name":"Laptop","category":"Laptops","price":1999.99,"stock_quantity":3},
		{"sku":"LAP-2","name":"Laptop 2","category":"Laptops","price":"10.005"},
		{"sku":"LAP-3","name":"","category":"Laptops","price":"1"},
		{"sku":"LAP-4","name":"Cheap","category":"Laptops","price":"5","currency":"XYZ"},
		"not an object"
	]`))
	f.Add([]byte(`[{"sku":`))
	f.Add([]byte("sku,name\nA,B\n"))
	f.Add([]byte(""))
	f.Add([]byte("\xef\xbb\xbfsku,name,category,price\nAB,\"a\"\"b\",C,1\n"))
	f.Add([]byte(`[{"sku":"JP-1","name":"Tea","category":"Food","price":1500,"currency":"jpy","stock_quantity":"7"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseImport(data)
		if err != nil && !errors.Is(err, ErrImportFile) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		checkImportRows(t, rows)
	})
}

// FuzzImportFields writes one product as JSON and as CSV: both must give
// the same verdict, and that verdict must respect the domain's rules.
func FuzzImportFields(f *testing.F) {
	f.Add("CSV-LAPTOP-001", "Altura Air 14 Ultrabook Laptop", "Thin and light, 16GB RAM.", "Laptops", "Altura", "1099.99", "USD", "25")
	f.Add("lap-1", "Laptop", "", "Home & Kitchen", "", "1999.99", "", "3")
	f.Add("CSV-PHONE-001", "Zenvo Lite 5G Smartphone", "Mid-range phone.", "Smartphones", "Zenvo", "abc", "USD", "40")
	f.Add("X", "Name", "", "!!!", "", "1", "USD", "-1")
	f.Add("KW-1", "Dates", "", "Food", "", "1.234", "kwd", "")
	f.Add("AB", "Na\x00me", "", "Cat", "", "1", "EUR", "2147483648")
	f.Fuzz(func(t *testing.T, sku, name, desc, category, brand, price, currency, stock string) {
		obj := map[string]string{"sku": sku, "name": name, "description": desc, "category": category,
			"brand": brand, "price": price, "currency": currency, "stock_quantity": stock}
		js, err := json.Marshal([]map[string]string{obj})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(importColumns)
		rec := make([]string, len(importColumns))
		for i, k := range importColumns {
			rec[i] = obj[k]
		}
		_ = w.Write(rec)
		w.Flush()

		jrows, err := ParseImport(js)
		if err != nil || len(jrows) != 1 {
			t.Fatalf("JSON file of one object: %d rows, %v", len(jrows), err)
		}
		checkImportRows(t, jrows)
		crows, err := ParseImport(buf.Bytes())
		if err != nil {
			return // a CSV may legitimately break (a lone quote in the header, say)
		}
		checkImportRows(t, crows)
		// CSV turns \r\n inside quotes into \n and has no way to write a
		// leading empty line, so compare only inputs it carries unchanged.
		if strings.ContainsAny(sku+name+desc+category+brand+price+currency+stock, "\r\n\"") || !utf8.ValidString(sku+name+desc+category+brand+price+currency+stock) {
			return
		}
		if len(crows) != 1 || (crows[0].Err == "") != (jrows[0].Err == "") || crows[0].Product != jrows[0].Product {
			t.Fatalf("CSV and JSON disagree: %+v vs %+v", crows, jrows)
		}
	})
}
