package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
)

// The tests that pause the replica's replay live here alone and never run
// in parallel with each other. Pausing stops replay for the whole server:
// other packages' reads meanwhile fall back to the primary, never fail.

// pauseReplay stops the replica replaying WAL until resume (or the end of
// the test); conn is a connection to the replica.
func pauseReplay(t *testing.T, replicaURL string) (conn *pgx.Conn, resume func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, replicaURL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_wal_replay_pause()")
	require.NoError(t, err)
	resume = func() {
		// A fresh connection: the test's own may be gone or busy.
		c, err := pgx.Connect(context.Background(), replicaURL)
		require.NoError(t, err)
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), "SELECT pg_wal_replay_resume()")
		require.NoError(t, err)
	}
	t.Cleanup(func() { resume(); _ = conn.Close(context.Background()) })
	return conn, resume
}

// onReplica answers whether a read under ctx runs on the replica.
func onReplica(t *testing.T, ctx context.Context, p *db.Pools) bool {
	t.Helper()
	var standby bool
	require.NoError(t, p.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		return pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
	}))
	return standby
}

// A customer who just placed an order sees it in their order history and
// order page at once, though the replica has stopped replaying; a read of
// someone without writes falls back to the primary once the replica lags
// more than the limit; after replay resumes the replica serves again.
func TestReadYourWritesWhileTheReplicaLags(t *testing.T) {
	f := newServerWith(t, options{worker: true, replicaMaxLag: time.Second})
	ctx := context.Background()
	john := session(t, f, "john-replica", identity.RoleCustomer)
	replicaURL := dbtest.ReplicaURL(t, f.shop.Pool)
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return onReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond,
		"the replica serves read-only requests once it is measured fresh")
	// John's account has reached the replica before it stops.
	lsn, err := f.reads.WriteLSN(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return onReplica(t, db.ReplicaOK(ctx, lsn), f.reads) }, 60*time.Second, 50*time.Millisecond)

	replica, resume := pauseReplay(t, replicaURL)
	code, _, o := call(t, "POST", f.url+"/api/orders", john, fmt.Sprintf(seedOrder, f.laptop.ID, f.laptop.ID))
	require.Equal(t, http.StatusOK, code, o)
	id := orderID(t, o)

	code, _, got := call(t, "GET", f.url+fmt.Sprintf("/api/orders/%d", id), john, "")
	require.Equal(t, http.StatusOK, code, got)
	assert.Equal(t, o["status"], got["status"])
	code, _, list := call(t, "GET", f.url+"/api/orders", john, "")
	require.Equal(t, http.StatusOK, code, list)
	require.Len(t, list["orders"], 1, "the order history shows the order just placed")
	var onStandby int
	require.NoError(t, replica.QueryRow(ctx, "SELECT count(*) FROM orders WHERE id = $1", id).Scan(&onStandby))
	assert.Zero(t, onStandby, "the replica has not replayed the order: the reads came from the primary")

	// Nobody's write: a stale-tolerant read uses the replica until it lags
	// past DATABASE_READ_MAX_LAG, then the primary.
	lamp := f.shop.Product(t, "REPLICA-LAMP", 2500, 3)
	require.Eventually(t, func() bool { return !onReplica(t, stale, f.reads) }, 30*time.Second, 50*time.Millisecond,
		"a replica that lags more than the limit is skipped")
	code, _, found := call(t, "GET", f.url+"/api/search?q=replica+lamp", "", "")
	require.Equal(t, http.StatusOK, code, found)
	require.NotEmpty(t, found["hits"], "the anonymous search came from the primary: %v", found)
	assert.EqualValues(t, fmt.Sprint(lamp.ID), fmt.Sprint(found["hits"].([]any)[0].(map[string]any)["product"].(map[string]any)["id"]))

	resume()
	require.Eventually(t, func() bool { return onReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond,
		"once it caught up, the replica serves again")
	code, _, got = call(t, "GET", f.url+fmt.Sprintf("/api/orders/%d", id), john, "")
	require.Equal(t, http.StatusOK, code, got)
	assert.EqualValues(t, id, orderID(t, got))
}

// A replica that stops answering never fails a request, and readiness
// stays OK: the primary serves every read meanwhile.
func TestReplicaDownFallsBackToThePrimary(t *testing.T) {
	f := newServerWith(t, options{replicaMaxLag: time.Second})
	stale := db.ReplicaOK(context.Background(), 0)
	require.Eventually(t, func() bool { return onReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond)
	john := session(t, f, "john-down", identity.RoleCustomer)

	f.reads.Replica().Close() // as good as a replica gone: every read of it fails
	code, _, found := call(t, "GET", f.url+"/api/search?q=laptop", "", "")
	require.Equal(t, http.StatusOK, code, found)
	assert.NotEmpty(t, found["hits"])
	code, _, list := call(t, "GET", f.url+"/api/orders", john, "")
	require.Equal(t, http.StatusOK, code, list)
	assert.False(t, onReplica(t, stale, f.reads))
	code, _, ready := call(t, "GET", f.url+"/readyz", "", "")
	assert.Equal(t, http.StatusOK, code, ready)
}
