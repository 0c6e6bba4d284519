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
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	searchact "github.com/shopkit/shop/activities/search"
)

func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ReindexWorkflow, workflow.RegisterOptions{Name: ReindexName})
	env.RegisterActivity(&searchact.Activities{})
	return env
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
