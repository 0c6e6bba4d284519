package checkout

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	"github.com/shopkit/shop/workflows/fulfilment"
)

var (
	oa *ordersact.Activities
	pa *paymentsact.Activities
	ea *emailact.Activities
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment { return newEnvWith(t, 0) }

// newEnvWith mocks Stripe answering the PaymentIntent after piDelay.
func newEnvWith(t *testing.T, piDelay time.Duration) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	// A paid order is handed to its fulfilment (tested in its own package).
	env.RegisterWorkflowWithOptions(func(_ workflow.Context, in fulfilment.Input) (fulfilment.Result, error) {
		if in.OrderID != 7 || in.CustomerID != 3 {
			return fulfilment.Result{}, fmt.Errorf("fulfilment started with %+v", in)
		}
		return fulfilment.Result{OrderID: in.OrderID}, nil
	}, workflow.RegisterOptions{Name: fulfilment.Name})
	env.RegisterActivity(oa)
	env.RegisterActivity(pa)
	env.RegisterActivity(ea)
	env.OnActivity(oa.PlaceOrder, mock.Anything, mock.Anything).Return(ordersact.Placed{OrderID: 7, UserID: 3, Total: 4887, Currency: "USD"}, nil).Maybe()
	env.OnActivity(pa.CreatePaymentIntent, mock.Anything, mock.Anything).Return(payments.PaymentIntent{ID: "pi_7", ClientSecret: "pi_7_secret"}, nil).After(piDelay).Maybe()
	env.OnActivity(oa.OrderEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, r ordersact.EmailRequest) (emailact.Input, error) {
		return emailact.Input{Key: r.Key, Kind: r.Kind, To: "c@example.com", OrderID: r.OrderID}, nil
	}).Maybe()
	env.OnActivity(ea.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{MessageID: "<m@shop>"}, nil).Maybe()
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

var input = Input{Order: orders.PlaceInput{OrderID: 7, UserID: 3}, PaymentTimeout: time.Hour}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) Result {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	return r
}

func signal(env *testsuite.TestWorkflowEnvironment, after time.Duration, typ string) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_" + typ, Type: typ, PaymentIntentID: "pi_7", Amount: 4887, Currency: "usd"})
	}, after)
}

func TestPaidCommitsAndConfirms(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(oa.MarkPaid, mock.Anything, ordersact.MarkPaidInput{OrderID: 7, Amount: 4887, Note: "payment received (evt_payment_intent.succeeded)"}).Return(nil).Once()
	signal(env, time.Minute, EventPaymentSucceeded)
	env.ExecuteWorkflow(Name, input)
	assert.Equal(t, orders.StatusPaid, result(t, env).Status)
}

func TestFailureThenLateSuccessIsPaid(t *testing.T) {
	// Stripe may deliver a failed first attempt after the retry's success:
	// the success buffered behind the failure wins. Both arrive while the
	// PaymentIntent is still being created.
	env := newEnvWith(t, 2*time.Minute)
	env.OnActivity(oa.MarkPaid, mock.Anything, mock.Anything).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_1", Type: EventPaymentFailed, PaymentIntentID: "pi_7"})
		env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_2", Type: EventPaymentSucceeded, PaymentIntentID: "pi_7", Amount: 4887, Currency: "USD"})
	}, time.Minute)
	env.ExecuteWorkflow(Name, input)
	assert.Equal(t, orders.StatusPaid, result(t, env).Status)
}

func TestFailureCancelsIntentAndReleases(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, paymentsact.CancelRequest{PaymentIntentID: "pi_7", Reason: "failed_invoice",
		IdempotencyKey: "checkout-7/cancel-payment-intent"}).Return(paymentsact.CancelResult{}, nil).Once()
	env.OnActivity(oa.ReleaseOrder, mock.Anything, mock.MatchedBy(func(r ordersact.ReleaseInput) bool {
		return r.OrderID == 7 && r.Status == orders.StatusPaymentFailed
	})).Return(nil).Once()
	// An event about another PaymentIntent is ignored.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(PaymentSignal, PaymentEvent{Type: EventPaymentSucceeded, PaymentIntentID: "pi_other"})
	}, time.Second)
	signal(env, time.Minute, EventPaymentFailed)
	env.ExecuteWorkflow(Name, input)
	assert.Equal(t, orders.StatusPaymentFailed, result(t, env).Status)
}

