package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
)

func TestSeedCreateProductOverREST(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "root", identity.RoleAdmin)
	customer := session(t, f, "carl", identity.RoleCustomer)
	// The original description's body, verbatim but for the category id: its
	// SKU is free in a shop holding the demo catalog's laptop.
	body := fmt.Sprintf(`{
  "name": "Gaming Laptop",
  "description": "High-performance gaming laptop with RTX 4080",
  "price": 1999.99,
  "stockQuantity": 50,
  "categoryId": %d,
  "sku": "LAPTOP-GAMING-001"
}`, f.laptop.CategoryID)

	code, _, out := call(t, "POST", f.url+"/api/products", customer, body)
	assert.Equal(t, http.StatusForbidden, code, "a customer calling an admin RPC: %v", out)
	code, _, out = call(t, "POST", f.url+"/api/products", "", body)
	assert.Equal(t, http.StatusUnauthorized, code, out)

	code, _, p := call(t, "POST", f.url+"/api/products", admin, body)
	require.Equal(t, http.StatusOK, code, p)
	assert.Equal(t, "1999.99", p["price"])
	assert.Equal(t, "199999", p["price_money"].(map[string]any)["amount_minor"])
	assert.EqualValues(t, 50, p["stock_quantity"])

	code, _, out = call(t, "POST", f.url+"/api/products", admin, body)
	assert.Equal(t, http.StatusConflict, code, "duplicate SKU: %v", out)

	for fieldName, bad := range map[string]string{
		"price":          `{"sku":"X-1","name":"x","categoryId":%d,"price":19.999}`,
		"stock_quantity": `{"sku":"X-2","name":"x","categoryId":%d,"price":1,"stockQuantity":-1}`,
		"category_id":    `{"sku":"X-3","name":"x","categoryId":9999%d,"price":1}`,
		"sku":            `{"sku":"","name":"x","categoryId":%d,"price":1}`,
	} {
		code, _, out := call(t, "POST", f.url+"/api/products", admin, fmt.Sprintf(bad, f.laptop.CategoryID))
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", fieldName, out)
		assert.Contains(t, out["message"], fieldName)
	}
	code, _, out = call(t, "POST", f.url+"/api/products", admin, `{"sku":"X-4","name":"x","categoryId":1,"price":-5}`)
	assert.Equal(t, http.StatusBadRequest, code, out)

	id := p["id"].(string)
	code, _, out = call(t, "PATCH", f.url+"/api/products/"+id, admin, `{"price": 1899.5, "name": "Gaming Laptop 2"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "1899.50", out["price"])
	assert.Equal(t, "Gaming Laptop 2", out["name"])

	code, _, out = call(t, "POST", f.url+"/api/products/"+id+"/stock", admin, `{"delta": -60, "reason": "shrinkage"}`)
	assert.Equal(t, http.StatusBadRequest, code, "FailedPrecondition maps to 400: %v", out)
	assert.Contains(t, out["message"], "insufficient stock")
	code, _, out = call(t, "POST", f.url+"/api/products/"+id+"/stock", admin, `{"delta": -5, "reason": "damaged in transit"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 45, out["stock_quantity"])

	code, _, _ = call(t, "DELETE", f.url+"/api/products/"+id, admin, "")
	require.Equal(t, http.StatusOK, code)
	code, _, _ = call(t, "GET", f.url+"/api/products/"+id, "", "")
	assert.Equal(t, http.StatusNotFound, code, "archived products are gone from the storefront")
}

func ptr[T any](v T) *T { return &v }
