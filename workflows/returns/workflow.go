// Package returns runs a return (RMA) as the Return workflow
// (return-<id>): it waits for staff's decision (the approve and refuse
// Updates), then for the parcel (the receive Update) until the return
// expires, opens the refund of what came back and hands it to the refund
// workflow, and starts the Shipment workflow of every exchange parcel.
// The return's ReturnStatus search attribute follows PostgreSQL's.
package returns

import (
	"fmt"
	"strconv"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	ordersact "github.com/shopkit/shop/activities/orders"
	returnsact "github.com/shopkit/shop/activities/returns"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workflows/email"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	"github.com/shopkit/shop/workflows/refund"
)

// Names of the workflow and of its handlers, as shown in the Temporal UI.
const (
	Name = "Return"
	// StatusQuery answers the returns.Return.
	StatusQuery = "status"
	// Staff steps, each answering the returns.Return.
	ApproveUpdate = "approve" // returns.Decision
	RefuseUpdate  = "refuse"  // returns.Decision
	ReceiveUpdate = "receive" // returns.ReceiveInput
)

// WorkflowID is the return's workflow: starting it twice is a no-op.
func WorkflowID(returnID int64) string { return fmt.Sprintf("return-%d", returnID) }

// Input starts a return's workflow.
type Input struct {
	ReturnID   int64
	OrderID    int64
	CustomerID int64
}

// Result is how the return ended.
type Result struct {
	Status            returns.Status
	RefundID          int64
	ExchangeShipments []int64
}

// bookkeepingWindow bounds the retries of a step run on its own (not for
// a waiting caller): it rides out a long outage, then fails the workflow
// for operators to see and reset.
const bookkeepingWindow = 24 * time.Hour

// stepWindow bounds a step staff wait for.
const stepWindow = 30 * time.Second

// Workflow runs one return.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	// The handlers are registered at once, so a decision sent right after
	// the start is never refused.
	r := &rma{in: in, ret: returns.Return{ID: in.ReturnID, OrderID: in.OrderID, CustomerID: in.CustomerID,
		Status: returns.StatusRequested}, lock: workflow.NewMutex(ctx)}
	if err := r.registerHandlers(ctx); err != nil {
		return Result{}, err
	}
	var ra *returnsact.Activities
	var loaded returnsact.Loaded
	if err := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), ra.LoadReturn, in.ReturnID).Get(ctx, &loaded); err != nil {
		return Result{}, err
	}
	r.deadlines = loaded.Deadlines
	if err := r.lock.Lock(ctx); err != nil {
		return Result{}, err
	}
	if r.changes == 0 {
		r.ret = loaded.Return
	}
	r.lock.Unlock()
	r.changed(ctx)

	// Staff's decision.
	if err := workflow.Await(ctx, func() bool { return r.ret.Status != returns.StatusRequested }); err != nil {
		return Result{}, err
	}
	// The parcel, until the return expires.
	for r.ret.Status == returns.StatusApproved {
		decided := workflow.Now(ctx)
		if r.ret.DecidedAt != nil {
			decided = *r.ret.DecidedAt
		}
		wait := max(decided.Add(loaded.ExpireAfter).Sub(workflow.Now(ctx)), 0)
		arrived, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.ret.Status != returns.StatusApproved || r.receiving })
		if err != nil {
			return Result{}, err
		}
		if arrived {
			// A receipt in progress ends one way or the other.
			if err := workflow.Await(ctx, func() bool { return !r.receiving }); err != nil {
				return Result{}, err
			}
			continue
		}
		r.expire(ctx)
	}
	if r.ret.Status == returns.StatusReceived || r.ret.Status == returns.StatusRefunded {
		if err := r.settle(ctx); err != nil {
			return Result{}, err
		}
	}
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return Result{Status: r.ret.Status, RefundID: r.ret.RefundID, ExchangeShipments: r.ret.ExchangeShipments}, nil
}

type rma struct {
	in        Input
	ret       returns.Return
	deadlines fulfilmentact.Deadlines
	lock      workflow.Mutex
	// receiving: a receive Update is running its step.
	receiving bool
	changes   int
}

