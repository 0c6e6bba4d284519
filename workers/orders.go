package workers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/refund"
)

// Orders starts and talks to the order workflows on behalf of the API and
// the Stripe webhook.
type Orders struct {
	Client         client.Client
	TaskQueue      string
	PaymentTimeout time.Duration
	// UpdateWait bounds the wait for a reservation or a cancel (default 20s).
	UpdateWait time.Duration
}

// Default bounds on how long an API call waits on a workflow: past them it
// answers checkout.ErrUnavailable (503 with Retry-After) instead of holding
// the socket; the workflow goes on, and a retry joins it.
const (
	defaultUpdateWait = 20 * time.Second
	queryWait         = 5 * time.Second
)

func (o *Orders) updateWait() time.Duration { return cmp.Or(o.UpdateWait, defaultUpdateWait) }

// Place starts the order's checkout (or joins the one already running for
// this order id) and waits until its stock is reserved or refused, in one
// update-with-start call.
func (o *Orders) Place(ctx context.Context, in orders.PlaceInput) (checkout.Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, o.updateWait())
	defer cancel()
	id := checkout.WorkflowID(in.OrderID)
	start := o.Client.NewWithStartWorkflowOperation(o.options(id,
		searchattr.CustomerID.ValueSet(strconv.FormatInt(in.UserID, 10)),
		searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)),
		searchattr.OrderStatus.ValueSet("placing"),
	), checkout.Name, checkout.Input{Order: in, PaymentTimeout: o.PaymentTimeout})
	h, err := o.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: checkout.ReservationUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		var r checkout.Reservation
		if err = h.Get(ctx, &r); err == nil {
			return r, nil
		}
	}
	// A checkout that has closed is not started again (reject duplicate),
	// and one may close while the update reaches it.
	if !temporalclient.IsAlreadyStarted(err) && !temporalclient.IsClosed(err) {
		return checkout.Reservation{}, orders.Unavailable("place the order", err)
	}
	// The checkout is over (a repeated request): its result tells.
	var res checkout.Result
	if err := o.Client.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		return checkout.Reservation{}, orders.Unavailable("checkout result", err)
	}
	return checkout.Reservation{OrderID: in.OrderID, Accepted: res.Rejection == nil, Rejection: res.Rejection}, nil
}

// Cancel cancels an order that is still awaiting payment and answers its
// final state; orders.ErrClosed when the checkout is no longer waiting.
func (o *Orders) Cancel(ctx context.Context, orderID int64, r checkout.CancelRequest) error {
	ctx, cancel := context.WithTimeout(ctx, o.updateWait())
	defer cancel()
	h, err := o.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: checkout.WorkflowID(orderID), UpdateName: checkout.CancelUpdate,
		Args: []any{r}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if temporalclient.IsClosed(err) {
		return orders.ErrClosed
	}
	var ae *temporal.ApplicationError
	switch {
	case errors.As(err, &ae) && ae.Type() == checkout.ErrTypeUnsettled:
		return orders.Unavailable("cancel", err)
	case errors.As(err, &ae):
		// Refused by the update's validator (the order moved on) or
		// answered by its handler (the payment came first).
		return fmt.Errorf("%w: %s", orders.ErrNotCancellable, ae.Message())
	}
	return orders.Unavailable("cancel", err)
}

// PaymentSecret answers the client secret of an order awaiting payment.
func (o *Orders) PaymentSecret(ctx context.Context, orderID int64) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, queryWait)
	defer cancel()
	v, err := o.Client.QueryWorkflow(ctx, checkout.WorkflowID(orderID), "", checkout.StatusQuery)
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &notReady) {
		return "", nil // the checkout has not run its first step: no PaymentIntent yet
	}
	if err != nil {
		return "", err
	}
	var st checkout.State
	if err := v.Get(&st); err != nil {
		return "", err
	}
	if st.Stage != "awaiting_payment" {
		return "", nil
	}
	return st.ClientSecret, nil
}

// CancelPaid starts the cancellation (stock back, full refund) of a paid order.
func (o *Orders) CancelPaid(ctx context.Context, in refund.CancelInput) error {
	return o.startOnce(ctx, refund.CancelWorkflowID(in.OrderID), refund.CancelName, in,
		searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)))
}

// StartRefund starts the workflow of a refund recorded as pending.
func (o *Orders) StartRefund(ctx context.Context, in refund.Input) error {
	return o.startOnce(ctx, refund.WorkflowID(in.RefundID), refund.Name, in,
		searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)), searchattr.OrderStatus.ValueSet("refund_pending"))
}

// options start workflow id at most once: the id is the business id, so a
// repeated request joins the running workflow and never starts a second.
func (o *Orders) options(id string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                o.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}
}

func (o *Orders) startOnce(ctx context.Context, id, name string, arg any, attrs ...temporal.SearchAttributeUpdate) error {
	_, err := o.Client.ExecuteWorkflow(ctx, o.options(id, attrs...), name, arg)
	if temporalclient.IsAlreadyStarted(err) {
		return nil
	}
	return orders.Unavailable("start "+id, err)
}

// ResolveRefund sends an operator's decision to a refund that needs attention.
func (o *Orders) ResolveRefund(ctx context.Context, refundID int64, r refund.Resolution) error {
	err := o.Client.SignalWorkflow(ctx, refund.WorkflowID(refundID), "", refund.ResolveSignal, r)
	if temporalclient.IsNotFound(err) {
		return orders.ErrClosed
	}
	return orders.Unavailable("resolve refund", err)
}

// PaymentEvent hands a Stripe event to the order's checkout;
// orders.ErrClosed when the checkout has already finished.
func (o *Orders) PaymentEvent(ctx context.Context, orderID int64, ev checkout.PaymentEvent) error {
	err := o.Client.SignalWorkflow(ctx, checkout.WorkflowID(orderID), "", checkout.PaymentSignal, ev)
	if temporalclient.IsNotFound(err) {
		return orders.ErrClosed
	}
	return orders.Unavailable("payment event", err)
}
