// Package checkout is the order saga: place the order and reserve its stock,
// create the Stripe PaymentIntent, wait for the payment, then either mark the
// order paid or cancel the PaymentIntent and give the stock back. Every step
// is an activity, so a crash or a deploy at any point resumes where it was.
package checkout

import (
	"fmt"
	"strings"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	ordersact "github.com/shopkit/shop/activities/orders"
	paymentsact "github.com/shopkit/shop/activities/payments"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workflows/email"
	"github.com/shopkit/shop/workflows/fulfilment"
)

// Names of the workflow and of its handlers, as shown in the Temporal UI.
const (
	Name = "Checkout"
	// StatusQuery answers State.
	StatusQuery = "status"
	// ReservationUpdate waits until the stock is reserved (or refused) and
	// answers Reservation.
	ReservationUpdate = "reservation"
	// CancelUpdate cancels an order still awaiting payment.
	CancelUpdate = "cancel"
	// PaymentSignal carries a Stripe payment event (PaymentEvent).
	PaymentSignal = "payment"
)

// Stripe event types the workflow acts on.
const (
	EventPaymentSucceeded = "payment_intent.succeeded"
	EventPaymentFailed    = "payment_intent.payment_failed"
	EventPaymentCanceled  = "payment_intent.canceled"
)

// ErrClosed and ErrUnavailable are orders.ErrClosed and
// orders.ErrUnavailable, which the checkout and refund clients answer.
var (
	ErrClosed      = orders.ErrClosed
	ErrUnavailable = orders.ErrUnavailable
)

// Error types answered to a cancel: it lost the race to the payment, or
// the checkout failed before settling (visible to staff in Temporal).
const (
	ErrTypePaidFirst = "OrderPaidFirst"
	ErrTypeUnsettled = "CheckoutUnsettled"
)

// clientSecretWait bounds how long the reservation answer waits for the
// PaymentIntent, so a Stripe outage does not hold the shopper's request.
const clientSecretWait = 10 * time.Second

// WorkflowID is the order's workflow: starting it twice is a no-op.
func WorkflowID(orderID int64) string { return fmt.Sprintf("checkout-%d", orderID) }

// Input starts a checkout.
type Input struct {
	Order orders.PlaceInput
	// PaymentTimeout is how long to wait for the payment.
	PaymentTimeout time.Duration
}

// PaymentEvent is a Stripe webhook event about the order's PaymentIntent.
type PaymentEvent struct {
	EventID         string
	Type            string
	PaymentIntentID string
	// Amount (amount_received, minor units) and Currency (ISO code, any
	// case) must match the order for a success to mark it paid.
	Amount   int64
	Currency string
	Message  string
}

// Reservation answers ReservationUpdate.
type Reservation struct {
	OrderID   int64
	Accepted  bool
	Rejection *ordersact.Rejection
	// Filled once the PaymentIntent exists (usually at once). Its client
	// secret is not here: secrets stay out of histories and queries.
	PaymentIntentID string
}

// CancelRequest is CancelUpdate's argument.
type CancelRequest struct {
	Reason string
	// By names who cancelled when it was not the customer (staff).
	By string
}

// Stage is where a checkout is.
type Stage string

// Stages, in order.
const (
	StagePlacing         Stage = "placing"
	StageAwaitingPayment Stage = "awaiting_payment"
	StageSettling        Stage = "settling"
	StageDone            Stage = "done"
)

// statusRejected is the OrderStatus search attribute of a checkout that
// refused its order; otherwise it is the stage while placing, then the
// order's status.
const statusRejected = "rejected"

// State answers StatusQuery.
type State struct {
	Stage           Stage
	Status          orders.Status
	Reason          string
	PaymentIntentID string
}

// Result is how the checkout ended.
type Result struct {
	OrderID   int64
	Status    orders.Status // empty when the order was refused
	Reason    string
	Rejection *ordersact.Rejection
}

