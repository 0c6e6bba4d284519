package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Want is an order line's demand.
type Want struct {
	ProductID int64
	VariantID int64 // 0: the product itself
	Quantity  int32
}

// Allocation is the part of a line reserved at one location.
type Allocation struct {
	LocationID int64
	Quantity   int32
}

// ShortError says which line the active locations cannot serve.
type ShortError struct {
	Index     int   // into the wants
	Available int32 // what the active locations can sell of it
}

func (e *ShortError) Error() string {
	return fmt.Sprintf("line %d: only %d available", e.Index, e.Available)
}

// Unwrap makes a ShortError an ErrInsufficientStock.
func (e *ShortError) Unwrap() error { return ErrInsufficientStock }

type item struct{ product, variant int64 }

type level struct {
	location  int64
	priority  int32
	available int32
}

// Reserve reserves the wants at active locations, in tx, and answers each
// want's allocations. One location that can serve the whole order serves
// it (the lowest priority number among those that can); otherwise each
// line takes from locations by priority. The stock rows are locked first
// (product, variant, location order), so concurrent orders never reserve
// the same units. A want that the locations cannot serve fails the whole
// call with a *ShortError and reserves nothing.
func Reserve(ctx context.Context, tx pgx.Tx, wants []Want) ([][]Allocation, error) {
	products := make([]int64, len(wants))
	variants := make([]int64, len(wants))
	for i, w := range wants {
		products[i], variants[i] = w.ProductID, w.VariantID
	}
	rows, err := tx.Query(ctx, `SELECT s.product_id, coalesce(s.variant_id, 0), s.location_id, l.priority, s.on_hand - s.reserved
		FROM location_stock s JOIN stock_locations l ON l.id = s.location_id
		WHERE l.active AND (s.product_id, coalesce(s.variant_id, 0)) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
		ORDER BY s.product_id, coalesce(s.variant_id, 0), s.location_id
		FOR UPDATE OF s`, products, variants)
	if err != nil {
		return nil, fmt.Errorf("inventory: lock stock: %w", err)
	}
	levels := map[item][]level{}
	priority := map[int64]int32{}
	var it item
	var lv level
	_, err = pgx.ForEachRow(rows, []any{&it.product, &it.variant, &lv.location, &lv.priority, &lv.available}, func() error {
		levels[it] = append(levels[it], lv)
		priority[lv.location] = lv.priority
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: lock stock: %w", err)
	}
	byPriority := func(a, b level) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.location, b.location))
	}
	for k := range levels {
		slices.SortFunc(levels[k], byPriority)
	}
	available := func(it item, loc int64) int32 {
		for _, l := range levels[it] {
			if l.location == loc {
				return l.available
			}
		}
		return 0
	}
	// Wants may name one item twice (two lines exchanged for one variant):
	// what they take together must be there.
	demand := map[item]int32{}
	for _, w := range wants {
		demand[item{w.ProductID, w.VariantID}] += w.Quantity
	}
	for i, w := range wants {
		it := item{w.ProductID, w.VariantID}
		var total int32
		for _, l := range levels[it] {
			total += l.available
		}
		if total < demand[it] {
			return nil, &ShortError{Index: i, Available: total}
		}
	}

	out := make([][]Allocation, len(wants))
	locations := make([]level, 0, len(priority))
	for id, p := range priority {
		locations = append(locations, level{location: id, priority: p})
	}
	slices.SortFunc(locations, byPriority)
	whole := slices.IndexFunc(locations, func(l level) bool {
		for it, n := range demand {
			if available(it, l.location) < n {
				return false
			}
		}
		return true
	})
	for i, w := range wants {
		if whole >= 0 {
			out[i] = []Allocation{{LocationID: locations[whole].location, Quantity: w.Quantity}}
			continue
		}
		left, lv := w.Quantity, levels[item{w.ProductID, w.VariantID}]
		for k := range lv {
			if take := min(left, lv[k].available); take > 0 {
				out[i] = append(out[i], Allocation{LocationID: lv[k].location, Quantity: take})
				left -= take
				lv[k].available -= take // a later want of the item takes what is left
			}
		}
	}

	type update struct {
		item
		location int64
		qty      int32
	}
	var ups []update
	for i, w := range wants {
		for _, a := range out[i] {
			ups = append(ups, update{item{w.ProductID, w.VariantID}, a.LocationID, a.Quantity})
		}
	}
	slices.SortFunc(ups, func(a, b update) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.variant, b.variant), cmp.Compare(a.location, b.location))
	})
	for _, u := range ups {
		if err := addReserved(ctx, tx, u.location, u.product, u.variant, u.qty); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func addReserved(ctx context.Context, tx pgx.Tx, locationID, productID, variantID int64, delta int32) error {
	tag, err := tx.Exec(ctx, `UPDATE location_stock SET reserved = reserved + $4
		WHERE product_id = $2 AND coalesce(variant_id, 0) = $3 AND location_id = $1`,
		locationID, productID, variantID, delta)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("product %d variant %d at location %d: %w", productID, variantID, locationID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("inventory: reserve: %w", err)
	}
	return nil
}

// Held is reserved units of an item at a location.
type Held struct {
	LocationID int64
	ProductID  int64
	VariantID  int64
	Quantity   int32
}

// inWritersOrder is a copy of held sorted as writers lock stock rows
// (product, variant, location), so concurrent writers cannot deadlock.
func inWritersOrder(held []Held) []Held {
	held = slices.Clone(held)
	slices.SortFunc(held, func(a, b Held) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.VariantID, b.VariantID), cmp.Compare(a.LocationID, b.LocationID))
	})
	return held
}

// Release gives reserved units back to the locations they were held at,
// in tx, locking rows in the writers' order.
func Release(ctx context.Context, tx pgx.Tx, held []Held) error {
	for _, h := range inWritersOrder(held) {
		if err := addReserved(ctx, tx, h.LocationID, h.ProductID, h.VariantID, -h.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// Take removes shipped units from the locations that held them reserved,
// in tx: on hand and reserved both drop, so the sellable stock is unchanged.
func Take(ctx context.Context, tx pgx.Tx, held []Held) error {
	for _, h := range inWritersOrder(held) {
		tag, err := tx.Exec(ctx, `UPDATE location_stock SET on_hand = on_hand - $4, reserved = reserved - $4
			WHERE product_id = $2 AND coalesce(variant_id, 0) = $3 AND location_id = $1`,
			h.LocationID, h.ProductID, h.VariantID, h.Quantity)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("product %d variant %d at location %d: %w", h.ProductID, h.VariantID, h.LocationID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("inventory: take: %w", err)
		}
	}
	return nil
}

// CollectHeld reads rows of (location_id, product_id, variant_id or 0,
// quantity): the reservations a statement changed, RETURNING them.
func CollectHeld(rows pgx.Rows) ([]Held, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Held, error) {
		var h Held
		return h, r.Scan(&h.LocationID, &h.ProductID, &h.VariantID, &h.Quantity)
	})
}
