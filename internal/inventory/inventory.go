// Package inventory keeps stock per location (warehouses, stores): units on
// hand and units reserved for orders. The sellable stock of a product or
// variant (its stock_quantity) is the sum over active locations of on hand
// minus reserved; database triggers keep it in the same transaction as every
// change made here.
//
// Writers lock location_stock rows in one order, product, variant, then
// location, so concurrent orders, adjustments and transfers cannot deadlock.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/validation"
)

var (
	// ErrNotFound means the location, product or variant does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInsufficientStock means a change would take a location's stock
	// below zero or below what it holds reserved for orders, or an order
	// wants more than the active locations can sell.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrCodeTaken means another location has the code.
	ErrCodeTaken = errors.New("a location with this code exists")
	// ErrDefaultLocation means the change would close the default location,
	// which takes the stock that names no location.
	ErrDefaultLocation = errors.New("the default location cannot be deactivated")
)

// Store reads and writes locations and their stock.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Location is a place that holds stock.
type Location struct {
	ID        int64
	Name      string
	Code      string
	Address   string
	Country   string
	Priority  int32 // lower numbers serve orders first
	Active    bool
	Default   bool
	CreatedAt time.Time
}

// LocationInput describes a new location, or changes one (nil: unchanged).
type LocationInput struct {
	Name, Code, Address, Country *string
	Priority                     *int32
	Active                       *bool
}

var codeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)

func (l *Location) apply(in LocationInput) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&l.Name, in.Name)
	set(&l.Code, in.Code)
	set(&l.Address, in.Address)
	set(&l.Country, in.Country)
	l.Code, l.Country = strings.ToUpper(l.Code), strings.ToUpper(l.Country)
	if in.Priority != nil {
		l.Priority = *in.Priority
	}
	if in.Active != nil {
		l.Active = *in.Active
	}
	switch {
	case l.Name == "":
		return validation.New("name", "is required")
	case len(l.Name) > 200:
		return validation.New("name", "must be at most 200 characters")
	case !codeRE.MatchString(l.Code):
		return validation.New("code", "must be 1-32 characters of A-Z, 0-9, '_' or '-'")
	case len(l.Address) > 1000:
		return validation.New("address", "must be at most 1000 characters")
	case l.Country != "" && !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(l.Country):
		return validation.New("country", "must be an ISO 3166-1 alpha-2 code")
	case l.Default && !l.Active:
		return fmt.Errorf("location %d: %w", l.ID, ErrDefaultLocation)
	}
	return nil
}

const locationColumns = `id, name, code, address, country, priority, active, is_default, created_at`

func scanLocation(r pgx.Row) (Location, error) {
	var l Location
	err := r.Scan(&l.ID, &l.Name, &l.Code, &l.Address, &l.Country, &l.Priority, &l.Active, &l.Default, &l.CreatedAt)
	return l, err
}

func codeErr(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation {
		return fmt.Errorf("%w", ErrCodeTaken)
	}
	return err
}

