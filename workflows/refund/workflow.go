// Package refund returns money through Stripe, and cancels paid orders.
// When Stripe keeps refusing a refund, the workflow flags it and waits for
// an operator's decision (the resolve signal) instead of failing silently.
package refund

import (
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	ordersact "github.com/shopkit/shop/activities/orders"
	paymentsact "github.com/shopkit/shop/activities/payments"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workflows/email"
)

// Workflow names and the operators' signal.
const (
	Name       = "Refund"
	CancelName = "CancelPaidOrder"
	// ResolveSignal carries a Resolution for a refund that needs attention.
	ResolveSignal = "resolve"
	// StatusQuery answers the refund's current status.
	StatusQuery = "status"
)

// Resolution actions.
const (
	ActionRetry        = "retry"         // ask Stripe again
	ActionMarkRefunded = "mark_refunded" // the money went back outside Stripe
	ActionGiveUp       = "give_up"       // close the refund unpaid
)

// WorkflowID names a refund's workflow.
func WorkflowID(refundID int64) string { return fmt.Sprintf("refund-%d", refundID) }

// CancelWorkflowID names the cancellation of a paid order.
func CancelWorkflowID(orderID int64) string { return fmt.Sprintf("cancel-%d", orderID) }

// Input starts a refund already recorded as pending.
type Input struct {
	RefundID        int64
	OrderID         int64
	CustomerID      int64 // the order's customer, for the CustomerId search attribute
	Amount          int64
	PaymentIntentID string
}

// Resolution is an operator's decision.
type Resolution struct {
	Action string
	Note   string
}

// Result is how the refund ended.
type Result struct {
	Status         orders.RefundStatus
	StripeRefundID string
}

// bookkeepingWindow bounds the retries of a database step: it rides out a
// long outage, then fails the workflow for operators to see and reset.
const bookkeepingWindow = 24 * time.Hour

// attemptsBeforeAttention bounds the automatic attempts of one round.
const attemptsBeforeAttention = 6

// Workflow refunds in.Amount of the order's payment.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	var oa *ordersact.Activities
	var pa *paymentsact.Activities
	status := orders.RefundPending
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (orders.RefundStatus, error) { return status, nil }); err != nil {
		return Result{}, err
	}
	book := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: bookkeepingWindow,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound}},
	})
	stripeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: attemptsBeforeAttention,
			NonRetryableErrorTypes: []string{paymentsact.ErrTypeRefused}},
	})
	resolutions := workflow.GetSignalChannel(ctx, ResolveSignal)
	for round := 1; ; round++ {
		// Each operator-approved round is a new request to Stripe; within a
		// round every retry repeats the same one.
		key := fmt.Sprintf("refund-%d-round-%d", in.RefundID, round)
		var stripeID string
		err := workflow.ExecuteActivity(stripeCtx, pa.RefundPayment, payments.RefundRequest{
			PaymentIntentID: in.PaymentIntentID, Amount: in.Amount, RefundID: in.RefundID, OrderID: in.OrderID, IdempotencyKey: key,
		}).Get(ctx, &stripeID)
		if err == nil {
			return complete(ctx, book, in, stripeID, "")
		}
		status = orders.RefundNeedsAttention
		if err := workflow.ExecuteActivity(book, oa.FlagRefund, ordersact.RefundUpdate{RefundID: in.RefundID, Note: failure.StripeMessage(err)}).Get(ctx, nil); err != nil {
			return Result{}, err
		}
		setStatus(ctx, status)
		workflow.GetLogger(ctx).Error("refund needs an operator: send the resolve signal", "refund", in.RefundID, "error", err)
		var r Resolution
		for r.Action != ActionRetry && r.Action != ActionMarkRefunded && r.Action != ActionGiveUp {
			resolutions.Receive(ctx, &r)
		}
		switch r.Action {
		case ActionMarkRefunded:
			return complete(ctx, book, in, "", "settled outside Stripe: "+r.Note)
		case ActionGiveUp:
			status = orders.RefundFailed
			err := workflow.ExecuteActivity(book, oa.FailRefund, ordersact.RefundUpdate{RefundID: in.RefundID, Note: "given up: " + r.Note}).Get(ctx, nil)
			setStatus(ctx, status)
			return Result{Status: status}, err
		}
		status = orders.RefundPending
		if err := workflow.ExecuteActivity(book, oa.ReopenRefund, ordersact.RefundUpdate{RefundID: in.RefundID}).Get(ctx, nil); err != nil {
			return Result{}, err
		}
		setStatus(ctx, status)
	}
}

func complete(ctx, book workflow.Context, in Input, stripeID, note string) (Result, error) {
	var oa *ordersact.Activities
	if err := workflow.ExecuteActivity(book, oa.CompleteRefund, ordersact.RefundUpdate{RefundID: in.RefundID, StripeRefundID: stripeID, Note: note}).Get(ctx, nil); err != nil {
		return Result{}, err
	}
	setStatus(ctx, orders.RefundSucceeded)
	email.SendOrderEmail(ctx, ordersact.EmailRequest{OrderID: in.OrderID, Kind: mail.KindRefundIssued,
		Key: fmt.Sprintf("refund-%d-issued", in.RefundID), Reason: note, Amount: in.Amount})
	return Result{Status: orders.RefundSucceeded, StripeRefundID: stripeID}, nil
}

// setStatus shows the refund's status as its RefundStatus: OrderStatus is
// the order's own, on its fulfilment.
func setStatus(ctx workflow.Context, s orders.RefundStatus) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.RefundStatus.ValueSet(string(s))); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
	}
}

// CancelInput cancels a paid order.
type CancelInput struct {
	OrderID         int64
	CustomerID      int64 // the order's customer, for the CustomerId search attribute
	PaymentIntentID string
	Reason          string
	By              int64
}

// CancelWorkflow puts a paid order's stock back, marks it cancelled, tells
// the customer and starts the refund of everything captured.
func CancelWorkflow(ctx workflow.Context, in CancelInput) (orders.Refund, error) {
	var oa *ordersact.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: bookkeepingWindow,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound}},
	})
	var r orders.Refund
	if err := workflow.ExecuteActivity(actx, oa.CancelPaidOrder, ordersact.CancelPaidInput{OrderID: in.OrderID, Reason: in.Reason, By: in.By}).Get(ctx, &r); err != nil {
		return r, err
	}
	// Cancellations recorded before the order's fulfilment carried its
	// OrderStatus set it here; now the fulfilment shows it.
	if workflow.GetVersion(ctx, "order-status-on-fulfilment", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.OrderStatus.ValueSet(string(orders.StatusCancelled))); err != nil {
			workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
		}
	}
	email.SendOrderEmail(ctx, ordersact.EmailRequest{OrderID: in.OrderID, Kind: mail.KindOrderCancelled,
		Key: fmt.Sprintf("order-%d-cancelled", in.OrderID), Reason: in.Reason})
	if r.ID == 0 {
		return r, nil
	}
	// The refund runs on its own: an operator may need to settle it long
	// after this cancellation is done.
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            WorkflowID(r.ID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(Attributes(in.OrderID, in.CustomerID)...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, Name, Input{RefundID: r.ID, OrderID: in.OrderID, CustomerID: in.CustomerID,
		Amount: r.Amount, PaymentIntentID: in.PaymentIntentID})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return r, err
	}
	return r, nil
}
