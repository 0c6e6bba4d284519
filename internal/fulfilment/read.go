package fulfilment

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

const shipmentColumns = `s.id, s.order_id, o.user_id, s.location_id, l.code, s.status, s.carrier, s.service,
	coalesce(s.tracking_number, ''), s.tracking_url, s.problem, s.overdue, coalesce(s.replaces_id, 0), s.resolution,
	coalesce(s.refund_id, 0), s.created_at, s.picked_at, s.packed_at, s.shipped_at, s.last_scan_at, s.delivered_at, s.updated_at`

const shipmentFrom = ` FROM shipments s JOIN orders o ON o.id = s.order_id JOIN stock_locations l ON l.id = s.location_id`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scanShipment(r pgx.Row) (Shipment, error) {
	var sh Shipment
	err := r.Scan(&sh.ID, &sh.OrderID, &sh.CustomerID, &sh.LocationID, &sh.LocationCode, &sh.Status, &sh.Carrier, &sh.Service,
		&sh.TrackingNumber, &sh.TrackingURL, &sh.Problem, &sh.Overdue, &sh.ReplacesID, &sh.Resolution, &sh.RefundID,
		&sh.CreatedAt, &sh.PickedAt, &sh.PackedAt, &sh.ShippedAt, &sh.LastScanAt, &sh.DeliveredAt, &sh.UpdatedAt)
	return sh, err
}

// Get returns a shipment with its lines.
func (s *Store) Get(ctx context.Context, id int64) (Shipment, error) {
	return get(ctx, s.pool, id, false)
}

func get(ctx context.Context, q querier, id int64, lock bool) (Shipment, error) {
	sql := `SELECT ` + shipmentColumns + shipmentFrom + ` WHERE s.id = $1`
	if lock {
		sql += ` FOR UPDATE OF s`
	}
	sh, err := scanShipment(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sh, fmt.Errorf("shipment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return sh, err
	}
	all := []Shipment{sh}
	if err := withLines(ctx, q, all); err != nil {
		return sh, err
	}
	return all[0], nil
}

// ForOrder returns the order's shipments, oldest first.
func (s *Store) ForOrder(ctx context.Context, orderID int64) ([]Shipment, error) {
	return s.list(ctx, `s.order_id = $1`, orderID)
}

// Replacements returns the parcels sent in place of a lost one.
func (s *Store) Replacements(ctx context.Context, id int64) ([]Shipment, error) {
	return s.list(ctx, `s.replaces_id = $1`, id)
}

// ByTracking returns the parcel a carrier's tracking number names.
func (s *Store) ByTracking(ctx context.Context, carrier, trackingNumber string) (Shipment, error) {
	all, err := s.list(ctx, `s.carrier = $1 AND s.tracking_number = $2`, carrier, trackingNumber)
	if err != nil {
		return Shipment{}, err
	}
	if len(all) == 0 {
		return Shipment{}, fmt.Errorf("%s parcel %q: %w", carrier, trackingNumber, ErrNotFound)
	}
	return all[0], nil
}

// Queue lists shipments for staff, by id: by default what is still to be
// sent, at every location.
func (s *Store) Queue(ctx context.Context, f QueueFilter) ([]Shipment, error) {
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []Status{StatusPending, StatusPicked, StatusPacked}
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	where := `s.status = ANY ($1) AND s.id > $2`
	args := []any{names, f.AfterID}
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + cond + strconv.Itoa(len(args))
	}
	if f.LocationID > 0 {
		add("s.location_id = $", f.LocationID)
	}
	if f.OrderID > 0 {
		add("s.order_id = $", f.OrderID)
	}
	if f.Overdue {
		where += " AND s.overdue"
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	args = append(args, limit)
	return s.list(ctx, where+` ORDER BY s.id LIMIT $`+strconv.Itoa(len(args)), args...)
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Shipment, error) {
	sql := `SELECT ` + shipmentColumns + shipmentFrom + ` WHERE ` + where
	if !strings.Contains(where, "ORDER BY") {
		sql += ` ORDER BY s.id`
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Shipment, error) { return scanShipment(r) })
	if err != nil {
		return nil, err
	}
	return all, withLines(ctx, s.pool, all)
}

// withLines reads the lines of the shipments, with their order line's SKU
// and name.
func withLines(ctx context.Context, q querier, all []Shipment) error {
	if len(all) == 0 {
		return nil
	}
	ids := make([]int64, len(all))
	at := map[int64]int{}
	for i, sh := range all {
		ids[i], at[sh.ID] = sh.ID, i
	}
	// An exchange's parcel carries another variant of the line's product:
	// its SKU is that variant's.
	rows, err := q.Query(ctx, `SELECT sl.shipment_id, sl.line, sl.product_id, coalesce(sl.variant_id, 0),
		CASE WHEN sl.variant_id IS DISTINCT FROM i.variant_id THEN coalesce(v.sku, i.sku) ELSE i.sku END, i.name, sl.quantity
		FROM shipment_lines sl JOIN shipments s ON s.id = sl.shipment_id
		JOIN order_items i ON i.order_id = s.order_id AND i.line = sl.line
		LEFT JOIN product_variants v ON v.id = sl.variant_id
		WHERE sl.shipment_id = ANY ($1) ORDER BY sl.shipment_id, sl.line`, ids)
	if err != nil {
		return err
	}
	var sid int64
	var l Line
	_, err = pgx.ForEachRow(rows, []any{&sid, &l.Line, &l.ProductID, &l.VariantID, &l.SKU, &l.Name, &l.Quantity}, func() error {
		all[at[sid]].Lines = append(all[at[sid]].Lines, l)
		return nil
	})
	return err
}
