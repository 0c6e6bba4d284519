package cartreminder

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// signalWait bounds how long a cart change waits on Temporal.
const signalWait = 5 * time.Second

// Client starts and resets the reminder workflows of carts: the cart store
// calls it after every committed change (cart.Notifier).
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// Schedule is given to the reminders started (CART_REMINDER_AFTER).
	Schedule []time.Duration
	Log      *slog.Logger
}

var _ cart.Notifier = (*Client)(nil)

// CartChanged signals the change to the cart's workflow, starting it when
// the cart has items and none runs. Trouble is logged: the change stands,
// and only its reminder is lost.
func (c *Client) CartChanged(ctx context.Context, ch cart.Change) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), signalWait)
	defer cancel()
	id := WorkflowID(ch.UserID)
	sig := Change{Version: ch.Version, Items: ch.Items}
	var err error
	if ch.Items == 0 {
		// An empty cart has nothing to remind of: stop a running
		// workflow, start none.
		err = c.Temporal.SignalWorkflow(ctx, id, "", ChangedSignal, sig)
		if temporalclient.IsNotFound(err) {
			err = nil
		}
	} else {
		_, err = c.Temporal.SignalWithStartWorkflow(ctx, id, ChangedSignal, sig, client.StartWorkflowOptions{
			TaskQueue: c.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				searchattr.CustomerID.ValueSet(strconv.FormatInt(ch.UserID, 10))),
		}, Name, Input{UserID: ch.UserID, Schedule: c.Schedule})
	}
	if err != nil && c.Log != nil {
		c.Log.WarnContext(ctx, "cart reminder not updated", "workflow_id", id, "version", ch.Version, "error", err)
	}
}
