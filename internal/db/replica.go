package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/metrics"
)

// LSN is a position in PostgreSQL's write-ahead log, as a byte offset.
type LSN uint64

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Reader runs the stale-tolerant reads of a store: fn gets the context and
// the pool to read with (fn may run twice, on the replica then on the
// primary, so it builds everything it sends afresh). *Pools routes them;
// PrimaryReader reads from one pool.
type Reader interface {
	Read(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error
}

// PrimaryReader reads from pool alone (no replica configured).
func PrimaryReader(pool *pgxpool.Pool) Reader { return primaryReader{pool} }

type primaryReader struct{ pool *pgxpool.Pool }

func (p primaryReader) Read(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error {
	return fn(ctx, p.pool)
}

// readPolicy marks a context whose routed reads may go to the replica.
type readPolicy struct {
	ok     bool
	minLSN LSN
}

type policyKey struct{}

// ReplicaOK marks ctx as a stale-tolerant read: a routed read under it may
// go to the replica once the replica has replayed minLSN (0: any replica
// fresh enough). Reads under an unmarked context (writes, workflows,
// activities, cache fills) always go to the primary.
func ReplicaOK(ctx context.Context, minLSN LSN) context.Context {
	return context.WithValue(ctx, policyKey{}, readPolicy{ok: true, minLSN: minLSN})
}

// PrimaryOnly removes a ReplicaOK mark: work done under ctx on behalf of
// others (a shared cache fill) reads from the primary.
func PrimaryOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, policyKey{}, readPolicy{})
}

// ReplicaAllowed reports whether ctx carries a ReplicaOK mark.
func ReplicaAllowed(ctx context.Context) bool {
	pol, _ := ctx.Value(policyKey{}).(readPolicy)
	return pol.ok
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

	mu       sync.Mutex // the poller's alone, plus Close
	probeCfg *pgx.ConnConfig
	probe    *pgx.Conn // the poller's own connection: busy reads never starve it
	samples  []sample
	wasUp    bool
	epoch    *epoch
}

// epoch is one stretch of the replica being up: reads on the replica run
// under it, and marking the replica down ends it, which cancels them (a
// blackholed replica never answers; they then run on the primary).
type epoch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// errReplicaDown cancels the replica reads in flight when it goes down.
var errReplicaDown = errors.New("db: read replica marked down")

// replicaState is the poller's last measurement.
type replicaState struct {
	at     time.Time
	up     bool
	replay LSN
	lag    time.Duration
	// lagKnown is false until the replica has replayed the first position
	// sampled after a gap in measurements: how long it was behind is unknown.
	lagKnown bool
	epoch    *epoch
}

// sample is the primary's WAL position at a moment; unknown marks the first
// sample after a gap (its age says nothing of the replica's lag).
type sample struct {
	at      time.Time
	lsn     LSN
	unknown bool
}

// maxSamples bounds the positions kept while the replica is behind
// (about 17 minutes at the default poll); beyond it the lag is a lower bound.
const maxSamples = 4096

// connectTimeout bounds a replica connection attempt: a dead replica must
// not slow reads down, they go to the primary.
const connectTimeout = time.Second

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
	cfg.ConnConfig.ConnectTimeout = connectTimeout
	cfg.ConnConfig.DialFunc = dialer().DialContext
	cfg.PingTimeout = connectTimeout
	p.probeCfg = cfg.ConnConfig.Copy()
	p.probeCfg.Tracer = nil // a span every 250 ms is noise
	// Opening connects lazily: a replica down at start is not an error.
	if p.replica, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		return nil, fmt.Errorf("db: read replica %s: %w", config.Redact(o.URL), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	p.settle(ctx) // the first reads already know the replica
	go p.run(ctx)
	return p, nil
}

