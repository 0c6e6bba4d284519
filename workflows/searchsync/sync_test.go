package searchsync

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	searchact "github.com/shopkit/shop/activities/search"
)

func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: SyncName})
	env.RegisterWorkflowWithOptions(ReindexWorkflow, workflow.RegisterOptions{Name: ReindexName})
	env.RegisterActivity(&searchact.Activities{})
	return env
}

func TestSyncBatchesDeduplicatesAndRetriesThroughAnOutage(t *testing.T) {
	env := newEnv()
	var a *searchact.Activities
	var synced [][]int64
	failures := 3
	env.OnActivity(a.SyncProducts, mock.Anything, "", mock.Anything).Return(
		func(_ context.Context, _ string, ids []int64) (int, error) {
			if failures > 0 { // Elasticsearch is down for a while
				failures--
				return 0, errors.New("connection refused")
			}
			synced = append(synced, ids)
			return len(ids), nil
		})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalChanged, []int64{3, 1}) }, time.Second)
	// These arrive while the first batch is failing against the outage.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalChanged, []int64{1, 2})
		env.SignalWorkflow(SignalChanged, []int64{2, 5})
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalChanged, []int64{9}) }, time.Hour)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(PendingQuery)
		require.NoError(t, err)
		var n int
		require.NoError(t, v.Get(&n))
		assert.Zero(t, n)
		env.CancelWorkflow()
	}, 2*time.Hour)

	env.ExecuteWorkflow(SyncWorkflow, SyncInput{})
	require.True(t, env.IsWorkflowCompleted())
	assert.Equal(t, [][]int64{{1, 3}, {1, 2, 5}, {9}}, synced,
		"changes that arrive during an outage are merged, deduplicated and applied once it ends")
}

func TestSyncContinuesAsNewCarryingPendingIDs(t *testing.T) {
	env := newEnv()
	var a *searchact.Activities
	env.OnActivity(a.SyncProducts, mock.Anything, "", mock.Anything).Return(1, nil)
	defer func(n int) { maxBatchesInRun = n }(maxBatchesInRun)
	maxBatchesInRun = 3
	for i := range maxBatchesInRun + 1 {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalChanged, []int64{int64(i + 1)}) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(SyncWorkflow, SyncInput{Pending: []int64{42}})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next SyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.NotEmpty(t, next.Pending, "ids not yet applied travel to the next run")
}

func TestReindexCopiesCatchesUpSwapsAndCleansUp(t *testing.T) {
	env := newEnv()
	var a *searchact.Activities
	var calls []string
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env.OnActivity(a.BeginReindex, mock.Anything).Return(func(context.Context) (searchact.ReindexStart, error) {
		calls = append(calls, "begin")
		return searchact.ReindexStart{Index: "products-2", Since: t0, MaxID: 6}, nil
	})
	env.OnActivity(a.CopyPage, mock.Anything, "products-2", mock.Anything, int64(6), 2).Return(
		func(_ context.Context, _ string, after, _ int64, _ int) (int64, error) {
			calls = append(calls, "copy")
			if after >= 4 {
				return 0, nil
			}
			return after + 2, nil
		})
	env.OnActivity(a.CatchUp, mock.Anything, "products-2", mock.Anything).Return(
		func(_ context.Context, _ string, since time.Time) (time.Time, error) {
			calls = append(calls, "catchup")
			return since.Add(time.Minute), nil
		})
	env.OnActivity(a.SwapAlias, mock.Anything, "products-2").Return(func(context.Context, string) ([]string, error) {
		calls = append(calls, "swap")
		return []string{"products-1"}, nil
	})
	env.OnActivity(a.DeleteIndexes, mock.Anything, []string{"products-1"}).Return(func(context.Context, []string) error {
		calls = append(calls, "delete-old")
		return nil
	})
	env.ExecuteWorkflow(ReindexWorkflow, ReindexInput{BatchSize: 2})
	require.NoError(t, env.GetWorkflowError())
	var p ReindexProgress
	require.NoError(t, env.GetWorkflowResult(&p))
	assert.Equal(t, "done", p.Phase)
	assert.Equal(t, []string{"begin", "copy", "copy", "copy", "catchup", "swap", "catchup", "delete-old"}, calls)
}

func TestAFailedReindexDropsItsHalfBuiltIndex(t *testing.T) {
	env := newEnv()
	var a *searchact.Activities
	env.OnActivity(a.BeginReindex, mock.Anything).Return(searchact.ReindexStart{Index: "products-3"}, nil)
	env.OnActivity(a.CopyPage, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(int64(0), errors.New("boom"))
	var dropped []string
	env.OnActivity(a.DeleteIndexes, mock.Anything, mock.Anything).Return(func(_ context.Context, names []string) error {
		dropped = append(dropped, names...)
		return nil
	})
	env.ExecuteWorkflow(ReindexWorkflow, ReindexInput{})
	require.Error(t, env.GetWorkflowError())
	assert.Equal(t, []string{"products-3"}, dropped)
}