func (r *rma) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (returns.Return, error) { return r.ret, nil }); err != nil {
		return err
	}
	var ra *returnsact.Activities
	decisions := []struct {
		name string
		fn   any
		to   returns.Status
		mail string
	}{
		{ApproveUpdate, ra.ApproveReturn, returns.StatusApproved, mail.KindReturnApproved},
		{RefuseUpdate, ra.RefuseReturn, returns.StatusRefused, mail.KindReturnRefused},
	}
	for _, d := range decisions {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, d.name, func(ctx workflow.Context, dec returns.Decision) (returns.Return, error) {
			if err := r.lock.Lock(ctx); err != nil {
				return r.ret, err
			}
			defer r.lock.Unlock()
			if r.ret.Status == d.to {
				return r.ret, nil
			}
			if err := r.allow(d.name, d.to); err != nil {
				return r.ret, err
			}
			var ret returns.Return
			if err := workflow.ExecuteActivity(withRetries(ctx, stepWindow), d.fn,
				returnsact.DecisionInput{ReturnID: r.in.ReturnID, Decision: dec}).Get(ctx, &ret); err != nil {
				return r.ret, err
			}
			r.ret = ret
			r.changed(ctx)
			r.email(ctx, d.mail)
			return ret, nil
		}, workflow.UpdateHandlerOptions{Validator: func(dec returns.Decision) error {
			if err := dec.Normalize(); err != nil {
				return returnsact.Invalid(err)
			}
			return r.allow(d.name, d.to)
		}}); err != nil {
			return err
		}
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, ReceiveUpdate, func(ctx workflow.Context, in returns.ReceiveInput) (returns.Return, error) {
		if err := r.lock.Lock(ctx); err != nil {
			return r.ret, err
		}
		defer r.lock.Unlock()
		if err := r.allowReceive(); err != nil {
			return r.ret, err
		}
		r.receiving = true
		defer func() { r.receiving = false }()
		var ret returns.Return
		if err := workflow.ExecuteActivity(withRetries(ctx, stepWindow), ra.ReceiveReturn,
			returnsact.ReceiveInput{ReturnID: r.in.ReturnID, Receive: in}).Get(ctx, &ret); err != nil {
			// The receipt may have committed with its answer lost: what
			// PostgreSQL holds decides, so the refund is not held up.
			var loaded returnsact.Loaded
			if lerr := workflow.ExecuteActivity(withRetries(ctx, stepWindow), ra.LoadReturn, r.in.ReturnID).Get(ctx, &loaded); lerr != nil ||
				loaded.Return.Status != returns.StatusReceived {
				return r.ret, err
			}
			ret = loaded.Return
		}
		r.ret = ret
		r.changed(ctx)
		return ret, nil
	}, workflow.UpdateHandlerOptions{Validator: func(in returns.ReceiveInput) error {
		if err := in.Normalize(); err != nil {
			return returnsact.Invalid(err)
		}
		return r.allowReceive()
	}})
}

// allow refuses a decision the return's state rules out, before it is
// written to the history; the database checks again when the step runs.
func (r *rma) allow(step string, to returns.Status) error {
	if r.ret.Status == returns.StatusRequested || r.ret.Status == to {
		return nil
	}
	return temporal.NewApplicationError(fmt.Sprintf("return %d is %s: cannot %s it", r.in.ReturnID, r.ret.Status, step),
		returnsact.ErrTypeWrongState)
}

func (r *rma) allowReceive() error {
	switch r.ret.Status {
	case returns.StatusApproved:
		if !r.receiving {
			return nil
		}
		return temporal.NewApplicationError(fmt.Sprintf("return %d is being received", r.in.ReturnID), returnsact.ErrTypeWrongState)
	case returns.StatusReceived, returns.StatusRefunded:
		return temporal.NewApplicationError(fmt.Sprintf("return %d was already received", r.in.ReturnID), returnsact.ErrTypeWrongState)
	}
	return temporal.NewApplicationError(fmt.Sprintf("return %d is %s, not approved: cannot receive it", r.in.ReturnID, r.ret.Status),
		returnsact.ErrTypeWrongState)
}

