package refund

import (
	"context"
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Client starts and talks to refunds and cancellations of paid orders on
// behalf of the API.
type Client struct {
	Temporal  client.Client
	TaskQueue string
}

// CancelPaid starts the cancellation (stock back, full refund) of a paid order.
func (c *Client) CancelPaid(ctx context.Context, in CancelInput) error {
	return c.startOnce(ctx, CancelWorkflowID(in.OrderID), CancelName, in,
		searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)),
		searchattr.CustomerID.ValueSet(strconv.FormatInt(in.CustomerID, 10)))
}

// StartRefund starts the workflow of a refund recorded as pending.
func (c *Client) StartRefund(ctx context.Context, in Input) error {
	return c.startOnce(ctx, WorkflowID(in.RefundID), Name, in, Attributes(in.OrderID, in.CustomerID)...)
}

// Attributes are a new refund workflow's search attributes.
func Attributes(orderID, customerID int64) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{searchattr.OrderID.ValueSet(strconv.FormatInt(orderID, 10)),
		searchattr.CustomerID.ValueSet(strconv.FormatInt(customerID, 10)),
		searchattr.RefundStatus.ValueSet(string(orders.RefundPending))}
}

// ResolveRefund sends an operator's decision to a refund that needs
// attention; orders.ErrClosed when the refund has already finished.
func (c *Client) ResolveRefund(ctx context.Context, refundID int64, r Resolution) error {
	err := c.Temporal.SignalWorkflow(ctx, WorkflowID(refundID), "", ResolveSignal, r)
	if temporalclient.IsNotFound(err) {
		return orders.ErrClosed
	}
	return orders.Unavailable("resolve refund", err)
}

// startOnce starts workflow id unless it has already started: the id is the
// business id, so a repeated request never starts a second one.
func (c *Client) startOnce(ctx context.Context, id, name string, arg any, attrs ...temporal.SearchAttributeUpdate) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, temporalclient.StartOnce(id, c.TaskQueue, attrs...), name, arg)
	if temporalclient.IsAlreadyStarted(err) {
		return nil
	}
	return orders.Unavailable("start "+id, err)
}
