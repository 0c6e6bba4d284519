// Package fulfilment is what happens to an order after the payment. The
// Fulfilment workflow (fulfilment-<order id>) owns the paid order: it splits
// it into shipments, one per location that reserved its stock, runs one
// Shipment child workflow (shipment-<id>) per parcel, and carries the
// order's OrderStatus search attribute, kept equal to PostgreSQL by the
// order_workflows outbox consumer. A shipment moves through staff steps
// (pick, pack, ship: Updates) and carrier scans (a signal), and escalates
// every missed deadline to staff instead of waiting forever.
package fulfilment

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/searchattr"
)

// Names of the workflows and of their handlers, as shown in the Temporal UI.
const (
	Name         = "Fulfilment"
	ShipmentName = "Shipment"
	// StatusQuery answers State (fulfilment) or the Shipment (shipment).
	StatusQuery = "status"
	// OrderStatusSignal carries the order's status (StatusChange) after
	// every change in PostgreSQL.
	OrderStatusSignal = "order-status"
	// ScanSignal carries a carrier scan (fulfilment.Scan) to a shipment.
	ScanSignal = "scan"
	// Staff steps of a shipment, each answering the Shipment.
	PickUpdate    = "pick"
	PackUpdate    = "pack"
	ShipUpdate    = "ship"    // fulfilment.ShipInput
	DeliverUpdate = "deliver" // a delivery confirmed by staff
	ProblemUpdate = "problem" // a note for staff
	ResolveUpdate = "resolve" // Resolution of a lost parcel, answering ResolveResult
)

// WorkflowID is the order's fulfilment: starting it twice is a no-op.
func WorkflowID(orderID int64) string { return fmt.Sprintf("fulfilment-%d", orderID) }

// ShipmentWorkflowID is a parcel's workflow.
func ShipmentWorkflowID(shipmentID int64) string { return fmt.Sprintf("shipment-%d", shipmentID) }

// Input starts an order's fulfilment.
type Input struct {
	OrderID    int64
	CustomerID int64
}

// StatusChange is the order's status as PostgreSQL holds it now.
type StatusChange struct {
	Status string
}

// State answers the fulfilment's StatusQuery.
type State struct {
	OrderStatus string
	Shipments   map[int64]fulfilment.Status
}

// Result is how the fulfilment ended.
type Result struct {
	OrderID     int64
	OrderStatus string
}

// ShipmentInput starts a shipment's workflow.
type ShipmentInput struct {
	// Shipment is the parcel as allocated.
	Shipment   fulfilment.Shipment
	ShipmentID int64
	OrderID    int64
	CustomerID int64
	LocationID int64
	Deadlines  fulfilmentact.Deadlines
}

// ShipmentResult is how a shipment ended.
type ShipmentResult struct {
	Status       fulfilment.Status
	Resolution   string
	Replacements []fulfilment.Shipment
}

// Resolution is staff's decision on a lost parcel.
type Resolution struct {
	Action string // fulfilment.ResolveReship or ResolveRefund
	By     int64  // the staff member's user id
}

// ResolveResult answers ResolveUpdate.
type ResolveResult struct {
	Shipment     fulfilment.Shipment
	Replacements []fulfilment.Shipment
	RefundID     int64
}

// bookkeepingWindow bounds the retries of a database step run on its own
// (not for a waiting caller): it rides out a long outage, then fails the
// workflow for operators to see and reset.
const bookkeepingWindow = 24 * time.Hour

// stepWindow bounds a step a caller (staff, the API) waits for.
const stepWindow = 30 * time.Second