// defaultPaymentTimeout applies when the input names none.
const defaultPaymentTimeout = 30 * time.Minute

// Workflow runs one order's checkout.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	if in.PaymentTimeout <= 0 {
		in.PaymentTimeout = defaultPaymentTimeout
	}
	// Buffered, so a cancel handler never blocks on a checkout that has
	// stopped listening (the payment won the race).
	c := &checkout{in: in, state: State{Stage: StagePlacing}, cancels: workflow.NewBufferedChannel(ctx, 1)}
	if err := c.registerHandlers(ctx); err != nil {
		return Result{}, err
	}
	res, err := c.run(ctx)
	c.finished = true
	// Let a reservation or cancel call in flight receive its answer.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return res, err
}

type checkout struct {
	in       Input
	state    State
	placed   ordersact.Placed
	reserved bool
	answer   Reservation
	pi       payments.PaymentIntent
	piDone   bool
	cancels  workflow.Channel
	// cancelling: a cancel was accepted and waits for the settlement.
	cancelling bool
	// finished: run returned, settled or not (a failure for staff).
	finished bool
	// mismatched: a success whose amount or currency was not the order's.
	mismatched bool
}

func (c *checkout) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (State, error) { return c.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, ReservationUpdate, func(ctx workflow.Context) (Reservation, error) {
		if err := workflow.Await(ctx, func() bool { return c.reserved || c.finished }); err != nil {
			return Reservation{}, err
		}
		if !c.reserved {
			return Reservation{}, temporal.NewNonRetryableApplicationError(
				"the order could not be placed; staff have been alerted", ErrTypeUnsettled, nil)
		}
		if c.answer.Accepted {
			if _, err := workflow.AwaitWithTimeout(ctx, clientSecretWait, func() bool { return c.piDone }); err != nil {
				return Reservation{}, err
			}
		}
		a := c.answer
		a.PaymentIntentID = c.pi.ID
		return a, nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, CancelUpdate, func(ctx workflow.Context, r CancelRequest) (State, error) {
		if !c.cancelling {
			c.cancelling = true
			c.cancels.SendAsync(r)
		}
		if err := workflow.Await(ctx, func() bool { return c.state.Stage == StageDone || c.finished }); err != nil {
			return c.state, err
		}
		switch {
		case c.state.Stage != StageDone:
			return c.state, temporal.NewNonRetryableApplicationError(
				"the checkout stopped before the order was settled; staff have been alerted", ErrTypeUnsettled, nil)
		case c.state.Status == orders.StatusPaid:
			// The payment arrived first: the cancel is answered, not lost.
			return c.state, temporal.NewNonRetryableApplicationError(
				"the order was paid before the cancellation; cancel the paid order to have it refunded", ErrTypePaidFirst, nil)
		}
		return c.state, nil
	}, workflow.UpdateHandlerOptions{Validator: func(r CancelRequest) error {
		// A repeated cancel while the first settles joins it.
		if c.state.Stage != StageAwaitingPayment && (c.state.Stage != StageSettling || !c.cancelling) {
			return fmt.Errorf("%w: the order is %s", orders.ErrNotCancellable, c.stateName())
		}
		return nil
	}})
}

func (c *checkout) stateName() string {
	if c.state.Stage == StageSettling {
		return "being settled"
	}
	if c.state.Status != "" {
		return string(c.state.Status)
	}
	return string(c.state.Stage)
}

