package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/shopkit/shop/gen/shop/analytics/v1"
	"github.com/shopkit/shop/gen/shop/analytics/v1/analyticsv1connect"
	"github.com/shopkit/shop/internal/identity"
)

// The seed's example, verbatim.
const seedAnalyticsBody = `{
  "start_date": "2024-01-01T00:00:00Z",
  "end_date": "2024-01-31T23:59:59Z",
  "metrics": ["total_sales", "conversion_rate", "average_order_value"],
  "group_by": "product"
}`

func postAnalytics(t *testing.T, f *fixture, path, token, accept, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", f.url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(b)
}

// januarySales writes January 2024's orders and sessions: a laptop and two
// mugs (USD), a mug partly refunded (USD), a laptop in EUR, a laptop paid
// then cancelled and one paid in February; a signed-in session that bought
// the laptop it viewed and an anonymous one that viewed the mug.
func januarySales(t *testing.T, f *fixture) (laptop, mug int64) {
	t.Helper()
	ctx := context.Background()
	pool := f.shop.Pool
	laptop = f.laptop.ID
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM products WHERE sku = 'MUG-001'`).Scan(&mug))
	var user int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO users (username, email, password_hash)
		VALUES ('jan-buyer', 'jan@example.com', 'x') RETURNING id`).Scan(&user))
	order := func(id int64, status, currency string, total, refunded int64, paid string, lines ...[3]int64) {
		var sub int64
		for _, l := range lines {
			sub += l[1] * l[2]
		}
		_, err := pool.Exec(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor,
				shipping_minor, tax_minor, tax_ppm, total_minor, captured_minor, refunded_minor, shipping_method,
				shipping_address, billing_address, shipping_country, payment_method, created_at, paid_at)
			VALUES ($1, $2, $3, $4, $5::bigint, 0, $6::bigint - $5::bigint, 0, 0, $6, $6, $7, 'standard', 'a', 'a', 'US', 'card', $8, $8)`,
			id, user, status, currency, sub, total, refunded, paid)
		require.NoError(t, err)
		for i, l := range lines {
			_, err := pool.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, sku, name, quantity,
				unit_price_minor, line_total_minor) VALUES ($1, $2, $3, 'SKU', 'Item', $4::int, $5::bigint, $4::int * $5::bigint)`,
				id, i+1, l[0], l[1], l[2])
			require.NoError(t, err)
		}
	}
	order(9001, "delivered", "USD", 203999, 0, "2024-01-10T12:00:00Z", [3]int64{laptop, 1, 199999}, [3]int64{mug, 2, 1500})
	order(9002, "partially_refunded", "USD", 2000, 500, "2024-01-20T08:00:00Z", [3]int64{mug, 1, 1500})
	order(9003, "paid", "EUR", 180000, 0, "2024-01-15T09:30:00Z", [3]int64{laptop, 1, 180000})
	order(9004, "cancelled", "USD", 199999, 199999, "2024-01-12T10:00:00Z", [3]int64{laptop, 1, 199999})
	order(9005, "paid", "USD", 1500, 0, "2024-02-02T10:00:00Z", [3]int64{mug, 1, 1500})
	_, err := pool.Exec(ctx, `INSERT INTO behaviour_events (occurred_at, kind, session_id, user_id, product_id, dedup_key) VALUES
		('2024-01-10T11:00:00Z', 'view', 'sess-jan-0001', $1, $2, 'c:sess-jan-0001:1'),
		('2024-01-10T11:05:00Z', 'add_to_cart', 'sess-jan-0001', $1, $2, 'c:sess-jan-0001:2'),
		('2024-01-11T15:00:00Z', 'view', 'sess-jan-0002', NULL, $3, 'c:sess-jan-0002:1')`, user, laptop, mug)
	require.NoError(t, err)
	return laptop, mug
}

