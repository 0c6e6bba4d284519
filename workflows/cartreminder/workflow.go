// Package cartreminder reminds shoppers of the carts they leave: one
// workflow per cart waits for the cart to sit idle, then sends the
// reminders of the schedule (CART_REMINDER_AFTER) through the email
// workflow. Every cart change restarts the wait and the schedule; emptying
// or checking out the cart, or unsubscribing, ends it.
package cartreminder

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	cartreminderact "github.com/shopkit/shop/activities/cartreminder"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/workflows/email"
)

// Name is the workflow type shown in the Temporal UI.
const Name = "CartReminder"

// ChangedSignal carries a Change of the cart.
const ChangedSignal = "cart-changed"

// ErrTypeBadInput: the workflow was started without a schedule.
const ErrTypeBadInput = "CartReminderBadInput"

// Why a run ends, besides the activity's skip reasons.
const (
	ReasonDone    = "all reminders sent"
	ReasonEmptied = cartreminderact.SkipEmpty
)

// maxChangesPerRun bounds a run's history: after this many cart changes it
// continues as new with its state.
const maxChangesPerRun = 200

// WorkflowID names the reminders of userID's cart.
func WorkflowID(userID int64) string { return "cart-reminder-" + strconv.FormatInt(userID, 10) }

// ReminderKey is the email dedup key of reminder n (from 1) of the cart at
// version: a restarted or replayed workflow never sends it twice.
func ReminderKey(userID int64, n int, version int64) string {
	return fmt.Sprintf("cart-%d-reminder-%d-%d", userID, n, version)
}

// Change is a committed cart change, as signalled.
type Change struct {
	Version int64 // grows with every change; older ones are ignored
	Items   int   // lines in the cart; 0 ends the reminders
}

// Input starts the reminders of a cart; the state fields carry a run over
// continue-as-new and are zero for a new one.
type Input struct {
	UserID int64
	// Schedule are the idle times after the last change at which the
	// reminders are due, ascending.
	Schedule []time.Duration

	Version    int64     // the last change heard of; 0 before the first
	LastChange time.Time // when it was heard of
	Sent       int       // reminders sent since
}

// Result tells how the reminders ended.
type Result struct {
	Version int64
	Sent    int // reminders sent since the last change
	Reason  string
}

type reminders struct {
	in      Input
	changes workflow.ReceiveChannel
}

// Workflow waits for the cart to sit idle and reminds the shopper.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	if in.UserID <= 0 || len(in.Schedule) == 0 {
		return Result{}, temporal.NewNonRetryableApplicationError("a user and a schedule are required", ErrTypeBadInput, nil)
	}
	r := &reminders{in: in, changes: workflow.GetSignalChannel(ctx, ChangedSignal)}
	return r.run(ctx)
}

func (r *reminders) result(reason string) Result {
	return Result{Version: r.in.Version, Sent: r.in.Sent, Reason: reason}
}

func (r *reminders) run(ctx workflow.Context) (Result, error) {
	handled := 0
	for {
		if r.in.Version > 0 && r.in.Sent >= len(r.in.Schedule) {
			// This period's reminders are out; the next change starts a
			// new run (signal-with-start) unless one is already waiting.
			if reason, more := r.drain(ctx, ReasonDone); !more {
				return r.result(reason), nil
			}
			continue
		}
		if handled >= maxChangesPerRun {
			if reason, _ := r.drain(ctx, ""); reason != "" {
				return r.result(reason), nil
			}
			return Result{}, workflow.NewContinueAsNewError(ctx, Name, r.in)
		}

		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		due := false
		if r.in.Version > 0 {
			wait := r.in.LastChange.Add(r.in.Schedule[r.in.Sent]).Sub(workflow.Now(ctx))
			sel.AddFuture(workflow.NewTimer(timerCtx, max(wait, 0)), func(f workflow.Future) { due = f.Get(ctx, nil) == nil })
		}
		var c Change
		sel.AddReceive(r.changes, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, &c) })
		sel.Select(ctx)
		cancelTimer()

		if !due {
			handled++
			if r.apply(ctx, c) {
				if reason, more := r.drain(ctx, ReasonEmptied); !more {
					return r.result(reason), nil
				}
			}
			continue
		}
		if skip := r.remind(ctx); skip != "" {
			if reason, more := r.drain(ctx, skip); !more {
				return r.result(reason), nil
			}
		}
	}
}

// apply takes in a change and reports whether it emptied the cart.
func (r *reminders) apply(ctx workflow.Context, c Change) bool {
	if c.Version <= r.in.Version {
		return false // late news of an older change
	}
	r.in.Version, r.in.LastChange, r.in.Sent = c.Version, workflow.Now(ctx), 0
	return c.Items == 0
}

// drain takes in the changes already waiting before the run would end for
// reason: a newer change with items in the cart keeps it going (more), an
// emptied cart ends it.
func (r *reminders) drain(ctx workflow.Context, reason string) (string, bool) {
	more := false
	for {
		var c Change
		if !r.changes.ReceiveAsync(&c) {
			return reason, more
		}
		if c.Version <= r.in.Version {
			continue
		}
		if r.apply(ctx, c) {
			reason, more = ReasonEmptied, false
		} else {
			reason, more = "", true
		}
	}
}

// remind sends the next reminder, unless the cart or the shopper says not
// to (the answer says why).
func (r *reminders) remind(ctx workflow.Context) string {
	n := r.in.Sent + 1
	log := workflow.GetLogger(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{failure.TypeInvalidData},
		},
	})
	var a *cartreminderact.Activities
	var p cartreminderact.Prepared
	key := ReminderKey(r.in.UserID, n, r.in.Version)
	err := workflow.ExecuteActivity(actx, a.PrepareReminder, cartreminderact.Request{UserID: r.in.UserID, Key: key}).Get(ctx, &p)
	r.in.Sent = n
	switch {
	case err != nil:
		// This reminder is lost; the next one is still due.
		log.Error("cart reminder not prepared", "key", key, "error", err)
		return ""
	case p.Skip != "":
		r.in.Sent = n - 1
		return p.Skip
	}
	if err := email.Start(ctx, p.Email); err != nil {
		log.Error("cart reminder not started", "key", key, "error", err)
	}
	return ""
}