func TestCancelThatLosesToPaymentIsPaid(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{AlreadySucceeded: true}, nil).Once()
	env.OnActivity(oa.MarkPaid, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(Name, Input{Order: input.Order, PaymentTimeout: time.Minute})
	r := result(t, env)
	assert.Equal(t, orders.StatusPaid, r.Status)
	assert.Contains(t, r.Reason, "before the cancellation")
}

func TestCustomerCancelUpdate(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{}, nil).Once()
	env.OnActivity(oa.ReleaseOrder, mock.Anything, mock.MatchedBy(func(r ordersact.ReleaseInput) bool {
		return r.Status == orders.StatusCancelled && r.Reason == "cancelled by the customer: changed my mind"
	})).Return(nil).Once()
	var state State
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(CancelUpdate, "u1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("cancel rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { require.NoError(t, err); state = v.(State) },
		}, CancelRequest{Reason: "changed my mind"})
	}, time.Minute)
	env.ExecuteWorkflow(Name, input)
	assert.Equal(t, orders.StatusCancelled, result(t, env).Status)
	assert.Equal(t, orders.StatusCancelled, state.Status)
}

func TestOperatorCancellationStillReleases(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{}, nil).Once()
	env.OnActivity(oa.ReleaseOrder, mock.Anything, mock.MatchedBy(func(r ordersact.ReleaseInput) bool { return r.Status == orders.StatusCancelled })).Return(nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(Name, input)
	require.True(t, env.IsWorkflowCompleted())
}

func TestRejectionAnswersTheReservation(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(oa)
	env.OnActivity(oa.PlaceOrder, mock.Anything, mock.Anything).Return(ordersact.Placed{},
		temporal.NewNonRetryableApplicationError("insufficient stock", ordersact.ErrTypeOutOfStock, nil, ordersact.Rejection{Message: "insufficient stock for Mug", ProductID: 9}))
	var got Reservation
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(ReservationUpdate, "r1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { require.NoError(t, err); got = v.(Reservation) },
		})
	}, 0)
	env.ExecuteWorkflow(Name, input)
	r := result(t, env)
	require.NotNil(t, r.Rejection)
	assert.Equal(t, int64(9), r.Rejection.ProductID)
	assert.False(t, got.Accepted)
	assert.Equal(t, "insufficient stock for Mug", got.Rejection.Message)
}

func TestShortPaymentIsFlaggedNotPaid(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(oa.FlagOrder, mock.Anything, mock.MatchedBy(func(in ordersact.FlagInput) bool {
		return in.OrderID == 7 && strings.Contains(in.Note, "0.01 USD received") && strings.Contains(in.Note, "48.87 USD")
	})).Return(nil).Once()
	env.OnActivity(oa.FlagOrder, mock.Anything, mock.MatchedBy(func(in ordersact.FlagInput) bool {
		return strings.Contains(in.Note, "48.87 EUR received")
	})).Return(nil).Once()
	// Stripe took a payment (the only one a PaymentIntent can take): the
	// window's end finds it succeeded, and still the order is not paid.
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{AlreadySucceeded: true}, nil).Once()
	env.OnActivity(oa.FlagOrder, mock.Anything, mock.MatchedBy(func(in ordersact.FlagInput) bool {
		return strings.Contains(in.Note, "refund or settle it by hand")
	})).Return(nil).Once()
	env.OnActivity(oa.ReleaseOrder, mock.Anything, mock.MatchedBy(func(r ordersact.ReleaseInput) bool {
		return r.Status == orders.StatusCancelled && strings.Contains(r.Reason, "does not match the order")
	})).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_short", Type: EventPaymentSucceeded, PaymentIntentID: "pi_7", Amount: 1, Currency: "usd"})
		env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_eur", Type: EventPaymentSucceeded, PaymentIntentID: "pi_7", Amount: 4887, Currency: "eur"})
	}, time.Minute)
	env.ExecuteWorkflow(Name, Input{Order: input.Order, PaymentTimeout: time.Hour})
	r := result(t, env)
	assert.Equal(t, orders.StatusCancelled, r.Status, "never paid on a mismatched amount; the window closes as usual")
	env.AssertActivityNotCalled(t, "MarkPaid", mock.Anything, mock.Anything)
}

