package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/testenv"
)

// The tests that pause the replica's replay live here alone and never run
// in parallel with each other. Pausing stops replay for the whole server:
// other packages' reads meanwhile fall back to the primary, never fail.

// TestMain resumes the replica's replay before the tests: a test binary
// that died while it was paused must not leave the replica behind.
func TestMain(m *testing.M) {
	if u := os.Getenv("TEST_DATABASE_READ_URL"); u != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if c, err := pgx.Connect(ctx, u); err == nil {
			_, _ = c.Exec(ctx, "SELECT pg_wal_replay_resume()")
			_ = c.Close(ctx)
		}
		cancel()
	}
	os.Exit(m.Run())
}

// pauseReplay stops the replica replaying WAL until resume (or the end of
// the test), and returns once it has stopped (a pause takes effect at the
// next record: writes on primary provide it); conn is a connection to the
// replica.
func pauseReplay(t *testing.T, primary *pgxpool.Pool, replicaURL string) (conn *pgx.Conn, resume func()) {
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
	_, err = primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS replay_pauses (at timestamptz)")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := primary.Exec(ctx, "INSERT INTO replay_pauses VALUES (now())")
		require.NoError(t, err)
		var state string
		require.NoError(t, conn.QueryRow(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state))
		return state == "paused"
	}, 30*time.Second, 20*time.Millisecond, "replay pauses")
	return conn, resume
}

// Staff who just renamed a product and adjusted its stock see both at once
// in their search and the stock-adjustment history, though the replica has
// stopped replaying (their reads wait for a replica past their write: the
// primary answers); a read of someone without writes falls back to the
// primary once the replica lags more than the limit; after replay resumes
// the replica serves again.
func TestReadYourWritesWhileTheReplicaLags(t *testing.T) {
	// A limit far above how long the write and the reads take: they are
	// routed by the write mark, never as lagging.
	f := newServerWith(t, options{replicaMaxLag: 5 * time.Second})
	ctx := context.Background()
	staff := session(t, f, "staff-replica", identity.RoleAdmin)
	replicaURL := dbtest.ReplicaURL(t, f.shop.Pool)
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond,
		"the replica serves read-only requests once it is measured fresh")
	// The staff account has reached the replica before it stops.
	lsn, err := f.reads.WriteLSN(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, db.ReplicaOK(ctx, lsn), f.reads) }, 60*time.Second, 50*time.Millisecond)

	replica, resume := pauseReplay(t, f.shop.Pool, replicaURL)
	id := f.laptop.ID
	code, _, out := call(t, "PATCH", fmt.Sprintf("%s/api/products/%d", f.url, id), staff, `{"name": "Quasar Replica Laptop"}`)
	require.Equal(t, http.StatusOK, code, out)
	code, _, out = call(t, "POST", fmt.Sprintf("%s/api/products/%d/stock", f.url, id), staff, `{"delta": -1, "reason": "replica check"}`)
	require.Equal(t, http.StatusOK, code, out)

	marked := dbtest.Routed(t, "primary", "read_your_writes")
	code, _, found := call(t, "GET", f.url+"/api/search?q=quasar", staff, "")
	require.Equal(t, http.StatusOK, code, found)
	require.NotEmpty(t, found["hits"], "the staff's search shows the rename: %v", found)
	assert.EqualValues(t, fmt.Sprint(id), fmt.Sprint(found["hits"].([]any)[0].(map[string]any)["product"].(map[string]any)["id"]))
	code, _, history := call(t, "GET", fmt.Sprintf("%s/api/products/%d/stock/adjustments", f.url, id), staff, "")
	require.Equal(t, http.StatusOK, code, history)
	require.NotEmpty(t, history["adjustments"], history)
	assert.Equal(t, "replica check", history["adjustments"].([]any)[0].(map[string]any)["reason"])
	assert.Equal(t, marked+2, dbtest.Routed(t, "primary", "read_your_writes"),
		"both reads went to the primary for the staff's write mark (not as lagging)")
	var name string
	require.NoError(t, replica.QueryRow(ctx, "SELECT name FROM products WHERE id = $1", id).Scan(&name))
	assert.Equal(t, f.laptop.Name, name, "the replica has not replayed the rename")

	// Nobody's write: a stale-tolerant read uses the replica until it lags
	// past DATABASE_READ_MAX_LAG, then the primary.
	require.Eventually(t, func() bool { return !dbtest.OnReplica(t, stale, f.reads) }, 30*time.Second, 50*time.Millisecond,
		"a replica that lags more than the limit is skipped")
	code, _, found = call(t, "GET", f.url+"/api/search?q=quasar", "", "")
	require.Equal(t, http.StatusOK, code, found)
	require.NotEmpty(t, found["hits"], "the anonymous search came from the primary: %v", found)

	resume()
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond,
		"once it caught up, the replica serves again")
	code, _, found = call(t, "GET", f.url+"/api/search?q=quasar", "", "")
	require.Equal(t, http.StatusOK, code, found)
	assert.NotEmpty(t, found["hits"], "the replica has the rename now")
}

