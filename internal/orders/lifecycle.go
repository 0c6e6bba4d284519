package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/pricing"
)

// Lock reads the order's status under a row lock for the rest of tx: the
// steps after the payment (shipments, returns) take it first, so they and
// a cancellation or refund of the same order are serialized.
func Lock(ctx context.Context, tx pgx.Tx, id int64) (Status, error) { return lockOrder(ctx, tx, id) }

// SetStatus moves the order to st in tx and adds it to the timeline.
func SetStatus(ctx context.Context, tx pgx.Tx, id int64, st Status, reason string) error {
	return setStatus(ctx, tx, id, st, reason)
}

// AddEvent adds an entry (what, note) to the order's timeline in tx.
func AddEvent(ctx context.Context, tx pgx.Tx, id int64, what, note string) error {
	return addEvent(ctx, tx, id, what, note)
}

// lockOrder reads the order's status under a row lock for the rest of tx.
func lockOrder(ctx context.Context, tx pgx.Tx, id int64) (Status, error) {
	var st Status
	err := tx.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1 FOR UPDATE`, id).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	return st, err
}

func setStatus(ctx context.Context, tx pgx.Tx, id int64, st Status, reason string) error {
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`,
		id, st, reason); err != nil {
		return err
	}
	return addEvent(ctx, tx, id, string(st), reason)
}

// SetPaymentIntent records the order's Stripe PaymentIntent. Recording the
// same one again is a no-op; a different one is refused.
func (s *Store) SetPaymentIntent(ctx context.Context, id int64, paymentIntentID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE orders SET payment_intent_id = $2, updated_at = now()
		WHERE id = $1 AND (payment_intent_id IS NULL OR payment_intent_id = $2)`, id, paymentIntentID)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("order %d already has another PaymentIntent: %w", id, ErrWrongState)
	}
	return err
}

// EventNeedsAttention marks a timeline entry that staff must act on.
const EventNeedsAttention = "needs_attention"

// Flag records that the order needs staff (a payment that does not match
// it, say) as its status reason and on its timeline; the status stays.
// Flagging with the same note again is a no-op, so a retry adds nothing.
func (s *Store) Flag(ctx context.Context, id int64, note string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockOrder(ctx, tx, id); err != nil {
			return err
		}
		var dup bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM order_events WHERE order_id = $1 AND status = $2 AND note = $3)`,
			id, EventNeedsAttention, note).Scan(&dup); err != nil || dup {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET status_reason = $2, updated_at = now() WHERE id = $1`, id, note); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, EventNeedsAttention, note)
	})
}

// MarkPaid records the captured payment and commits the held stock. Marking
// a paid order again is a no-op.
func (s *Store) MarkPaid(ctx context.Context, id, amount int64, note string) error {
	paidIn := "" // the currency, once this call marked it paid
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		paidIn = ""
		st, err := lockOrder(ctx, tx, id)
		if err != nil || st == StatusPaid {
			return err
		}
		if st != StatusAwaitingPayment {
			return fmt.Errorf("order %d is %s, cannot be marked paid: %w", id, st, ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE stock_reservations SET state = 'committed', updated_at = now()
			WHERE order_id = $1 AND state = 'held'`, id); err != nil {
			return err
		}
		var currency string
		if err := tx.QueryRow(ctx, `UPDATE orders SET captured_minor = $2, paid_at = now() WHERE id = $1 RETURNING currency`,
			id, amount).Scan(&currency); err != nil {
			return err
		}
		paidIn = currency
		return setStatus(ctx, tx, id, StatusPaid, note)
	})
	if err == nil && paidIn != "" {
		metrics.OrderPaid(paidIn, amount)
	}
	return err
}

