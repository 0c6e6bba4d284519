package fulfilment

import (
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/searchattr"
	"github.com/shopkit/shop/workflows/email"
	"github.com/shopkit/shop/workflows/refund"
)

// ShipmentWorkflow runs one parcel from the shelf to the customer.
func ShipmentWorkflow(ctx workflow.Context, in ShipmentInput) (ShipmentResult, error) {
	// The parcel as allocated: the handlers are registered at once, so a
	// staff step sent right after the start is never refused.
	s := &shipment{in: in, sh: in.Shipment, lock: workflow.NewMutex(ctx), alerted: map[string]bool{}}
	var fa *fulfilmentact.Activities
	if err := s.registerHandlers(ctx); err != nil {
		return ShipmentResult{}, err
	}
	scans := workflow.GetSignalChannel(ctx, ScanSignal)
	// Scans are read on a context that a cancellation does not end: a
	// parcel on its way keeps following its carrier.
	scanCtx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(scanCtx, func(ctx workflow.Context) {
		for {
			var scan fulfilment.Scan
			scans.Receive(ctx, &scan)
			s.applyScan(ctx, scan)
		}
	})

	for !s.done() {
		at, what := s.nextDeadline()
		seen := s.changes
		changed := func() bool { return s.changes != seen || s.done() }
		var err error
		if at.IsZero() {
			err = workflow.Await(ctx, changed)
		} else {
			var ok bool
			ok, err = workflow.AwaitWithTimeout(ctx, max(at.Sub(workflow.Now(ctx)), 0), changed)
			if err == nil && !ok {
				// A step that keeps failing fails the workflow, for
				// operators to reset once the cause is fixed.
				if err := s.missed(ctx, what); err != nil {
					return ShipmentResult{}, err
				}
			}
		}
		if err != nil {
			// Cancelled by the order's fulfilment (the order was cancelled
			// or refunded in full): a parcel that has not left stops; one
			// on its way keeps its deadlines.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			if err := workflow.ExecuteActivity(withRetries(dctx, bookkeepingWindow), fa.Load, in.ShipmentID).Get(dctx, &s.sh); err != nil {
				return ShipmentResult{}, err
			}
			if !s.sh.Status.Sent() {
				return ShipmentResult{Status: fulfilment.StatusCancelled}, nil
			}
			ctx = dctx
		}
	}
	// Let a scan in flight finish (its emails), and a step answer its caller.
	if err := s.lock.Lock(ctx); err == nil {
		s.lock.Unlock()
	}
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return ShipmentResult{Status: s.sh.Status, Resolution: s.sh.Resolution, Replacements: s.replacements}, nil
}

type shipment struct {
	in   ShipmentInput
	sh   fulfilment.Shipment
	lock workflow.Mutex
	// changes counts the state changes; the main loop waits on it.
	changes      int
	alerted      map[string]bool
	problems     int
	replacements []fulfilment.Shipment
}

// done: delivered, cancelled, or lost and resolved.
func (s *shipment) done() bool {
	return s.sh.Status == fulfilment.StatusDelivered || s.sh.Status == fulfilment.StatusCancelled || s.sh.Resolution != ""
}

// Deadlines, each alerting once.
const (
	deadlinePack      = "pack"
	deadlineFirstScan = "first-scan"
	deadlineDelivery  = "delivery"
	deadlineLost      = "lost"
)

