package returns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Store reads and writes returns.
type Store struct {
	pool   *pgxpool.Pool
	policy Policy
}

// NewStore returns a Store applying policy (zero fields: DefaultPolicy).
func NewStore(pool *pgxpool.Pool, policy Policy) *Store {
	d := DefaultPolicy
	policy.Window = cmp.Or(policy.Window, d.Window)
	policy.RefundShipping = cmp.Or(policy.RefundShipping, d.RefundShipping)
	policy.ExpireAfter = cmp.Or(policy.ExpireAfter, d.ExpireAfter)
	policy.RestockingFeePercent = min(max(policy.RestockingFeePercent, 0), 100)
	return &Store{pool: pool, policy: policy}
}

// Policy answers the rules the store applies.
func (s *Store) Policy() Policy { return s.policy }

// Request records a customer's return request. Only units of delivered
// parcels of the customer's order, within the return window of their
// delivery, and not already held by an open or completed return can be
// returned; an exchange must be for another variant of the line's product
// costing no more than was paid.
func (s *Store) Request(ctx context.Context, in RequestInput) (Return, error) {
	if err := in.Normalize(); err != nil {
		return Return{}, err
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockOrder(ctx, tx, in.OrderID); err != nil {
			return err
		}
		var owner int64
		if err := tx.QueryRow(ctx, `SELECT user_id FROM orders WHERE id = $1`, in.OrderID).Scan(&owner); err != nil {
			return err
		}
		if in.CustomerID != 0 && owner != in.CustomerID {
			return fmt.Errorf("order %d: %w", in.OrderID, ErrNotFound)
		}
		type checked struct {
			exchangeUnit any
		}
		lines := make([]checked, len(in.Lines))
		for i, l := range in.Lines {
			f := fmt.Sprintf("lines[%d]", i)
			var product, variant, unit int64
			err := tx.QueryRow(ctx, `SELECT product_id, coalesce(variant_id, 0), unit_price_minor FROM order_items
				WHERE order_id = $1 AND line = $2`, in.OrderID, l.Line).Scan(&product, &variant, &unit)
			if errors.Is(err, pgx.ErrNoRows) {
				return validation.New(f+".line", "order %d has no line %d", in.OrderID, l.Line)
			}
			if err != nil {
				return err
			}
			if err := s.checkReturnable(ctx, tx, in.OrderID, l); err != nil {
				return err
			}
			if l.ExchangeVariantID != 0 {
				price, err := exchangePrice(ctx, tx, f, l, product, variant, unit)
				if err != nil {
					return err
				}
				lines[i].exchangeUnit = price
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO returns (order_id, reason, customer_note) VALUES ($1, $2, $3) RETURNING id`,
			in.OrderID, in.Reason, in.Note).Scan(&id); err != nil {
			return err
		}
		for i, l := range in.Lines {
			if _, err := tx.Exec(ctx, `INSERT INTO return_lines (return_id, line, quantity, reason, exchange_variant_id,
				exchange_unit_minor) VALUES ($1, $2, $3, $4, $5, $6)`, id, l.Line, l.Quantity, l.Reason,
				nullable(l.ExchangeVariantID), lines[i].exchangeUnit); err != nil {
				return err
			}
		}
		return orders.AddEvent(ctx, tx, in.OrderID, "return_requested", fmt.Sprintf("return %d requested", id))
	})
	if err != nil {
		return Return{}, err
	}
	return s.Get(ctx, id)
}

// checkReturnable holds a line's quantity to what was delivered within the
// window, less what other returns hold.
func (s *Store) checkReturnable(ctx context.Context, tx pgx.Tx, orderID int64, l LineRequest) error {
	var delivered, inWindow, held int32
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(sl.quantity), 0),
			coalesce(sum(sl.quantity) FILTER (WHERE s.delivered_at > now() - $3 * interval '1 microsecond'), 0)
		FROM shipment_lines sl JOIN shipments s ON s.id = sl.shipment_id
		WHERE s.order_id = $1 AND sl.line = $2 AND s.status = 'delivered' AND s.return_id IS NULL AND s.resolution = ''`,
		orderID, l.Line, s.policy.Window.Microseconds()).Scan(&delivered, &inWindow); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(rl.quantity), 0) FROM return_lines rl JOIN returns r ON r.id = rl.return_id
		WHERE r.order_id = $1 AND rl.line = $2 AND r.status NOT IN ('refused', 'expired')`, orderID, l.Line).Scan(&held); err != nil {
		return err
	}
	// Never more than was ordered, less what was refunded as lost.
	var ordered, lost int32
	if err := tx.QueryRow(ctx, `SELECT i.quantity, coalesce((SELECT sum(sl.quantity) FROM shipment_lines sl
			JOIN shipments s ON s.id = sl.shipment_id WHERE s.order_id = i.order_id AND sl.line = i.line AND s.resolution = 'refund'), 0)
		FROM order_items i WHERE i.order_id = $1 AND i.line = $2`, orderID, l.Line).Scan(&ordered, &lost); err != nil {
		return err
	}
	inWindow = min(inWindow, ordered-lost)
	switch left := inWindow - held; {
	case delivered == 0:
		return fmt.Errorf("%w: line %d has not been delivered yet", ErrNotReturnable, l.Line)
	case inWindow == 0:
		return fmt.Errorf("%w: the return window of line %d closed %s after its delivery", ErrNotReturnable, l.Line, human(s.policy.Window))
	case l.Quantity > left:
		return fmt.Errorf("%w: %d unit(s) of line %d asked, %d delivered within the return window and %d already in returns",
			ErrNotReturnable, l.Quantity, l.Line, inWindow, held)
	}
	return nil
}

// exchangePrice checks an exchange and answers the variant's unit price.
func exchangePrice(ctx context.Context, tx pgx.Tx, field string, l LineRequest, product, variant, unit int64) (int64, error) {
	var vProduct, price int64
	var active bool
	err := tx.QueryRow(ctx, `SELECT v.product_id, coalesce(v.price_minor, p.price_minor), v.active AND p.active
		FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1`, l.ExchangeVariantID).
		Scan(&vProduct, &price, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, validation.New(field+".exchange_variant_id", "no variant %d", l.ExchangeVariantID)
	case err != nil:
		return 0, err
	case vProduct != product:
		return 0, validation.New(field+".exchange_variant_id", "variant %d is not a variant of line %d's product", l.ExchangeVariantID, l.Line)
	case l.ExchangeVariantID == variant:
		return 0, validation.New(field+".exchange_variant_id", "is the variant line %d already has", l.Line)
	case !active:
		return 0, fmt.Errorf("%w: variant %d is no longer sold", ErrNotReturnable, l.ExchangeVariantID)
	case price > unit:
		return 0, fmt.Errorf("%w: variant %d costs %d minor units, more than the %d paid for line %d; an exchange for a dearer variant is not possible (return the item and order the other)",
			ErrNotReturnable, l.ExchangeVariantID, price, unit, l.Line)
	}
	return price, nil
}

// Approve records staff's approval; approving again is a no-op.
func (s *Store) Approve(ctx context.Context, id int64, d Decision) (Return, error) {
	return s.decide(ctx, id, StatusApproved, d)
}

// Refuse records staff's refusal; refusing again is a no-op.
func (s *Store) Refuse(ctx context.Context, id int64, d Decision) (Return, error) {
	return s.decide(ctx, id, StatusRefused, d)
}

func (s *Store) decide(ctx context.Context, id int64, to Status, d Decision) (Return, error) {
	if err := d.Normalize(); err != nil {
		return Return{}, err
	}
	err := s.tx(ctx, id, func(tx pgx.Tx, r row, _ orders.Status) error {
		if r.status == to {
			return nil
		}
		if r.status != StatusRequested {
			return fmt.Errorf("return %d is %s, cannot be %s: %w", id, r.status, to, ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE returns SET status = $2, staff_note = $3, decided_by = $4, decided_at = now(),
			closed_at = CASE WHEN $2 = 'refused' THEN now() END, updated_at = now() WHERE id = $1`,
			id, to, d.Note, nullable(d.By)); err != nil {
			return err
		}
		note := fmt.Sprintf("return %d %s", id, to)
		if d.Note != "" {
			note += ": " + d.Note
		}
		return orders.AddEvent(ctx, tx, r.orderID, "return_"+string(to), note)
	})
	if err != nil {
		return Return{}, err
	}
	return s.Get(ctx, id)
}

