package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	authv1 "github.com/shopkit/shop/gen/shop/auth/v1"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	orderv1 "github.com/shopkit/shop/gen/shop/order/v1"
	"github.com/shopkit/shop/gen/shop/order/v1/orderv1connect"
	"github.com/shopkit/shop/internal/identity"
)

// restBadFields are the fields a REST error's BadRequest detail names.
func restBadFields(t *testing.T, out map[string]any) []string {
	t.Helper()
	var fields []string
	details, _ := out["details"].([]any)
	for _, d := range details {
		d, _ := d.(map[string]any)
		if d["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
			continue
		}
		violations, _ := d["field_violations"].([]any)
		for _, v := range violations {
			fields = append(fields, v.(map[string]any)["field"].(string))
		}
	}
	return fields
}

// TestSchemaRulesNameEveryBadField: the field rules written in the schema
// (protovalidate) answer 400 naming every bad field of a request at once,
// in the message and in the BadRequest detail.
func TestSchemaRulesNameEveryBadField(t *testing.T) {
	f := newServer(t, nil)
	customer := session(t, f, "rules-customer", identity.RoleCustomer)
	staff := session(t, f, "rules-staff", identity.RoleStaff)
	admin := session(t, f, "rules-admin", identity.RoleAdmin)
	for _, c := range []struct {
		name, method, path, token, body string
		fields                          []string
	}{
		{"search", "GET", "/api/search?sort=cheapest&skip=-1&limit=500&category_id=-1&min_price_minor=-5&max_price_minor=-1", "", "",
			[]string{"category_id", "min_price_minor", "max_price_minor", "sort", "skip", "limit"}},
		{"suggest", "GET", "/api/search/suggest?q=lap&limit=21", "", "", []string{"limit"}},
		{"product id", "GET", "/api/products/0", "", "", []string{"product_id"}},
		{"login", "POST", "/api/auth/login", "", `{}`, []string{"username", "password"}},
		{"login, blank once trimmed", "POST", "/api/auth/login", "", `{"username": "   ", "password": "x"}`, []string{"username"}},
		{"refresh", "POST", "/api/auth/refresh", "", `{}`, []string{"refresh_token"}},
		{"change password", "POST", "/api/auth/password", customer, `{"new_password": "SecurePass456!"}`, []string{"current_password"}},
		{"role", "POST", "/api/admin/users/1/role", admin, `{"role": "owner"}`, []string{"role"}},
		{"list orders", "GET", "/api/orders?skip=-1&limit=101&status=lost", customer, "", []string{"skip", "limit", "status"}},
		{"order id", "GET", "/api/orders/0", customer, "", []string{"order_id"}},
		{"cancel", "POST", "/api/orders/-3/cancel", customer, `{"reason": "` + strings.Repeat("r", 501) + `"}`,
			[]string{"order_id", "reason"}},
		{"refund", "POST", "/api/orders/0/refunds", staff, `{"amount": {"amount_minor": 0, "currency": "USD"}, "reason": "  "}`,
			[]string{"order_id", "amount", "reason"}},
		{"resolve refund", "POST", "/api/refunds/0/resolve", staff, `{"action": "approve"}`, []string{"refund_id", "action"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, out := call(t, c.method, f.url+c.path, c.token, c.body)
			require.Equal(t, http.StatusBadRequest, code, "%v", out)
			assert.EqualValues(t, connect.CodeInvalidArgument, out["code"], "%v", out)
			msg, _ := out["message"].(string)
			for _, field := range c.fields {
				assert.Contains(t, msg, field+": ", "the message names %s", field)
			}
			assert.True(t, strings.HasPrefix(msg, c.fields[0]+": "), "fields in schema order: %q", msg)
			assert.Len(t, strings.Split(msg, "; "), len(c.fields), "one part per bad field: %q", msg)
			assert.ElementsMatch(t, c.fields, restBadFields(t, out), "the BadRequest detail names each field: %v", out)
		})
	}
}

