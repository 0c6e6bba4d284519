package email

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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/mail"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&emailact.Activities{})
	return env
}

var input = emailact.Input{Key: "order-42-confirmation", Kind: mail.KindOrderConfirmation, To: "ada@example.com", OrderID: 42}

func TestSendsTheEmail(t *testing.T) {
	env := newEnv(t)
	var a *emailact.Activities
	env.OnActivity(a.SendEmail, mock.Anything, input).Return(emailact.Result{MessageID: "<m@shop>"}, nil).Once()

	env.ExecuteWorkflow(Workflow, input)
	require.NoError(t, env.GetWorkflowError())
	var res emailact.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, emailact.Result{MessageID: "<m@shop>"}, res)
	env.AssertExpectations(t)
}

func TestRetriesATransientFailure(t *testing.T) {
	env := newEnv(t)
	var a *emailact.Activities
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{}, errors.New("451 try again later")).Twice()
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{MessageID: "<m@shop>"}, nil).Once()

	env.ExecuteWorkflow(Workflow, input)
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

func TestAPermanentFailureEndsTheWorkflow(t *testing.T) {
	for name, err := range map[string]error{
		"marked non-retryable": temporal.NewNonRetryableApplicationError("550 no such user", emailact.ErrTypeRejected, nil),
		// The retry policy lists the type, whatever the flag says.
		"listed type": temporal.NewApplicationError("bad template", emailact.ErrTypeBadInput),
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			var a *emailact.Activities
			env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{}, err).Once()

			env.ExecuteWorkflow(Workflow, input)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &appErr)
			var want *temporal.ApplicationError
			require.ErrorAs(t, err, &want)
			assert.Equal(t, want.Type(), appErr.Type())
			env.AssertExpectations(t)
		})
	}
}

func TestIncompleteInputFailsWithoutSending(t *testing.T) {
	env := newEnv(t)
	in := input
	in.To = ""
	env.ExecuteWorkflow(Workflow, in)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	assert.Equal(t, emailact.ErrTypeBadInput, appErr.Type())
}

func TestStartingTwiceForOneEventStartsOneEmail(t *testing.T) {
	env := newEnv(t)
	var a *emailact.Activities
	sends := 0
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in emailact.Input) (emailact.Result, error) {
			sends++
			return emailact.Result{MessageID: mail.MessageID(in.Key)}, nil
		})
	var children []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		children = append(children, info.WorkflowExecution.ID)
	})
	parent := func(ctx workflow.Context) error {
		for range 2 { // the second while the first email workflow runs
			if err := Start(ctx, input); err != nil {
				return err
			}
		}
		// Long enough for the first email to be sent and its workflow closed:
		// a closed one still holds the ID.
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return err
		}
		return Start(ctx, input)
	}
	env.RegisterWorkflow(parent)

	env.ExecuteWorkflow(parent)
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, []string{WorkflowID(input.Key)}, children)
	assert.Equal(t, 1, sends)
}
