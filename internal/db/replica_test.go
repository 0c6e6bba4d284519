package db_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/metrics"
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

// A fresh replica takes the reads a context allows; everything else stays
// on the primary.
func TestReadsGoToAFreshReplica(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	p := newPools(t, primary, dbtest.ReplicaURL(t, primary), 30*time.Second)
	require.True(t, p.HasReplica())
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, p) }, 60*time.Second, 50*time.Millisecond,
		"a stale-tolerant read goes to the replica once it is measured fresh")

	assert.False(t, dbtest.OnReplica(t, ctx, p), "a read outside ReplicaOK (a write path, an activity) stays on the primary")

	// Read-your-writes: a position the replica has not replayed (far in the
	// future) keeps the read on the primary; the position of a write it has
	// replayed lets it through.
	_, err := primary.Exec(ctx, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('written')")
	require.NoError(t, err)
	lsn, err := p.WriteLSN(ctx)
	require.NoError(t, err)
	assert.False(t, dbtest.OnReplica(t, db.ReplicaOK(ctx, lsn+1<<40), p), "the replica is not past the user's write")
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, db.ReplicaOK(ctx, lsn), p) }, 60*time.Second, 50*time.Millisecond,
		"once the replica replayed the write, the user's reads go there")
	var body string
	require.NoError(t, p.Read(db.ReplicaOK(ctx, lsn), func(ctx context.Context, pool *pgxpool.Pool) error {
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
	assert.False(t, dbtest.OnReplica(t, db.ReplicaOK(ctx, 0), p))
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
		assert.False(t, dbtest.OnReplica(t, db.ReplicaOK(ctx, 0), down))
	}

	// Down later, between two measurements: the read it fails runs again on
	// the primary.
	direct := dbtest.ReplicaURL(t, primary)
	dbtest.WaitReplayed(t, primary, direct) // measured fresh when opened
	u, err = url.Parse(direct)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	p, err := db.NewPools(primary, db.ReplicaOptions{URL: u.String(), MaxConns: 4, MaxLag: 30 * time.Second, Poll: time.Hour})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	stale := db.ReplicaOK(ctx, 0)
	require.True(t, dbtest.OnReplica(t, stale, p), "measured fresh when opened")
	proxy.SetDown(true)
	assert.False(t, dbtest.OnReplica(t, stale, p), "the cut connection's read ran on the primary")
	assert.False(t, dbtest.OnReplica(t, stale, p), "and the replica stays out until it measures well again")
}

// A replica whose network path silently drops everything (no reset, no
// close) holds a read only until the poller finds it gone: the read then
// answers from the primary, and Close does not wait for the replica.
func TestBlackholedReplicaReadsThePrimary(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	u, err := url.Parse(dbtest.ReplicaURL(t, primary))
	require.NoError(t, err)
	direct := u.String()
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	p, err := db.NewPools(primary, db.ReplicaOptions{URL: u.String(), MaxConns: 4, MaxLag: 30 * time.Second, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, p) }, 60*time.Second, 50*time.Millisecond)

	// A read the replica is running when the path goes black.
	tag := testenv.UniqueName("blackhole")
	type answer struct {
		standby bool
		err     error
		took    time.Duration
	}
	answered := make(chan answer, 1)
	go func() {
		start := time.Now()
		var standby bool
		err := p.Read(stale, func(ctx context.Context, pool *pgxpool.Pool) error {
			return pool.QueryRow(ctx, "SELECT /* "+tag+" */ pg_is_in_recovery() FROM pg_sleep(0.5)").Scan(&standby)
		})
		answered <- answer{standby, err, time.Since(start)}
	}()
	watch, err := pgx.Connect(ctx, direct)
	require.NoError(t, err)
	defer watch.Close(ctx)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, watch.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", tag).Scan(&n))
		return n > 0
	}, 10*time.Second, 10*time.Millisecond, "the read runs on the replica")
	proxy.SetBlackhole(true)
	select {
	case a := <-answered:
		require.NoError(t, a.err)
		assert.False(t, a.standby, "the read answered from the primary")
		assert.Less(t, a.took, 5*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("the read is still waiting for the blackholed replica")
	}
	assert.False(t, dbtest.OnReplica(t, stale, p), "the replica stays out while it does not answer")

	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the blackholed replica")
	}
}

// A read the replica refuses for a reason of its own (a conflict with
// recovery cancelled it) runs again on the primary, counted once, and the
// replica keeps serving; a write routed to the replica fails loudly.
func TestReplicaRefusals(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	p := newPools(t, primary, dbtest.ReplicaURL(t, primary), 30*time.Second)
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, p) }, 60*time.Second, 50*time.Millisecond)

	for _, code := range []string{"40001", "40P01"} {
		fresh, fallback := dbtest.Routed(t, "replica", "fresh"), dbtest.Routed(t, "primary", "fallback")
		var ran []bool
		require.NoError(t, p.Read(stale, func(ctx context.Context, pool *pgxpool.Pool) error {
			var standby bool
			if err := pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
				return err
			}
			ran = append(ran, standby)
			if standby {
				return &pgconn.PgError{Code: code, Message: "canceling statement due to conflict with recovery"}
			}
			return nil
		}), code)
		assert.Equal(t, []bool{true, false}, ran, "%s: tried on the replica, answered by the primary", code)
		assert.Equal(t, fresh, dbtest.Routed(t, "replica", "fresh"), "a fallback read counts once, where it ended")
		assert.Equal(t, fallback+1, dbtest.Routed(t, "primary", "fallback"))
		assert.True(t, dbtest.OnReplica(t, stale, p), "%s: one cancelled read leaves the replica in use", code)
	}

	err := p.Read(stale, func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := pool.Exec(ctx, "CREATE TABLE routed_write (id int)")
		return err
	})
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe, "a write routed to the replica fails")
	assert.Equal(t, "25006", pe.Code)
	var exists bool
	require.NoError(t, primary.QueryRow(ctx, "SELECT to_regclass('routed_write') IS NOT NULL").Scan(&exists))
	assert.False(t, exists, "and never runs again on the primary")
}

// replicaUp reads the shop_db_replica_up gauge.
func replicaUp(t *testing.T) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == metrics.Namespace+"_db_replica_up" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// Reads holding every replica connection (long analytics queries) do not
// make the replica look down: the poller measures on its own connection.
func TestBusyReplicaStaysUp(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	p, err := db.NewPools(primary, db.ReplicaOptions{URL: dbtest.ReplicaURL(t, primary), MaxConns: 1, MaxLag: 30 * time.Second, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, db.ReplicaOK(ctx, 0), p) }, 60*time.Second, 50*time.Millisecond)
	busy, err := p.Replica().Acquire(ctx)
	require.NoError(t, err)
	defer busy.Release()
	require.Never(t, func() bool { return replicaUp(t) != 1 }, 2*time.Second, 50*time.Millisecond,
		"the poller measures while the pool is exhausted")
}
