package fulfilment

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/workflows/email"
	"github.com/shopkit/shop/workflows/refund"
)

var (
	fa *fulfilmentact.Activities
	ea *emailact.Activities
)

// emails records the email keys the workflow asked for.
type emails struct {
	mu   sync.Mutex
	keys []string
}

func (e *emails) add(k string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keys = append(e.keys, k)
}

func (e *emails) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.keys...)
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *emails) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterWorkflowWithOptions(ShipmentWorkflow, workflow.RegisterOptions{Name: ShipmentName})
	env.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	env.RegisterActivity(fa)
	env.RegisterActivity(ea)
	sent := &emails{}
	env.OnActivity(fa.ShipmentEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, r fulfilmentact.EmailRequest) (emailact.Input, error) {
		sent.add(r.Key)
		return emailact.Input{Key: r.Key, Kind: r.Kind, To: "x@shop.test", OrderID: 7}, nil
	}).Maybe()
	env.OnActivity(ea.SendEmail, mock.Anything, mock.Anything).Return(emailact.Result{MessageID: "<m@shop>"}, nil).Maybe()
	return env, sent
}

var deadlines = fulfilmentact.Deadlines{Pack: time.Hour, FirstScan: 2 * time.Hour, Delivery: 5 * time.Hour, Lost: 10 * time.Hour, Aftercare: time.Hour}

func update(t *testing.T, env *testsuite.TestWorkflowEnvironment, name string, args ...any) {
	env.UpdateWorkflow(name, name, &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { t.Errorf("%s rejected: %v", name, err) },
		OnComplete: func(_ any, err error) { assert.NoError(t, err, name) },
	}, args...)
}

// Every deadline of a parcel alerts once, in order: not packed, no first
// scan, not delivered (the customer hears of the delay too), and lost;
// staff then refund it through the refund workflow.
func TestShipmentEscalatesEachMissedDeadlineOnce(t *testing.T) {
	env, sent := newEnv(t)
	start := env.Now()
	sh := fulfilment.Shipment{ID: 1, OrderID: 7, Status: fulfilment.StatusPending, CreatedAt: start,
		Lines: []fulfilment.Line{{Line: 1, ProductID: 3, Quantity: 2}}}
	var refunds []refund.Input
	env.RegisterWorkflowWithOptions(func(_ workflow.Context, in refund.Input) (refund.Result, error) {
		refunds = append(refunds, in)
		return refund.Result{}, nil
	}, workflow.RegisterOptions{Name: refund.Name})

	var overdue []string
	env.OnActivity(fa.SetOverdue, mock.Anything, mock.Anything).Return(func(_ context.Context, in fulfilmentact.OverdueInput) error {
		overdue = append(overdue, in.Note)
		return nil
	})
	env.OnActivity(fa.Pack, mock.Anything, int64(1)).Return(func(context.Context, int64) (fulfilment.Shipment, error) {
		sh.Status = fulfilment.StatusPacked
		return sh, nil
	})
	env.OnActivity(fa.Ship, mock.Anything, mock.Anything).Return(func(_ context.Context, in fulfilmentact.ShipInput) (fulfilment.Shipment, error) {
		now := env.Now()
		sh.Status, sh.ShippedAt, sh.Overdue = fulfilment.StatusShipped, &now, false
		sh.Carrier, sh.TrackingNumber = in.Ship.Carrier, in.Ship.TrackingNumber
		return sh, nil
	})
	env.OnActivity(fa.MarkLost, mock.Anything, mock.Anything).Return(func(context.Context, fulfilmentact.ProblemInput) (fulfilment.Shipment, error) {
		sh.Status, sh.Overdue = fulfilment.StatusLost, true
		return sh, nil
	})
	env.OnActivity(fa.RefundLost, mock.Anything, mock.Anything).Return(func(context.Context, fulfilmentact.RefundLostInput) (fulfilmentact.LostRefund, error) {
		sh.Resolution, sh.RefundID = fulfilment.ResolveRefund, 44
		return fulfilmentact.LostRefund{Refund: refundOf(44, 2400), PaymentIntentID: "pi_7"}, nil
	})
	env.OnActivity(fa.Load, mock.Anything, int64(1)).Return(func(context.Context, int64) (fulfilment.Shipment, error) { return sh, nil })

	// Packed 90 minutes in (after the pack deadline), shipped at once.
	env.RegisterDelayedCallback(func() { update(t, env, PackUpdate) }, 90*time.Minute)
	env.RegisterDelayedCallback(func() {
		update(t, env, ShipUpdate, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "TRK-1"})
	}, 91*time.Minute)
	// Nothing is heard of the parcel; staff refund it once it is lost.
	env.RegisterDelayedCallback(func() {
		update(t, env, ResolveUpdate, Resolution{Action: fulfilment.ResolveRefund, By: 9})
	}, 91*time.Minute+11*time.Hour)
	env.ExecuteWorkflow(ShipmentName, ShipmentInput{Shipment: sh, ShipmentID: 1, OrderID: 7, CustomerID: 5, Deadlines: deadlines})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ShipmentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, fulfilment.ResolveRefund, res.Resolution)
	assert.Equal(t, []string{"shipment-1-pack", "shipment-1-shipped", "shipment-1-first-scan", "shipment-1-delayed",
		"shipment-1-delivery", "shipment-1-lost"}, sent.all())
	assert.Len(t, overdue, 3, "pack, first scan, delivery: %q", overdue)
	require.Len(t, refunds, 1)
	assert.Equal(t, refund.Input{RefundID: 44, OrderID: 7, CustomerID: 5, Amount: 2400, PaymentIntentID: "pi_7"}, refunds[0])
}

