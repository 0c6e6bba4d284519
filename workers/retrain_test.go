package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	retrainact "github.com/shopkit/shop/activities/retrain"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
	"github.com/shopkit/shop/recommender/signals/signalstest"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/retrain"
)

// TestRetrainOnAScheduleKeepsABetterLiveModel: the schedule `shop worker`
// ensures exists with its policies; its run evaluates a candidate that is
// worse than the live model, keeps the live model, stores nothing, and
// says why.
func TestRetrainOnAScheduleKeepsABetterLiveModel(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	signalstest.Seed(t, s.Pool, 200)
	snap, err := signals.Read(ctx, s.Pool)
	require.NoError(t, err)
	// The live model learned the first 60 % of the past; what came after
	// judges it and the candidate.
	snap.Interactions, _ = recommender.SplitGlobalTemporal(snap.Interactions, recommender.TemporalCutoff(snap.Interactions, 0.6))
	good := recommender.DefaultConfig()
	good.ALS.Factors, good.ALS.Iterations = 16, 5
	m, err := recommender.Train(snap.Interactions, snap.Items, good)
	require.NoError(t, err)
	store := modelstore.New(s.Pool)
	live, err := store.Save(ctx, m, "good")
	require.NoError(t, err)
	require.NoError(t, store.Publish(ctx, live))

	// A candidate that sees one neighbour and one factor.
	weak := recommender.DefaultConfig()
	weak.KNNNeighbours, weak.ContentNeighbours, weak.HybridCandidates = 1, 1, 3
	weak.ALS.Factors, weak.ALS.Iterations = 1, 1
	weak.EASE.Neighbours, weak.HybridEASEMix, weak.HybridRecency = 1, 0, 0
	in := retrain.Input{Candidates: []retrainact.Candidate{{Name: "weak", Config: &weak}}, Resamples: 500}
	// Retraining has its own task queue and worker, as `shop worker` runs it.
	queue := testenv.UniqueName("test-retrain-queue-")
	rw := workers.NewRetrain(s.Temporal, queue, s.Pool)
	require.NoError(t, rw.Start())
	t.Cleanup(rw.Stop)
	id := testenv.UniqueName("test-recommender-retrain-")
	h, err := retrain.EnsureSchedule(ctx, s.Temporal, id, queue, 2, 30, in)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	_, err = retrain.EnsureSchedule(ctx, s.Temporal, id, queue, 2, 30, in)
	require.NoError(t, err, "ensuring an existing schedule succeeds")
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	assert.Equal(t, 24*time.Hour, d.Schedule.Policy.CatchupWindow)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", d.Schedule.Action)
	assert.Equal(t, retrain.Name, action.Workflow)
	assert.Equal(t, queue, action.TaskQueue)
	require.NotEmpty(t, d.Info.NextActionTimes)
	next := d.Info.NextActionTimes[0].UTC()
	assert.Equal(t, []int{2, 30}, []int{next.Hour(), next.Minute()}, "daily at 02:30 UTC")

	run := shoptest.TriggerSchedule(ctx, t, s.Temporal, h)
	var res retrain.Progress
	require.NoError(t, run.Get(ctx, &res))
	t.Log(res.Report())
	assert.Equal(t, retrain.StageRejected, res.Stage, "%s", res.Report())
	assert.False(t, res.Published)
	assert.Equal(t, live, res.LiveVersion)
	assert.Contains(t, res.Why, "does not beat the live model by more than the noise")
	assert.Contains(t, res.Why, "weak: ")
	require.Len(t, res.Evaluations, 1)
	v := res.Evaluations[0].Verdict
	require.NotNil(t, v.Live)
	assert.Less(t, v.Candidate.NDCG, v.Live.NDCG, "the candidate is worse")

	now, err := store.LiveVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, live, now, "the live model stays")
	var models int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM recommender_models`).Scan(&models))
	assert.Equal(t, 1, models, "a rejected candidate is not stored")
	shoptest.RecordHistory(t, s.Temporal, run.GetID(), "../workflows/retrain/testdata/rejected.json")
}
