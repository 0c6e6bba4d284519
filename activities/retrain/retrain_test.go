package retrain

import (
	"bytes"
	"context"
	"encoding/gob"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals/signalstest"
)

func small() *recommender.Config {
	c := recommender.DefaultConfig()
	c.ALS.Factors, c.ALS.Iterations = 8, 3
	return &c
}

// A snapshot is taken once per id: a retried step sees the data the first
// attempt saw, not what happened since. Old snapshots are pruned.
func TestSnapshotIsTakenOnce(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	signalstest.Seed(t, pool, 20)
	a := &Activities{Pool: pool, Models: modelstore.New(pool)}
	first, err := a.SnapshotSignals(ctx, "run-1", 2)
	require.NoError(t, err)
	require.Positive(t, first.Purchases)
	require.Equal(t, first.Purchases+first.Views+first.Carts, first.Interactions)

	_, err = pool.Exec(ctx, `DELETE FROM behaviour_events`)
	require.NoError(t, err)
	again, err := a.SnapshotSignals(ctx, "run-1", 2)
	require.NoError(t, err)
	assert.Equal(t, first, again)

	for _, id := range []string{"run-2", "run-3"} {
		_, err := a.SnapshotSignals(ctx, id, 2)
		require.NoError(t, err)
	}
	var ids []string
	rows, err := pool.Query(ctx, `SELECT id FROM recommender_snapshots ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	assert.Equal(t, []string{"run-2", "run-3"}, ids)
}

// A training step that a worker crash interrupted after learning the
// blend resumes from the blend in its last heartbeat; the model is stored
// once under the version the workflow chose, and an unknown preset fails
// for good.
func TestTrainingResumesFromItsCheckpoint(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	signalstest.Seed(t, pool, 30)
	store := modelstore.New(pool)
	a := &Activities{Pool: pool, Models: store}
	_, err := a.SnapshotSignals(ctx, "run-1", 3)
	require.NoError(t, err)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	checkpointed := recommender.Blend{Weights: [4]float64{0.5, 0, 0, 2}}
	env.SetHeartbeatDetails(checkpoint{Stage: "fitting", Blend: &checkpointed})
	in := TrainInput{Snapshot: "run-1", Candidate: Candidate{Name: "small", Config: small()}, Version: "v-resumed", Report: "judged"}
	val, err := env.ExecuteActivity(a.TrainModel, in)
	require.NoError(t, err)
	var mi ModelInfo
	require.NoError(t, val.Get(&mi))
	assert.Equal(t, "v-resumed", mi.Version)
	assert.Positive(t, mi.MemoryBytes)
	m, err := store.Load(ctx, "v-resumed")
	require.NoError(t, err)
	assert.Equal(t, checkpointed.Weights, m.Hybrid.Weights, "the blend came from the checkpoint, not from learning again")

	_, err = env.ExecuteActivity(a.TrainModel, in)
	require.NoError(t, err, "a retry after the model was stored")
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM recommender_models`).Scan(&n))
	assert.Equal(t, 1, n)
	info, err := store.Get(ctx, "v-resumed")
	require.NoError(t, err)
	assert.Equal(t, modelstore.Candidate, info.Status, "stored, not yet live")
	assert.Contains(t, info.Report, "judged")

	_, err = env.ExecuteActivity(a.EvaluateCandidate, EvaluateInput{Snapshot: "run-1", Candidate: Candidate{Name: "nope"}, Split: eval.UserTemporal, K: 10, Resamples: 100})
	require.ErrorContains(t, err, "no training preset")
}

// A live model written by an older build (another model format) cannot
// serve or be judged: the candidate is judged against popular alone, and
// the report says so.
func TestUnreadableLiveModelIsJudgedWithoutIt(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	signalstest.Seed(t, pool, 60)
	var old bytes.Buffer
	require.NoError(t, gob.NewEncoder(&old).Encode(struct{ Format int }{Format: 99}))
	_, err := pool.Exec(ctx, `INSERT INTO recommender_models (version, status, data, size_bytes) VALUES ('old-build', 'live', $1, $2)`,
		old.Bytes(), old.Len())
	require.NoError(t, err)
	a := &Activities{Pool: pool, Models: modelstore.New(pool)}
	_, err = a.SnapshotSignals(ctx, "run-1", 3)
	require.NoError(t, err)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.EvaluateCandidate, EvaluateInput{Snapshot: "run-1", Candidate: Candidate{Name: "small", Config: small()},
		LiveVersion: "old-build", Split: eval.UserTemporal, K: 10, Resamples: 200})
	require.NoError(t, err)
	var ev Evaluation
	require.NoError(t, val.Get(&ev))
	assert.Contains(t, ev.Report, "cannot be read by this build")
	assert.Nil(t, ev.Verdict.Live)
	assert.Positive(t, ev.Verdict.TestUsers)
}
