package fulfilment

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
)

// Store reads and writes shipments.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrNoStock means the locations cannot send a replacement parcel now.
var ErrNoStock = errors.New("not enough stock to send a replacement")

// Allocate turns the paid order's committed reservations into shipments,
// one per location that holds them, and answers the order's shipments.
// Calling it again answers the same shipments: reservations already in a
// shipment are not allocated twice.
func (s *Store) Allocate(ctx context.Context, orderID int64) ([]Shipment, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st, err := orders.Lock(ctx, tx, orderID)
		if err != nil {
			return notFound(err)
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT location_id FROM stock_reservations
			WHERE order_id = $1 AND state = 'committed' AND shipment_id IS NULL ORDER BY location_id`, orderID)
		if err != nil {
			return err
		}
		locations, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(locations) == 0 {
			return err
		}
		if st != orders.StatusPaid && st != orders.StatusPartiallyRefunded {
			return fmt.Errorf("order %d is %s: %w", orderID, st, ErrWrongState)
		}
		for _, loc := range locations {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO shipments (order_id, location_id) VALUES ($1, $2) RETURNING id`,
				orderID, loc).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `WITH r AS (
					UPDATE stock_reservations SET shipment_id = $3, updated_at = now()
					WHERE order_id = $1 AND location_id = $2 AND state = 'committed' AND shipment_id IS NULL
					RETURNING line, product_id, variant_id, quantity)
				INSERT INTO shipment_lines (shipment_id, line, product_id, variant_id, quantity)
				SELECT $3, line, product_id, variant_id, sum(quantity) FROM r GROUP BY line, product_id, variant_id`,
				orderID, loc, id); err != nil {
				return err
			}
		}
		n := len(locations)
		note := "being prepared for shipping"
		if n > 1 {
			note = fmt.Sprintf("being prepared for shipping in %d parcels", n)
		}
		return orders.AddEvent(ctx, tx, orderID, "fulfilment", note)
	})
	if err != nil {
		return nil, err
	}
	return s.ForOrder(ctx, orderID)
}

// Pick records that the shipment's items were taken from the shelves.
func (s *Store) Pick(ctx context.Context, id int64) (Shipment, error) {
	return s.step(ctx, id, StatusPicked, []Status{StatusPending}, "picked_at", "")
}

// Pack records that the parcel is packed and ready for the carrier.
func (s *Store) Pack(ctx context.Context, id int64) (Shipment, error) {
	return s.step(ctx, id, StatusPacked, []Status{StatusPending, StatusPicked}, "packed_at", "")
}

