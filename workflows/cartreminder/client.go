package cartreminder

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// signalWait bounds how long one signal waits on Temporal.
const signalWait = 5 * time.Second

// ConsumerName is the outbox consumer of cart changes (migration 0012).
const ConsumerName = "cart_reminders"

// TopicCartChanged is recorded by the carts table's trigger on every
// change of a cart (EntityID: the shopper's user id).
const TopicCartChanged = "cart.changed"

// Client starts and resets the reminder workflows of carts. It is the
// outbox's cart_reminders consumer: every committed cart change reaches it,
// whoever made it and whether or not Temporal answered at the time.
type Client struct {
	Temporal  client.Client
	Pool      *pgxpool.Pool
	TaskQueue string
	// Schedule is given to the reminders started (CART_REMINDER_AFTER).
	Schedule []time.Duration
}

var _ outbox.Consumer = (*Client)(nil)

// Name implements outbox.Consumer.
func (c *Client) Name() string { return ConsumerName }

// Deliver implements outbox.Consumer: each changed cart's workflow hears
// the cart's current state (its version orders the signals, so a
// redelivery is harmless), started when the cart has items and none runs.
func (c *Client) Deliver(ctx context.Context, events []outbox.Event) error {
	for _, userID := range outbox.EntityIDs(events, TopicCartChanged) {
		var ch Change
		err := c.Pool.QueryRow(ctx, `SELECT version, (SELECT count(*) FROM cart_items WHERE user_id = $1)
			FROM carts WHERE user_id = $1`, userID).Scan(&ch.Version, &ch.Items)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // the shopper's account and cart are gone
		}
		if err != nil {
			return fmt.Errorf("cart reminders: read cart of user %d: %w", userID, err)
		}
		if err := c.signal(ctx, userID, ch); err != nil {
			return fmt.Errorf("cart reminders: user %d: %w", userID, err)
		}
	}
	return nil
}

func (c *Client) signal(ctx context.Context, userID int64, ch Change) error {
	ctx, cancel := context.WithTimeout(ctx, signalWait)
	defer cancel()
	id := WorkflowID(userID)
	if ch.Items == 0 {
		// An empty cart has nothing to remind of: stop a running
		// workflow, start none.
		err := c.Temporal.SignalWorkflow(ctx, id, "", ChangedSignal, ch)
		if temporalclient.IsNotFound(err) {
			return nil
		}
		return err
	}
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, id, ChangedSignal, ch, client.StartWorkflowOptions{
		TaskQueue: c.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.CustomerID.ValueSet(strconv.FormatInt(userID, 10))),
	}, Name, Input{UserID: userID, Schedule: c.Schedule})
	return err
}