// settle measures until the replica's lag is known, for up to settleTime.
// The first sample's age is unknown (the replica may be hours behind it),
// so a replica is trusted only once it has replayed that position; one that
// keeps up does within milliseconds, and is then used by the first reads.
// A replica that is down or still behind is left to the poller.
func (p *Pools) settle(ctx context.Context) {
	deadline := time.Now().Add(settleTime)
	for {
		p.measure(ctx)
		s := p.state.Load()
		if s == nil || !s.up || s.lagKnown || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const settleTime = 2 * time.Second

// dialer notices a replica whose network path silently dies: keepalive
// probes for an idle connection, and on Linux TCP_USER_TIMEOUT for data
// sent but never acknowledged.
func dialer() *net.Dialer {
	return &net.Dialer{
		Timeout:         connectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 3},
		Control:         userTimeout(10 * time.Second),
	}
}

// Replica is the replica's pool (nil without one), for its pool metrics.
func (p *Pools) Replica() *pgxpool.Pool { return p.replica }

// HasReplica reports whether a replica is configured.
func (p *Pools) HasReplica() bool { return p.replica != nil }

// Close stops the poller, cancels the replica reads in flight (they finish
// on the primary) and closes the replica's pool, waiting 2 s at most.
func (p *Pools) Close() {
	if p.replica == nil {
		return
	}
	p.stop()
	<-p.done
	p.mu.Lock()
	p.endEpoch()
	p.closeProbe()
	p.mu.Unlock()
	// A connection cut mid-query is closed in the background after a cancel
	// request, which a blackholed replica holds for pgx's 15 s: the pool
	// finishes closing on its own rather than holding up shutdown.
	closed := make(chan struct{})
	go func() { p.replica.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * connectTimeout):
		p.log.Warn("read replica connections still closing")
	}
}

// Read runs fn on the replica when ctx allows it (ReplicaOK) and the
// replica is up, at most MaxLag behind and past the context's LSN;
// otherwise on the primary. A read the replica fails because it is
// unreachable, goes down meanwhile or cancels it for recovery runs again
// on the primary: a replica never makes a read fail.
func (p *Pools) Read(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error {
	s, target, reason := p.route(ctx)
	if target == "primary" {
		metrics.DBRead(target, reason)
		return fn(ctx, p.Primary)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.epoch.ctx, func() { cancel(errReplicaDown) })
	err := fn(rctx, p.replica)
	stop()
	down := errors.Is(context.Cause(rctx), errReplicaDown)
	cancel(nil)
	if err == nil || ctx.Err() != nil || !(down || replicaFailed(err)) {
		metrics.DBRead(target, reason)
		return err
	}
	p.log.WarnContext(ctx, "read replica failed a read; reading from the primary", "error", err)
	if Unavailable(err) {
		p.markDown(s)
	}
	metrics.DBRead("primary", "fallback")
	return fn(ctx, p.Primary)
}

// route is the one decision of where a read goes.
func (p *Pools) route(ctx context.Context) (s *replicaState, target, reason string) {
	if p.replica == nil {
		return nil, "primary", "not_configured"
	}
	pol, _ := ctx.Value(policyKey{}).(readPolicy)
	if !pol.ok {
		return nil, "primary", "write_path"
	}
	s = p.state.Load()
	// A poller that has not measured for a while cannot vouch for the replica.
	if s == nil || !s.up || time.Since(s.at) > 4*p.opts.Poll+2*time.Second {
		return nil, "primary", "replica_down"
	}
	if !s.lagKnown || s.lag > p.opts.MaxLag {
		return nil, "primary", "lagging"
	}
	if pol.minLSN > s.replay {
		return nil, "primary", "read_your_writes"
	}
	return s, "replica", "fresh"
}

// replicaFailed tells a replica that could not answer from a statement it
// refused on its merits (which the primary would refuse too, or which must
// fail loudly, like a write routed to the replica).
func replicaFailed(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case pgerrcode.SerializationFailure, // 40001 and 40P01: cancelled by a conflict with recovery
			pgerrcode.DeadlockDetected,
			pgerrcode.DatabaseDropped,    // 57P04: the standby replayed a DROP DATABASE
			pgerrcode.InvalidCatalogName: // 3D000: the database has not reached the standby
			return true
		}
	}
	return Unavailable(err)
}