// Receive records the return's parcel, once: per line, how many units are
// resellable (back on hand at the line's location, audited in
// stock_adjustments) and how many damaged (written off). The replacements
// of exchange lines are reserved and made up into new parcels in the same
// transaction, so a receipt without stock for them is refused whole
// (fulfilment.ErrNoStock). Receiving again is refused with ErrWrongState.
func (s *Store) Receive(ctx context.Context, id int64, in ReceiveInput) (Return, error) {
	if err := in.Normalize(); err != nil {
		return Return{}, err
	}
	err := s.tx(ctx, id, func(tx pgx.Tx, r row, _ orders.Status) error {
		if r.status != StatusApproved {
			if r.status == StatusReceived || r.status == StatusRefunded {
				return fmt.Errorf("return %d was already received: %w", id, ErrWrongState)
			}
			return fmt.Errorf("return %d is %s, not approved: %w", id, r.status, ErrWrongState)
		}
		lines, err := readLines(ctx, tx, id)
		if err != nil {
			return err
		}
		byLine := map[int32]Line{}
		for _, l := range lines {
			byLine[l.Line] = l
		}
		got := map[int32]bool{}
		for i, rl := range in.Lines {
			f := fmt.Sprintf("lines[%d]", i)
			l, ok := byLine[rl.Line]
			if !ok {
				return validation.New(f+".line", "line %d is not in return %d", rl.Line, id)
			}
			if rl.Resellable+rl.Damaged != l.Quantity {
				return validation.New(f+".resellable", "resellable (%d) plus damaged (%d) must be the %d unit(s) returned of line %d",
					rl.Resellable, rl.Damaged, l.Quantity, rl.Line)
			}
			got[rl.Line] = true
		}
		for _, l := range lines {
			if !got[l.Line] {
				return validation.New("lines", "say what came back of line %d", l.Line)
			}
		}
		var exchanges []fulfilment.ExchangeLine
		// Stock rows are locked in the writers' order (product, variant,
		// location), so concurrent receipts and orders cannot deadlock.
		order := make([]int, len(in.Lines))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			la, lb := byLine[in.Lines[a].Line], byLine[in.Lines[b].Line]
			return cmp.Or(cmp.Compare(la.ProductID, lb.ProductID), cmp.Compare(la.VariantID, lb.VariantID),
				cmp.Compare(in.Lines[a].LocationID, in.Lines[b].LocationID))
		})
		for _, i := range order {
			rl := in.Lines[i]
			l := byLine[rl.Line]
			location := rl.LocationID
			if rl.Resellable > 0 {
				res, err := inventory.Adjust(ctx, tx, inventory.Adjustment{LocationID: rl.LocationID, ProductID: l.ProductID,
					VariantID: l.VariantID, Delta: rl.Resellable, ActorID: in.By,
					Reason: fmt.Sprintf("return %d of order %d: %d resellable unit(s) of line %d", id, r.orderID, rl.Resellable, rl.Line)})
				if errors.Is(err, inventory.ErrNotFound) {
					return validation.New(fmt.Sprintf("lines[%d].location_id", i), "no location %d", rl.LocationID)
				}
				if err != nil {
					return err
				}
				location = res.LocationID
			}
			if _, err := tx.Exec(ctx, `UPDATE return_lines SET resellable = $3, damaged = $4, location_id = $5
				WHERE return_id = $1 AND line = $2`, id, rl.Line, rl.Resellable, rl.Damaged, nullable(location)); err != nil {
				return err
			}
			if l.ExchangeVariantID != 0 {
				exchanges = append(exchanges, fulfilment.ExchangeLine{Line: l.Line, ProductID: l.ProductID,
					VariantID: l.ExchangeVariantID, Quantity: l.Quantity})
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE returns SET status = 'received', received_at = now(), received_by = $2,
			staff_note = CASE WHEN $3 = '' THEN staff_note ELSE $3 END, updated_at = now() WHERE id = $1`,
			id, nullable(in.By), in.Note); err != nil {
			return err
		}
		if _, err := fulfilment.SendExchange(ctx, tx, id, r.orderID, exchanges); err != nil {
			return err
		}
		return orders.AddEvent(ctx, tx, r.orderID, "return_received", fmt.Sprintf("return %d received", id))
	})
	if err != nil {
		return Return{}, err
	}
	return s.Get(ctx, id)
}

// Refund opens the refund of a received return, once, and closes it: the
// received lines' share of what was paid, less the restocking fee, plus
// the price difference of exchanges for a cheaper variant, plus the
// order's shipping when the policy refunds it. The refund's id is stored
// on the return, so refunding again answers the same refund (a zero
// Refund when there was nothing to pay back).
func (s *Store) Refund(ctx context.Context, id, by int64) (orders.Refund, error) {
	var out orders.Refund
	err := s.tx(ctx, id, func(tx pgx.Tx, r row, st orders.Status) error {
		if r.status == StatusRefunded {
			if r.refundID == 0 {
				return nil
			}
			out = orders.Refund{ID: r.refundID, OrderID: r.orderID}
			return tx.QueryRow(ctx, `SELECT amount_minor, currency, status FROM refunds WHERE id = $1`, r.refundID).
				Scan(&out.Amount, &out.Currency, &out.Status)
		}
		if r.status != StatusReceived {
			return fmt.Errorf("return %d is %s, not received: %w", id, r.status, ErrWrongState)
		}
		lines, err := readLines(ctx, tx, id)
		if err != nil {
			return err
		}
		var subtotal, discount, taxPPM, shipping int64
		if err := tx.QueryRow(ctx, `SELECT subtotal_minor, discount_minor, tax_ppm, shipping_minor FROM orders WHERE id = $1`,
			r.orderID).Scan(&subtotal, &discount, &taxPPM, &shipping); err != nil {
			return err
		}
		var refunded, difference int64
		for _, l := range lines {
			if l.ExchangeVariantID != 0 {
				difference += max(l.UnitPrice-l.ExchangeUnitPrice, 0) * int64(l.Quantity)
			} else {
				refunded += l.UnitPrice * int64(l.Quantity)
			}
		}
		goods := pricing.PartValue(refunded, subtotal, discount, taxPPM)
		fee := (goods*s.policy.RestockingFeePercent + 50) / 100
		amount := goods - fee + pricing.PartValue(difference, subtotal, discount, taxPPM)
		var shippingBack int64
		if s.policy.RefundShipping == ShippingFullReturn && shipping > 0 {
			var ordered, returned, shippingRefunded int64
			if err := tx.QueryRow(ctx, `SELECT (SELECT coalesce(sum(quantity), 0) FROM order_items WHERE order_id = $1),
				(SELECT coalesce(sum(rl.quantity), 0) FROM return_lines rl JOIN returns r ON r.id = rl.return_id
				 WHERE r.order_id = $1 AND r.status IN ('received', 'refunded') AND rl.exchange_variant_id IS NULL),
				(SELECT coalesce(sum(shipping_refund_minor), 0) FROM returns WHERE order_id = $1)`, r.orderID).
				Scan(&ordered, &returned, &shippingRefunded); err != nil {
				return err
			}
			if returned >= ordered && shippingRefunded == 0 {
				shippingBack = shipping
			}
		}
		amount += shippingBack
		if amount > 0 && st.Refundable() {
			out, err = orders.OpenRefund(ctx, tx, r.orderID, amount, orders.RefundKindReturn, fmt.Sprintf("return %d", id), by)
			if err != nil {
				return err
			}
		}
		if out.ID == 0 {
			shippingBack = 0
		}
		if _, err := tx.Exec(ctx, `UPDATE returns SET status = 'refunded', refund_id = $2, restocking_fee_minor = $3,
			shipping_refund_minor = $4, closed_at = now(), updated_at = now() WHERE id = $1`,
			id, nullable(out.ID), fee, shippingBack); err != nil {
			return err
		}
		if out.ID == 0 {
			return orders.AddEvent(ctx, tx, r.orderID, "return_closed", fmt.Sprintf("return %d closed: nothing to refund", id))
		}
		return nil
	})
	return out, err
}

// Expire ends an approved return whose parcel did not arrive in time;
// expiring again is a no-op.
func (s *Store) Expire(ctx context.Context, id int64) (Return, error) {
	err := s.tx(ctx, id, func(tx pgx.Tx, r row, _ orders.Status) error {
		if r.status == StatusExpired {
			return nil
		}
		if r.status != StatusApproved {
			return fmt.Errorf("return %d is %s, not approved: %w", id, r.status, ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE returns SET status = 'expired', closed_at = now(), updated_at = now() WHERE id = $1`,
			id); err != nil {
			return err
		}
		return orders.AddEvent(ctx, tx, r.orderID, "return_expired",
			fmt.Sprintf("return %d expired: the parcel did not arrive within %s of the approval", id, human(s.policy.ExpireAfter)))
	})
	if err != nil {
		return Return{}, err
	}
	return s.Get(ctx, id)
}

type row struct {
	orderID  int64
	status   Status
	refundID int64
}

// tx runs fn on the return in a transaction holding its order's row lock
// (taken first, as every order step does) and the return's.
func (s *Store) tx(ctx context.Context, id int64, fn func(tx pgx.Tx, r row, st orders.Status) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var r row
		err := tx.QueryRow(ctx, `SELECT order_id FROM returns WHERE id = $1`, id).Scan(&r.orderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("return %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		st, err := lockOrder(ctx, tx, r.orderID)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT status, coalesce(refund_id, 0) FROM returns WHERE id = $1 FOR UPDATE`, id).
			Scan(&r.status, &r.refundID); err != nil {
			return err
		}
		return fn(tx, r, st)
	})
}

func lockOrder(ctx context.Context, tx pgx.Tx, orderID int64) (orders.Status, error) {
	st, err := orders.Lock(ctx, tx, orderID)
	if errors.Is(err, orders.ErrNotFound) {
		return st, fmt.Errorf("order %d: %w", orderID, ErrNotFound)
	}
	return st, err
}

func nullable(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// human shows a duration in days when it is whole days.
func human(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
