// Package demodata bundles a realistic demo catalog for `shop seed` and tests.
package demodata

import _ "embed"

// Catalog is a JSON import file of the demo store's products.
//
//go:embed catalog.json
var Catalog []byte

// SampleCSV is a small CSV import file with three bad rows (4, 8 and 11).
//
//go:embed sample.csv
var SampleCSV []byte