// expire ends the return: its parcel did not come in time.
func (r *rma) expire(ctx workflow.Context) {
	var ra *returnsact.Activities
	if err := r.lock.Lock(ctx); err != nil {
		return
	}
	defer r.lock.Unlock()
	if r.ret.Status != returns.StatusApproved {
		return
	}
	var ret returns.Return
	err := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), ra.ExpireReturn, r.in.ReturnID).Get(ctx, &ret)
	if err != nil {
		// Received meanwhile (or the return is gone): PostgreSQL tells.
		workflow.GetLogger(ctx).Warn("return not expired", "return", r.in.ReturnID, "error", err)
		var loaded returnsact.Loaded
		if lerr := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), ra.LoadReturn, r.in.ReturnID).Get(ctx, &loaded); lerr != nil {
			ret = r.ret
			ret.Status = returns.StatusExpired // nothing more to wait for
		} else {
			ret = loaded.Return
		}
	}
	r.ret = ret
	r.changed(ctx)
}

// settle sends the exchange parcels on their way and refunds what came
// back, each once.
func (r *rma) settle(ctx workflow.Context) error {
	var ra *returnsact.Activities
	actx := withRetries(ctx, bookkeepingWindow)
	var parcels []fulfilment.Shipment
	if err := workflow.ExecuteActivity(actx, ra.ReturnExchangeShipments, r.in.ReturnID).Get(ctx, &parcels); err != nil {
		return err
	}
	for _, sh := range parcels {
		if err := r.startShipment(ctx, sh); err != nil {
			return err
		}
	}
	var rf returnsact.Refunded
	if err := workflow.ExecuteActivity(actx, ra.RefundReturn, returnsact.RefundInput{ReturnID: r.in.ReturnID}).Get(ctx, &rf); err != nil {
		return err
	}
	if rf.Refund.ID != 0 {
		if err := r.startRefund(ctx, rf); err != nil {
			return err
		}
	}
	if err := r.lock.Lock(ctx); err != nil {
		return err
	}
	defer r.lock.Unlock()
	r.ret.Status, r.ret.RefundID, r.ret.RefundAmount = returns.StatusRefunded, rf.Refund.ID, rf.Refund.Amount
	r.changed(ctx)
	return nil
}

// startShipment runs an exchange parcel's workflow on its own (abandon):
// staff send it through the normal fulfilment steps.
func (r *rma) startShipment(ctx workflow.Context, sh fulfilment.Shipment) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            fulfilmentwf.ShipmentWorkflowID(sh.ID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.OrderID.ValueSet(strconv.FormatInt(sh.OrderID, 10)),
			searchattr.CustomerID.ValueSet(strconv.FormatInt(r.in.CustomerID, 10)),
			searchattr.LocationID.ValueSet(strconv.FormatInt(sh.LocationID, 10)),
			searchattr.FulfilmentStatus.ValueSet(string(sh.Status)),
			searchattr.Overdue.ValueSet(sh.Overdue)),
	})
	child := workflow.ExecuteChildWorkflow(cctx, fulfilmentwf.ShipmentName, fulfilmentwf.ShipmentInput{Shipment: sh,
		ShipmentID: sh.ID, OrderID: sh.OrderID, CustomerID: r.in.CustomerID, LocationID: sh.LocationID, Deadlines: r.deadlines})
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

// startRefund runs the refund on its own (an operator may need to settle
// it long after the return ends).
func (r *rma) startRefund(ctx workflow.Context, rf returnsact.Refunded) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            refund.WorkflowID(rf.Refund.ID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(refund.Attributes(r.in.OrderID, r.in.CustomerID)...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, refund.Name, refund.Input{RefundID: rf.Refund.ID, OrderID: r.in.OrderID,
		CustomerID: r.in.CustomerID, Amount: rf.Refund.Amount, PaymentIntentID: rf.PaymentIntentID})
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

// changed shows the new state in the Temporal UI.
func (r *rma) changed(ctx workflow.Context) {
	r.changes++
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.ReturnStatus.ValueSet(string(r.ret.Status))); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
	}
}

// email asks for an email about this return to its customer, once per kind.
func (r *rma) email(ctx workflow.Context, kind string) {
	var ra *returnsact.Activities
	email.SendPrepared(ctx, ra.ReturnEmail, returnsact.EmailRequest{ReturnID: r.in.ReturnID, Kind: kind,
		Key: fmt.Sprintf("return-%d-%s", r.in.ReturnID, kind)})
}

// withRetries sets the options of a step: retried with backoff for at most
// window; the refusals a retry cannot change are not retried.
func withRetries(ctx workflow.Context, window time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: window,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: append([]string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound}, returnsact.NonRetryable...),
		},
	})
}
