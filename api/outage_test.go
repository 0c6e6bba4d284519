package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
)

// A database that drops out answers 503 with Retry-After, never a 500, and
// the same call succeeds once it is back.
func TestDatabaseOutageAnswers503(t *testing.T) {
	var proxy *testenv.Proxy
	f := newServerWith(t, options{orders: func(pool *pgxpool.Pool) *orders.Store {
		u, err := url.Parse(dbtest.URL(pool))
		require.NoError(t, err)
		proxy = testenv.NewProxy(t, u.Host)
		u.Host = proxy.Addr()
		cfg, err := pgxpool.ParseConfig(u.String())
		require.NoError(t, err)
		cfg.ConnConfig.ConnectTimeout = time.Second
		viaProxy, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(viaProxy.Close)
		return orders.NewStore(viaProxy, nil, nil, shoptest.Settings())
	}})
	john := session(t, f, "johndoe", identity.RoleCustomer)

	code, _, _ := call(t, "GET", f.url+"/api/orders", john, "")
	require.Equal(t, http.StatusOK, code)

	proxy.SetDown(true)
	code, header, body := call(t, "GET", f.url+"/api/orders", john, "")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Equal(t, "5", header.Get("Retry-After"), body)
	assert.NotContains(t, body["message"], "127.0.0.1", "no internals in the answer")

	proxy.SetDown(false)
	code, _, _ = call(t, "GET", f.url+"/api/orders", john, "")
	assert.Equal(t, http.StatusOK, code)
}