// Locations lists every location, in the order they serve orders.
func (s *Store) Locations(ctx context.Context) ([]Location, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+locationColumns+` FROM stock_locations ORDER BY priority, id`)
	if err != nil {
		return nil, fmt.Errorf("inventory: locations: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Location, error) { return scanLocation(r) })
}

// CreateLocation adds a location; it is active unless in says otherwise.
func (s *Store) CreateLocation(ctx context.Context, in LocationInput) (Location, error) {
	l := Location{Active: true}
	if err := l.apply(in); err != nil {
		return Location{}, err
	}
	l, err := scanLocation(s.pool.QueryRow(ctx, `INSERT INTO stock_locations (name, code, address, country, priority, active)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+locationColumns, l.Name, l.Code, l.Address, l.Country, l.Priority, l.Active))
	return l, codeErr(err)
}

// UpdateLocation changes a location. Closing one (active false) takes its
// units off sale; its reservations stay until released or shipped.
func (s *Store) UpdateLocation(ctx context.Context, id int64, in LocationInput) (Location, error) {
	var l Location
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		l, err = scanLocation(tx.QueryRow(ctx, `SELECT `+locationColumns+` FROM stock_locations WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("location %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := l.apply(in); err != nil {
			return err
		}
		l, err = scanLocation(tx.QueryRow(ctx, `UPDATE stock_locations SET name = $2, code = $3, address = $4, country = $5,
			priority = $6, active = $7 WHERE id = $1 RETURNING `+locationColumns,
			id, l.Name, l.Code, l.Address, l.Country, l.Priority, l.Active))
		return codeErr(err)
	})
	return l, err
}

// Level is the stock of a product or variant at one location.
type Level struct {
	Location  Location
	VariantID int64 // 0: the product itself
	OnHand    int32
	Reserved  int32
}

// Available is what the location can still sell.
func (l Level) Available() int32 { return l.OnHand - l.Reserved }

// ProductStock lists a product's stock (and its variants') per location.
func (s *Store) ProductStock(ctx context.Context, productID int64) ([]Level, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, productID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("inventory: product stock: %w", err)
	}
	if !exists {
		return nil, fmt.Errorf("product %d: %w", productID, ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT l.id, l.name, l.code, l.address, l.country, l.priority, l.active, l.is_default,
			l.created_at, coalesce(s.variant_id, 0), s.on_hand, s.reserved
		FROM location_stock s JOIN stock_locations l ON l.id = s.location_id
		WHERE s.product_id = $1 ORDER BY coalesce(s.variant_id, 0), l.priority, l.id`, productID)
	if err != nil {
		return nil, fmt.Errorf("inventory: product stock: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Level, error) {
		var v Level
		l := &v.Location
		err := r.Scan(&l.ID, &l.Name, &l.Code, &l.Address, &l.Country, &l.Priority, &l.Active, &l.Default, &l.CreatedAt,
			&v.VariantID, &v.OnHand, &v.Reserved)
		return v, err
	})
}

// nullID stores 0 as NULL (no variant, no actor).
func nullID(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// resolveLocation answers the location id to use: the default one for 0.
func resolveLocation(ctx context.Context, tx pgx.Tx, id int64, field string) (int64, error) {
	var got int64
	var err error
	if id == 0 {
		err = tx.QueryRow(ctx, `SELECT id FROM stock_locations WHERE is_default`).Scan(&got)
	} else {
		err = tx.QueryRow(ctx, `SELECT id FROM stock_locations WHERE id = $1`, id).Scan(&got)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%s: location %d: %w", field, id, ErrNotFound)
	}
	return got, err
}

func requireItem(ctx context.Context, tx pgx.Tx, productID, variantID int64) error {
	var exists bool
	q := `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`
	args := []any{productID}
	if variantID != 0 {
		q = `SELECT EXISTS (SELECT 1 FROM product_variants WHERE id = $2 AND product_id = $1)`
		args = append(args, variantID)
	}
	if err := tx.QueryRow(ctx, q, args...).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("product %d variant %d: %w", productID, variantID, ErrNotFound)
	}
	return nil
}

// lockLevel locks (creating it empty if need be) the stock row of an item
// at a location and answers its on hand and reserved units.
func lockLevel(ctx context.Context, tx pgx.Tx, locationID, productID, variantID int64) (onHand, reserved int32, err error) {
	if _, err := tx.Exec(ctx, `INSERT INTO location_stock (location_id, product_id, variant_id) VALUES ($1, $2, $3)
		ON CONFLICT (product_id, (coalesce(variant_id, 0)), location_id) DO NOTHING`,
		locationID, productID, nullID(variantID)); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRow(ctx, `SELECT on_hand, reserved FROM location_stock
		WHERE product_id = $2 AND coalesce(variant_id, 0) = $3 AND location_id = $1 FOR UPDATE`,
		locationID, productID, variantID).Scan(&onHand, &reserved)
	return onHand, reserved, err
}

func addOnHand(ctx context.Context, tx pgx.Tx, locationID, productID, variantID int64, delta int32) error {
	_, err := tx.Exec(ctx, `UPDATE location_stock SET on_hand = on_hand + $4
		WHERE product_id = $2 AND coalesce(variant_id, 0) = $3 AND location_id = $1`,
		locationID, productID, variantID, delta)
	return err
}

// Sellable answers the stock_quantity of a product (variantID 0) or variant.
func Sellable(ctx context.Context, tx pgx.Tx, productID, variantID int64) (int32, error) {
	var n int32
	var err error
	if variantID == 0 {
		err = tx.QueryRow(ctx, `SELECT stock_quantity FROM products WHERE id = $1`, productID).Scan(&n)
	} else {
		err = tx.QueryRow(ctx, `SELECT stock_quantity FROM product_variants WHERE id = $1`, variantID).Scan(&n)
	}
	return n, err
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", validation.New("reason", "is required")
	case len(reason) > 500:
		return "", validation.New("reason", "must be at most 500 characters")
	}
	return reason, nil
}

// Adjustment is a staff change of the units on hand at a location.
type Adjustment struct {
	LocationID int64 // 0: the default location
	ProductID  int64
	VariantID  int64 // 0: the product itself
	Delta      int32
	Reason     string
	ActorID    int64
}

// Level after a change: the location's units and the item's sellable total.
type Result struct {
	LocationID     int64
	LocationCode   string
	LocationActive bool
	OnHand         int32
	Reserved       int32
	Sellable       int32
}

// Adjust changes the units on hand at a location and records why, in tx.
// It never takes the location below what it holds reserved (nor below
// zero), nor any count above 2147483647.
func Adjust(ctx context.Context, tx pgx.Tx, a Adjustment) (Result, error) {
	reason, err := checkReason(a.Reason)
	if err != nil {
		return Result{}, err
	}
	if a.Delta == 0 {
		return Result{}, validation.New("delta", "must not be zero")
	}
	loc, err := resolveLocation(ctx, tx, a.LocationID, "location_id")
	if err != nil {
		return Result{}, err
	}
	if err := requireItem(ctx, tx, a.ProductID, a.VariantID); err != nil {
		return Result{}, err
	}
	onHand, reserved, err := lockLevel(ctx, tx, loc, a.ProductID, a.VariantID)
	if err != nil {
		return Result{}, err
	}
	sellable, err := Sellable(ctx, tx, a.ProductID, a.VariantID)
	if err != nil {
		return Result{}, err
	}
	after := int64(onHand) + int64(a.Delta)
	switch {
	case after < int64(reserved):
		return Result{}, fmt.Errorf("%w: location %d has %d on hand, %d of them reserved for orders; it cannot lose %d",
			ErrInsufficientStock, loc, onHand, reserved, -a.Delta)
	case after > math.MaxInt32 || int64(sellable)+int64(a.Delta) > math.MaxInt32:
		return Result{}, validation.New("delta", "would raise stock above %d", math.MaxInt32)
	}
	if err := addOnHand(ctx, tx, loc, a.ProductID, a.VariantID, a.Delta); err != nil {
		return Result{}, err
	}
	if sellable, err = Sellable(ctx, tx, a.ProductID, a.VariantID); err != nil {
		return Result{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO stock_adjustments (product_id, variant_id, location_id, delta, stock_after,
		on_hand_after, reason, actor_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ProductID, nullID(a.VariantID), loc, a.Delta, sellable, after, reason, nullID(a.ActorID)); err != nil {
		return Result{}, err
	}
	return withLocation(ctx, tx, Result{LocationID: loc, OnHand: int32(after), Reserved: reserved, Sellable: sellable})
}

// withLocation fills in the location's code and whether it is open.
func withLocation(ctx context.Context, tx pgx.Tx, r Result) (Result, error) {
	err := tx.QueryRow(ctx, `SELECT code, active FROM stock_locations WHERE id = $1`, r.LocationID).
		Scan(&r.LocationCode, &r.LocationActive)
	return r, err
}

// Adjust runs Adjust in a transaction of its own.
func (s *Store) Adjust(ctx context.Context, a Adjustment) (Result, error) {
	var r Result
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		r, err = Adjust(ctx, tx, a)
		return err
	})
	return r, err
}

// Transfer moves units on hand from one location to another.
type Transfer struct {
	ProductID      int64
	VariantID      int64
	FromLocationID int64
	ToLocationID   int64
	Quantity       int32
	Reason         string
	ActorID        int64
}

// TransferResult is the stock of both locations after a transfer.
type TransferResult struct {
	ID   int64
	From Result
	To   Result
}

// Transfer moves units atomically and records it. It refuses to take the
// source below what it holds reserved for orders.
func (s *Store) Transfer(ctx context.Context, t Transfer) (TransferResult, error) {
	reason, err := checkReason(t.Reason)
	if err != nil {
		return TransferResult{}, err
	}
	switch {
	case t.Quantity <= 0:
		return TransferResult{}, validation.New("quantity", "must be positive")
	case t.FromLocationID == t.ToLocationID:
		return TransferResult{}, validation.New("to_location_id", "must differ from from_location_id")
	}
	var res TransferResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := resolveLocation(ctx, tx, t.FromLocationID, "from_location_id"); err != nil {
			return err
		}
		if _, err := resolveLocation(ctx, tx, t.ToLocationID, "to_location_id"); err != nil {
			return err
		}
		if err := requireItem(ctx, tx, t.ProductID, t.VariantID); err != nil {
			return err
		}
		// Lock both rows in location order, as every writer does.
		first, second := t.FromLocationID, t.ToLocationID
		if first > second {
			first, second = second, first
		}
		level := map[int64][2]int32{}
		for _, loc := range []int64{first, second} {
			onHand, reserved, err := lockLevel(ctx, tx, loc, t.ProductID, t.VariantID)
			if err != nil {
				return err
			}
			level[loc] = [2]int32{onHand, reserved}
		}
		from, to := level[t.FromLocationID], level[t.ToLocationID]
		if from[0]-from[1] < t.Quantity {
			return fmt.Errorf("%w: location %d has %d on hand, %d of them reserved for orders; it can give %d, not %d",
				ErrInsufficientStock, t.FromLocationID, from[0], from[1], from[0]-from[1], t.Quantity)
		}
		if int64(to[0])+int64(t.Quantity) > math.MaxInt32 {
			return validation.New("quantity", "would raise stock above %d", math.MaxInt32)
		}
		if err := addOnHand(ctx, tx, t.FromLocationID, t.ProductID, t.VariantID, -t.Quantity); err != nil {
			return err
		}
		if err := addOnHand(ctx, tx, t.ToLocationID, t.ProductID, t.VariantID, t.Quantity); err != nil {
			return err
		}
		sellable, err := Sellable(ctx, tx, t.ProductID, t.VariantID)
		if err != nil {
			return err
		}
		if res.From, err = withLocation(ctx, tx, Result{LocationID: t.FromLocationID, OnHand: from[0] - t.Quantity,
			Reserved: from[1], Sellable: sellable}); err != nil {
			return err
		}
		res.To, err = withLocation(ctx, tx, Result{LocationID: t.ToLocationID, OnHand: to[0] + t.Quantity,
			Reserved: to[1], Sellable: sellable})
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO stock_transfers (product_id, variant_id, from_location_id, to_location_id,
			quantity, reason, actor_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			t.ProductID, nullID(t.VariantID), t.FromLocationID, t.ToLocationID, t.Quantity, reason, nullID(t.ActorID)).Scan(&res.ID)
	})
	return res, err
}