func (c *checkout) run(ctx workflow.Context) (Result, error) {
	var oa *ordersact.Activities
	id := c.in.Order.OrderID
	err := workflow.ExecuteActivity(withRetries(ctx, time.Minute, placeWindow), oa.PlaceOrder, c.in.Order).Get(ctx, &c.placed)
	if rej, ok := ordersact.RejectionOf(err); ok {
		c.answer, c.reserved = Reservation{OrderID: id, Rejection: &rej}, true
		c.state = State{Stage: StageDone, Reason: rej.Message}
		c.setStatus(ctx, statusRejected)
		return Result{OrderID: id, Rejection: &rej, Reason: rej.Message}, nil
	}
	if err != nil {
		return Result{OrderID: id}, err
	}
	c.answer, c.reserved = Reservation{OrderID: id, Accepted: true}, true
	c.state = State{Stage: StageAwaitingPayment, Status: orders.StatusAwaitingPayment}
	c.setStatus(ctx, string(orders.StatusAwaitingPayment))

	// From here on the order holds stock: however the wait ends, even by an
	// operator cancelling this workflow, settle gives it back unless paid.
	settled := false
	defer func() {
		if !settled {
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			_, _ = c.settle(dctx, orders.StatusCancelled, "checkout stopped before the payment arrived")
		}
	}()

	status, reason := c.awaitPayment(ctx)
	sctx := ctx
	if ctx.Err() != nil {
		sctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	settled = true
	return c.settle(sctx, status, reason)
}

// awaitPayment creates the PaymentIntent and waits for its outcome, a cancel
// or the timeout; it answers the status the order should end in.
func (c *checkout) awaitPayment(ctx workflow.Context) (orders.Status, string) {
	var pa *paymentsact.Activities
	// A Stripe outage is retried until the payment window closes.
	pctx := withRetries(ctx, 30*time.Second, c.in.PaymentTimeout)
	if c.placed.Total > 0 {
		err := workflow.ExecuteActivity(pctx, pa.CreatePaymentIntent, payments.PaymentIntentRequest{
			OrderID: c.placed.OrderID, Amount: c.placed.Total, Currency: c.placed.Currency,
			CustomerEmail: c.placed.CustomerEmail, IdempotencyKey: c.idempotencyKey("payment-intent"),
		}).Get(ctx, &c.pi)
		c.piDone = true
		if err != nil {
			if ctx.Err() != nil {
				return orders.StatusCancelled, "checkout cancelled by an operator"
			}
			return orders.StatusPaymentFailed, "the payment could not be prepared: " + failure.StripeMessage(err)
		}
		c.state.PaymentIntentID = c.pi.ID
	} else {
		c.piDone = true
		return orders.StatusPaid, "nothing to pay"
	}

	tctx, stopTimer := workflow.WithCancel(ctx)
	defer stopTimer()
	timer := workflow.NewTimer(tctx, c.in.PaymentTimeout)
	events := workflow.GetSignalChannel(ctx, PaymentSignal)
	var status orders.Status
	var reason string
	for status == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(ch workflow.ReceiveChannel, _ bool) {
			var ev PaymentEvent
			ch.Receive(ctx, &ev)
			status, reason = c.paymentOutcome(ctx, ev)
		})
		sel.AddReceive(c.cancels, func(ch workflow.ReceiveChannel, _ bool) {
			var r CancelRequest
			ch.Receive(ctx, &r)
			status, reason = orders.StatusCancelled, "cancelled by the customer"
			if r.By != "" {
				reason = "cancelled by " + r.By
			}
			if r.Reason != "" {
				reason += ": " + r.Reason
			}
		})
		sel.AddFuture(timer, func(f workflow.Future) {
			if f.Get(ctx, nil) == nil {
				status, reason = orders.StatusCancelled, fmt.Sprintf("no payment within %s", c.in.PaymentTimeout)
			}
		})
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
			status, reason = orders.StatusCancelled, "checkout cancelled by an operator"
		})
		sel.Select(ctx)
	}
	if status != orders.StatusPaid {
		// A success that arrived out of order wins over a failure before it.
		var ev PaymentEvent
		for events.ReceiveAsync(&ev) {
			if s, r := c.paymentOutcome(ctx, ev); s == orders.StatusPaid {
				return s, r
			}
		}
	}
	return status, reason
}

