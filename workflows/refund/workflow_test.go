package refund

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	ordersact "github.com/shopkit/shop/activities/orders"
	paymentsact "github.com/shopkit/shop/activities/payments"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workflows/email"
)

var (
	oa *ordersact.Activities
	pa *paymentsact.Activities
	ea *emailact.Activities
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterWorkflowWithOptions(CancelWorkflow, workflow.RegisterOptions{Name: CancelName})
	env.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	env.RegisterActivity(oa)
	env.RegisterActivity(pa)
	env.RegisterActivity(ea)
	env.OnActivity(oa.OrderEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, r ordersact.EmailRequest) (emailact.Input, error) {
		return emailact.Input{Key: r.Key, Kind: r.Kind, To: "c@example.com", OrderID: r.OrderID}, nil
	}).Maybe()
	env.OnActivity(ea.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{}, nil).Maybe()
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

var in = Input{RefundID: 9, OrderID: 7, Amount: 1000, PaymentIntentID: "pi_7"}

func TestRefundSucceeds(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.RefundPayment, mock.Anything, payments.RefundRequest{PaymentIntentID: "pi_7", Amount: 1000, RefundID: 9,
		OrderID: 7, IdempotencyKey: "refund-9-round-1"}).Return("re_1", nil).Once()
	env.OnActivity(oa.CompleteRefund, mock.Anything, ordersact.RefundUpdate{RefundID: 9, StripeRefundID: "re_1"}).Return(nil).Once()
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	assert.Equal(t, orders.RefundSucceeded, r.Status)
}

func TestRefusedRefundWaitsForAnOperatorThenRetries(t *testing.T) {
	env := newEnv(t)
	refused := temporal.NewNonRetryableApplicationError("charge disputed", paymentsact.ErrTypeRefused, nil)
	env.OnActivity(pa.RefundPayment, mock.Anything, mock.MatchedBy(func(r payments.RefundRequest) bool { return r.IdempotencyKey == "refund-9-round-1" })).
		Return("", refused).Once()
	env.OnActivity(oa.FlagRefund, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(oa.ReopenRefund, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(pa.RefundPayment, mock.Anything, mock.MatchedBy(func(r payments.RefundRequest) bool { return r.IdempotencyKey == "refund-9-round-2" })).
		Return("re_2", nil).Once()
	env.OnActivity(oa.CompleteRefund, mock.Anything, ordersact.RefundUpdate{RefundID: 9, StripeRefundID: "re_2"}).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(StatusQuery)
		require.NoError(t, err)
		var st orders.RefundStatus
		require.NoError(t, v.Get(&st))
		assert.Equal(t, orders.RefundNeedsAttention, st)
		env.SignalWorkflow(ResolveSignal, Resolution{Action: "nonsense"}) // ignored
		env.SignalWorkflow(ResolveSignal, Resolution{Action: ActionRetry})
	}, time.Hour)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
}

func TestTransientFailuresAreRetriedBeforeAskingAnOperator(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.RefundPayment, mock.Anything, mock.Anything).Return("", errors.New("stripe 500")).Times(attemptsBeforeAttention)
	env.OnActivity(oa.FlagRefund, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(oa.FailRefund, mock.Anything, ordersact.RefundUpdate{RefundID: 9, Note: "given up: customer paid by bank transfer"}).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResolveSignal, Resolution{Action: ActionGiveUp, Note: "customer paid by bank transfer"})
	}, 24*time.Hour)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	assert.Equal(t, orders.RefundFailed, r.Status)
}

func TestMarkRefundedByAnOperator(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.RefundPayment, mock.Anything, mock.Anything).Return("", temporal.NewNonRetryableApplicationError("no", paymentsact.ErrTypeRefused, nil)).Once()
	env.OnActivity(oa.FlagRefund, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(oa.CompleteRefund, mock.Anything, ordersact.RefundUpdate{RefundID: 9, Note: "settled outside Stripe: cash at the counter"}).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResolveSignal, Resolution{Action: ActionMarkRefunded, Note: "cash at the counter"})
	}, time.Hour)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
}

func TestCancelPaidOrderStartsTheRefund(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(oa.CancelPaidOrder, mock.Anything, ordersact.CancelPaidInput{OrderID: 7, Reason: "too late"}).
		Return(orders.Refund{ID: 9, OrderID: 7, Amount: 1000}, nil).Once()
	env.OnActivity(pa.RefundPayment, mock.Anything, mock.Anything).Return("re_9", nil).Once()
	env.OnActivity(oa.CompleteRefund, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(CancelName, CancelInput{OrderID: 7, PaymentIntentID: "pi_7", Reason: "too late"})
	require.NoError(t, env.GetWorkflowError())
}