// WriteLSN answers the primary's WAL insert position: asked after a
// commit, a replica that has replayed up to it sees that commit (also
// with synchronous_commit off, when the commit may not be flushed yet).
func (p *Pools) WriteLSN(ctx context.Context) (LSN, error) {
	var lsn, page, segment int64
	err := p.Primary.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint,
		current_setting('wal_block_size')::bigint, pg_size_bytes(current_setting('wal_segment_size'))`).Scan(&lsn, &page, &segment)
	return recordEnd(LSN(lsn), LSN(page), LSN(segment)), err
}

// Page headers: the long one opens a WAL segment.
const shortPageHeader, longPageHeader = 24, 40

// recordEnd turns an insert position just past a page header (the last
// record ended at the page boundary) into that boundary, where a standby's
// replay stops: otherwise an idle standby would never reach the position.
// No record ends right after a header (a record is at least 24 bytes).
func recordEnd(lsn, pageSize, segmentSize LSN) LSN {
	switch {
	case segmentSize > 0 && lsn%segmentSize == longPageHeader:
		return lsn - longPageHeader
	case pageSize > 0 && lsn%pageSize == shortPageHeader && (segmentSize == 0 || lsn%segmentSize != shortPageHeader):
		return lsn - shortPageHeader
	}
	return lsn
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
	if p.probe == nil || p.probe.IsClosed() {
		p.closeProbe()
		if p.probe, err = pgx.ConnectConfig(qctx, p.probeCfg); err != nil {
			p.probe = nil
			p.down(now, "replica", err)
			return
		}
	}
	var inRecovery bool
	var replay *int64
	err = p.probe.QueryRow(qctx, `SELECT pg_is_in_recovery(),
		pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint`).Scan(&inRecovery, &replay)
	if err != nil {
		p.closeProbe() // a timed-out query leaves it unusable
	} else if !inRecovery || replay == nil {
		err = errors.New("not a standby (promoted, or DATABASE_READ_URL names a primary)")
	}
	if err != nil {
		p.down(now, "replica", err)
		return
	}
	// The first sample after a gap (start, or the replica down): what the
	// replica has not replayed of it may be any age.
	p.samples = append(p.samples, sample{at: now, lsn: primary, unknown: !p.wasUp})
	if len(p.samples) > maxSamples {
		p.samples = p.samples[len(p.samples)-maxSamples:]
	}
	i := 0
	for i < len(p.samples) && p.samples[i].lsn <= LSN(*replay) {
		i++
	}
	p.samples = p.samples[i:]
	var lag time.Duration
	known := true
	if len(p.samples) > 0 {
		lag = now.Sub(p.samples[0].at) // with an unknown first sample, a lower bound
		known = !p.samples[0].unknown
	}
	var lagBytes float64
	if primary > LSN(*replay) {
		lagBytes = float64(primary - LSN(*replay))
	}
	if !p.wasUp {
		p.log.Info("read replica up", "url", config.Redact(p.opts.URL))
		p.wasUp = true
	}
	if p.epoch == nil || p.epoch.ctx.Err() != nil {
		ectx, ecancel := context.WithCancelCause(context.Background())
		p.epoch = &epoch{ctx: ectx, cancel: ecancel}
	}
	p.state.Store(&replicaState{at: now, up: true, replay: LSN(*replay), lag: lag, lagKnown: known, epoch: p.epoch})
	metrics.ReplicaState(true, lagBytes, lag.Seconds())
}

// down records a failed measurement: reads go to the primary, those in
// flight on the replica too, and the lag is unknown until the replica
// replays the position sampled when it is back.
func (p *Pools) down(now time.Time, which string, err error) {
	if p.wasUp {
		p.log.Warn("read replica unusable; reads go to the primary", "failed", which, "error", err)
		p.wasUp = false
	}
	p.samples = nil
	p.state.Store(&replicaState{at: now})
	p.endEpoch()
	metrics.ReplicaState(false, 0, 0)
}

func (p *Pools) endEpoch() {
	if p.epoch != nil {
		p.epoch.cancel(errReplicaDown)
	}
}

func (p *Pools) closeProbe() {
	if p.probe != nil {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		_ = p.probe.Close(ctx)
		cancel()
		p.probe = nil
	}
}

// markDown takes the replica out until the next good measurement (a read
// found it unreachable) and ends the reads in flight there.
func (p *Pools) markDown(s *replicaState) {
	if p.state.CompareAndSwap(s, &replicaState{at: s.at}) {
		s.epoch.cancel(errReplicaDown)
	}
}
