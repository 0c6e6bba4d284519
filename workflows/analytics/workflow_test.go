package analytics

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

	analyticsact "github.com/shopkit/shop/activities/analytics"
)

func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Rollup, workflow.RegisterOptions{Name: RollupName})
	env.RegisterWorkflowWithOptions(Backfill, workflow.RegisterOptions{Name: BackfillName})
	env.RegisterActivity(&analyticsact.Activities{})
	return env
}

// TestBackfillRollsADayPerActivityAndReportsProgress: 50 hours are three
// activities (24, 24, 2 hours); the progress query follows them; the part
// not closed yet is left out.
func TestBackfillRollsADayPerActivityAndReportsProgress(t *testing.T) {
	env := newEnv()
	now := time.Date(2026, 5, 20, 10, 30, 0, 0, time.UTC)
	env.SetStartTime(now)
	var a *analyticsact.Activities
	var calls []analyticsact.Hours
	var seen []Progress
	env.OnActivity(a.RollUpHours, mock.Anything, mock.Anything).Return(
		func(_ context.Context, h analyticsact.Hours) (int, error) {
			calls = append(calls, h)
			return int(h.To.Sub(h.From) / time.Hour), nil
		}).After(time.Minute)
	from := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		var p Progress
		require.NoError(t, v.Get(&p))
		seen = append(seen, p)
	}, 90*time.Second)
	env.ExecuteWorkflow(BackfillName, BackfillInput{From: from, To: from.Add(50 * time.Hour), CloseAfter: 48 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res Progress
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 50, res.HoursRolled)
	assert.Equal(t, 50, res.HoursTotal)
	assert.True(t, res.Done.Equal(from.Add(50*time.Hour)))
	require.Len(t, calls, 3)
	assert.Equal(t, analyticsact.Hours{From: from, To: from.Add(24 * time.Hour)}, calls[0])
	assert.Equal(t, analyticsact.Hours{From: from.Add(48 * time.Hour), To: from.Add(50 * time.Hour)}, calls[2])
	require.Len(t, seen, 1)
	assert.Equal(t, Progress{From: from, To: from.Add(50 * time.Hour), Done: from.Add(24 * time.Hour), HoursRolled: 24,
		HoursTotal: 50}, seen[0], "the first day is rolled, the second under way")

	// A range reaching into the open hours stops at the closed boundary.
	env = newEnv()
	env.SetStartTime(now)
	calls = nil
	env.OnActivity(a.RollUpHours, mock.Anything, mock.Anything).Return(
		func(_ context.Context, h analyticsact.Hours) (int, error) {
			calls = append(calls, h)
			return int(h.To.Sub(h.From) / time.Hour), nil
		})
	env.ExecuteWorkflow(BackfillName, BackfillInput{From: now.Add(-72 * time.Hour).Truncate(time.Hour),
		To: now.Add(24 * time.Hour).Truncate(time.Hour), CloseAfter: 48 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.True(t, res.To.Equal(time.Date(2026, 5, 18, 10, 0, 0, 0, time.UTC)), "closed before %s", res.To)
	assert.Equal(t, 24, res.HoursRolled)
}

// TestRollupRebuildsTheLastClosedDays: the nightly run rolls the week
// before the closed boundary.
func TestRollupRebuildsTheLastClosedDays(t *testing.T) {
	env := newEnv()
	now := time.Date(2026, 5, 20, 2, 5, 0, 0, time.UTC)
	env.SetStartTime(now)
	var a *analyticsact.Activities
	var calls []analyticsact.Hours
	env.OnActivity(a.RollUpHours, mock.Anything, mock.Anything).Return(
		func(_ context.Context, h analyticsact.Hours) (int, error) {
			calls = append(calls, h)
			return int(h.To.Sub(h.From) / time.Hour), nil
		})
	env.ExecuteWorkflow(RollupName, RollupInput{CloseAfter: 48 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	var res Progress
	require.NoError(t, env.GetWorkflowResult(&res))
	closed := time.Date(2026, 5, 18, 2, 0, 0, 0, time.UTC)
	assert.True(t, res.To.Equal(closed), "%s", res.To)
	assert.True(t, res.From.Equal(closed.Add(-DefaultLookback)), "%s", res.From)
	assert.Equal(t, 7*24, res.HoursRolled)
	assert.Len(t, calls, 7)
}

// TestBackfillRefusesARangeOffTheHour and an activity's refusal of an open
// hour is not retried.
func TestBackfillRefusesBadRanges(t *testing.T) {
	env := newEnv()
	from := time.Date(2026, 5, 1, 0, 30, 0, 0, time.UTC)
	env.ExecuteWorkflow(BackfillName, BackfillInput{From: from, To: from.Add(time.Hour)})
	var ae *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &ae)
	assert.Equal(t, ErrTypeBadInput, ae.Type())

	env = newEnv()
	env.SetStartTime(time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC))
	var a *analyticsact.Activities
	attempts := 0
	env.OnActivity(a.RollUpHours, mock.Anything, mock.Anything).Return(
		func(context.Context, analyticsact.Hours) (int, error) {
			attempts++
			return 0, temporal.NewNonRetryableApplicationError("not closed", analyticsact.ErrTypeNotClosed, nil)
		})
	from = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	env.ExecuteWorkflow(BackfillName, BackfillInput{From: from, To: from.Add(time.Hour)})
	require.ErrorAs(t, env.GetWorkflowError(), &ae)
	assert.Equal(t, analyticsact.ErrTypeNotClosed, ae.Type())
	assert.Equal(t, 1, attempts)
}
