package search_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/testenv"
)

// A search the replica fails (its connection cut after it prepared the
// search's statements) answers from the primary.
func TestSearchFallsBackToThePrimary(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	direct := dbtest.ReplicaURL(t, f.pool)
	dbtest.WaitReplayed(t, f.pool, direct) // measured fresh from the start
	u, err := url.Parse(direct)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	// No polling after the first measurement: only the failed reads can tell
	// the replica is gone.
	reads, err := db.NewPools(f.pool, db.ReplicaOptions{URL: u.String(), MaxConns: 1, MaxLag: time.Minute, Poll: time.Hour})
	require.NoError(t, err)
	t.Cleanup(reads.Close)
	pg := search.NewPostgres(f.pool)
	pg.ReadFrom(reads)
	stale := db.ReplicaOK(ctx, 0)
	q := search.Query{Text: "wireless headphones", Limit: 10}

	onReplica := dbtest.Routed(t, "replica", "fresh")
	_, err = pg.Search(stale, q) // on the replica: its connection now holds the prepared statements
	require.NoError(t, err)
	require.Equal(t, onReplica+1, dbtest.Routed(t, "replica", "fresh"), "the first search ran on the replica")
	proxy.SetDown(true)

	r, err := pg.Search(stale, q)
	require.NoError(t, err, "the search ran again on the primary")
	assert.NotZero(t, r.Total)
	assert.Equal(t, f.ids["A1"], r.Hits[0].ProductID)
}
