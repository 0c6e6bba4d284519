package returns

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const returnColumns = `r.id, r.order_id, o.user_id, r.status, r.reason, r.customer_note, r.staff_note, r.restocking_fee_minor,
	r.shipping_refund_minor, coalesce(r.refund_id, 0), coalesce(f.amount_minor, 0), o.currency, r.created_at, r.decided_at,
	r.received_at, r.closed_at, r.updated_at`

const returnFrom = ` FROM returns r JOIN orders o ON o.id = r.order_id LEFT JOIN refunds f ON f.id = r.refund_id`

func scanReturn(row pgx.Row) (Return, error) {
	var r Return
	err := row.Scan(&r.ID, &r.OrderID, &r.CustomerID, &r.Status, &r.Reason, &r.CustomerNote, &r.StaffNote, &r.RestockingFee,
		&r.ShippingRefund, &r.RefundID, &r.RefundAmount, &r.Currency, &r.CreatedAt, &r.DecidedAt, &r.ReceivedAt, &r.ClosedAt,
		&r.UpdatedAt)
	return r, err
}

// Get returns a return with its lines.
func (s *Store) Get(ctx context.Context, id int64) (Return, error) {
	all, err := s.list(ctx, `r.id = $1`, id)
	if err != nil {
		return Return{}, err
	}
	if len(all) == 0 {
		return Return{}, fmt.Errorf("return %d: %w", id, ErrNotFound)
	}
	return all[0], nil
}

// ForOrder returns the order's returns, oldest first.
func (s *Store) ForOrder(ctx context.Context, orderID int64) ([]Return, error) {
	return s.list(ctx, `r.order_id = $1`, orderID)
}

// Filter selects returns for staff.
type Filter struct {
	Statuses []Status // none: every status
	Limit    int32    // 1..200; 0: 50
	AfterID  int64    // keyset pagination
}

// List returns returns by id for staff.
func (s *Store) List(ctx context.Context, f Filter) ([]Return, error) {
	names := make([]string, 0, len(f.Statuses))
	for _, st := range f.Statuses {
		names = append(names, string(st))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return s.list(ctx, `(cardinality($1::text[]) = 0 OR r.status = ANY ($1)) AND r.id > $2 ORDER BY r.id LIMIT `+
		strconv.Itoa(int(limit)), names, f.AfterID)
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Return, error) {
	sql := `SELECT ` + returnColumns + returnFrom + ` WHERE ` + where
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Return, error) { return scanReturn(r) })
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Lines, err = readLines(ctx, s.pool, all[i].ID); err != nil {
			return nil, err
		}
		rows, err := s.pool.Query(ctx, `SELECT id FROM shipments WHERE return_id = $1 ORDER BY id`, all[i].ID)
		if err != nil {
			return nil, err
		}
		if all[i].ExchangeShipments, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// readLines reads a return's lines with their order line's product, SKU,
// name and unit price.
func readLines(ctx context.Context, q querier, id int64) ([]Line, error) {
	rows, err := q.Query(ctx, `SELECT rl.line, i.product_id, coalesce(i.variant_id, 0), i.sku, i.name, i.unit_price_minor,
			rl.quantity, rl.reason, rl.resellable IS NOT NULL, coalesce(rl.resellable, 0), coalesce(rl.damaged, 0),
			coalesce(rl.location_id, 0), coalesce(rl.exchange_variant_id, 0), coalesce(rl.exchange_unit_minor, 0)
		FROM return_lines rl JOIN returns r ON r.id = rl.return_id
		JOIN order_items i ON i.order_id = r.order_id AND i.line = rl.line
		WHERE rl.return_id = $1 ORDER BY rl.line`, id)
	if err != nil {
		return nil, err
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Line, error) {
		var l Line
		return l, r.Scan(&l.Line, &l.ProductID, &l.VariantID, &l.SKU, &l.Name, &l.UnitPrice, &l.Quantity, &l.Reason,
			&l.Received, &l.Resellable, &l.Damaged, &l.LocationID, &l.ExchangeVariantID, &l.ExchangeUnitPrice)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return lines, err
}
