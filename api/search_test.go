package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearchOverREST(t *testing.T) {
	f := newServer(t, nil)
	code, _, out := call(t, "GET", f.url+"/api/search?q=laptop", "", "")
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 1, out["total"])
	hit := out["hits"].([]any)[0].(map[string]any)
	assert.Equal(t, "LAPTOP-GAMER-001", hit["product"].(map[string]any)["sku"])
	assert.Contains(t, hit["highlights"].(map[string]any)["name"], "<em>")
	assert.Len(t, out["prices"], 7, "every price bucket is reported")
	assert.NotEmpty(t, out["categories"].([]any)[0].(map[string]any)["label"], "category facets carry names")

	code, _, out = call(t, "GET", f.url+"/api/search/suggest?q=gam", "", "")
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "Gaming Laptop", out["suggestions"].([]any)[0].(map[string]any)["name"])

	for _, q := range []string{`"unbalanced`, `name:(x) OR *`, "ünïcödé ☃", strings.Repeat("lorem ipsum ", 900)} {
		code, _, out := call(t, "GET", f.url+"/api/search?q="+url.QueryEscape(q), "", "")
		assert.Equal(t, http.StatusOK, code, "%.40q: %v", q, out)
	}
	for query, field := range map[string]string{
		"sort=cheapest":                         "sort",
		"limit=500":                             "limit",
		"min_price_minor=-1":                    "min_price_minor",
		"min_price_minor=500&max_price_minor=1": "max_price_minor",
	} {
		code, _, out := call(t, "GET", f.url+"/api/search?"+query, "", "")
		assert.Equal(t, http.StatusBadRequest, code, query)
		assert.Contains(t, out["message"], field)
	}
}
