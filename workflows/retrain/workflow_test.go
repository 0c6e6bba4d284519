package retrain

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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	retrainact "github.com/shopkit/shop/activities/retrain"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
)

var a *retrainact.Activities

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&retrainact.Activities{})
	env.SetStartTime(time.Date(2026, 11, 30, 2, 30, 0, 0, time.UTC))
	return env
}

func snapshot(n int) func(context.Context, string, int) (retrainact.SnapshotInfo, error) {
	return func(_ context.Context, id string, keep int) (retrainact.SnapshotInfo, error) {
		return retrainact.SnapshotInfo{ID: id, Interactions: n, Items: 40, Purchases: n / 2, Views: n / 2}, nil
	}
}

func verdict(name string, better bool, ndcg float64) retrainact.Evaluation {
	why := "the candidate does not beat the live model by more than the noise"
	if better {
		why = "the candidate beats popular and the live model by more than the noise"
	}
	return retrainact.Evaluation{Candidate: name, Report: "table of " + name,
		Verdict: eval.Verdict{K: 10, Better: better, Why: why, Candidate: eval.Scores{Name: name, NDCG: ndcg}}}
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) Progress {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var p Progress
	require.NoError(t, env.GetWorkflowResult(&p))
	return p
}

// The best passing candidate is trained on the whole snapshot, stored
// under a version of the run and published; progress is a query.
func TestPublishesTheBestPassingCandidate(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, 3).Return(snapshot(500))
	env.OnActivity(a.LiveModel, mock.Anything).Return(retrainact.Live{Version: "20261129T023000Z-old"}, nil)
	env.OnActivity(a.EvaluateCandidate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in retrainact.EvaluateInput) (retrainact.Evaluation, error) {
			assert.Equal(t, "20261129T023000Z-old", in.LiveVersion)
			assert.Equal(t, eval.GlobalTemporal, in.Split)
			assert.Equal(t, 10, in.K)
			assert.InDelta(t, 1-0.05/3, in.Level, 1e-12, "the best of three is held to a stricter level")
			return map[string]retrainact.Evaluation{
				"default": verdict("default", true, 0.20), "deep": verdict("deep", true, 0.25), "light": verdict("light", false, 0.3),
			}[in.Candidate.Name], nil
		})
	var trained retrainact.TrainInput
	env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in retrainact.TrainInput) (retrainact.ModelInfo, error) {
			trained = in
			return retrainact.ModelInfo{Version: in.Version, Users: 10, Items: 40}, nil
		})
	var published retrainact.PublishInput
	env.OnActivity(a.PublishModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in retrainact.PublishInput) error { published = in; return nil })
	light := recommender.DefaultConfig()
	light.ALS.Factors = 16
	env.ExecuteWorkflow(Name, Input{Candidates: []retrainact.Candidate{{Name: "default"}, {Name: "deep"}, {Name: "light", Config: &light}}})
	p := result(t, env)
	assert.Equal(t, StagePublished, p.Stage)
	assert.True(t, p.Published)
	assert.Equal(t, "deep", p.Chosen, "the best of those that beat the live model")
	assert.Equal(t, "deep", trained.Candidate.Name)
	assert.Equal(t, retrainact.PublishInput{Version: trained.Version, Replacing: "20261129T023000Z-old"}, published,
		"published only in place of the model it was judged against")
	assert.Regexp(t, `^20261130T023000Z-`, trained.Version)
	assert.Contains(t, trained.Report, "table of deep")
	assert.Len(t, p.Evaluations, 3)
	assert.Contains(t, p.Why, "is live")
	assert.Contains(t, p.Report(), "table of light")
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var q Progress
	require.NoError(t, v.Get(&q))
	assert.Equal(t, p, q, "the progress query answers the run's state")
}

// When no candidate beats the live model, nothing is trained or
// published, and the result says why.
func TestKeepsTheLiveModelWhenNoCandidateIsBetter(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, mock.Anything).Return(snapshot(500))
	env.OnActivity(a.LiveModel, mock.Anything).Return(retrainact.Live{Version: "live-1"}, nil)
	env.OnActivity(a.EvaluateCandidate, mock.Anything, mock.Anything).Return(verdict("default", false, 0.1), nil)

	env.ExecuteWorkflow(Name, Input{})
	p := result(t, env)
	assert.Equal(t, StageRejected, p.Stage)
	assert.False(t, p.Published)
	assert.Contains(t, p.Why, "the live model stays")
	assert.Contains(t, p.Why, "default: the candidate does not beat the live model")
	env.AssertNotCalled(t, "TrainModel", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "PublishModel", mock.Anything, mock.Anything)
}

