package returns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	returnsact "github.com/shopkit/shop/activities/returns"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Client records return requests and drives returns through their
// workflows on behalf of the API.
type Client struct {
	Temporal  client.Client
	Store     *returns.Store
	TaskQueue string
	// UpdateWait bounds a staff step's wait (default 20s); past it the
	// caller gets orders.ErrUnavailable and may retry: steps are idempotent.
	UpdateWait time.Duration
}

const defaultUpdateWait = 20 * time.Second

// Request records a customer's return request and starts its workflow.
// When the workflow cannot be started now, the return is kept and its
// workflow starts with staff's first step.
func (c *Client) Request(ctx context.Context, in returns.RequestInput) (returns.Return, error) {
	r, err := c.Store.Request(ctx, in)
	if err != nil {
		return r, err
	}
	if err := c.start(ctx, r); err != nil {
		// Kept: a retry would be refused (the units are in this return).
		slog.WarnContext(ctx, "return workflow not started; it starts with staff's first step", "return", r.ID, "error", err)
	}
	return r, nil
}

func (c *Client) start(ctx context.Context, r returns.Return) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, temporalclient.StartOnce(WorkflowID(r.ID), c.TaskQueue, Attributes(r)...), Name,
		Input{ReturnID: r.ID, OrderID: r.OrderID, CustomerID: r.CustomerID})
	if temporalclient.IsAlreadyStarted(err) {
		return nil
	}
	return orders.Unavailable("start "+WorkflowID(r.ID), err)
}

// Attributes are a new return workflow's search attributes.
func Attributes(r returns.Return) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{
		searchattr.OrderID.ValueSet(strconv.FormatInt(r.OrderID, 10)),
		searchattr.CustomerID.ValueSet(strconv.FormatInt(r.CustomerID, 10)),
		searchattr.ReturnStatus.ValueSet(string(returns.StatusRequested)),
	}
}

// Approve records staff's approval; the customer is told.
func (c *Client) Approve(ctx context.Context, id int64, d returns.Decision) (returns.Return, error) {
	return c.update(ctx, id, ApproveUpdate, returns.StatusApproved, d)
}

// Refuse records staff's refusal; the customer is told.
func (c *Client) Refuse(ctx context.Context, id int64, d returns.Decision) (returns.Return, error) {
	return c.update(ctx, id, RefuseUpdate, returns.StatusRefused, d)
}

// Receive records the return's parcel; the refund and the exchange
// parcels follow.
func (c *Client) Receive(ctx context.Context, id int64, in returns.ReceiveInput) (returns.Return, error) {
	if err := in.Normalize(); err != nil {
		return returns.Return{}, err
	}
	return c.update(ctx, id, ReceiveUpdate, "", in)
}

// update runs a staff step through the return's workflow. A decision
// repeated after the workflow ended with it answers the return again.
func (c *Client) update(ctx context.Context, id int64, name string, done returns.Status, arg any) (returns.Return, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.UpdateWait, defaultUpdateWait))
	defer cancel()
	var r returns.Return
	err := c.call(ctx, id, name, &r, arg)
	if err == nil || !temporalclient.IsClosed(err) {
		return r, err
	}
	// The workflow has ended or never started: PostgreSQL tells which.
	r, gerr := c.Store.Get(ctx, id)
	switch {
	case gerr != nil:
		return r, gerr
	case r.Status == returns.StatusRequested && temporalclient.IsNotFound(err):
		if err := c.start(ctx, r); err != nil {
			return r, err
		}
		err = c.call(ctx, id, name, &r, arg)
		if temporalclient.IsClosed(err) {
			return r, orders.Unavailable(name+" return "+strconv.FormatInt(id, 10), err)
		}
		return r, err
	case done != "" && r.Status == done:
		return r, nil
	case name == ReceiveUpdate && (r.Status == returns.StatusReceived || r.Status == returns.StatusRefunded):
		return r, fmt.Errorf("%w: return %d was already received", returns.ErrWrongState, id)
	}
	return r, fmt.Errorf("%w: return %d is %s", returns.ErrWrongState, id, r.Status)
}

func (c *Client) call(ctx context.Context, id int64, name string, out any, arg any) error {
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: WorkflowID(id), UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err == nil || temporalclient.IsClosed(err) {
		return err
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return returnsact.Refusal(err)
	}
	return orders.Unavailable(name+" return", err)
}