// Release ends an unpaid order (payment failed, cancelled, timed out): its
// held stock and coupon use go back. Releasing twice is a no-op; an order
// that was paid meanwhile is left alone and reported with ErrWrongState.
func (s *Store) Release(ctx context.Context, id int64, st Status, reason string) error {
	released := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		released = false
		cur, err := lockOrder(ctx, tx, id)
		if err != nil || cur == st {
			return err
		}
		if cur != StatusAwaitingPayment {
			return fmt.Errorf("order %d is %s: %w", id, cur, ErrWrongState)
		}
		if err := restock(ctx, tx, id, "held"); err != nil {
			return err
		}
		if s.coupons != nil {
			if err := s.coupons.Release(ctx, tx, id); err != nil {
				return err
			}
		}
		released = true
		return setStatus(ctx, tx, id, st, reason)
	})
	if err == nil && released {
		metrics.OrderClosedUnpaid(string(st))
	}
	return err
}

// CancelPaid cancels a paid order that has not shipped: its committed stock
// goes back on the shelf. The refund is a separate step.
func (s *Store) CancelPaid(ctx context.Context, id int64, reason string) error {
	cancelled := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cancelled = false
		cur, err := lockOrder(ctx, tx, id)
		if err != nil || cur == StatusCancelled {
			return err
		}
		if cur != StatusPaid {
			return fmt.Errorf("order %d is %s: %w", id, cur, ErrNotCancellable)
		}
		if err := restock(ctx, tx, id, "committed"); err != nil {
			return err
		}
		// Nothing has left (the order is still paid): its parcels stop.
		if err := cancelOpenShipments(ctx, tx, id); err != nil {
			return err
		}
		cancelled = true
		return setStatus(ctx, tx, id, StatusCancelled, reason)
	})
	if err == nil && cancelled {
		metrics.PaidOrderCancelled()
	}
	return err
}

// cancelOpenShipments stops the order's parcels that have not left; their
// stock was released by the caller, in the same transaction.
func cancelOpenShipments(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE shipments SET status = 'cancelled', updated_at = now()
		WHERE order_id = $1 AND status IN ('pending', 'picked', 'packed')`, id)
	return err
}

// restock gives the units of the order's reservations in state from back
// to the locations that held them.
func restock(ctx context.Context, tx pgx.Tx, id int64, from string) error {
	rows, err := tx.Query(ctx, `UPDATE stock_reservations SET state = 'released', updated_at = now()
		WHERE order_id = $1 AND state = $2 RETURNING location_id, product_id, coalesce(variant_id, 0), quantity`, id, from)
	if err != nil {
		return err
	}
	held, err := inventory.CollectHeld(rows)
	if err != nil {
		return err
	}
	return inventory.Release(ctx, tx, held)
}

// RequestRefund opens a refund of amount (0: everything still refundable).
// Captured minus refunded minus open refunds bounds it, under the order's
// row lock, so concurrent requests can never refund more than was paid.
func (s *Store) RequestRefund(ctx context.Context, orderID, amount int64, reason string, by int64) (Refund, error) {
	var r Refund
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st, err := lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if !st.Refundable() {
			return fmt.Errorf("%w: the order is %s", ErrNotRefundable, st)
		}
		left, currency, err := refundable(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if amount == 0 {
			amount = left
		}
		if amount <= 0 || amount > left {
			return fmt.Errorf("%w: %d requested, %d refundable", ErrNotRefundable, amount, max(left, 0))
		}
		r.ID, err = openRefund(ctx, tx, orderID, amount, currency, reason, by, RefundKindRequested)
		return err
	})
	if err != nil {
		return Refund{}, err
	}
	return s.GetRefund(ctx, r.ID)
}

// CancellationRefund opens, once, the refund of everything still
// refundable of a paid order that CancelPaid cancelled. The refund is kept
// as the cancellation's (RefundKindCancellation), and that is how a retry
// finds it: it answers the refund already opened (unless it failed)
// instead of opening another, whatever its reason says. It answers a zero
// Refund when nothing is left to refund (refunds requested before the
// cancellation cover it all).
func (s *Store) CancellationRefund(ctx context.Context, orderID int64, reason string, by int64) (Refund, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st, err := lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if st != StatusCancelled {
			return fmt.Errorf("order %d is %s, not cancelled: %w", orderID, st, ErrWrongState)
		}
		err = tx.QueryRow(ctx, `SELECT id FROM refunds WHERE order_id = $1 AND kind = $2 AND status <> 'failed'`,
			orderID, RefundKindCancellation).Scan(&id)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		left, currency, err := refundable(ctx, tx, orderID)
		if err != nil || left <= 0 {
			return err
		}
		id, err = openRefund(ctx, tx, orderID, left, currency, reason, by, RefundKindCancellation)
		return err
	})
	if err != nil || id == 0 {
		return Refund{}, err
	}
	return s.GetRefund(ctx, id)
}

// refundable answers what of the order's payment is neither refunded nor
// in an open refund, under the order's row lock.
func refundable(ctx context.Context, tx pgx.Tx, orderID int64) (left int64, currency string, err error) {
	err = tx.QueryRow(ctx, `SELECT o.captured_minor - o.refunded_minor - coalesce((SELECT sum(amount_minor)
		FROM refunds WHERE order_id = o.id AND status IN ('pending', 'needs_attention')), 0), o.currency
		FROM orders o WHERE o.id = $1`, orderID).Scan(&left, &currency)
	return left, currency, err
}

func openRefund(ctx context.Context, tx pgx.Tx, orderID, amount int64, currency, reason string, by int64, kind string) (int64, error) {
	var actor any
	if by > 0 {
		actor = by
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO refunds (order_id, amount_minor, currency, reason, status, requested_by, kind)
		VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id`, orderID, amount, currency, reason, actor, kind).Scan(&id); err != nil {
		return 0, err
	}
	return id, addEvent(ctx, tx, orderID, "refund_requested", fmt.Sprintf("refund %d of %d minor units: %s", id, amount, reason))
}

