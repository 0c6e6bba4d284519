package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
	"github.com/shopkit/shop/recommender/signals/signalstest"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/retrain"
)

// publishScrambled publishes a model that learned the first 60 % of the
// shop's signals with every product swapped for another: a live model
// that has gone bad, trained a while ago.
func publishScrambled(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	snap, err := signals.Read(ctx, pool)
	require.NoError(t, err)
	snap.Interactions, _ = recommender.SplitGlobalTemporal(snap.Interactions, recommender.TemporalCutoff(snap.Interactions, 0.6))
	rng := rand.New(rand.NewPCG(9, 9))
	perm := rng.Perm(len(snap.Items))
	swap := map[int64]int64{}
	for i, it := range snap.Items {
		swap[it.ID] = snap.Items[perm[i]].ID
	}
	for i := range snap.Interactions {
		snap.Interactions[i].ItemID = swap[snap.Interactions[i].ItemID]
	}
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 8, 3
	m, err := recommender.Train(snap.Interactions, snap.Items, cfg)
	require.NoError(t, err)
	s := modelstore.New(pool)
	v, err := s.Save(ctx, m, "scrambled")
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, v))
	return v
}

// askOnce asks for a shopper's recommendations as a trusted service and
// answers the model version; ok is false for any failure (a transport
// error, a status other than 200, an answer without recommendations).
// Safe off the test's goroutine: it never stops the test itself.
func askOnce(base, body string) (version string, ok bool) {
	req, err := http.NewRequest("POST", base+"/recommendations", strings.NewReader(body))
	if err != nil {
		return "", false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Internal-Token", internalToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer res.Body.Close()
	var a struct {
		Recommendations []json.RawMessage `json:"recommendations"`
		ModelVersion    string            `json:"model_version"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&a) != nil || len(a.Recommendations) == 0 {
		return "", false
	}
	return a.ModelVersion, true
}

// The RetrainRecommender workflow, on a real worker, retrains from the
// shop's signals, judges the candidate better than a live model gone bad,
// stores and publishes it, and the serving process reloads it while
// requests run: none fails.
func TestRetrainPublishesABetterModelUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var w *modelstore.Watcher
	f := newServerWith(t, options{worker: true, internalToken: internalToken, recommendations: func(pool *pgxpool.Pool) api.Models {
		w = modelstore.NewWatcher(pool, slog.New(slog.DiscardHandler))
		return w
	}})
	pool := f.shop.Pool
	signalstest.Seed(t, pool, 400)
	go func() { _ = w.Run(ctx) }()
	old := publishScrambled(t, pool)
	require.Eventually(t, func() bool { c := w.Current(); return c != nil && c.Version == old }, 20*time.Second, 10*time.Millisecond)
	var shoppers []int64
	rows, err := pool.Query(ctx, `SELECT DISTINCT user_id FROM orders ORDER BY user_id`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		shoppers = append(shoppers, id)
	}
	require.NoError(t, rows.Err())

	var failed, done, afterSwap atomic.Int64
	var swapped atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	stopLoad := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopLoad() // before the server closes
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := g; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"user_id": %d, "limit": 10}`, shoppers[n%len(shoppers)])
				version, ok := askOnce(f.url, body)
				done.Add(1)
				if !ok {
					failed.Add(1)
				} else if version != old {
					swapped.Store(true)
					afterSwap.Add(1)
				}
			}
		}()
	}
	require.Eventually(t, func() bool { return done.Load() > 5 }, 20*time.Second, 5*time.Millisecond)

	run, err := retrain.Start(ctx, f.shop.Temporal, testenv.UniqueName("test-retrain-"), f.shop.Queue, retrain.Input{Resamples: 500})
	require.NoError(t, err)
	var res retrain.Progress
	require.NoError(t, run.Get(ctx, &res))
	t.Log(res.Report())
	require.True(t, res.Published, "%s", res.Report())
	assert.Equal(t, retrain.StagePublished, res.Stage)
	assert.Equal(t, old, res.LiveVersion)
	require.NotNil(t, res.Model)
	require.Len(t, res.Evaluations, 1)
	v := res.Evaluations[0].Verdict
	require.NotNil(t, v.VsLive)
	assert.Positive(t, v.VsLive.Low, "the lead over the live model is beyond the noise")
	assert.Greater(t, v.Candidate.NDCG, v.Live.NDCG)
	assert.Greater(t, v.Candidate.NDCG, v.Popular.NDCG)

	require.Eventually(t, func() bool { return afterSwap.Load() > 20 }, 30*time.Second, 5*time.Millisecond,
		"requests are answered by the new model")
	stopLoad()
	assert.Zero(t, failed.Load(), "of %d requests", done.Load())
	assert.Equal(t, res.Model.Version, w.Current().Version)

	store := modelstore.New(pool)
	info, err := store.Get(ctx, res.Model.Version)
	require.NoError(t, err)
	assert.Equal(t, modelstore.Live, info.Status)
	assert.Contains(t, info.Report, "verdict: the candidate beats popular")
	before, err := store.Get(ctx, old)
	require.NoError(t, err)
	assert.Equal(t, modelstore.Retired, before.Status)

	// The progress query still answers the finished run.
	p, err := retrain.QueryProgress(ctx, f.shop.Temporal, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	assert.Equal(t, res.Model.Version, p.Model.Version)
	shoptest.RecordHistory(t, f.shop.Temporal, run.GetID(), "../workflows/retrain/testdata/published.json")
}