// nextDeadline is the earliest deadline not yet alerted, from the times
// PostgreSQL recorded (so a restart does not move them).
func (s *shipment) nextDeadline() (time.Time, string) {
	d := s.in.Deadlines
	var at time.Time
	var what string
	consider := func(name string, t time.Time) {
		if !s.alerted[name] && (at.IsZero() || t.Before(at)) {
			at, what = t, name
		}
	}
	switch {
	case s.sh.Status.Open():
		consider(deadlinePack, s.sh.CreatedAt.Add(d.Pack))
	case s.sh.Status == fulfilment.StatusLost:
		// Waiting for staff to reship or refund.
	case s.sh.Status.Sent() && s.sh.ShippedAt != nil:
		shipped := *s.sh.ShippedAt
		if s.sh.LastScanAt == nil {
			consider(deadlineFirstScan, shipped.Add(d.FirstScan))
		}
		consider(deadlineDelivery, shipped.Add(d.Delivery))
		last := shipped
		if s.sh.LastScanAt != nil && s.sh.LastScanAt.After(last) {
			last = *s.sh.LastScanAt
		}
		// Each scan pushes the lost deadline on.
		consider(deadlineLost, last.Add(d.Lost))
	}
	return at, what
}

// missed escalates a deadline: staff hear of it once, the Temporal UI
// shows Overdue, and a parcel silent for too long is declared lost.
func (s *shipment) missed(ctx workflow.Context, what string) error {
	var fa *fulfilmentact.Activities
	if err := s.lock.Lock(ctx); err != nil {
		return err
	}
	defer s.lock.Unlock()
	id := s.in.ShipmentID
	actx := withRetries(ctx, bookkeepingWindow)
	// The parcel may have moved on outside this workflow (stopped by a
	// cancellation or a full refund, a scan recorded while it was down):
	// the deadline is judged on what PostgreSQL holds.
	var sh fulfilment.Shipment
	if err := workflow.ExecuteActivity(actx, fa.Load, id).Get(ctx, &sh); err != nil {
		return err
	}
	moved := sh.Status != s.sh.Status || !sameTime(sh.LastScanAt, s.sh.LastScanAt)
	s.sh = sh
	if moved {
		s.changed(ctx)
		return nil
	}
	s.alerted[what] = true
	d := s.in.Deadlines
	var note string
	switch what {
	case deadlinePack:
		note = fmt.Sprintf("not packed within %s of the order's payment", d.Pack)
	case deadlineFirstScan:
		note = fmt.Sprintf("no carrier scan within %s of shipping", d.FirstScan)
	case deadlineDelivery:
		note = fmt.Sprintf("not delivered within %s of shipping", d.Delivery)
		s.email(ctx, mail.KindShipmentDelayed, "delayed", "")
	case deadlineLost:
		note = fmt.Sprintf("no carrier scan for %s: presumed lost; reship or refund it", d.Lost)
		if err := workflow.ExecuteActivity(actx, fa.MarkLost, fulfilmentact.ProblemInput{ShipmentID: id, Note: note}).Get(ctx, &s.sh); err != nil {
			return err
		}
	}
	workflow.GetLogger(ctx).Warn("shipment deadline missed", "shipment", id, "deadline", what)
	if what != deadlineLost {
		if err := workflow.ExecuteActivity(actx, fa.SetOverdue,
			fulfilmentact.OverdueInput{ShipmentID: id, Overdue: true, Note: note}).Get(ctx, nil); err != nil {
			return err
		}
		s.sh.Overdue = true
	}
	s.email(ctx, mail.KindFulfilmentAlert, what, note)
	s.changed(ctx)
	return nil
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

func (s *shipment) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (fulfilment.Shipment, error) { return s.sh, nil }); err != nil {
		return err
	}
	var fa *fulfilmentact.Activities
	id := s.in.ShipmentID
	steps := []struct {
		name string
		fn   any
		// allowed: the statuses the step may start from (or end in).
		allowed []fulfilment.Status
	}{
		{PickUpdate, fa.Pick, []fulfilment.Status{fulfilment.StatusPending, fulfilment.StatusPicked}},
		{PackUpdate, fa.Pack, []fulfilment.Status{fulfilment.StatusPending, fulfilment.StatusPicked, fulfilment.StatusPacked}},
		{DeliverUpdate, fa.Deliver, []fulfilment.Status{fulfilment.StatusShipped, fulfilment.StatusInTransit,
			fulfilment.StatusOutForDelivery, fulfilment.StatusLost, fulfilment.StatusDelivered}},
	}
	for _, st := range steps {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, st.name, func(ctx workflow.Context) (fulfilment.Shipment, error) {
			return s.step(ctx, st.fn, id)
		}, workflow.UpdateHandlerOptions{Validator: func() error { return s.allow(st.name, st.allowed) }}); err != nil {
			return err
		}
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ShipUpdate, func(ctx workflow.Context, in fulfilment.ShipInput) (fulfilment.Shipment, error) {
		sh, err := s.step(ctx, fa.Ship, fulfilmentact.ShipInput{ShipmentID: id, Ship: in})
		if err == nil {
			s.email(ctx, mail.KindShipmentShipped, "shipped", "")
		}
		return sh, err
	}, workflow.UpdateHandlerOptions{Validator: func(in fulfilment.ShipInput) error {
		if err := in.Normalize(); err != nil {
			return fulfilmentact.Invalid(err)
		}
		return s.allow(ShipUpdate, []fulfilment.Status{fulfilment.StatusPacked, fulfilment.StatusShipped,
			fulfilment.StatusInTransit, fulfilment.StatusOutForDelivery, fulfilment.StatusDelivered})
	}}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, ProblemUpdate, func(ctx workflow.Context, note string) (fulfilment.Shipment, error) {
		sh, err := s.step(ctx, fa.ReportProblem, fulfilmentact.ProblemInput{ShipmentID: id, Note: note})
		if err == nil {
			s.problems++
			s.email(ctx, mail.KindFulfilmentAlert, fmt.Sprintf("problem-%d", s.problems), "problem reported: "+note)
		}
		return sh, err
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, ResolveUpdate, func(ctx workflow.Context, r Resolution) (ResolveResult, error) {
		return s.resolve(ctx, r)
	}, workflow.UpdateHandlerOptions{Validator: func(r Resolution) error {
		if r.Action != fulfilment.ResolveReship && r.Action != fulfilment.ResolveRefund {
			return temporal.NewApplicationError("action must be reship or refund", fulfilmentact.ErrTypeInvalid, "action")
		}
		if s.sh.Resolution == r.Action {
			return nil
		}
		return s.allow(ResolveUpdate, []fulfilment.Status{fulfilment.StatusLost})
	}})
}