// CompleteRefund records money returned for refund id. Completing it again
// is a no-op.
func (s *Store) CompleteRefund(ctx context.Context, id int64, stripeRefundID, note string) error {
	var done *Refund // the refund, once this call completed it
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		done = nil
		r, err := lockRefund(ctx, tx, id)
		if err != nil || r.Status == RefundSucceeded {
			return err
		}
		done = &r
		if r.Status == RefundFailed {
			return fmt.Errorf("refund %d: %w", id, ErrRefundNotOpen)
		}
		cur, err := lockOrder(ctx, tx, r.OrderID)
		if err != nil {
			return err
		}
		var stripeID any
		if stripeRefundID != "" {
			stripeID = stripeRefundID
		}
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = 'succeeded', stripe_refund_id = coalesce($2, stripe_refund_id),
			last_error = '', updated_at = now() WHERE id = $1`, id, stripeID); err != nil {
			return err
		}
		var refunded, captured int64
		if err := tx.QueryRow(ctx, `UPDATE orders SET refunded_minor = refunded_minor + $2, updated_at = now()
			WHERE id = $1 RETURNING refunded_minor, captured_minor`, r.OrderID, r.Amount).Scan(&refunded, &captured); err != nil {
			return err
		}
		msg := fmt.Sprintf("refund %d of %d minor units succeeded", id, r.Amount)
		if note != "" {
			msg += ": " + note
		}
		// Everything paid back ends the order (unless it was cancelled); a
		// part refunded shows as such only before anything shipped: after
		// that the status follows the parcels.
		switch {
		case refunded == captured && cur != StatusCancelled:
			// Paid back in full: what has not shipped stays on the shelf.
			if err := restock(ctx, tx, r.OrderID, "committed"); err != nil {
				return err
			}
			if err := cancelOpenShipments(ctx, tx, r.OrderID); err != nil {
				return err
			}
			return setStatus(ctx, tx, r.OrderID, StatusRefunded, msg)
		case cur == StatusPaid:
			return setStatus(ctx, tx, r.OrderID, StatusPartiallyRefunded, msg)
		}
		return addEvent(ctx, tx, r.OrderID, "refunded", msg)
	})
	if err == nil && done != nil {
		metrics.RefundSucceeded(done.Currency, done.Amount)
	}
	return err
}

// RefundNeedsAttention flags a refund that Stripe keeps refusing.
func (s *Store) RefundNeedsAttention(ctx context.Context, id int64, lastErr string) error {
	return s.setRefundStatus(ctx, id, RefundNeedsAttention, lastErr)
}

// ReopenRefund puts a flagged refund back to pending before another attempt.
func (s *Store) ReopenRefund(ctx context.Context, id int64) error {
	return s.setRefundStatus(ctx, id, RefundPending, "")
}

// FailRefund closes a refund without money returned (ops gave up).
func (s *Store) FailRefund(ctx context.Context, id int64, note string) error {
	return s.setRefundStatus(ctx, id, RefundFailed, note)
}

func (s *Store) setRefundStatus(ctx context.Context, id int64, status RefundStatus, lastErr string) error {
	changed := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		changed = false
		r, err := lockRefund(ctx, tx, id)
		if err != nil || r.Status == status {
			return err
		}
		if r.Status == RefundSucceeded || r.Status == RefundFailed {
			return fmt.Errorf("refund %d is %s: %w", id, r.Status, ErrRefundNotOpen)
		}
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = $2, last_error = $3, updated_at = now() WHERE id = $1`,
			id, status, lastErr); err != nil {
			return err
		}
		changed = true
		// The timeline is the customer's: it says what happens in plain
		// words; Stripe's and the operators' detail stays in last_error.
		return addEvent(ctx, tx, r.OrderID, "refund_"+string(status), refundNotice(id, status))
	})
	if err == nil && changed && status != RefundPending {
		metrics.RefundSettled(string(status))
	}
	return err
}

