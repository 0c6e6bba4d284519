package images

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
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