// step moves the shipment from one of from to to (idempotent when it is
// there already), stamping column, in a transaction that holds the order.
func (s *Store) step(ctx context.Context, id int64, to Status, from []Status, column, event string) (Shipment, error) {
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, _ orders.Status) error {
		if sh.Status == to {
			return nil
		}
		if !in(sh.Status, from) {
			return fmt.Errorf("shipment %d is %s, cannot be %s: %w", id, sh.Status, to, ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET status = $2, `+column+` = now(), updated_at = now() WHERE id = $1`,
			id, to); err != nil {
			return err
		}
		if event != "" {
			return orders.AddEvent(ctx, tx, sh.OrderID, "shipment_"+string(to), event)
		}
		return nil
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.Get(ctx, id)
}

// Ship records that the parcel left with the carrier: the reserved units
// come off the shelf at the shipment's location, and the order becomes
// partially shipped or shipped. Shipping again with the same tracking
// number is a no-op; another tracking number is refused.
func (s *Store) Ship(ctx context.Context, id int64, in ShipInput) (Shipment, error) {
	if err := in.Normalize(); err != nil {
		return Shipment{}, err
	}
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, st orders.Status) error {
		if sh.Status.Sent() && sh.Carrier == in.Carrier && sh.TrackingNumber == in.TrackingNumber {
			return nil
		}
		if sh.Status != StatusPacked {
			return fmt.Errorf("shipment %d is %s, not packed: %w", id, sh.Status, ErrWrongState)
		}
		if !shippable(st) {
			return fmt.Errorf("order %d is %s: %w", sh.OrderID, st, ErrWrongState)
		}
		_, err := tx.Exec(ctx, `UPDATE shipments SET status = 'shipped', carrier = $2, service = $3, tracking_number = $4,
			tracking_url = $5, shipped_at = now(), overdue = false, updated_at = now() WHERE id = $1`,
			id, in.Carrier, in.Service, in.TrackingNumber, in.TrackingURL)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation {
			return fmt.Errorf("%s %s: %w", in.Carrier, in.TrackingNumber, ErrTrackingTaken)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE stock_reservations SET state = 'shipped', updated_at = now()
			WHERE shipment_id = $1 AND state = 'committed' RETURNING location_id, product_id, coalesce(variant_id, 0), quantity`, id)
		if err != nil {
			return err
		}
		held, err := inventory.CollectHeld(rows)
		if err != nil {
			return err
		}
		if err := inventory.Take(ctx, tx, held); err != nil {
			return err
		}
		note := fmt.Sprintf("parcel %d shipped with %s, tracking number %s", id, in.Carrier, in.TrackingNumber)
		if err := orders.AddEvent(ctx, tx, sh.OrderID, "shipment_shipped", note); err != nil {
			return err
		}
		return syncOrder(ctx, tx, sh.OrderID, st)
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.Get(ctx, id)
}

// ScanResult tells what a carrier scan did.
type ScanResult struct {
	Shipment  Shipment
	Duplicate bool // the event was applied before: nothing changed now
}

// ApplyScan records a carrier scan once per event id. A scan never moves a
// parcel backwards (a late in-transit scan after delivery changes nothing
// but last_scan_at); an exception records the problem for staff.
func (s *Store) ApplyScan(ctx context.Context, id int64, scan Scan) (ScanResult, error) {
	var res ScanResult
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, st orders.Status) error {
		if !sh.Status.Sent() {
			return fmt.Errorf("shipment %d is %s, not shipped: %w", id, sh.Status, ErrWrongState)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO shipment_scans (event_id, shipment_id, status, description, occurred_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`, scan.EventID, id, scan.Kind, scan.Description, scan.OccurredAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			res.Duplicate = true
			return nil
		}
		to := sh.Status
		switch scan.Kind {
		case ScanInTransit:
			to = later(sh.Status, StatusInTransit)
		case ScanOutForDelivery:
			to = later(sh.Status, StatusOutForDelivery)
		case ScanDelivered:
			to = StatusDelivered
		case ScanException:
			if _, err := tx.Exec(ctx, `UPDATE shipments SET problem = $2 WHERE id = $1`, id,
				truncate("carrier exception: "+scan.Description, 1000)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown scan kind %q: %w", scan.Kind, ErrWrongState)
		}
		if sh.Status == StatusLost && (to != StatusDelivered || sh.Resolution != "") {
			// Found again only when delivered, and only while staff have
			// not reshipped or refunded it (its lines are settled).
			to = StatusLost
		}
		// A carrier clock ahead of ours does not move the deadlines.
		if _, err := tx.Exec(ctx, `UPDATE shipments SET status = $2, last_scan_at = greatest(last_scan_at, least($3, now())),
			delivered_at = CASE WHEN $2 = 'delivered' THEN coalesce(delivered_at, least($3, now())) END, updated_at = now() WHERE id = $1`,
			id, to, scan.OccurredAt); err != nil {
			return err
		}
		if to == sh.Status {
			return nil
		}
		if err := orders.AddEvent(ctx, tx, sh.OrderID, "shipment_"+string(to), fmt.Sprintf("parcel %d: %s", id, humanStatus(to))); err != nil {
			return err
		}
		return syncOrder(ctx, tx, sh.OrderID, st)
	})
	if err != nil {
		return res, err
	}
	res.Shipment, err = s.Get(ctx, id)
	return res, err
}

// Deliver records a delivery confirmed by staff (a carrier without scans).
func (s *Store) Deliver(ctx context.Context, id int64) (Shipment, error) {
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, st orders.Status) error {
		if sh.Status == StatusDelivered {
			return nil
		}
		if !sh.Status.Sent() || sh.Resolution != "" {
			return fmt.Errorf("shipment %d is %s: %w", id, sh.Describe(), ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET status = 'delivered', delivered_at = now(), overdue = false,
			updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		if err := orders.AddEvent(ctx, tx, sh.OrderID, "shipment_delivered", fmt.Sprintf("parcel %d: delivered", id)); err != nil {
			return err
		}
		return syncOrder(ctx, tx, sh.OrderID, st)
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.Get(ctx, id)
}

// ReportProblem records a problem for staff (it is not on the customer's
// timeline).
func (s *Store) ReportProblem(ctx context.Context, id int64, note string) (Shipment, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE shipments SET problem = $2, updated_at = now() WHERE id = $1`, id, truncate(note, 1000))
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("shipment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Shipment{}, err
	}
	return s.Get(ctx, id)
}

// SetOverdue marks the shipment as past one of its deadlines (or not).
func (s *Store) SetOverdue(ctx context.Context, id int64, overdue bool, note string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE shipments SET overdue = $2,
		problem = CASE WHEN $3 = '' THEN problem ELSE $3 END, updated_at = now() WHERE id = $1`, id, overdue, truncate(note, 1000))
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("shipment %d: %w", id, ErrNotFound)
	}
	return err
}

// MarkLost records that the parcel had no scan for too long: staff decide
// whether to reship or refund it. Marking it again is a no-op.
func (s *Store) MarkLost(ctx context.Context, id int64, note string) (Shipment, error) {
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, _ orders.Status) error {
		if sh.Status == StatusLost || sh.Status == StatusDelivered {
			return nil
		}
		if !sh.Status.Sent() {
			return fmt.Errorf("shipment %d is %s, not shipped: %w", id, sh.Status, ErrWrongState)
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET status = 'lost', overdue = true, problem = $2, updated_at = now()
			WHERE id = $1`, id, truncate(note, 1000)); err != nil {
			return err
		}
		return orders.AddEvent(ctx, tx, sh.OrderID, "shipment_lost",
			fmt.Sprintf("parcel %d seems lost in transit; the shop is sorting it out", id))
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.Get(ctx, id)
}

// Reship sends a lost parcel's lines again: stock is reserved anew (at one
// location that holds it all if any, else split by priority) into new
// shipments that replace it. Reshipping again answers the same replacements.
func (s *Store) Reship(ctx context.Context, id int64) ([]Shipment, error) {
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, st orders.Status) error {
		if sh.Resolution == ResolveReship {
			return nil
		}
		if sh.Status != StatusLost || sh.Resolution != "" {
			return fmt.Errorf("shipment %d is %s: %w", id, sh.Describe(), ErrWrongState)
		}
		if !shippable(st) {
			return fmt.Errorf("order %d is %s: %w", sh.OrderID, st, ErrWrongState)
		}
		wants := make([]inventory.Want, len(sh.Lines))
		for i, l := range sh.Lines {
			wants[i] = inventory.Want{ProductID: l.ProductID, VariantID: l.VariantID, Quantity: l.Quantity}
		}
		alloc, err := inventory.Reserve(ctx, tx, wants)
		if errors.Is(err, inventory.ErrInsufficientStock) {
			return fmt.Errorf("%w: %w", ErrNoStock, err)
		}
		if err != nil {
			return err
		}
		byLocation := map[int64]int64{}
		for i, l := range sh.Lines {
			for _, a := range alloc[i] {
				sid, ok := byLocation[a.LocationID]
				if !ok {
					if err := tx.QueryRow(ctx, `INSERT INTO shipments (order_id, location_id, replaces_id) VALUES ($1, $2, $3)
						RETURNING id`, sh.OrderID, a.LocationID, id).Scan(&sid); err != nil {
						return err
					}
					byLocation[a.LocationID] = sid
				}
				variant := nullable(l.VariantID)
				if _, err := tx.Exec(ctx, `INSERT INTO shipment_lines (shipment_id, line, product_id, variant_id, quantity)
					VALUES ($1, $2, $3, $4, $5)`, sid, l.Line, l.ProductID, variant, a.Quantity); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO stock_reservations (order_id, line, location_id, product_id, variant_id,
					quantity, state, shipment_id) VALUES ($1, $2, $3, $4, $5, $6, 'committed', $7)`,
					sh.OrderID, l.Line, a.LocationID, l.ProductID, variant, a.Quantity, sid); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET resolution = 'reship', updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		if err := orders.AddEvent(ctx, tx, sh.OrderID, "shipment_reshipped",
			fmt.Sprintf("parcel %d is being sent again", id)); err != nil {
			return err
		}
		return syncOrder(ctx, tx, sh.OrderID, st)
	})
	if err != nil {
		return nil, err
	}
	return s.Replacements(ctx, id)
}

// RefundLost opens the refund of a lost parcel's lines (once: refunding
// again answers the same refund) and answers it.
func (s *Store) RefundLost(ctx context.Context, id int64, by int64) (orders.Refund, error) {
	var r orders.Refund
	err := s.tx(ctx, id, func(tx pgx.Tx, sh Shipment, st orders.Status) error {
		if sh.Resolution == ResolveRefund {
			r = orders.Refund{ID: sh.RefundID, OrderID: sh.OrderID}
			if sh.RefundID == 0 {
				return nil // nothing was left to refund
			}
			return tx.QueryRow(ctx, `SELECT amount_minor FROM refunds WHERE id = $1`, sh.RefundID).Scan(&r.Amount)
		}
		if sh.Status != StatusLost || sh.Resolution != "" {
			return fmt.Errorf("shipment %d is %s: %w", id, sh.Describe(), ErrWrongState)
		}
		lines := make([]orders.LineQuantity, len(sh.Lines))
		for i, l := range sh.Lines {
			lines[i] = orders.LineQuantity{Line: l.Line, Quantity: l.Quantity}
		}
		var err error
		if st.Refundable() {
			r, err = orders.RefundLines(ctx, tx, sh.OrderID, lines, orders.RefundKindLostParcel,
				fmt.Sprintf("parcel %d lost in transit", id), by)
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE shipments SET resolution = 'refund', refund_id = $2, updated_at = now() WHERE id = $1`,
			id, nullable(r.ID)); err != nil {
			return err
		}
		return syncOrder(ctx, tx, sh.OrderID, st)
	})
	return r, err
}

