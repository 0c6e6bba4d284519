package fulfilment

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/orders"
)

// ExchangeLine is a replacement for units of an order line: another
// variant of the line's product.
type ExchangeLine struct {
	Line      int32
	ProductID int64
	VariantID int64
	Quantity  int32
}

// SendExchange reserves the replacements of a return's exchange lines and
// makes them up into new parcels of the order (one per location that
// holds them, as Reship does), answering them. It runs in its own
// transaction holding the order's row lock; sending again for the same
// return answers the parcels already made.
func (s *Store) SendExchange(ctx context.Context, returnID, orderID int64, lines []ExchangeLine) ([]Shipment, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := orders.Lock(ctx, tx, orderID); err != nil {
			return notFound(err)
		}
		_, err := SendExchange(ctx, tx, returnID, orderID, lines)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ForReturn(ctx, returnID)
}

// SendExchange is Store.SendExchange in tx, whose caller holds the order's
// row lock (orders.Lock); it answers the ids of the return's parcels.
func SendExchange(ctx context.Context, tx pgx.Tx, returnID, orderID int64, lines []ExchangeLine) ([]int64, error) {
	existing, err := exchangeParcels(ctx, tx, returnID)
	if err != nil || len(existing) > 0 || len(lines) == 0 {
		return existing, err
	}
	wants := make([]inventory.Want, len(lines))
	for i, l := range lines {
		wants[i] = inventory.Want{ProductID: l.ProductID, VariantID: l.VariantID, Quantity: l.Quantity}
	}
	alloc, err := inventory.Reserve(ctx, tx, wants)
	if errors.Is(err, inventory.ErrInsufficientStock) {
		return nil, fmt.Errorf("%w: %w", ErrNoStock, err)
	}
	if err != nil {
		return nil, err
	}
	byLocation := map[int64]int64{}
	for i, l := range lines {
		for _, a := range alloc[i] {
			sid, ok := byLocation[a.LocationID]
			if !ok {
				if err := tx.QueryRow(ctx, `INSERT INTO shipments (order_id, location_id, return_id) VALUES ($1, $2, $3)
					RETURNING id`, orderID, a.LocationID, returnID).Scan(&sid); err != nil {
					return nil, err
				}
				byLocation[a.LocationID] = sid
			}
			variant := nullable(l.VariantID)
			if _, err := tx.Exec(ctx, `INSERT INTO shipment_lines (shipment_id, line, product_id, variant_id, quantity)
				VALUES ($1, $2, $3, $4, $5)`, sid, l.Line, l.ProductID, variant, a.Quantity); err != nil {
				return nil, err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO stock_reservations (order_id, line, location_id, product_id, variant_id,
				quantity, state, shipment_id) VALUES ($1, $2, $3, $4, $5, $6, 'committed', $7)`,
				orderID, l.Line, a.LocationID, l.ProductID, variant, a.Quantity, sid); err != nil {
				return nil, err
			}
		}
	}
	ids := make([]int64, 0, len(byLocation))
	for _, id := range byLocation {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if err := orders.AddEvent(ctx, tx, orderID, "exchange_sent",
		fmt.Sprintf("the exchange of return %d is being prepared for shipping", returnID)); err != nil {
		return nil, err
	}
	return ids, nil
}

func exchangeParcels(ctx context.Context, tx pgx.Tx, returnID int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM shipments WHERE return_id = $1 ORDER BY id`, returnID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ForReturn returns the parcels sent for a return's exchange lines.
func (s *Store) ForReturn(ctx context.Context, returnID int64) ([]Shipment, error) {
	return s.list(ctx, `s.return_id = $1`, returnID)
}
