package eventstore

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	eventstoreact "github.com/shopkit/shop/activities/eventstore"
)

func TestMaintenanceCreatesAheadAndPrunesOld(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&eventstoreact.Activities{})
	start := time.Date(2026, 5, 20, 3, 17, 0, 0, time.UTC)
	env.SetStartTime(start)
	var a *eventstoreact.Activities
	var months eventstoreact.Months
	var before time.Time
	env.OnActivity(a.EnsureEventPartitions, mock.Anything, mock.Anything).Return(
		func(_ context.Context, m eventstoreact.Months) (int, error) { months = m; return 1, nil })
	env.OnActivity(a.PruneEventPartitions, mock.Anything, mock.Anything).Return(
		func(_ context.Context, b time.Time) ([]string, error) {
			before = b
			return []string{"behaviour_events_2025_03"}, nil
		})

	env.ExecuteWorkflow(Name, Input{Retention: 9600 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, Result{Created: 1, Dropped: []string{"behaviour_events_2025_03"}}, res)
	assert.True(t, start.Equal(months.From), "from %s", months.From)
	assert.True(t, start.AddDate(0, 3, 0).Equal(months.To), "three months ahead by default: %s", months.To)
	assert.True(t, start.Add(-9600*time.Hour).Equal(before), "pruned before %s", before)
}

func TestMaintenanceRefusesAShortRetention(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&eventstoreact.Activities{})
	env.ExecuteWorkflow(Name, Input{Retention: time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	var ae *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &ae)
	assert.Equal(t, ErrTypeBadInput, ae.Type())
	assert.True(t, ae.NonRetryable())
}
