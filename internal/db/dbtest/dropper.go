package dbtest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Dropper loses the connection that is about to send the next statement
// containing the armed text: it closes the client's socket (Cut, as when
// the network drops: a network error, no PostgreSQL error), or has the
// server end the backend (as a failover does: SQLSTATE 57P01) and waits
// until it is gone.
type Dropper struct {
	t     testing.TB
	admin *pgxpool.Pool
	cut   bool
	match atomic.Pointer[string]
	drops atomic.Int32
}

// DroppingPool is a pool of its own over admin's database whose
// connections the returned Dropper drops.
func DroppingPool(t testing.TB, admin *pgxpool.Pool, cut bool) (*pgxpool.Pool, *Dropper) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(admin))
	require.NoError(t, err)
	d := &Dropper{t: t, admin: admin, cut: cut}
	cfg.ConnConfig.Tracer = d
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, d
}

// Arm makes the next statement containing match lose its connection.
func (d *Dropper) Arm(match string) { d.match.Store(&match) }

// Drops answers how many connections were lost so far.
func (d *Dropper) Drops() int32 { return d.drops.Load() }

// TraceQueryStart implements pgx.QueryTracer.
func (d *Dropper) TraceQueryStart(ctx context.Context, c *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	m := d.match.Load()
	if m == nil || !strings.Contains(data.SQL, *m) || !d.match.CompareAndSwap(m, nil) {
		return ctx
	}
	d.drops.Add(1)
	if d.cut {
		_ = c.PgConn().Conn().Close()
		return ctx
	}
	pid := c.PgConn().PID()
	// The tracer may run on a worker's goroutine: failures are reported,
	// never FailNow.
	_, err := d.admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid)
	assert.NoError(d.t, err)
	assert.Eventually(d.t, func() bool {
		var alive bool
		return d.admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&alive) == nil && !alive
	}, 10*time.Second, 5*time.Millisecond, "backend %d still runs", pid)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (d *Dropper) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
