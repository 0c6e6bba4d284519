package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/address"
)

const orderColumns = `o.id, o.user_id, o.status, o.status_reason, o.currency, o.subtotal_minor, o.discount_minor,
	o.shipping_minor, o.tax_minor, o.tax_ppm, o.total_minor, o.captured_minor, o.refunded_minor, coalesce(o.coupon_code, ''),
	o.shipping_method, o.shipping_address, o.billing_address, o.shipping_country, o.shipping_region, o.payment_method,
	coalesce(o.payment_intent_id, ''), o.created_at, o.updated_at, o.paid_at, u.email, trim(u.first_name || ' ' || u.last_name),
	o.shipping_name, o.shipping_line1, o.shipping_line2, o.shipping_city, o.shipping_postal_code, o.shipping_phone`

func scanOrder(r pgx.Row) (Order, error) {
	var o Order
	var to address.Address
	err := r.Scan(&o.ID, &o.UserID, &o.Status, &o.StatusReason, &o.Currency, &o.Subtotal, &o.Discount, &o.Shipping,
		&o.Tax, &o.TaxPPM, &o.Total, &o.Captured, &o.Refunded, &o.CouponCode, &o.ShippingMethod, &o.ShippingAddress,
		&o.BillingAddress, &o.Country, &o.Region, &o.PaymentMethod, &o.PaymentIntentID, &o.CreatedAt, &o.UpdatedAt,
		&o.PaidAt, &o.CustomerEmail, &o.CustomerName,
		&to.Name, &to.Line1, &to.Line2, &to.City, &to.PostalCode, &to.Phone)
	if to.Line1 != "" {
		// A structured address: its country and region are the order's.
		to.Country, to.Region = o.Country, o.Region
		o.ShipTo = &to
	}
	return o, err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Get returns an order with its lines, timeline and refunds, read from one
// snapshot so the status reason and the timeline always agree.
// Orders are read from the primary, never a replica: workflows change an
// order after the request that started them returned, and a shopper
// watching it must never see it go back.
func (s *Store) Get(ctx context.Context, id int64) (Order, error) {
	var o Order
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			o, err = get(ctx, tx, id)
			return err
		})
	return o, err
}

func get(ctx context.Context, q querier, id int64) (Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders o JOIN users u ON u.id = o.user_id
		WHERE o.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return o, err
	}
	rows, err := q.Query(ctx, `SELECT line, product_id, coalesce(variant_id, 0), sku, name, quantity,
		unit_price_minor, line_total_minor FROM order_items WHERE order_id = $1 ORDER BY line`, id)
	if err != nil {
		return o, err
	}
	if o.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Line, error) {
		var l Line
		return l, r.Scan(&l.Line, &l.ProductID, &l.VariantID, &l.SKU, &l.Name, &l.Quantity, &l.UnitPrice, &l.LineTotal)
	}); err != nil {
		return o, err
	}
	rows, err = q.Query(ctx, `SELECT status, note, created_at FROM order_events WHERE order_id = $1 ORDER BY id`, id)
	if err != nil {
		return o, err
	}
	if o.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		return e, r.Scan(&e.Status, &e.Note, &e.At)
	}); err != nil {
		return o, err
	}
	o.Refunds, err = refunds(ctx, q, `WHERE order_id = $1 ORDER BY id`, id)
	return o, err
}

func refunds(ctx context.Context, q querier, where string, arg any) ([]Refund, error) {
	rows, err := q.Query(ctx, `SELECT id, order_id, amount_minor, currency, reason, kind, status,
		coalesce(stripe_refund_id, ''), last_error, created_at, updated_at FROM refunds `+where, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Refund, error) {
		var f Refund
		return f, r.Scan(&f.ID, &f.OrderID, &f.Amount, &f.Currency, &f.Reason, &f.Kind, &f.Status, &f.StripeRefundID,
			&f.LastError, &f.CreatedAt, &f.UpdatedAt)
	})
}

// GetRefund returns one refund.
func (s *Store) GetRefund(ctx context.Context, id int64) (Refund, error) {
	rs, err := refunds(ctx, s.pool, `WHERE id = $1`, id)
	if err != nil {
		return Refund{}, err
	}
	if len(rs) == 0 {
		return Refund{}, fmt.Errorf("refund %d: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

// ListFilter selects orders; zero fields match everything.
type ListFilter struct {
	UserID int64
	Status Status
	Skip   int32
	Limit  int32
}

// List returns a page of orders with their lines (without timeline or
// refunds), newest first, and how many match in all. The count, the page and
// its lines are read from one snapshot, the lines of the whole page in one
// query.
func (s *Store) List(ctx context.Context, f ListFilter) ([]Order, int32, error) {
	var out []Order
	var total int32
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			out, total, err = list(ctx, tx, f)
			return err
		})
	return out, total, err
}

func list(ctx context.Context, q querier, f ListFilter) ([]Order, int32, error) {
	const where = `WHERE ($1::bigint = 0 OR o.user_id = $1) AND ($2 = '' OR o.status::text = $2)`
	var total int32
	if err := q.QueryRow(ctx, `SELECT count(*) FROM orders o `+where, f.UserID, string(f.Status)).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+orderColumns+` FROM orders o JOIN users u ON u.id = o.user_id `+where+`
		ORDER BY o.id DESC OFFSET $3 LIMIT $4`, f.UserID, string(f.Status), f.Skip, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) { return scanOrder(r) })
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	ids := make([]int64, len(out))
	at := make(map[int64]int, len(out))
	for i, o := range out {
		ids[i], at[o.ID] = o.ID, i
	}
	rows, err = q.Query(ctx, `SELECT order_id, line, product_id, coalesce(variant_id, 0), sku, name, quantity,
		unit_price_minor, line_total_minor FROM order_items WHERE order_id = ANY($1) ORDER BY order_id, line`, ids)
	if err != nil {
		return nil, 0, err
	}
	var orderID int64
	var l Line
	_, err = pgx.ForEachRow(rows, []any{&orderID, &l.Line, &l.ProductID, &l.VariantID, &l.SKU, &l.Name, &l.Quantity,
		&l.UnitPrice, &l.LineTotal}, func() error {
		o := &out[at[orderID]]
		o.Lines = append(o.Lines, l)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// PaymentIntentOrder returns the order that a PaymentIntent pays for.
func (s *Store) PaymentIntentOrder(ctx context.Context, paymentIntentID string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM orders WHERE payment_intent_id = $1`, paymentIntentID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("payment intent %s: %w", paymentIntentID, ErrNotFound)
	}
	return id, err
}

// PaymentIntentOf returns the order's recorded PaymentIntent ("" when none yet).
func (s *Store) PaymentIntentOf(ctx context.Context, orderID int64) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(payment_intent_id, '') FROM orders WHERE id = $1`, orderID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("order %d: %w", orderID, ErrNotFound)
	}
	return id, err
}