// TestSchemaRulesOverEveryProtocol: the rules are an interceptor, so
// Connect, gRPC and gRPC-Web callers meet them as REST callers do, with
// the same message and details.
func TestSchemaRulesOverEveryProtocol(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	opts := map[string][]connect.ClientOption{
		"connect+json":  {connect.WithProtoJSON()},
		"connect+proto": nil,
		"grpc":          {connect.WithGRPC()},
		"grpc-web":      {connect.WithGRPCWeb()},
	}
	for name, o := range opts {
		t.Run(name, func(t *testing.T) {
			client := http.DefaultClient
			if name == "grpc" {
				client = f.h2c
			}
			catalog := catalogv1connect.NewCatalogServiceClient(client, f.url, o...)
			neg := int64(-1)
			_, err := catalog.SearchProducts(ctx, connect.NewRequest(&catalogv1.SearchProductsRequest{
				Sort: "cheapest", Skip: -1, Limit: 101, MinPriceMinor: &neg}))
			want := []string{"min_price_minor", "sort", "skip", "limit"}
			require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
			var ce *connect.Error
			require.ErrorAs(t, err, &ce)
			for _, field := range want {
				assert.Contains(t, ce.Message(), field+": ")
			}
			var named []string
			for _, d := range ce.Details() {
				if v, err := d.Value(); err == nil {
					if br, ok := v.(*errdetails.BadRequest); ok {
						for _, fv := range br.GetFieldViolations() {
							named = append(named, fv.GetField())
						}
					}
				}
			}
			assert.ElementsMatch(t, want, named, "the BadRequest detail names each field")

			auth := authv1connect.NewAuthServiceClient(client, f.url, o...)
			_, err = auth.Login(ctx, connect.NewRequest(&authv1.LoginRequest{Username: " \t"}))
			assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
			assert.ErrorContains(t, err, "username: is required; password: is required")
		})
	}
}

// TestAccessComesBeforeTheSchemaRules: a caller who may not call the RPC
// hears that (401, 403) whatever the request breaks, over REST and Connect.
func TestAccessComesBeforeTheSchemaRules(t *testing.T) {
	f := newServer(t, nil)
	customer := session(t, f, "rules-first-customer", identity.RoleCustomer)
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/api/orders?limit=500&status=lost", "", "", http.StatusUnauthorized},
		{"GET", "/api/orders/0", "", "", http.StatusUnauthorized},
		{"POST", "/api/orders/0/refunds", "", `{"reason": ""}`, http.StatusUnauthorized},
		{"POST", "/api/orders/0/refunds", customer, `{"reason": ""}`, http.StatusForbidden},
		{"POST", "/api/refunds/0/resolve", customer, `{"action": "approve"}`, http.StatusForbidden},
		{"POST", "/api/admin/users/1/role", customer, `{"role": "owner"}`, http.StatusForbidden},
		{"POST", "/api/auth/password", "", `{}`, http.StatusUnauthorized},
	} {
		code, _, out := call(t, c.method, f.url+c.path, c.token, c.body)
		assert.Equal(t, c.want, code, "%s %s: %v", c.method, c.path, out)
	}
	orders := orderv1connect.NewOrderServiceClient(http.DefaultClient, f.url)
	_, err := orders.ListOrders(context.Background(), connect.NewRequest(&orderv1.ListOrdersRequest{Limit: 500}))
	assert.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "%v", err)
	auth := authv1connect.NewAuthServiceClient(http.DefaultClient, f.url)
	req := connect.NewRequest(&authv1.AddAddressRequest{})
	_, err = auth.AddAddress(context.Background(), req)
	assert.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "%v", err)
	req.Header().Set("Authorization", "Bearer "+customer)
	_, err = auth.AddAddress(context.Background(), req)
	assert.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
	assert.ErrorContains(t, err, "address: is required")
}