// A replica that is far behind when first measured (at start, or back
// after an outage) is not fresh: how long it has been behind is unknown
// until it replays the position first seen.
func TestReplicaBehindAfterAGapIsLagging(t *testing.T) {
	ctx := context.Background()
	primary := dbtest.New(t)
	direct := dbtest.ReplicaURL(t, primary)
	dbtest.WaitReplayed(t, primary, direct)
	u, err := url.Parse(direct)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	opts := db.ReplicaOptions{URL: u.String(), MaxConns: 2, MaxLag: 30 * time.Second, Poll: 50 * time.Millisecond}
	p, err := db.NewPools(primary, opts)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	stale := db.ReplicaOK(ctx, 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, p) }, 60*time.Second, 50*time.Millisecond)

	// An outage during which the replica falls behind. It must last until
	// the poller meets it (tries to reconnect): a blip that no measurement
	// sees leaves the lag history whole, and rightly so.
	proxy.SetDown(true)
	require.Eventually(t, func() bool { return !dbtest.OnReplica(t, stale, p) && proxy.Refused() > 0 }, 10*time.Second, 50*time.Millisecond)
	_, resume := pauseReplay(t, primary, direct)
	_, err = primary.Exec(ctx, "CREATE TABLE behind (id int)")
	require.NoError(t, err)
	lagging := dbtest.Routed(t, "primary", "lagging")
	proxy.SetDown(false)
	require.Eventually(t, func() bool {
		dbtest.OnReplica(t, stale, p)
		return dbtest.Routed(t, "primary", "lagging") > lagging
	}, 10*time.Second, 50*time.Millisecond, "back up, the replica is measured lagging")
	require.Never(t, func() bool { return dbtest.OnReplica(t, stale, p) }, time.Second, 50*time.Millisecond,
		"a replica behind after an outage is not fresh")

	// Opened while the replica is behind.
	started, err := db.NewPools(primary, opts)
	require.NoError(t, err)
	t.Cleanup(started.Close)
	require.Never(t, func() bool { return dbtest.OnReplica(t, stale, started) }, time.Second, 50*time.Millisecond,
		"a replica behind at start is not fresh")

	resume()
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, p) && dbtest.OnReplica(t, stale, started) }, 60*time.Second, 50*time.Millisecond,
		"once it replayed what the primary had, the replica serves")
}

// A replica that stops answering never fails a request, and readiness
// stays OK: the primary serves every read meanwhile.
func TestReplicaDownFallsBackToThePrimary(t *testing.T) {
	f := newServerWith(t, options{replicaMaxLag: time.Second})
	stale := db.ReplicaOK(context.Background(), 0)
	require.Eventually(t, func() bool { return dbtest.OnReplica(t, stale, f.reads) }, 60*time.Second, 50*time.Millisecond)
	john := session(t, f, "john-down", identity.RoleCustomer)

	f.reads.Replica().Close() // as good as a replica gone: every read of it fails
	code, _, found := call(t, "GET", f.url+"/api/search?q=laptop", "", "")
	require.Equal(t, http.StatusOK, code, found)
	assert.NotEmpty(t, found["hits"])
	code, _, list := call(t, "GET", f.url+"/api/orders", john, "")
	require.Equal(t, http.StatusOK, code, list)
	assert.False(t, dbtest.OnReplica(t, stale, f.reads))
	code, _, ready := call(t, "GET", f.url+"/readyz", "", "")
	assert.Equal(t, http.StatusOK, code, ready)
}