// paymentOutcome reads one Stripe event; empty status means "keep waiting".
func (c *checkout) paymentOutcome(ctx workflow.Context, ev PaymentEvent) (orders.Status, string) {
	if ev.PaymentIntentID != c.pi.ID {
		workflow.GetLogger(ctx).Warn("ignoring an event for another PaymentIntent", "event", ev.EventID, "payment_intent", ev.PaymentIntentID)
		return "", ""
	}
	switch ev.Type {
	case EventPaymentSucceeded:
		// Checkouts recorded before the amount check replay without it.
		checked := workflow.GetVersion(ctx, "payment-amount-check", workflow.DefaultVersion, 1) >= 1
		// An event relayed by an older API has no currency: its amount is still checked.
		wrongCurrency := ev.Currency != "" && !strings.EqualFold(ev.Currency, c.placed.Currency)
		if checked && (ev.Amount != c.placed.Total || wrongCurrency) {
			c.mismatched = true
			// Never paid on a short or foreign-currency amount: flag it
			// for staff and keep waiting for the right payment.
			c.flag(ctx, fmt.Sprintf("payment %s reports %s received; the order total is %s: not marked paid",
				ev.EventID, money.Money{Amount: ev.Amount, Currency: strings.ToUpper(ev.Currency)},
				money.Money{Amount: c.placed.Total, Currency: c.placed.Currency}))
			return "", ""
		}
		return orders.StatusPaid, "payment received (" + ev.EventID + ")"
	case EventPaymentFailed:
		msg := "the payment failed"
		if ev.Message != "" {
			msg += ": " + ev.Message
		}
		return orders.StatusPaymentFailed, msg
	case EventPaymentCanceled:
		return orders.StatusCancelled, "the payment was cancelled at Stripe"
	}
	return "", ""
}

// flag records on the order that staff must look at it; the checkout goes on.
func (c *checkout) flag(ctx workflow.Context, note string) {
	var oa *ordersact.Activities
	workflow.GetLogger(ctx).Error("order needs attention", "order_id", c.placed.OrderID, "note", note)
	c.state.Reason = note
	err := workflow.ExecuteActivity(withRetries(ctx, 30*time.Second, flagWindow), oa.FlagOrder,
		ordersact.FlagInput{OrderID: c.placed.OrderID, Note: note}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("order flag not recorded", "order_id", c.placed.OrderID, "error", err)
	}
}