// allow refuses a step the shipment's state rules out, before it is
// written to the history; the database checks again when the step runs.
func (s *shipment) allow(step string, from []fulfilment.Status) error {
	for _, st := range from {
		if s.sh.Status == st && (s.sh.Resolution == "" || step == ResolveUpdate) {
			return nil
		}
	}
	return temporal.NewApplicationError(fmt.Sprintf("shipment %d is %s: cannot %s it", s.in.ShipmentID, s.sh.Describe(), step),
		fulfilmentact.ErrTypeWrongState)
}

// step runs one staff step's activity, one step at a time.
func (s *shipment) step(ctx workflow.Context, activity, arg any) (fulfilment.Shipment, error) {
	if err := s.lock.Lock(ctx); err != nil {
		return s.sh, err
	}
	defer s.lock.Unlock()
	was := s.sh.Status
	var sh fulfilment.Shipment
	if err := workflow.ExecuteActivity(withRetries(ctx, stepWindow), activity, arg).Get(ctx, &sh); err != nil {
		return s.sh, err
	}
	s.sh = sh
	if sh.Status == fulfilment.StatusDelivered && was != fulfilment.StatusDelivered {
		s.email(ctx, mail.KindShipmentDelivered, "delivered", "")
	}
	s.changed(ctx)
	return sh, nil
}

