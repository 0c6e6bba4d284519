package modelstore

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/recommender"
)

// Loaded is a model in memory with its version.
type Loaded struct {
	Version string
	Model   *recommender.Model
}

// Watcher keeps the live model in memory. It LISTENs on Channel and, as a
// fallback for a lost notification or connection, polls every Poll. A new
// model is loaded before it replaces the old one, so a request always sees
// a whole model and never waits for a load.
type Watcher struct {
	Store *Store
	Pool  *pgxpool.Pool
	Poll  time.Duration // default 30s
	Log   *slog.Logger

	cur atomic.Pointer[Loaded]
}

// NewWatcher returns a watcher on pool; call Run to start it.
func NewWatcher(pool *pgxpool.Pool, log *slog.Logger) *Watcher {
	return &Watcher{Store: New(pool), Pool: pool, Log: log}
}

// Current is the model in memory; nil until one was published.
func (w *Watcher) Current() *Loaded { return w.cur.Load() }

// Refresh loads the live model when its version differs from the one in
// memory.
func (w *Watcher) Refresh(ctx context.Context) error {
	v, err := w.Store.LiveVersion(ctx)
	if errors.Is(err, ErrNoLive) {
		return nil // keep serving what we have, if anything
	}
	if err != nil {
		return err
	}
	if cur := w.cur.Load(); cur != nil && cur.Version == v {
		return nil
	}
	v, m, err := w.Store.Live(ctx)
	if err != nil {
		return err
	}
	w.cur.Store(&Loaded{Version: v, Model: m})
	w.Log.InfoContext(ctx, "recommendation model loaded", "version", v, "users", m.Version.Users, "items", m.Version.Items)
	return nil
}

// Run refreshes on every notification and every Poll until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	for ctx.Err() == nil {
		if err := w.listen(ctx, poll); err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "recommendation model watch interrupted; polling", "error", err)
			if err := w.Refresh(ctx); err != nil && ctx.Err() == nil {
				w.Log.WarnContext(ctx, "recommendation model refresh failed", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
	return ctx.Err()
}

// listen holds one connection on LISTEN; a wait that times out polls.
func (w *Watcher) listen(ctx context.Context, poll time.Duration) error {
	conn, err := w.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing connection must not go back to the pool.
	c := conn.Hijack()
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	// Listening before the first refresh: a publish in between is not missed.
	if err := w.Refresh(ctx); err != nil {
		return err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		_, err := c.WaitForNotification(wctx)
		cancel()
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded)) {
			return err
		}
		if err := w.Refresh(ctx); err != nil {
			return err
		}
	}
}