// Workflow fulfils one paid order.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	f := &fulfil{in: in, state: State{OrderStatus: string(orders.StatusPaid), Shipments: map[int64]fulfilment.Status{}},
		pending: map[int64]workflow.ChildWorkflowFuture{}, cancels: map[int64]workflow.CancelFunc{}}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (State, error) { return f.state, nil }); err != nil {
		return Result{}, err
	}
	statuses := workflow.GetSignalChannel(ctx, OrderStatusSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ch StatusChange
			statuses.Receive(ctx, &ch)
			f.orderStatus(ctx, ch.Status)
		}
	})

	var fa *fulfilmentact.Activities
	var alloc fulfilmentact.Allocation
	err := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), fa.Allocate, in.OrderID).Get(ctx, &alloc)
	if err != nil && !isType(err, fulfilmentact.ErrTypeWrongState) {
		return Result{}, err
	}
	// An order cancelled or refunded before its parcels were made up has
	// nothing to send: err is then ErrTypeWrongState.
	f.deadlines = alloc.Deadlines
	for _, sh := range alloc.Shipments {
		f.start(ctx, sh)
	}
	for len(f.pending) > 0 {
		sel := workflow.NewSelector(ctx)
		for _, id := range f.started {
			if fut, ok := f.pending[id]; ok {
				sel.AddFuture(fut, func(fut workflow.Future) { f.finished(ctx, id, fut) })
			}
		}
		sel.Select(ctx)
	}
	// The order stays here while it can still change (returns, refunds),
	// so OrderStatus keeps following it.
	if !final(f.state.OrderStatus) {
		_, _ = workflow.AwaitWithTimeout(ctx, alloc.Deadlines.Aftercare, func() bool { return final(f.state.OrderStatus) })
	}
	var ch StatusChange
	for statuses.ReceiveAsync(&ch) {
		f.orderStatus(ctx, ch.Status)
	}
	return Result{OrderID: in.OrderID, OrderStatus: f.state.OrderStatus}, nil
}

type fulfil struct {
	in        Input
	state     State
	deadlines fulfilmentact.Deadlines
	// started lists the shipments in the order they started: the maps
	// below are never ranged over, their order changes from run to run.
	started []int64
	pending map[int64]workflow.ChildWorkflowFuture
	cancels map[int64]workflow.CancelFunc
}

// orderStatus follows the order's status: the search attribute shows it,
// and the parcels that have not left stop when the order is cancelled or
// refunded in full (that transaction released their stock).
func (f *fulfil) orderStatus(ctx workflow.Context, st string) {
	if st == "" || st == f.state.OrderStatus {
		return
	}
	f.state.OrderStatus = st
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.OrderStatus.ValueSet(st)); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
	}
	if final(st) {
		for _, id := range f.started {
			if !f.state.Shipments[id].Sent() {
				f.cancels[id]()
			}
		}
	}
}

// start runs a shipment's workflow as a child. It outlives this workflow
// if an operator terminates it (abandon): a parcel on its way still
// needs its deadlines.
func (f *fulfil) start(ctx workflow.Context, sh fulfilment.Shipment) {
	cctx, cancel := workflow.WithCancel(ctx)
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{
		WorkflowID:            ShipmentWorkflowID(sh.ID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.OrderID.ValueSet(strconv.FormatInt(sh.OrderID, 10)),
			searchattr.CustomerID.ValueSet(strconv.FormatInt(f.in.CustomerID, 10)),
			searchattr.LocationID.ValueSet(strconv.FormatInt(sh.LocationID, 10)),
			searchattr.FulfilmentStatus.ValueSet(string(sh.Status)),
			searchattr.Overdue.ValueSet(sh.Overdue)),
	})
	f.pending[sh.ID] = workflow.ExecuteChildWorkflow(cctx, ShipmentName, ShipmentInput{Shipment: sh, ShipmentID: sh.ID, OrderID: sh.OrderID,
		CustomerID: f.in.CustomerID, LocationID: sh.LocationID, Deadlines: f.deadlines})
	f.cancels[sh.ID] = cancel
	f.started = append(f.started, sh.ID)
	f.state.Shipments[sh.ID] = sh.Status
}

// finished takes a shipment's end: a reshipped parcel's replacements start.
func (f *fulfil) finished(ctx workflow.Context, id int64, fut workflow.Future) {
	delete(f.pending, id)
	var r ShipmentResult
	if err := fut.Get(ctx, &r); err != nil {
		f.state.Shipments[id] = fulfilment.StatusCancelled
		if !temporal.IsCanceledError(err) {
			// The order stays open (aftercare) while operators look.
			workflow.GetLogger(ctx).Error("shipment workflow failed; reset it in the Temporal UI once fixed",
				"shipment", id, "error", err)
		}
		return
	}
	f.state.Shipments[id] = r.Status
	for _, sh := range r.Replacements {
		if _, ok := f.state.Shipments[sh.ID]; !ok {
			f.start(ctx, sh)
		}
	}
}

// final tells whether an order in status st can change no more.
func final(st string) bool {
	return st == string(orders.StatusCancelled) || st == string(orders.StatusRefunded)
}

func isType(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
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
			NonRetryableErrorTypes: append([]string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound}, fulfilmentact.NonRetryable...),
		},
	})
}
