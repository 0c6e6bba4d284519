package returns

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	returnsact "github.com/shopkit/shop/activities/returns"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/workflows/email"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	"github.com/shopkit/shop/workflows/refund"
)

var (
	ra *returnsact.Activities
	ea *emailact.Activities
)

var in = Input{ReturnID: 5, OrderID: 7, CustomerID: 3}

func ret(st returns.Status) returns.Return {
	return returns.Return{ID: 5, OrderID: 7, CustomerID: 3, Status: st}
}

// newEnv is a test environment with the return's activities mocked and
// stand-ins for the children it starts, which record their inputs.
func newEnv(t *testing.T, refunds *[]refund.Input, parcels *[]fulfilmentwf.ShipmentInput) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// Every activity call must be bounded, as in production.
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{failure.BoundsGuard()}})
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	env.RegisterWorkflowWithOptions(func(_ workflow.Context, in refund.Input) (refund.Result, error) {
		*refunds = append(*refunds, in)
		return refund.Result{}, nil
	}, workflow.RegisterOptions{Name: refund.Name})
	env.RegisterWorkflowWithOptions(func(_ workflow.Context, in fulfilmentwf.ShipmentInput) (fulfilmentwf.ShipmentResult, error) {
		*parcels = append(*parcels, in)
		return fulfilmentwf.ShipmentResult{}, nil
	}, workflow.RegisterOptions{Name: fulfilmentwf.ShipmentName})
	env.RegisterActivity(ra)
	env.RegisterActivity(ea)
	env.OnActivity(ra.LoadReturn, mock.Anything, int64(5)).Return(returnsact.Loaded{Return: ret(returns.StatusRequested),
		ExpireAfter: 48 * time.Hour, Deadlines: fulfilmentact.DefaultDeadlines}, nil).Once()
	env.OnActivity(ra.ReturnEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, r returnsact.EmailRequest) (emailact.Input, error) {
		return emailact.Input{Key: r.Key, Kind: r.Kind, To: "c@example.com", OrderID: 7}, nil
	}).Maybe()
	env.OnActivity(ea.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{}, nil).Maybe()
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// update sends an Update and hands its outcome to check.
func update(env *testsuite.TestWorkflowEnvironment, name string, check func(r returns.Return, err error), arg any) {
	env.UpdateWorkflow(name, name+time.Now().String(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { check(returns.Return{}, err) },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			r, _ := v.(returns.Return)
			check(r, err)
		},
	}, arg)
}

func refusedAs(t *testing.T, typ string) func(returns.Return, error) {
	return func(_ returns.Return, err error) {
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, typ, ae.Type())
	}
}

func ok(t *testing.T, want returns.Status) func(returns.Return, error) {
	return func(r returns.Return, err error) {
		require.NoError(t, err)
		assert.Equal(t, want, r.Status)
	}
}