// Steps out of order are refused before they reach the history.
func TestShipmentRefusesStepsOutOfOrder(t *testing.T) {
	env, _ := newEnv(t)
	sh := fulfilment.Shipment{ID: 2, OrderID: 7, Status: fulfilment.StatusPending, CreatedAt: env.Now()}
	var refused []string
	for _, name := range []string{DeliverUpdate, ShipUpdate, ResolveUpdate} {
		env.RegisterDelayedCallback(func() {
			var arg any = fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "T"}
			if name == ResolveUpdate {
				arg = Resolution{Action: fulfilment.ResolveReship}
			}
			args := []any{arg}
			if name == DeliverUpdate {
				args = nil
			}
			env.UpdateWorkflow(name, name, &testsuite.TestUpdateCallback{
				OnAccept:   func() { t.Errorf("%s accepted on a pending parcel", name) },
				OnReject:   func(err error) { refused = append(refused, err.Error()) },
				OnComplete: func(any, error) {},
			}, args...)
		}, time.Minute)
	}
	env.OnActivity(fa.Load, mock.Anything, int64(2)).Return(sh, nil)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Minute)
	env.ExecuteWorkflow(ShipmentName, ShipmentInput{Shipment: sh, ShipmentID: 2, OrderID: 7, Deadlines: deadlines})
	require.Len(t, refused, 3)
	for _, r := range refused {
		assert.Contains(t, r, "shipment 2 is pending")
	}
}

// A cancelled order stops its parcels that have not left; the fulfilment
// shows the order's status and ends.
func TestFulfilmentStopsParcelsOfACancelledOrder(t *testing.T) {
	env, _ := newEnv(t)
	now := env.Now()
	env.OnActivity(fa.Allocate, mock.Anything, int64(7)).Return(fulfilmentact.Allocation{Deadlines: deadlines, Shipments: []fulfilment.Shipment{
		{ID: 11, OrderID: 7, LocationID: 1, Status: fulfilment.StatusPending, CreatedAt: now},
		{ID: 12, OrderID: 7, LocationID: 2, Status: fulfilment.StatusPending, CreatedAt: now},
	}}, nil)
	// The cancellation stopped both parcels in PostgreSQL.
	env.OnActivity(fa.Load, mock.Anything, mock.Anything).Return(func(_ context.Context, id int64) (fulfilment.Shipment, error) {
		return fulfilment.Shipment{ID: id, OrderID: 7, Status: fulfilment.StatusCancelled}, nil
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(OrderStatusSignal, StatusChange{Status: "cancelled"})
	}, 10*time.Minute)
	env.ExecuteWorkflow(Name, Input{OrderID: 7, CustomerID: 5})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, Result{OrderID: 7, OrderStatus: "cancelled"}, res)
	assert.Less(t, env.Now().Sub(now), time.Hour, "no deadline of the stopped parcels fired")
}

// A reshipped parcel's replacement runs as a new shipment.
func TestFulfilmentRunsTheReplacementOfALostParcel(t *testing.T) {
	env, _ := newEnv(t)
	now := env.Now()
	lost := fulfilment.Shipment{ID: 21, OrderID: 7, LocationID: 1, Status: fulfilment.StatusLost, CreatedAt: now, ShippedAt: &now}
	env.OnActivity(fa.Allocate, mock.Anything, int64(7)).Return(fulfilmentact.Allocation{Deadlines: deadlines,
		Shipments: []fulfilment.Shipment{lost}}, nil)
	// The replacement ships out of band here: staff confirm its delivery.
	replacement := fulfilment.Shipment{ID: 22, OrderID: 7, LocationID: 2, Status: fulfilment.StatusShipped, CreatedAt: now,
		ShippedAt: &now, ReplacesID: 21}
	env.OnActivity(fa.Reship, mock.Anything, int64(21)).Return([]fulfilment.Shipment{replacement}, nil)
	env.OnActivity(fa.Load, mock.Anything, int64(21)).Return(fulfilment.Shipment{ID: 21, OrderID: 7, Status: fulfilment.StatusLost,
		Resolution: fulfilment.ResolveReship}, nil)
	delivered := replacement
	delivered.Status = fulfilment.StatusDelivered
	env.OnActivity(fa.Deliver, mock.Anything, int64(22)).Return(delivered, nil)
	env.OnActivity(fa.SetOverdue, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.RegisterDelayedCallback(func() {
		require.NoError(t, env.UpdateWorkflowByID(ShipmentWorkflowID(21), ResolveUpdate, "r", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Error(err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Resolution{Action: fulfilment.ResolveReship}))
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		require.NoError(t, env.UpdateWorkflowByID(ShipmentWorkflowID(22), DeliverUpdate, "d", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Error(err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}))
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(OrderStatusSignal, StatusChange{Status: "refunded"})
	}, 3*time.Minute)
	env.ExecuteWorkflow(Name, Input{OrderID: 7, CustomerID: 5})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st State
	v, err := env.QueryWorkflow(StatusQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(&st))
	assert.Equal(t, map[int64]fulfilment.Status{21: fulfilment.StatusLost, 22: fulfilment.StatusDelivered}, st.Shipments)
}

func refundOf(id, amount int64) orders.Refund {
	return orders.Refund{ID: id, OrderID: 7, Amount: amount}
}