// cancelUpdate sends the customer's cancel and records how it was answered.
func cancelUpdate(t *testing.T, env *testsuite.TestWorkflowEnvironment, id string, answered *error, state *State) {
	env.UpdateWorkflow(CancelUpdate, id, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { *answered = err },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			*answered = err
			if v != nil {
				*state = v.(State)
			}
			if err == nil && v == nil {
				t.Error("cancel completed without a state")
			}
		},
	}, CancelRequest{})
}

func TestCancelLosingToPaymentIsAnsweredPaid(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{AlreadySucceeded: true}, nil).Once()
	env.OnActivity(oa.MarkPaid, mock.Anything, mock.Anything).Return(nil).Once()
	var answered error = errors.New("no answer")
	var st State
	env.RegisterDelayedCallback(func() { cancelUpdate(t, env, "c1", &answered, &st) }, time.Minute)
	env.ExecuteWorkflow(Name, input)
	assert.Equal(t, orders.StatusPaid, result(t, env).Status)
	var ae *temporal.ApplicationError
	require.ErrorAs(t, answered, &ae, "the cancel is answered, not left hanging")
	assert.Equal(t, ErrTypePaidFirst, ae.Type())
}

func TestCancelAndPaymentInOneTaskBothAnswered(t *testing.T) {
	for _, cancelFirst := range []bool{true, false} {
		env := newEnv(t)
		env.OnActivity(pa.CancelPaymentIntent, mock.Anything, mock.Anything).Return(paymentsact.CancelResult{}, nil).Maybe()
		env.OnActivity(oa.ReleaseOrder, mock.Anything, mock.Anything).Return(nil).Maybe()
		env.OnActivity(oa.MarkPaid, mock.Anything, mock.Anything).Return(nil).Maybe()
		var a1, a2 error = errors.New("no answer"), errors.New("no answer")
		var s1, s2 State
		env.RegisterDelayedCallback(func() {
			pay := func() {
				env.SignalWorkflow(PaymentSignal, PaymentEvent{EventID: "evt_ok", Type: EventPaymentSucceeded, PaymentIntentID: "pi_7", Amount: 4887, Currency: "usd"})
			}
			if !cancelFirst {
				pay()
			}
			cancelUpdate(t, env, "c1", &a1, &s1)
			cancelUpdate(t, env, "c2", &a2, &s2) // a double click
			if cancelFirst {
				pay()
			}
		}, time.Minute)
		env.ExecuteWorkflow(Name, input)
		r := result(t, env)
		for _, a := range []struct {
			err error
			st  State
		}{{a1, s1}, {a2, s2}} {
			if r.Status == orders.StatusPaid {
				// Refused up front (the payment is being settled) or
				// answered once it is (paid first): never left hanging.
				var ae *temporal.ApplicationError
				if !errors.Is(a.err, orders.ErrNotCancellable) {
					require.ErrorAs(t, a.err, &ae)
					assert.Equal(t, ErrTypePaidFirst, ae.Type())
				}
			} else {
				require.NoError(t, a.err)
				assert.Equal(t, orders.StatusCancelled, a.st.Status)
			}
		}
	}
}

// A placement that fails for good (its retries ran out) still answers the
// waiting reservation, and the workflow ends instead of waiting for it.
func TestPlacementFailureAnswersTheReservation(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(oa)
	env.OnActivity(oa.PlaceOrder, mock.Anything, mock.Anything).Return(ordersact.Placed{},
		temporal.NewNonRetryableApplicationError("database gone", "Unknown", nil))
	var answered error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(ReservationUpdate, "r1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(_ any, err error) { answered = err },
		})
	}, 0)
	env.ExecuteWorkflow(Name, input)
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError(), "the failure is the workflow's, for operators to see")
	var ae *temporal.ApplicationError
	require.ErrorAs(t, answered, &ae)
	assert.Equal(t, ErrTypeUnsettled, ae.Type())
}
