package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/metrics"
)

// LSN is a position in PostgreSQL's write-ahead log, as a byte offset.
type LSN uint64

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Reader runs the stale-tolerant reads of a store: fn gets the pool to
// read from. *Pools routes them; PrimaryReader reads from one pool.
type Reader interface {
	Read(ctx context.Context, fn func(*pgxpool.Pool) error) error
}

// PrimaryReader reads from pool alone (no replica configured).
func PrimaryReader(pool *pgxpool.Pool) Reader { return primaryReader{pool} }

type primaryReader struct{ pool *pgxpool.Pool }

func (p primaryReader) Read(_ context.Context, fn func(*pgxpool.Pool) error) error { return fn(p.pool) }

// readPolicy marks a context whose routed reads may go to the replica.
type readPolicy struct{ minLSN LSN }

type policyKey struct{}

// ReplicaOK marks ctx as a stale-tolerant read: a routed read under it may
// go to the replica once the replica has replayed minLSN (0: any replica
// fresh enough). Reads under an unmarked context (writes, workflows,
// activities, cache fills) always go to the primary.
func ReplicaOK(ctx context.Context, minLSN LSN) context.Context {
	return context.WithValue(ctx, policyKey{}, readPolicy{minLSN: minLSN})
}

// ReplicaOptions configure the read replica.
type ReplicaOptions struct {
	URL      string        // DATABASE_READ_URL; empty: every read goes to the primary
	MaxConns int32         // DATABASE_READ_MAX_CONNS
	MaxLag   time.Duration // DATABASE_READ_MAX_LAG: a replica further behind is skipped
	Poll     time.Duration // how often the lag is measured (default 250ms)
	Logger   *slog.Logger
}

// Pools are the primary and, optionally, a streaming read replica with the
// one decision of where a stale-tolerant read goes (Read).
type Pools struct {
	Primary *pgxpool.Pool
	replica *pgxpool.Pool
	opts    ReplicaOptions
	state   atomic.Pointer[replicaState]
	log     *slog.Logger

	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex // the poller's alone, plus Close
	samples []sample
	wasUp   bool
}

// replicaState is the poller's last measurement.
type replicaState struct {
	at     time.Time
	up     bool
	replay LSN
	lag    time.Duration
}

// sample is the primary's WAL position at a moment.
type sample struct {
	at  time.Time
	lsn LSN
}

// maxSamples bounds the positions kept while the replica is behind
// (about 17 minutes at the default poll); beyond it the lag is a lower bound.
const maxSamples = 4096

