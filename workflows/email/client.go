package email

import (
	"context"

	"go.temporal.io/sdk/client"

	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Client asks for emails from outside a workflow (the outbox consumers).
type Client struct {
	Temporal  client.Client
	TaskQueue string
}

// Send starts the email workflow of in.Key. Asking again for a key whose
// email is on its way or sent (within the namespace's retention) starts
// nothing; the emails table guards beyond it.
func (c *Client) Send(ctx context.Context, in emailact.Input) error {
	if err := validate(in); err != nil {
		return err
	}
	_, err := c.Temporal.ExecuteWorkflow(ctx, temporalclient.StartOnce(WorkflowID(in.Key), c.TaskQueue, Attributes(in)...), Name, in)
	if temporalclient.IsAlreadyStarted(err) {
		return nil
	}
	return err
}

// Request is Send for an email about no order.
func (c *Client) Request(ctx context.Context, key, kind, to string, data mail.OrderEmail) error {
	return c.Send(ctx, emailact.Input{Key: key, Kind: kind, To: to, Data: data})
}