// applyScan records a carrier scan; a replayed one changes nothing.
func (s *shipment) applyScan(ctx workflow.Context, scan fulfilment.Scan) {
	var fa *fulfilmentact.Activities
	if err := s.lock.Lock(ctx); err != nil {
		return
	}
	defer s.lock.Unlock()
	was := s.sh.Status
	var r fulfilment.ScanResult
	err := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), fa.ApplyScan,
		fulfilmentact.ScanInput{ShipmentID: s.in.ShipmentID, Scan: scan}).Get(ctx, &r)
	if err != nil {
		workflow.GetLogger(ctx).Warn("carrier scan not applied", "shipment", s.in.ShipmentID, "event", scan.EventID, "error", err)
		return
	}
	// The carrier webhook records the scan first; this run reads the
	// parcel as it now is (so a duplicate still brings it up to date).
	s.sh = r.Shipment
	if scan.Kind == fulfilment.ScanException {
		s.email(ctx, mail.KindFulfilmentAlert, "exception-"+scan.EventID, "the carrier reports a problem: "+scan.Description)
	}
	if s.sh.Status == fulfilment.StatusDelivered && was != fulfilment.StatusDelivered {
		s.email(ctx, mail.KindShipmentDelivered, "delivered", "")
	}
	s.changed(ctx)
}

// resolve carries out staff's decision on a lost parcel: a replacement
// (stock reserved again; the order's fulfilment runs it) or a refund of
// its lines through the refund workflow.
func (s *shipment) resolve(ctx workflow.Context, r Resolution) (ResolveResult, error) {
	var fa *fulfilmentact.Activities
	if err := s.lock.Lock(ctx); err != nil {
		return ResolveResult{}, err
	}
	defer s.lock.Unlock()
	id := s.in.ShipmentID
	actx := withRetries(ctx, stepWindow)
	var out ResolveResult
	switch r.Action {
	case fulfilment.ResolveReship:
		if err := workflow.ExecuteActivity(actx, fa.Reship, id).Get(ctx, &out.Replacements); err != nil {
			return out, err
		}
		s.replacements = out.Replacements
	case fulfilment.ResolveRefund:
		var lr fulfilmentact.LostRefund
		if err := workflow.ExecuteActivity(actx, fa.RefundLost, fulfilmentact.RefundLostInput{ShipmentID: id, By: r.By}).Get(ctx, &lr); err != nil {
			return out, err
		}
		out.RefundID = lr.Refund.ID
		if lr.Refund.ID != 0 {
			if err := startRefund(ctx, s.in, lr); err != nil {
				return out, err
			}
		}
	}
	if err := workflow.ExecuteActivity(withRetries(ctx, bookkeepingWindow), fa.Load, id).Get(ctx, &s.sh); err != nil {
		return out, err
	}
	out.Shipment = s.sh
	s.changed(ctx)
	return out, nil
}

// startRefund runs the refund on its own (an operator may need to settle
// it long after this parcel's story ends).
func startRefund(ctx workflow.Context, in ShipmentInput, lr fulfilmentact.LostRefund) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            refund.WorkflowID(lr.Refund.ID),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(refund.Attributes(in.OrderID, in.CustomerID)...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, refund.Name, refund.Input{RefundID: lr.Refund.ID, OrderID: in.OrderID,
		CustomerID: in.CustomerID, Amount: lr.Refund.Amount, PaymentIntentID: lr.PaymentIntentID})
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

// changed wakes the main loop and shows the new state in the Temporal UI.
func (s *shipment) changed(ctx workflow.Context) {
	s.changes++
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.FulfilmentStatus.ValueSet(string(s.sh.Status)),
		searchattr.Overdue.ValueSet(s.sh.Overdue)); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// email asks for an email about this parcel, once per event (the key).
func (s *shipment) email(ctx workflow.Context, kind, event, reason string) {
	var fa *fulfilmentact.Activities
	req := fulfilmentact.EmailRequest{ShipmentID: s.in.ShipmentID, Kind: kind, Reason: reason,
		Key: fmt.Sprintf("shipment-%d-%s", s.in.ShipmentID, event)}
	email.SendPrepared(ctx, fa.ShipmentEmail, req)
}
