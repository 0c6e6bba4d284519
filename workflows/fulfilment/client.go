package fulfilment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Client drives shipments through their workflows on behalf of the API
// (staff steps) and the carrier webhook (scans).
type Client struct {
	Temporal client.Client
	Store    *fulfilment.Store
	// UpdateWait bounds a staff step's wait (default 20s); past it the
	// caller gets orders.ErrUnavailable and may retry: steps are idempotent.
	UpdateWait time.Duration
}

const defaultUpdateWait = 20 * time.Second

// Pick marks the shipment picked.
func (c *Client) Pick(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return c.step(ctx, id, PickUpdate)
}

// Pack marks the shipment packed.
func (c *Client) Pack(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return c.step(ctx, id, PackUpdate)
}

// Ship hands the parcel to the carrier.
func (c *Client) Ship(ctx context.Context, id int64, in fulfilment.ShipInput) (fulfilment.Shipment, error) {
	return c.step(ctx, id, ShipUpdate, in)
}

// Deliver records a delivery confirmed by staff.
func (c *Client) Deliver(ctx context.Context, id int64) (fulfilment.Shipment, error) {
	return c.step(ctx, id, DeliverUpdate)
}

// ReportProblem records a problem and alerts staff.
func (c *Client) ReportProblem(ctx context.Context, id int64, note string) (fulfilment.Shipment, error) {
	return c.step(ctx, id, ProblemUpdate, note)
}

// ResolveLost reships (answering the replacements) or refunds a lost parcel.
func (c *Client) ResolveLost(ctx context.Context, id int64, action string, by int64) (fulfilment.Shipment, []fulfilment.Shipment, error) {
	var r ResolveResult
	err := c.update(ctx, id, ResolveUpdate, &r, Resolution{Action: action, By: by})
	if errors.Is(err, fulfilment.ErrWrongState) {
		// The same decision again, after the parcel's workflow ended with
		// it, answers it again.
		sh, gerr := c.Store.Get(ctx, id)
		if gerr == nil && sh.Resolution == action {
			reps, gerr := c.Store.Replacements(ctx, id)
			return sh, reps, gerr
		}
	}
	if err != nil {
		return fulfilment.Shipment{}, nil, err
	}
	return r.Shipment, r.Replacements, nil
}

func (c *Client) step(ctx context.Context, id int64, name string, args ...any) (fulfilment.Shipment, error) {
	var sh fulfilment.Shipment
	err := c.update(ctx, id, name, &sh, args...)
	return sh, err
}

func (c *Client) update(ctx context.Context, id int64, name string, out any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.UpdateWait, defaultUpdateWait))
	defer cancel()
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: ShipmentWorkflowID(id), UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err == nil {
		return nil
	}
	if temporalclient.IsClosed(err) {
		// The parcel's story is over (or not begun): PostgreSQL tells which.
		sh, gerr := c.Store.Get(ctx, id)
		switch {
		case gerr != nil:
			return gerr
		case sh.Status.Open():
			return orders.Unavailable("shipment "+strconv.FormatInt(id, 10)+" is being set up", err)
		}
		return fmt.Errorf("%w: shipment %d is %s", fulfilment.ErrWrongState, id, sh.Describe())
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return fulfilmentact.Refusal(err)
	}
	return orders.Unavailable(name+" shipment", err)
}

// ScanByTracking hands a carrier scan to the parcel's workflow; a scan of
// a parcel whose workflow has ended is recorded directly (it can still
// turn a lost parcel into a delivered one). fulfilment.ErrNotFound when no
// parcel has the tracking number.
func (c *Client) ScanByTracking(ctx context.Context, carrierName, trackingNumber string, scan fulfilment.Scan) error {
	sh, err := c.Store.ByTracking(ctx, carrierName, trackingNumber)
	if err != nil {
		return err
	}
	// Recorded in PostgreSQL before the carrier hears 200, so an
	// acknowledged scan is never lost; event ids are the carrier's own.
	scan.EventID = carrierName + "/" + scan.EventID
	if _, err := c.Store.ApplyScan(ctx, sh.ID, scan); err != nil {
		return err
	}
	// The parcel's workflow then follows it (emails, deadlines); a failed
	// hand-off answers 503 and the carrier's redelivery tries again.
	err = c.Temporal.SignalWorkflow(ctx, ShipmentWorkflowID(sh.ID), "", ScanSignal, scan)
	if temporalclient.IsNotFound(err) {
		return nil // its story is over
	}
	return orders.Unavailable("carrier scan", err)
}

// ConsumerName is the outbox consumer of order status changes (migration
// 0015).
const ConsumerName = "order_workflows"

// TopicOrderStatusChanged is recorded by the orders table's trigger on
// every status change (EntityID: the order id; payload: status and
// customer_id).
const TopicOrderStatusChanged = "order.status_changed"

// StatusFollower is the order_workflows outbox consumer: every committed
// status change of an order reaches the order's fulfilment, whoever made
// it, so its OrderStatus equals PostgreSQL's. A paid order without a
// fulfilment gets one: the payment and its event commit together, so no
// paid order is left without one, even if the checkout's worker died
// between the two.
type StatusFollower struct {
	Temporal  client.Client
	TaskQueue string
}

var _ outbox.Consumer = (*StatusFollower)(nil)

// Name implements outbox.Consumer.
func (*StatusFollower) Name() string { return ConsumerName }

type statusPayload struct {
	Status     string `json:"status"`
	CustomerID int64  `json:"customer_id"`
}

// Deliver implements outbox.Consumer. Signals follow the events' order; a
// redelivered one sets the status the workflow has already.
func (f *StatusFollower) Deliver(ctx context.Context, events []outbox.Event) error {
	for _, ev := range events {
		if ev.Topic != TopicOrderStatusChanged {
			continue
		}
		var p statusPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return outbox.Permanent(fmt.Errorf("order %d: unreadable status event: %w", ev.EntityID, err))
		}
		if err := f.follow(ctx, ev.EntityID, p); err != nil {
			return fmt.Errorf("order %d: %w", ev.EntityID, err)
		}
	}
	return nil
}

const signalWait = 5 * time.Second

func (f *StatusFollower) follow(ctx context.Context, orderID int64, p statusPayload) error {
	ctx, cancel := context.WithTimeout(ctx, signalWait)
	defer cancel()
	id, change := WorkflowID(orderID), StatusChange{Status: p.Status}
	if p.Status != string(orders.StatusPaid) && p.Status != string(orders.StatusPartiallyRefunded) {
		// Only a paid order (refunded in part, maybe, before anything
		// shipped) starts a fulfilment; before that the checkout carries
		// the status.
		err := f.Temporal.SignalWorkflow(ctx, id, "", OrderStatusSignal, change)
		if temporalclient.IsNotFound(err) {
			return nil
		}
		return err
	}
	_, err := f.Temporal.SignalWithStartWorkflow(ctx, id, OrderStatusSignal, change, client.StartWorkflowOptions{
		TaskQueue:             f.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(Attributes(orderID, p.CustomerID)...),
	}, Name, Input{OrderID: orderID, CustomerID: p.CustomerID})
	if temporalclient.IsAlreadyStarted(err) {
		return nil // its fulfilment has run and ended
	}
	return err
}

// Attributes are a new fulfilment's search attributes.
func Attributes(orderID, customerID int64) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{
		searchattr.OrderID.ValueSet(strconv.FormatInt(orderID, 10)),
		searchattr.CustomerID.ValueSet(strconv.FormatInt(customerID, 10)),
		searchattr.OrderStatus.ValueSet(string(orders.StatusPaid)),
	}
}