// TestAnalyticsOverREST: the seed's POST /analytics works verbatim for
// staff (and at /api/analytics), exact to the minor unit per currency;
// nobody gets 401, a customer 403; CSV on request; bad input is a 400 that
// names the field.
func TestAnalyticsOverREST(t *testing.T) {
	f := newServer(t, nil)
	laptop, mug := januarySales(t, f)
	staff := session(t, f, "ana-staff", identity.RoleStaff)
	admin := session(t, f, "ana-admin", identity.RoleAdmin)

	code, _, body := postAnalytics(t, f, "/analytics", "", "", seedAnalyticsBody)
	assert.Equal(t, http.StatusUnauthorized, code, body)
	code, _, body = postAnalytics(t, f, "/analytics", session(t, f, "ana-customer", identity.RoleCustomer), "", seedAnalyticsBody)
	assert.Equal(t, http.StatusForbidden, code, body)

	want := fmt.Sprintf(`{
	  "start_date": "2024-01-01T00:00:00Z", "end_date": "2024-01-31T23:59:59Z",
	  "metrics": ["total_sales", "conversion_rate", "average_order_value"],
	  "group_by": "product", "time_zone": "UTC", "rollup_hours": 0, "raw_hours": 744, "csv": "",
	  "rows": [
	    {"key": "%d", "label": "Gaming Laptop", "conversion_rate": 1, "sessions": "1", "converted_sessions": "1",
	     "order_count": "2",
	     "sales": [{"currency": "EUR", "order_count": "1", "total_sales": "180000", "average_order_value": "180000"},
	               {"currency": "USD", "order_count": "1", "total_sales": "200984", "average_order_value": "200984"}]},
	    {"key": "%d", "label": "Travel Mug", "conversion_rate": 0, "sessions": "1", "converted_sessions": "0",
	     "order_count": "2",
	     "sales": [{"currency": "USD", "order_count": "2", "total_sales": "5015", "average_order_value": "2508"}]}
	  ]}`, laptop, mug)
	for _, path := range []string{"/analytics", "/api/analytics"} {
		for _, token := range []string{staff, admin} {
			code, _, body = postAnalytics(t, f, path, token, "", seedAnalyticsBody)
			require.Equal(t, http.StatusOK, code, body)
			assert.JSONEq(t, want, body, path)
		}
	}

	// Net sales and refunds, by day in New York.
	code, _, body = postAnalytics(t, f, "/analytics", staff, "", `{"start_date": "2024-01-20T00:00:00-05:00",
		"end_date": "2024-01-20T23:59:59-05:00", "metrics": ["net_sales", "refund_rate"], "group_by": "day",
		"time_zone": "America/New_York"}`)
	require.Equal(t, http.StatusOK, code, body)
	var byDay struct {
		Rows []struct {
			Key        string
			RefundRate float64 `json:"refund_rate"`
			Sales      []struct {
				Currency string
				NetSales string `json:"net_sales"`
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &byDay))
	require.Len(t, byDay.Rows, 1, body)
	assert.Equal(t, "2024-01-20", byDay.Rows[0].Key)
	assert.Equal(t, 1.0, byDay.Rows[0].RefundRate)
	require.Len(t, byDay.Rows[0].Sales, 1)
	assert.Equal(t, "1500", byDay.Rows[0].Sales[0].NetSales)

	// CSV: by Accept, or by "format".
	wantCSV := [][]string{{"key", "label", "total_sales_EUR", "total_sales_USD", "conversion_rate",
		"average_order_value_EUR", "average_order_value_USD"},
		{fmt.Sprint(laptop), "Gaming Laptop", "180000", "200984", "1", "180000", "200984"},
		{fmt.Sprint(mug), "Travel Mug", "0", "5015", "0", "0", "2508"}}
	for _, c := range []struct{ accept, body string }{
		{"text/csv", seedAnalyticsBody},
		{"", strings.Replace(seedAnalyticsBody, `"group_by"`, `"format": "csv", "group_by"`, 1)},
	} {
		code, h, body := postAnalytics(t, f, "/analytics", staff, c.accept, c.body)
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		require.NoError(t, err, body)
		assert.Equal(t, wantCSV, recs)
	}
	// An error stays JSON, whatever was accepted.
	code, h, body := postAnalytics(t, f, "/analytics", "", "text/csv", seedAnalyticsBody)
	assert.Equal(t, http.StatusUnauthorized, code, body)
	assert.Contains(t, h.Get("Content-Type"), "json")

	bad := map[string]string{
		`{"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}`:                            "end_date",
		`{"start_date": "2022-01-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}`:                            "end_date",
		`{"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-01-02T00:00:00Z", "metrics": ["revenue"]}`:    "metrics",
		`{"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-01-02T00:00:00Z", "group_by": "hour"}`:        "group_by",
		`{"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-01-02T00:00:00Z", "time_zone": "Mars/Base"}`:  "time_zone",
		`{"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-01-02T00:00:00Z", "order_by": "total_sales"}`: "currency",
		`{"end_date": "2024-01-02T00:00:00Z"}`:                                                                  "start_date",
	}
	for req, field := range bad {
		code, _, body := postAnalytics(t, f, "/analytics", staff, "", req)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %s", req, body)
		assert.Contains(t, body, field, req)
	}
}

// TestAnalyticsOverConnect: the same service over Connect, with top-N.
func TestAnalyticsOverConnect(t *testing.T) {
	f := newServer(t, nil)
	laptop, _ := januarySales(t, f)
	staff := session(t, f, "ana-staff", identity.RoleStaff)
	c := analyticsv1connect.NewAnalyticsServiceClient(http.DefaultClient, f.url)
	req := connect.NewRequest(&analyticsv1.GetSalesAnalyticsRequest{
		StartDate: timestamppb.New(mustTime(t, "2024-01-01T00:00:00Z")), EndDate: timestamppb.New(mustTime(t, "2024-01-31T23:59:59Z")),
		Metrics: []string{"net_sales", "units_sold"}, GroupBy: "product", OrderBy: "net_sales", Currency: "USD", Limit: 1})
	req.Header().Set("Authorization", "Bearer "+staff)
	res, err := c.GetSalesAnalytics(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, res.Msg.GetRows(), 1)
	top := res.Msg.GetRows()[0]
	assert.Equal(t, fmt.Sprint(laptop), top.GetKey(), "the laptop sold most in USD")
	assert.Equal(t, int64(1), top.GetUnitsSold())
	require.Len(t, top.GetSales(), 1)
	assert.Equal(t, int64(200984), top.GetSales()[0].GetNetSales())

	req.Msg.GroupBy = "galaxy"
	_, err = c.GetSalesAnalytics(context.Background(), req)
	assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return at
}
