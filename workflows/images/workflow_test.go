package images

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	imagesact "github.com/shopkit/shop/activities/images"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/images"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{failure.BoundsGuard()}})
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&imagesact.Activities{})
	return env
}

var in = Input{ImageID: 7, ProductID: 3, OriginalKey: "originals/abc.png"}

func TestRendersThenMarksReady(t *testing.T) {
	env := newEnv(t)
	var a *imagesact.Activities
	variants := []images.Variant{{Size: "card", Format: "webp", Key: "k.webp", Width: 480, Height: 360}}
	env.OnActivity(a.RenderVariants, mock.Anything, imagesact.RenderInput{ImageID: 7, OriginalKey: "originals/abc.png"}).
		Return(imagesact.RenderResult{Variants: variants}, nil).Once()
	env.OnActivity(a.MarkImageReady, mock.Anything, imagesact.MarkReadyInput{ImageID: 7, Variants: variants}).Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	assert.Equal(t, Result{Status: "ready", Variants: 1}, r)
	env.AssertExpectations(t)
}

// A transient failure is retried; a corrupt original is not: the image is
// marked failed and the workflow completes.
func TestCorruptImageIsMarkedFailedWithoutRetries(t *testing.T) {
	env := newEnv(t)
	var a *imagesact.Activities
	env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).
		Return(imagesact.RenderResult{}, temporal.NewNonRetryableApplicationError("image data is corrupt: unexpected EOF", imagesact.ErrTypeCorrupt, nil)).Once()
	env.OnActivity(a.MarkImageFailed, mock.Anything, imagesact.MarkFailedInput{ImageID: 7, Reason: "image data is corrupt: unexpected EOF"}).
		Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	assert.Equal(t, "failed", r.Status)
	env.AssertExpectations(t)
}

func TestTransientRenderFailureIsRetried(t *testing.T) {
	env := newEnv(t)
	var a *imagesact.Activities
	env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).
		Return(imagesact.RenderResult{}, temporal.NewApplicationError("the store is down", "Unavailable")).Twice()
	env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).Return(imagesact.RenderResult{}, nil).Once()
	env.OnActivity(a.MarkImageReady, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

// Any error that outlasts the retries (here the store, down through every
// attempt) marks the image failed: it never stays "processing".
func TestExhaustedRetriesMarkTheImageFailed(t *testing.T) {
	env := newEnv(t)
	var a *imagesact.Activities
	env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).
		Return(imagesact.RenderResult{}, temporal.NewApplicationError("the store is down", "Unavailable")).Times(8)
	env.OnActivity(a.MarkImageFailed, mock.Anything, imagesact.MarkFailedInput{ImageID: 7, Reason: ReasonProcessingFailed}).
		Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	assert.ErrorContains(t, env.GetWorkflowError(), "the store is down")
	env.AssertExpectations(t)
}

// A render that fails for good and a failed
// MarkImageReady end the same way.
func TestFinalFailuresMarkTheImageFailed(t *testing.T) {
	t.Run("render failed for good", func(t *testing.T) {
		env := newEnv(t)
		var a *imagesact.Activities
		env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).
			Return(imagesact.RenderResult{}, temporal.NewNonRetryableApplicationError("crashed", "Crash", nil)).Once()
		env.OnActivity(a.MarkImageFailed, mock.Anything, imagesact.MarkFailedInput{ImageID: 7, Reason: ReasonProcessingFailed}).
			Return(nil).Once()
		env.ExecuteWorkflow(Name, in)
		require.Error(t, env.GetWorkflowError())
		env.AssertExpectations(t)
	})
	t.Run("recording failed", func(t *testing.T) {
		env := newEnv(t)
		var a *imagesact.Activities
		env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).Return(imagesact.RenderResult{}, nil).Once()
		env.OnActivity(a.MarkImageReady, mock.Anything, mock.Anything).
			Return(temporal.NewNonRetryableApplicationError("constraint", "Invalid", nil)).Once()
		env.OnActivity(a.MarkImageFailed, mock.Anything, imagesact.MarkFailedInput{ImageID: 7, Reason: ReasonProcessingFailed}).
			Return(nil).Once()
		env.ExecuteWorkflow(Name, in)
		require.Error(t, env.GetWorkflowError())
		env.AssertExpectations(t)
	})
}

// A burst of uploads waits for the worker's render slots inside the
// activity: its deadline allows hours of waiting, and heartbeats (not the
// deadline) notice a lost worker.
func TestRenderMayWaitForASlot(t *testing.T) {
	env := newEnv(t)
	var a *imagesact.Activities
	var info activity.Info
	env.OnActivity(a.RenderVariants, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ imagesact.RenderInput) (imagesact.RenderResult, error) {
			info = activity.GetInfo(ctx)
			return imagesact.RenderResult{}, nil
		}).Once()
	env.OnActivity(a.MarkImageReady, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	assert.GreaterOrEqual(t, info.Deadline.Sub(info.StartedTime), 6*time.Hour)
	assert.Positive(t, info.HeartbeatTimeout)
	assert.Less(t, info.HeartbeatTimeout, time.Minute)
	assert.Greater(t, info.HeartbeatTimeout, 2*imagesact.HeartbeatEvery)
}