// NewPools routes reads between primary and the replica o.URL (none when
// empty). The replica may be down now or later: its reads then go to the
// primary. Close stops the lag poller and closes the replica's pool (not
// the primary's).
func NewPools(primary *pgxpool.Pool, o ReplicaOptions) (*Pools, error) {
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.MaxLag <= 0 {
		o.MaxLag = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pools{Primary: primary, opts: o, log: o.Logger}
	if o.URL == "" {
		return p, nil
	}
	cfg, err := poolConfig(o.URL, o.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("db: parse DATABASE_READ_URL: %w", err)
	}
	// A dead replica must not slow reads down: they go to the primary.
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	// Opening connects lazily: a replica down at start is not an error.
	if p.replica, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		return nil, fmt.Errorf("db: read replica %s: %w", config.Redact(o.URL), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	p.measure(ctx) // the first reads already know the replica
	go p.run(ctx)
	return p, nil
}

// Replica is the replica's pool (nil without one), for its pool metrics.
func (p *Pools) Replica() *pgxpool.Pool { return p.replica }

// HasReplica reports whether a replica is configured.
func (p *Pools) HasReplica() bool { return p.replica != nil }

// Close stops the poller and closes the replica's pool.
func (p *Pools) Close() {
	if p.replica == nil {
		return
	}
	p.stop()
	<-p.done
	p.replica.Close()
}

// Read runs fn on the replica when ctx allows it (ReplicaOK) and the
// replica is up, at most MaxLag behind and past the context's LSN;
// otherwise on the primary. A read the replica fails because it is
// unreachable (or cancelled by recovery) runs again on the primary: a
// replica never makes a read fail.
func (p *Pools) Read(ctx context.Context, fn func(*pgxpool.Pool) error) error {
	pool, target, reason := p.route(ctx)
	metrics.DBRead(target, reason)
	err := fn(pool)
	if err != nil && pool == p.replica && ctx.Err() == nil && replicaFailed(err) {
		p.log.Warn("read replica failed a read; reading from the primary", "error", err)
		p.markDown()
		metrics.DBRead("primary", "fallback")
		return fn(p.Primary)
	}
	return err
}

// route is the one decision of where a read goes.
func (p *Pools) route(ctx context.Context) (pool *pgxpool.Pool, target, reason string) {
	if p.replica == nil {
		return p.Primary, "primary", "not_configured"
	}
	pol, ok := ctx.Value(policyKey{}).(readPolicy)
	if !ok {
		return p.Primary, "primary", "write_path"
	}
	s := p.state.Load()
	// A poller that has not measured for a while cannot vouch for the replica.
	if s == nil || !s.up || time.Since(s.at) > 4*p.opts.Poll+2*time.Second {
		return p.Primary, "primary", "replica_down"
	}
	if s.lag > p.opts.MaxLag {
		return p.Primary, "primary", "lagging"
	}
	if pol.minLSN > s.replay {
		return p.Primary, "primary", "read_your_writes"
	}
	return p.replica, "replica", "fresh"
}

// replicaFailed tells a replica that could not answer from a statement it
// refused on its merits (which the primary would refuse too).
func replicaFailed(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == pgerrcode.SerializationFailure || // conflict with recovery
		pe.Code == pgerrcode.InvalidCatalogName || pe.Code == pgerrcode.ReadOnlySQLTransaction) {
		return true
	}
	return Unavailable(err)
}

// WriteLSN answers the primary's WAL insert position: asked after a
// commit, a replica that has replayed up to it sees that commit (also
// with synchronous_commit off, when the commit may not be flushed yet).
func (p *Pools) WriteLSN(ctx context.Context) (LSN, error) {
	return p.lsn(ctx, "pg_current_wal_insert_lsn()")
}

func (p *Pools) lsn(ctx context.Context, fn string) (LSN, error) {
	var lsn int64
	err := p.Primary.QueryRow(ctx, `SELECT pg_wal_lsn_diff(`+fn+`, '0/0')::bigint`).Scan(&lsn)
	return LSN(lsn), err
}

func (p *Pools) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.measure(ctx)
		}
	}
}

// measure compares the replica's replay position with the primary's write
// position. The lag in time is the age of the oldest primary position the
// replica has not replayed yet: zero once it catches up, growing while
// replay is stopped, whatever the write rate.
func (p *Pools) measure(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	timeout := min(2*time.Second, max(p.opts.Poll, 500*time.Millisecond))
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := time.Now()
	// The flush position: what the primary can send, and where a caught-up
	// standby's replay ends.
	primary, err := p.lsn(qctx, "pg_current_wal_flush_lsn()")
	if err != nil {
		p.down(now, "primary", err)
		return
	}
	var inRecovery bool
	var replay *int64
	err = p.replica.QueryRow(qctx, `SELECT pg_is_in_recovery(),
		pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint`).Scan(&inRecovery, &replay)
	if err == nil && (!inRecovery || replay == nil) {
		err = errors.New("not a standby (promoted, or DATABASE_READ_URL names a primary)")
	}
	if err != nil {
		p.down(now, "replica", err)
		return
	}
	p.samples = append(p.samples, sample{at: now, lsn: primary})
	if len(p.samples) > maxSamples {
		p.samples = p.samples[len(p.samples)-maxSamples:]
	}
	i := 0
	for i < len(p.samples) && p.samples[i].lsn <= LSN(*replay) {
		i++
	}
	p.samples = p.samples[i:]
	var lag time.Duration
	if len(p.samples) > 0 {
		lag = now.Sub(p.samples[0].at)
	}
	var lagBytes float64
	if primary > LSN(*replay) {
		lagBytes = float64(primary - LSN(*replay))
	}
	if !p.wasUp {
		p.log.Info("read replica up", "url", config.Redact(p.opts.URL))
		p.wasUp = true
	}
	p.state.Store(&replicaState{at: now, up: true, replay: LSN(*replay), lag: lag})
	metrics.ReplicaState(true, lagBytes, lag.Seconds())
}

// down records a failed measurement: reads go to the primary.
func (p *Pools) down(now time.Time, which string, err error) {
	if p.wasUp {
		p.log.Warn("read replica unusable; reads go to the primary", "failed", which, "error", err)
		p.wasUp = false
	}
	p.state.Store(&replicaState{at: now})
	metrics.ReplicaState(false, 0, 0)
}

// markDown takes the replica out until the next good measurement.
func (p *Pools) markDown() {
	if s := p.state.Load(); s != nil && s.up {
		p.state.CompareAndSwap(s, &replicaState{at: s.at})
	}
}
