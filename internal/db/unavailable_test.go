package db_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/testenv"
)

// A dropped connection and a refused connect are "unavailable"; a statement
// the server refused is not.
func TestUnavailableTellsOutagesFromRefusals(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	u, err := url.Parse(dbtest.URL(pool))
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg, err := pgxpool.ParseConfig(u.String())
	require.NoError(t, err)
	cfg.ConnConfig.ConnectTimeout = time.Second
	viaProxy, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(viaProxy.Close)

	_, err = viaProxy.Exec(ctx, "SELECT 1")
	require.NoError(t, err)
	proxy.SetDown(true)
	_, err = viaProxy.Exec(ctx, "SELECT 1") // the pooled connection was cut
	assert.True(t, db.Unavailable(err), "%T %v", err, err)
	_, err = viaProxy.Exec(ctx, "SELECT 1") // a new connection is refused
	assert.True(t, db.Unavailable(err), "%T %v", err, err)

	_, err = pool.Exec(ctx, "SELECT 1/0")
	assert.False(t, db.Unavailable(err), "a refused statement: %v", err)
	assert.False(t, db.Unavailable(errors.New("coupon expired")))
}