// A shop with no signals yet has nothing to learn from.
func TestNothingToLearnFrom(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, mock.Anything).Return(snapshot(0))
	env.ExecuteWorkflow(Name, Input{})
	p := result(t, env)
	assert.Equal(t, StageRejected, p.Stage)
	assert.Contains(t, p.Why, "nothing to learn from")
}

// A model that went live (or was pinned) while the run judged its
// candidate is not replaced; the trained model stays stored.
func TestDoesNotReplaceAModelPublishedMeanwhile(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, mock.Anything).Return(snapshot(500))
	env.OnActivity(a.LiveModel, mock.Anything).Return(retrainact.Live{Version: "live-1"}, nil)
	env.OnActivity(a.EvaluateCandidate, mock.Anything, mock.Anything).Return(verdict("default", true, 0.3), nil)
	env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in retrainact.TrainInput) (retrainact.ModelInfo, error) {
			return retrainact.ModelInfo{Version: in.Version}, nil
		})
	calls := 0
	env.OnActivity(a.PublishModel, mock.Anything, mock.Anything).Return(func(context.Context, retrainact.PublishInput) error {
		calls++
		// Retryable as sent: the workflow's policy must know the type.
		return temporal.NewApplicationError(`the live model changed: "rolled-back" is live, not "live-1"`, retrainact.ErrTypeLiveChanged)
	})
	env.ExecuteWorkflow(Name, Input{})
	p := result(t, env)
	assert.Equal(t, StageRejected, p.Stage)
	assert.False(t, p.Published)
	assert.Contains(t, p.Why, "not published")
	assert.Contains(t, p.Why, "stays stored")
	assert.Equal(t, 1, calls, "not retried")
}

// A model pinned by an operator's rollback is left alone.
func TestPinnedLiveModelIsLeftAlone(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, mock.Anything).Return(snapshot(500))
	env.OnActivity(a.LiveModel, mock.Anything).Return(retrainact.Live{Version: "rolled-back", Pinned: true}, nil)
	env.ExecuteWorkflow(Name, Input{})
	p := result(t, env)
	assert.Equal(t, StageRejected, p.Stage)
	assert.Contains(t, p.Why, "pinned by a rollback")
	env.AssertNotCalled(t, "EvaluateCandidate", mock.Anything, mock.Anything)
}

// A candidate the worker cannot train fails the run at once, without
// retries, even when the activity's error did not say so; a bad input is
// refused before any work.
func TestPermanentFailuresAreNotRetried(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SnapshotSignals, mock.Anything, mock.Anything, mock.Anything).Return(snapshot(10))
	env.OnActivity(a.LiveModel, mock.Anything).Return(retrainact.Live{}, nil)
	calls := 0
	env.OnActivity(a.EvaluateCandidate, mock.Anything, mock.Anything).Return(
		func(context.Context, retrainact.EvaluateInput) (retrainact.Evaluation, error) {
			calls++
			return retrainact.Evaluation{}, temporal.NewApplicationError("no training preset", retrainact.ErrTypeUnknownCandidate)
		})
	cfg := recommender.DefaultConfig()
	env.ExecuteWorkflow(Name, Input{Candidates: []retrainact.Candidate{{Name: "custom", Config: &cfg}}})
	require.True(t, env.IsWorkflowCompleted())
	var ae *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &ae))
	assert.Equal(t, retrainact.ErrTypeUnknownCandidate, ae.Type())
	assert.Equal(t, 1, calls)

	for _, in := range []Input{{K: 1000}, {Resamples: 10_000_000}, {Candidates: []retrainact.Candidate{{Name: "nope"}}},
		{Candidates: []retrainact.Candidate{{Name: "default"}, {Name: "default"}}}, {Candidates: []retrainact.Candidate{{Config: &cfg}}}} {
		env = newEnv(t)
		env.ExecuteWorkflow(Name, in)
		require.True(t, errors.As(env.GetWorkflowError(), &ae), "%+v", in)
		assert.Equal(t, ErrTypeBadInput, ae.Type())
	}
}