func refundNotice(id int64, status RefundStatus) string {
	switch status {
	case RefundNeedsAttention:
		return fmt.Sprintf("refund %d is delayed; the shop is looking into it", id)
	case RefundFailed:
		return fmt.Sprintf("refund %d could not be completed; the shop will contact you", id)
	case RefundPending:
		return fmt.Sprintf("refund %d is being tried again", id)
	}
	return fmt.Sprintf("refund %d: %s", id, status)
}

func lockRefund(ctx context.Context, tx pgx.Tx, id int64) (Refund, error) {
	var r Refund
	err := tx.QueryRow(ctx, `SELECT id, order_id, amount_minor, status FROM refunds WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.ID, &r.OrderID, &r.Amount, &r.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("refund %d: %w", id, ErrNotFound)
	}
	return r, err
}

// LineQuantity is units of one order line.
type LineQuantity struct {
	Line     int32
	Quantity int32
}

// RefundLines opens, in tx (the order locked by Lock), a refund of kind for
// the units of lines: their share of what was paid for the goods (discount
// and tax included, shipping not), bounded by what is still refundable.
// It answers a zero Refund when nothing is left to refund.
func RefundLines(ctx context.Context, tx pgx.Tx, orderID int64, lines []LineQuantity, kind, reason string, by int64) (Refund, error) {
	var subtotal, discount, taxPPM int64
	if err := tx.QueryRow(ctx, `SELECT subtotal_minor, discount_minor, tax_ppm FROM orders WHERE id = $1`, orderID).
		Scan(&subtotal, &discount, &taxPPM); err != nil {
		return Refund{}, err
	}
	var part int64
	for _, l := range lines {
		var unit int64
		if err := tx.QueryRow(ctx, `SELECT unit_price_minor FROM order_items WHERE order_id = $1 AND line = $2`,
			orderID, l.Line).Scan(&unit); err != nil {
			return Refund{}, fmt.Errorf("order %d line %d: %w", orderID, l.Line, err)
		}
		part += unit * int64(l.Quantity)
	}
	left, currency, err := refundable(ctx, tx, orderID)
	if err != nil {
		return Refund{}, err
	}
	amount := min(pricing.PartValue(part, subtotal, discount, taxPPM), left)
	if amount <= 0 {
		return Refund{}, nil
	}
	id, err := openRefund(ctx, tx, orderID, amount, currency, reason, by, kind)
	return Refund{ID: id, OrderID: orderID, Amount: amount, Currency: currency, Reason: reason, Kind: kind, Status: RefundPending}, err
}
