package db_test

import (
	"context"
	"net"
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

// These tests never pause replay (api/replica_test.go does, alone): other
// packages may pause it meanwhile, which only makes them wait longer.

func newPools(t *testing.T, primary *pgxpool.Pool, readURL string, maxLag time.Duration) *db.Pools {
	t.Helper()
	p, err := db.NewPools(primary, db.ReplicaOptions{URL: readURL, MaxConns: 4, MaxLag: maxLag, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// inRecovery answers whether the read ran on a standby.
func inRecovery(t *testing.T, ctx context.Context, p *db.Pools) bool {
	t.Helper()
	var standby bool
	require.NoError(t, p.Read(ctx, func(pool *pgxpool.Pool) error {
		return pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
	}))
	return standby
}

// A fresh replica takes the reads a context allows; everything else stays
// on the primary.
func TestReadsGoToAFreshReplica(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	p := newPools(t, primary, dbtest.ReplicaURL(t, primary), 30*time.Second)
	require.True(t, p.HasReplica())
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return inRecovery(t, stale, p) }, 60*time.Second, 50*time.Millisecond,
		"a stale-tolerant read goes to the replica once it is measured fresh")

	assert.False(t, inRecovery(t, ctx, p), "a read outside ReplicaOK (a write path, an activity) stays on the primary")

	// Read-your-writes: a position the replica has not replayed (far in the
	// future) keeps the read on the primary; the position of a write it has
	// replayed lets it through.
	_, err := primary.Exec(ctx, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('written')")
	require.NoError(t, err)
	lsn, err := p.WriteLSN(ctx)
	require.NoError(t, err)
	assert.False(t, inRecovery(t, db.ReplicaOK(ctx, lsn+1<<40), p), "the replica is not past the user's write")
	require.Eventually(t, func() bool { return inRecovery(t, db.ReplicaOK(ctx, lsn), p) }, 60*time.Second, 50*time.Millisecond,
		"once the replica replayed the write, the user's reads go there")
	var body string
	require.NoError(t, p.Read(db.ReplicaOK(ctx, lsn), func(pool *pgxpool.Pool) error {
		return pool.QueryRow(ctx, "SELECT body FROM notes").Scan(&body)
	}))
	assert.Equal(t, "written", body)
}

// Without a replica configured every read goes to the primary.
func TestNoReplicaReadsThePrimary(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	p := newPools(t, primary, "", time.Second)
	assert.False(t, p.HasReplica())
	assert.False(t, inRecovery(t, db.ReplicaOK(ctx, 0), p))
	p.Close() // no poller to stop
}

// A replica that is down, at start or later, never fails a read.
func TestReplicaDownReadsThePrimary(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)

	// Down from the start: a closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	u, err := url.Parse(dbtest.URL(primary))
	require.NoError(t, err)
	u.Host = closed
	down := newPools(t, primary, u.String(), time.Second)
	for range 3 {
		assert.False(t, inRecovery(t, db.ReplicaOK(ctx, 0), down))
	}

	// Down later, between two measurements: the read it fails runs again on
	// the primary.
	u, err = url.Parse(dbtest.ReplicaURL(t, primary))
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	p, err := db.NewPools(primary, db.ReplicaOptions{URL: u.String(), MaxConns: 4, MaxLag: 30 * time.Second, Poll: time.Hour})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	stale := db.ReplicaOK(ctx, 0)
	require.True(t, inRecovery(t, stale, p), "measured fresh when opened")
	proxy.SetDown(true)
	assert.False(t, inRecovery(t, stale, p), "the cut connection's read ran on the primary")
	assert.False(t, inRecovery(t, stale, p), "and the replica stays out until it measures well again")
}
