package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/refund"
)

// refreshWithin bounds how long a committed change may take to reach the
// cache: far below the 10-minute page TTL, so only the outbox can explain it.
const refreshWithin = 10 * time.Second

// eventuallyServes waits until GET url answers field = want.
func eventuallyServes(t *testing.T, url, field string, want any, msg string) {
	t.Helper()
	var got any
	ok := assert.Eventually(t, func() bool {
		_, _, body := call(t, "GET", url, "", "")
		got = body[field]
		return assert.ObjectsAreEqual(want, got)
	}, refreshWithin, 20*time.Millisecond, msg)
	if !ok {
		t.Fatalf("%s: %s is %v, want %v", url, field, got, want)
	}
}

// Every writer (the API, the domain called by a workflow or an import, a
// script in psql) refreshes cached pages and listings through the outbox.
func TestEveryWriterRefreshesCachedPages(t *testing.T) {
	f := newServer(t, nil)
	admin := session(t, f, "root", identity.RoleAdmin)
	page := fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID)
	list := f.url + "/api/products?limit=10"
	// The fixture's own writes are applied first, so each step below can
	// only pass through its own write's event.
	require.Eventually(t, func() bool {
		var pending int
		err := f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox_deliveries WHERE consumer = 'cache'`).Scan(&pending)
		return err == nil && pending == 0
	}, refreshWithin, 20*time.Millisecond)

	_, _, before := call(t, "GET", page, "", "")
	assert.Equal(t, "Gaming Laptop", before["name"])
	_, _, listed := call(t, "GET", list, "", "")
	assert.EqualValues(t, 3, listed["total"])

	_, err := f.store.UpdateProduct(context.Background(), f.laptop.ID, catalog.ProductPatch{Name: ptr("Renamed By The Domain")})
	require.NoError(t, err)
	eventuallyServes(t, page, "name", "Renamed By The Domain", "a write outside the API refreshes the page")

	_, err = f.shop.Pool.Exec(context.Background(), `UPDATE products SET name = 'Renamed In psql' WHERE id = $1`, f.laptop.ID)
	require.NoError(t, err)
	eventuallyServes(t, page, "name", "Renamed In psql", "so does a script")

	code, _, _ := call(t, "PATCH", page, admin, `{"name": "Gaming Laptop X"}`)
	require.Equal(t, http.StatusOK, code)
	eventuallyServes(t, page, "name", "Gaming Laptop X", "and the API")

	code, _, _ = call(t, "DELETE", page, admin, "")
	require.Equal(t, http.StatusOK, code)
	eventuallyServes(t, list, "total", 2.0, "listings are refreshed too")
}

// Stock the checkout workflow puts back when an order is cancelled shows on
// the cached product page at once, not after the page's 10-minute TTL.
func TestStockReleasedByTheCheckoutShowsAtOnce(t *testing.T) {
	f := newServerWith(t, options{worker: true})
	john := session(t, f, "johndoe", identity.RoleCustomer)
	page := fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID)
	eventuallyServes(t, page, "stock_quantity", 50.0, "the page is cached")

	code, _, o := call(t, "POST", f.url+"/api/orders", john,
		fmt.Sprintf(`{"items": [{"product_id": %d, "quantity": 3}], "shipping_address": "1 Main St, Springfield, IL 62701, US"}`, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, o)
	eventuallyServes(t, page, "stock_quantity", 47.0, "the order's reservation shows")

	id := orderID(t, o)
	code, _, out := call(t, "POST", f.url+fmt.Sprintf("/api/orders/%d/cancel", id), john, `{"reason": "changed my mind"}`)
	require.Equal(t, http.StatusOK, code, out)
	f.shop.WaitStatus(t, id, orders.StatusCancelled, 30*time.Second)
	eventuallyServes(t, page, "stock_quantity", 50.0, "the release by the workflow shows")
}

// A catalog write needs neither Temporal nor the search node to succeed, and
// reaches the index once Elasticsearch answers: nothing is signalled through
// Temporal, nothing waits for a reindex.
func TestCatalogWritesReachTheIndexWithTemporalDown(t *testing.T) {
	dead, err := temporalclient.Lazy(temporalclient.Options{Address: "127.0.0.1:1", Namespace: "default", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	f := newServerWith(t, options{elastic: true, flows: api.Workflows{
		CheckoutFlows: &checkout.Client{Temporal: dead, TaskQueue: "nowhere"},
		RefundFlows:   &refund.Client{Temporal: dead, TaskQueue: "nowhere"}}})
	admin := session(t, f, "root", identity.RoleAdmin)

	code, _, out := call(t, "PATCH", fmt.Sprintf("%s/api/products/%d", f.url, f.laptop.ID), admin,
		`{"name": "Gaming Laptop Zephyrine", "price": 1799.99}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Eventually(t, func() bool {
		res, err := f.es.Search(context.Background(), search.Query{Text: "zephyrine", Limit: 5})
		return err == nil && len(res.Hits) == 1 && res.Hits[0].ProductID == f.laptop.ID
	}, 30*time.Second, 50*time.Millisecond, "the renamed product is found in Elasticsearch")
}
