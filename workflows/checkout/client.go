package checkout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Client starts and talks to checkouts on behalf of the API and the Stripe
// webhook.
type Client struct {
	Temporal       client.Client
	TaskQueue      string
	PaymentTimeout time.Duration
	// UpdateWait bounds the wait for a reservation or a cancel (default 20s).
	UpdateWait time.Duration
}

// Default bounds on how long an API call waits on a checkout: past them it
// answers ErrUnavailable (503 with Retry-After) instead of holding the
// socket; the workflow goes on, and a retry joins it.
const (
	defaultUpdateWait = 20 * time.Second
	queryWait         = 5 * time.Second
)

func (c *Client) updateWait() time.Duration { return cmp.Or(c.UpdateWait, defaultUpdateWait) }

// Place starts the order's checkout (or joins the one already running for
// this order id) and waits until its stock is reserved or refused, in one
// update-with-start call.
func (c *Client) Place(ctx context.Context, in orders.PlaceInput) (Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, c.updateWait())
	defer cancel()
	id := WorkflowID(in.OrderID)
	start := c.Temporal.NewWithStartWorkflowOperation(temporalclient.StartOnce(id, c.TaskQueue,
		searchattr.CustomerID.ValueSet(strconv.FormatInt(in.UserID, 10)),
		searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)),
		searchattr.OrderStatus.ValueSet(string(StagePlacing)),
	), Name, Input{Order: in, PaymentTimeout: c.PaymentTimeout})
	h, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: ReservationUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		var r Reservation
		if err = h.Get(ctx, &r); err == nil {
			return r, nil
		}
	}
	// A checkout that has closed is not started again (reject duplicate),
	// and one may close while the update reaches it.
	if !temporalclient.IsAlreadyStarted(err) && !temporalclient.IsClosed(err) {
		return Reservation{}, orders.Unavailable("place the order", err)
	}
	// The checkout is over (a repeated request): its result tells.
	var res Result
	if err := c.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		return Reservation{}, orders.Unavailable("checkout result", err)
	}
	return Reservation{OrderID: in.OrderID, Accepted: res.Rejection == nil, Rejection: res.Rejection}, nil
}

// Cancel cancels an order that is still awaiting payment and answers its
// final state; ErrClosed when the checkout is no longer waiting.
func (c *Client) Cancel(ctx context.Context, orderID int64, r CancelRequest) error {
	ctx, cancel := context.WithTimeout(ctx, c.updateWait())
	defer cancel()
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: WorkflowID(orderID), UpdateName: CancelUpdate,
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
	case errors.As(err, &ae) && ae.Type() == ErrTypeUnsettled:
		return orders.Unavailable("cancel", err)
	case errors.As(err, &ae):
		// Refused by the update's validator (the order moved on) or
		// answered by its handler (the payment came first).
		return fmt.Errorf("%w: %s", orders.ErrNotCancellable, ae.Message())
	}
	return orders.Unavailable("cancel", err)
}

// PaymentEvent hands a Stripe event to the order's checkout; ErrClosed when
// the checkout has already finished.
func (c *Client) PaymentEvent(ctx context.Context, orderID int64, ev PaymentEvent) error {
	err := c.Temporal.SignalWorkflow(ctx, WorkflowID(orderID), "", PaymentSignal, ev)
	if temporalclient.IsNotFound(err) {
		return orders.ErrClosed
	}
	return orders.Unavailable("payment event", err)
}