// settle ends the order in status. An unpaid end first cancels the
// PaymentIntent; if Stripe says the payment beat the cancel, the order is
// paid after all. Then the stock is committed or released and the customer
// is told.
func (c *checkout) settle(ctx workflow.Context, status orders.Status, reason string) (Result, error) {
	var oa *ordersact.Activities
	var pa *paymentsact.Activities
	c.state.Stage = StageSettling
	actx := withRetries(ctx, 30*time.Second, settleWindow)
	if status != orders.StatusPaid && c.pi.ID != "" {
		var cr paymentsact.CancelResult
		err := workflow.ExecuteActivity(actx, pa.CancelPaymentIntent, paymentsact.CancelRequest{
			PaymentIntentID: c.pi.ID, Reason: cancellationReason(status), IdempotencyKey: c.idempotencyKey("cancel-payment-intent"),
		}).Get(ctx, &cr)
		switch {
		case err == nil && cr.AlreadySucceeded && c.mismatched:
			// The only payment heard of did not match the order: never
			// paid on it. The stock goes back and staff settle the money.
			reason = "a payment that does not match the order was taken at Stripe; refund or settle it by hand"
			c.flag(ctx, reason)
		case err == nil && cr.AlreadySucceeded:
			status, reason = orders.StatusPaid, "payment received before the cancellation"
		case err != nil:
			// The stock is released all the same; an uncancellable
			// PaymentIntent can no longer be paid for a released order
			// without an operator seeing this warning.
			workflow.GetLogger(ctx).Error("PaymentIntent not cancelled", "payment_intent", c.pi.ID, "error", err)
		}
	}
	id := c.placed.OrderID
	var kind, key string
	if status == orders.StatusPaid {
		if err := workflow.ExecuteActivity(actx, oa.MarkPaid, ordersact.MarkPaidInput{OrderID: id, Amount: c.placed.Total, Note: reason}).Get(ctx, nil); err != nil {
			return Result{OrderID: id}, err
		}
		kind, key = mail.KindOrderConfirmation, fmt.Sprintf("order-%d-confirmation", id)
	} else {
		if err := workflow.ExecuteActivity(actx, oa.ReleaseOrder, ordersact.ReleaseInput{OrderID: id, Status: status, Reason: reason}).Get(ctx, nil); err != nil {
			return Result{OrderID: id}, err
		}
		kind, key = mail.KindOrderCancelled, fmt.Sprintf("order-%d-cancelled", id)
		if status == orders.StatusPaymentFailed {
			kind, key = mail.KindPaymentFailed, fmt.Sprintf("order-%d-payment-failed", id)
		}
	}
	c.state = State{Stage: StageDone, Status: status, Reason: reason, PaymentIntentID: c.pi.ID}
	handOver := status == orders.StatusPaid &&
		workflow.GetVersion(ctx, "start-fulfilment", workflow.DefaultVersion, 1) >= 1
	if handOver {
		// The paid order's fulfilment owns it from here, with its OrderStatus.
		if err := c.startFulfilment(ctx); err != nil {
			// The payment's outbox event starts it all the same.
			workflow.GetLogger(ctx).Error("fulfilment not started; the order_workflows consumer will", "order_id", id, "error", err)
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.OrderStatus.ValueUnset()); err != nil {
			workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
		}
	} else {
		c.setStatus(ctx, string(status))
	}
	email.SendOrderEmail(ctx, ordersact.EmailRequest{OrderID: id, Kind: kind, Key: key, Reason: reason})
	return Result{OrderID: id, Status: status, Reason: reason}, nil
}

// startFulfilment starts the paid order's fulfilment as a child that
// outlives the checkout. Recorded in this history, so a worker dying here
// starts it on replay; the order_workflows outbox consumer may have
// started it first, which is fine.
func (c *checkout) startFulfilment(ctx workflow.Context) error {
	id, customer := c.placed.OrderID, c.in.Order.UserID
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            fulfilment.WorkflowID(id),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(fulfilment.Attributes(id, customer)...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, fulfilment.Name, fulfilment.Input{OrderID: id, CustomerID: customer})
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

func cancellationReason(s orders.Status) string {
	if s == orders.StatusPaymentFailed {
		return "failed_invoice"
	}
	return "abandoned"
}

func (c *checkout) setStatus(ctx workflow.Context, s string) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.OrderStatus.ValueSet(s)); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
	}
}

// idempotencyKey derives Stripe's idempotency key from the workflow and the
// step, so every retry of that step is the same request to Stripe.
func (c *checkout) idempotencyKey(step string) string {
	return WorkflowID(c.in.Order.OrderID) + "/" + step
}

// How long each kind of step is retried before the checkout gives up on it.
// Placing answers a waiting shopper; settling records money and stock, so
// it rides out a long outage; a step still failing then fails the workflow,
// where operators see it in the Temporal UI (and can reset it once fixed).
const (
	placeWindow  = 2 * time.Minute
	flagWindow   = 10 * time.Minute
	settleWindow = 24 * time.Hour
)

// withRetries sets the activity options of the saga's steps: retried with
// backoff, for at most window in all; permanent errors are not retried.
func withRetries(ctx workflow.Context, startToClose, window time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    startToClose,
		ScheduleToCloseTimeout: window,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			NonRetryableErrorTypes: []string{
				ordersact.ErrTypeInvalidOrder, ordersact.ErrTypeOutOfStock, ordersact.ErrTypeWrongState,
				ordersact.ErrTypeNotFound, paymentsact.ErrTypeRefused, failure.TypeInvalidData,
			},
		},
	})
}
