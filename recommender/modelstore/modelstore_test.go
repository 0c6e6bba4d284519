package modelstore_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
)

// tinyModel trains on a few shoppers; seed varies the data.
func tinyModel(t *testing.T, seed int64) *recommender.Model {
	t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ins []recommender.Interaction
	for u := int64(1); u <= 20; u++ {
		for k := int64(0); k < 4; k++ {
			ins = append(ins, recommender.Interaction{UserID: u, ItemID: 1 + (u*k+seed)%12, Kind: recommender.Purchase, At: at.Add(time.Duration(u*k) * time.Hour)})
		}
	}
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 4, 2
	m, err := recommender.Train(ins, nil, cfg)
	require.NoError(t, err)
	return m
}

func status(t *testing.T, s *modelstore.Store, v string) string {
	t.Helper()
	in, err := s.Get(context.Background(), v)
	require.NoError(t, err)
	return in.Status
}

// Publishing makes a model live and retires the previous one; rollback
// brings an old one back; only candidates can be rejected.
func TestPublishSwapsLive(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := modelstore.New(pool)
	_, _, err := s.Live(ctx)
	require.ErrorIs(t, err, modelstore.ErrNoLive)

	v1, err := s.Save(ctx, tinyModel(t, 1), "first")
	require.NoError(t, err)
	v2, err := s.Save(ctx, tinyModel(t, 2), "second")
	require.NoError(t, err)
	v3, err := s.Save(ctx, tinyModel(t, 3), "third")
	require.NoError(t, err)
	assert.Equal(t, modelstore.Candidate, status(t, s, v1))

	require.NoError(t, s.Publish(ctx, v1))
	require.NoError(t, s.Publish(ctx, v2))
	assert.Equal(t, modelstore.Retired, status(t, s, v1))
	assert.Equal(t, modelstore.Live, status(t, s, v2))
	v, m, err := s.Live(ctx)
	require.NoError(t, err)
	assert.Equal(t, v2, v)
	recs, err := m.Recommend(recommender.Request{UserID: 3, K: 3})
	require.NoError(t, err)
	assert.NotEmpty(t, recs)

	require.NoError(t, s.Rollback(ctx, v1))
	assert.Equal(t, modelstore.Live, status(t, s, v1))
	assert.Equal(t, modelstore.Retired, status(t, s, v2))

	require.NoError(t, s.Reject(ctx, v3, "worse than live"))
	in, err := s.Get(ctx, v3)
	require.NoError(t, err)
	assert.Equal(t, modelstore.Rejected, in.Status)
	assert.Contains(t, in.Report, "worse than live")
	assert.Error(t, s.Reject(ctx, v1, "live"), "the live model cannot be rejected")
	require.ErrorIs(t, s.Publish(ctx, "nope"), modelstore.ErrNotFound)

	var live int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM recommender_models WHERE status = 'live'`).Scan(&live))
	assert.Equal(t, 1, live)
}

// While publishes swap the model, readers always see a whole model, and
// the watcher follows every publish through LISTEN.
func TestWatcherSwapsWithoutGaps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := dbtest.New(t)
	s := modelstore.New(pool)
	v1, err := s.Save(ctx, tinyModel(t, 1), "")
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, v1))

	w := modelstore.NewWatcher(pool, slog.New(slog.DiscardHandler))
	w.Poll = time.Hour // only notifications can bring the swaps in time
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	require.Eventually(t, func() bool { c := w.Current(); return c != nil && c.Version == v1 }, 10*time.Second, 10*time.Millisecond)

	var stop atomic.Bool
	var nils, reads atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := w.Current()
				if c == nil || c.Model == nil {
					nils.Add(1)
					continue
				}
				if _, err := c.Model.Recommend(recommender.Request{UserID: 2, K: 5}); err != nil {
					nils.Add(1)
				}
				reads.Add(1)
			}
		}()
	}
	last := v1
	for i := range 3 {
		v, err := s.Save(ctx, tinyModel(t, int64(i+5)), "")
		require.NoError(t, err)
		require.NoError(t, s.Publish(ctx, v))
		require.Eventually(t, func() bool { return w.Current().Version == v }, 10*time.Second, 5*time.Millisecond)
		last = v
	}
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, nils.Load())
	assert.Positive(t, reads.Load())
	assert.Equal(t, last, w.Current().Version)
	cancel()
	<-done
}

// A retraining publishes only over the model it judged its candidate
// against; a rollback pins its model until unpinned.
func TestPublishReplacingAndPinning(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := modelstore.New(pool)
	v1, err := s.Save(ctx, tinyModel(t, 1), "")
	require.NoError(t, err)
	v2, err := s.Save(ctx, tinyModel(t, 2), "")
	require.NoError(t, err)
	v3, err := s.Save(ctx, tinyModel(t, 3), "")
	require.NoError(t, err)

	require.NoError(t, s.PublishReplacing(ctx, v1, ""), "the first model replaces none")
	require.ErrorIs(t, s.PublishReplacing(ctx, v2, ""), modelstore.ErrLiveChanged)
	require.NoError(t, s.PublishReplacing(ctx, v2, v1))
	require.NoError(t, s.PublishReplacing(ctx, v2, v2), "a retried publish")

	require.NoError(t, s.Rollback(ctx, v1))
	live, pinned, err := s.LiveInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, v1, live)
	assert.True(t, pinned)
	require.ErrorIs(t, s.PublishReplacing(ctx, v3, v1), modelstore.ErrPinned)
	assert.Equal(t, modelstore.Live, status(t, s, v1))

	require.NoError(t, s.Unpin(ctx))
	require.NoError(t, s.PublishReplacing(ctx, v3, v1))
	live, pinned, err = s.LiveInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, v3, live)
	assert.False(t, pinned)
	assert.Equal(t, modelstore.Retired, status(t, s, v1))
	ok, err := s.Exists(ctx, v2)
	require.NoError(t, err)
	assert.True(t, ok)
}