// Approved, received once (a second receipt is refused before it runs),
// refunded through the refund workflow, and the exchange parcel's
// workflow started; the customer hears of the approval.
func TestReturnIsApprovedReceivedAndRefunded(t *testing.T) {
	var refunds []refund.Input
	var parcels []fulfilmentwf.ShipmentInput
	env := newEnv(t, &refunds, &parcels)
	decided := time.Now()
	approved := ret(returns.StatusApproved)
	approved.DecidedAt = &decided
	env.OnActivity(ra.ApproveReturn, mock.Anything, returnsact.DecisionInput{ReturnID: 5, Decision: returns.Decision{Note: "ok", By: 1}}).
		Return(approved, nil).Once()
	received := ret(returns.StatusReceived)
	receipt := returns.ReceiveInput{Lines: []returns.ReceiveLine{{Line: 1, Resellable: 1, Damaged: 1, LocationID: 2}}}
	env.OnActivity(ra.ReceiveReturn, mock.Anything, returnsact.ReceiveInput{ReturnID: 5, Receive: receipt}).Return(received, nil).Once()
	sh := fulfilment.Shipment{ID: 40, OrderID: 7, LocationID: 2, Status: fulfilment.StatusPending}
	env.OnActivity(ra.ReturnExchangeShipments, mock.Anything, int64(5)).Return([]fulfilment.Shipment{sh}, nil).Once()
	env.OnActivity(ra.RefundReturn, mock.Anything, returnsact.RefundInput{ReturnID: 5}).
		Return(returnsact.Refunded{Refund: orders.Refund{ID: 11, OrderID: 7, Amount: 1800}, PaymentIntentID: "pi_7"}, nil).Once()

	env.RegisterDelayedCallback(func() {
		update(env, ReceiveUpdate, refusedAs(t, returnsact.ErrTypeWrongState), receipt) // not approved yet
		update(env, ApproveUpdate, refusedAs(t, returnsact.ErrTypeInvalid), returns.Decision{Note: string(make([]byte, 2000))})
		update(env, ApproveUpdate, ok(t, returns.StatusApproved), returns.Decision{Note: "ok", By: 1})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		update(env, ApproveUpdate, ok(t, returns.StatusApproved), returns.Decision{Note: "ok", By: 1}) // again: no second step
		update(env, RefuseUpdate, refusedAs(t, returnsact.ErrTypeWrongState), returns.Decision{})
		update(env, ReceiveUpdate, refusedAs(t, returnsact.ErrTypeInvalid), returns.ReceiveInput{})
		update(env, ReceiveUpdate, ok(t, returns.StatusReceived), receipt)
	}, time.Hour)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, returns.StatusRefunded, res.Status)
	assert.Equal(t, int64(11), res.RefundID)
	require.Len(t, refunds, 1)
	assert.Equal(t, refund.Input{RefundID: 11, OrderID: 7, CustomerID: 3, Amount: 1800, PaymentIntentID: "pi_7"}, refunds[0])
	require.Len(t, parcels, 1)
	assert.Equal(t, int64(40), parcels[0].ShipmentID)
	assert.Equal(t, fulfilmentact.DefaultDeadlines, parcels[0].Deadlines)
	env.AssertActivityCalled(t, "ReturnEmail", mock.Anything, returnsact.EmailRequest{ReturnID: 5, Kind: mail.KindReturnApproved,
		Key: "return-5-" + mail.KindReturnApproved})
}

// An approved return whose parcel does not come within ExpireAfter of the
// approval expires, without a refund.
func TestApprovedReturnExpiresAfterItsWindow(t *testing.T) {
	var refunds []refund.Input
	var parcels []fulfilmentwf.ShipmentInput
	env := newEnv(t, &refunds, &parcels)
	start := env.Now()
	approved := ret(returns.StatusApproved)
	approved.DecidedAt = &start
	env.OnActivity(ra.ApproveReturn, mock.Anything, mock.Anything).Return(approved, nil).Once()
	env.OnActivity(ra.ExpireReturn, mock.Anything, int64(5)).Return(ret(returns.StatusExpired), nil).Once()
	env.RegisterDelayedCallback(func() { update(env, ApproveUpdate, ok(t, returns.StatusApproved), returns.Decision{}) }, time.Second)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, returns.StatusExpired, res.Status)
	assert.Empty(t, refunds)
	assert.GreaterOrEqual(t, env.Now().Sub(start), 48*time.Hour)
}

// A refused return ends at once; the customer hears why.
func TestRefusedReturnEnds(t *testing.T) {
	var refunds []refund.Input
	var parcels []fulfilmentwf.ShipmentInput
	env := newEnv(t, &refunds, &parcels)
	env.OnActivity(ra.RefuseReturn, mock.Anything, mock.Anything).Return(ret(returns.StatusRefused), nil).Once()
	env.RegisterDelayedCallback(func() {
		update(env, RefuseUpdate, ok(t, returns.StatusRefused), returns.Decision{Note: "worn"})
	}, time.Second)
	env.ExecuteWorkflow(Name, in)
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, returns.StatusRefused, res.Status)
	env.AssertActivityCalled(t, "ReturnEmail", mock.Anything, returnsact.EmailRequest{ReturnID: 5, Kind: mail.KindReturnRefused,
		Key: "return-5-" + mail.KindReturnRefused})
}
