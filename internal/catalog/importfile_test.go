package catalog

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog/demodata"
	"github.com/shopkit/shop/internal/validation"
)

func TestDemoCatalogIsRealistic(t *testing.T) {
	rows, err := ParseImport(demodata.Catalog)
	require.NoError(t, err)
	categories := map[string]int{}
	skus := map[string]bool{}
	for _, r := range rows {
		require.Empty(t, r.Err, "row %d", r.Row)
		assert.False(t, skus[r.Product.SKU], "duplicate SKU %s", r.Product.SKU)
		skus[r.Product.SKU] = true
		categories[r.Product.Category]++
		assert.NotEmpty(t, r.Product.Description)
		assert.Positive(t, r.Product.Price.Amount)
	}
	assert.GreaterOrEqual(t, len(rows), 200)
	assert.GreaterOrEqual(t, len(categories), 10)
}

func TestSampleCSVReportsBadRowsAndKeepsGoodOnes(t *testing.T) {
	rows, err := ParseImport(demodata.SampleCSV)
	require.NoError(t, err)
	require.Len(t, rows, 12)
	bad := map[int]string{}
	for _, r := range rows {
		if r.Err != "" {
			bad[r.Row] = r.Err
		}
	}
	assert.Len(t, bad, 3)
	assert.Contains(t, bad[4], "price")
	assert.Contains(t, bad[8], "sku")
	assert.Contains(t, bad[11], "stock_quantity")
}

func TestParseImportJSON(t *testing.T) {
	rows, err := ParseImport([]byte(`[
		{"sku":"lap-1","name":"Laptop","category":"Laptops","price":1999.99,"stock_quantity":3},
		{"sku":"LAP-2","name":"Laptop 2","category":"Laptops","price":"10.005"},
		{"sku":"LAP-3","name":"","category":"Laptops","price":"1"},
		{"sku":"LAP-4","name":"Cheap","category":"Laptops","price":"5","currency":"XYZ"},
		"not an object"
	]`))
	require.NoError(t, err)
	require.Len(t, rows, 5)
	assert.Empty(t, rows[0].Err)
	assert.Equal(t, "LAP-1", rows[0].Product.SKU, "SKUs are upper-cased")
	assert.Equal(t, int64(199999), rows[0].Product.Price.Amount, "JSON numbers are read exactly")
	assert.Equal(t, "USD", rows[0].Product.Price.Currency)
	assert.Contains(t, rows[1].Err, "price")
	assert.Contains(t, rows[2].Err, "name")
	assert.Contains(t, rows[3].Err, "currency")
	assert.Equal(t, "not a JSON object", rows[4].Err)
}

func TestParseImportRejectsUnreadableFiles(t *testing.T) {
	for _, in := range []string{`[{"sku":`, "sku,name\nA,B\n", ""} {
		_, err := ParseImport([]byte(in))
		assert.ErrorIs(t, err, ErrImportFile, in)
	}
}

func TestSlug(t *testing.T) {
	assert.Equal(t, "home-kitchen", Slug("Home & Kitchen"))
	assert.Equal(t, "headphones-audio", Slug("  Headphones & Audio!"))
	assert.Equal(t, "", Slug("!!!"))
}

func TestListFilterNamesTheBadField(t *testing.T) {
	for field, f := range map[string]ListFilter{
		"skip":        {Skip: -1},
		"limit":       {Limit: MaxLimit + 1},
		"category_id": {CategoryID: -3},
	} {
		err := f.Normalize()
		var fe *validation.Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, field, fe.Field)
	}
	f := ListFilter{}
	require.NoError(t, f.Normalize())
	assert.Equal(t, int32(DefaultLimit), f.Limit)
}