// tx runs fn on the shipment in a transaction holding its order's row
// lock (taken first, as every order step does) and the shipment's.
func (s *Store) tx(ctx context.Context, id int64, fn func(tx pgx.Tx, sh Shipment, st orders.Status) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var orderID int64
		err := tx.QueryRow(ctx, `SELECT order_id FROM shipments WHERE id = $1`, id).Scan(&orderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("shipment %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		st, err := orders.Lock(ctx, tx, orderID)
		if err != nil {
			return err
		}
		sh, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		return fn(tx, sh, st)
	})
}

// syncOrder sets the order's status from its parcels: delivered when all
// are, shipped when all have left, partially shipped when some have. A
// cancelled or fully refunded order keeps its status. Lost parcels that
// were reshipped or refunded no longer count.
func syncOrder(ctx context.Context, tx pgx.Tx, orderID int64, cur orders.Status) error {
	switch cur {
	case orders.StatusPaid, orders.StatusPartiallyRefunded, orders.StatusPartiallyShipped, orders.StatusShipped, orders.StatusDelivered:
	default:
		return nil
	}
	var n, sent, delivered int
	if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status IN ('shipped', 'in_transit', 'out_for_delivery', 'delivered', 'lost')),
		count(*) FILTER (WHERE status = 'delivered')
		FROM shipments WHERE order_id = $1 AND status <> 'cancelled' AND resolution = ''`, orderID).Scan(&n, &sent, &delivered); err != nil {
		return err
	}
	to := cur
	switch {
	case n > 0 && delivered == n:
		to = orders.StatusDelivered
	case n > 0 && sent == n:
		to = orders.StatusShipped
	case sent > 0:
		to = orders.StatusPartiallyShipped
	}
	if to == cur {
		return nil
	}
	return orders.SetStatus(ctx, tx, orderID, to, humanStatus(Status(to)))
}

// shippable tells whether parcels of an order in status st may leave.
func shippable(st orders.Status) bool {
	switch st {
	case orders.StatusPaid, orders.StatusPartiallyRefunded, orders.StatusPartiallyShipped, orders.StatusShipped, orders.StatusDelivered:
		return true
	}
	return false
}

// later is the furthest of a parcel's status and a scan's.
func later(cur, scan Status) Status {
	rank := map[Status]int{StatusShipped: 1, StatusInTransit: 2, StatusOutForDelivery: 3, StatusDelivered: 4}
	if rank[scan] > rank[cur] {
		return scan
	}
	return cur
}

func humanStatus(s Status) string {
	switch Status(s) {
	case StatusInTransit:
		return "in transit"
	case StatusOutForDelivery:
		return "out for delivery"
	case Status(orders.StatusPartiallyShipped):
		return "partially shipped"
	}
	return string(s)
}

func in(s Status, set []Status) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func notFound(err error) error {
	if errors.Is(err, orders.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
