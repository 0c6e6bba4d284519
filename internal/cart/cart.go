// Package cart keeps each signed-in shopper's cart and prices it the way
// checkout will: current catalog prices, the coupon, shipping and tax, all
// through pricing.Compute.
package cart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// ErrNotFound means the cart item does not exist or is another shopper's.
var ErrNotFound = errors.New("cart item not found")

// DefaultShippingMethod is the method of a cart that never chose one.
const DefaultShippingMethod = "standard"

// Querier is a pool, a connection or a transaction.
type Querier = coupons.Querier

// Config is the shop's shipping and tax set-up.
type Config struct {
	Shipping pricing.ShippingMethods
	TaxRates pricing.TaxRates
	// DefaultCountry is the tax destination of a cart that names none.
	DefaultCountry string
}

// currency is the shop's selling currency: the one shipping is priced in.
func (c Config) currency() string {
	for _, m := range c.Shipping {
		return m.Price.Currency
	}
	return ""
}

// Store keeps carts in PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	coupons *coupons.Store
}

// NewStore returns a store over pool that checks coupons with cs.
func NewStore(pool *pgxpool.Pool, cs *coupons.Store) *Store { return &Store{pool: pool, coupons: cs} }

// Item is one cart line with the catalog's current state of its product.
type Item struct {
	ID        int64
	ProductID int64
	VariantID int64 // 0: the product itself
	SKU       string
	Name      string
	Quantity  int32
	// AddedPrice is the unit price when the line was added or last raised.
	AddedPrice money.Money
	// UnitPrice is the current catalog price, which checkout charges.
	UnitPrice money.Money
	// Stock is the units in stock now.
	Stock int32
	// Available is false once the product or variant is archived.
	Available bool
}

// Contents is a cart as stored: its items and the shopper's choices.
type Contents struct {
	Items          []Item
	CouponCode     string // "" when none
	ShippingMethod string
	// Destination is where the cart ships, validated like an order's
	// address: a whole address, or at least its country for the tax
	// estimate. Its Country is "" when the shopper has not chosen one.
	Destination address.Address
	UpdatedAt   time.Time // zero for a cart never written
}

// lockCart makes sure the cart row exists and locks it until tx ends, so
// edits of one cart, and checkout reading it, happen one after another.
func lockCart(ctx context.Context, tx pgx.Tx, userID int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO carts (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, userID); err != nil {
		return fmt.Errorf("cart: create: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM carts WHERE user_id = $1 FOR UPDATE`, userID); err != nil {
		return fmt.Errorf("cart: lock: %w", err)
	}
	return nil
}

// touch records a change of userID's cart (which must exist): its version
// grows, and the carts table's trigger records the change in the outbox
// (the abandoned-cart reminders hear it from there).
func touch(ctx context.Context, q Querier, userID int64) error {
	if _, err := q.Exec(ctx, `UPDATE carts SET updated_at = now(), version = version + 1 WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("cart: touch: %w", err)
	}
	return nil
}

// Add puts quantity of a product, or of one of its variants, in the cart.
// Adding a line that is already there raises its quantity.
func (s *Store) Add(ctx context.Context, userID int64, cfg Config, productID, variantID int64, quantity int32) (int64, error) {
	if productID <= 0 {
		return 0, validation.New("product_id", "is required")
	}
	if variantID < 0 {
		return 0, validation.New("variant_id", "must not be negative")
	}
	if err := checkQuantity(quantity); err != nil {
		return 0, err
	}
	var itemID int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		price, err := currentPrice(ctx, tx, productID, variantID)
		if err != nil {
			return err
		}
		if c := cfg.currency(); c != "" && price.Currency != c {
			return validation.New("product_id", "product %d is priced in %s; this shop sells in %s", productID, price.Currency, c)
		}
		if err := lockCart(ctx, tx, userID); err != nil {
			return err
		}
		var other string
		err = tx.QueryRow(ctx, `SELECT currency FROM cart_items WHERE user_id = $1 AND currency <> $2 LIMIT 1`,
			userID, price.Currency).Scan(&other)
		if err == nil {
			return validation.New("product_id", "product %d is priced in %s but the cart is in %s", productID, price.Currency, other)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("cart: currency: %w", err)
		}
		var have int32
		err = tx.QueryRow(ctx, `SELECT id, quantity FROM cart_items
			WHERE user_id = $1 AND product_id = $2 AND coalesce(variant_id, 0) = $3`,
			userID, productID, variantID).Scan(&itemID, &have)
		switch {
		case err == nil:
			if have+quantity > pricing.MaxLineQuantity {
				return validation.New("quantity", "the cart already has %d of this item; a line holds at most %d", have, pricing.MaxLineQuantity)
			}
			// Adding again is a fresh look at the price, so it becomes the
			// line's reference price.
			_, err = tx.Exec(ctx, `UPDATE cart_items SET quantity = quantity + $2, added_price_minor = $3, updated_at = now()
				WHERE id = $1`, itemID, quantity, price.Amount)
		case errors.Is(err, pgx.ErrNoRows):
			var lines int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM cart_items WHERE user_id = $1`, userID).Scan(&lines); err != nil {
				return fmt.Errorf("cart: count lines: %w", err)
			}
			if lines >= pricing.MaxLines {
				return validation.New("product_id", "the cart already has the maximum of %d lines", pricing.MaxLines)
			}
			err = tx.QueryRow(ctx, `INSERT INTO cart_items (user_id, product_id, variant_id, quantity, added_price_minor, currency)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				userID, productID, nullable(variantID), quantity, price.Amount, price.Currency).Scan(&itemID)
		}
		if err != nil {
			return fmt.Errorf("cart: add: %w", err)
		}
		if err := s.checkBounds(ctx, tx, userID, cfg); err != nil {
			return err
		}
		return touch(ctx, tx, userID)
	})
	if err != nil {
		return 0, err
	}
	return itemID, nil
}

// checkBounds refuses a change that leaves the cart (locked in tx) with a
// line or total above money.MaxAmount, which no order could be placed for.
func (s *Store) checkBounds(ctx context.Context, tx pgx.Tx, userID int64, cfg Config) error {
	if len(cfg.Shipping) == 0 {
		// A shop without shipping methods cannot price any cart.
		return nil
	}
	c, err := s.load(ctx, tx, userID, false)
	if err != nil {
		return err
	}
	priced, err := s.Price(ctx, tx, userID, c, cfg, time.Now())
	if err != nil {
		return err
	}
	if priced.TotalErr != nil {
		return validation.New("quantity", "%s", priced.TotalProblem)
	}
	return nil
}

func nullable(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func checkQuantity(q int32) error {
	switch {
	case q < 1:
		return validation.New("quantity", "must be at least 1 (remove the item to take it out of the cart)")
	case q > pricing.MaxLineQuantity:
		return validation.New("quantity", "must be at most %d", pricing.MaxLineQuantity)
	}
	return nil
}

// currentPrice is what a product or variant sells for now; unknown or
// archived ones are the caller's bad input.
func currentPrice(ctx context.Context, q Querier, productID, variantID int64) (money.Money, error) {
	var m money.Money
	err := q.QueryRow(ctx, `SELECT price_minor, currency FROM products WHERE id = $1 AND active`, productID).
		Scan(&m.Amount, &m.Currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, validation.New("product_id", "product %d does not exist", productID)
	}
	if err != nil {
		return m, fmt.Errorf("cart: load product %d: %w", productID, err)
	}
	if variantID == 0 {
		return m, nil
	}
	var owner int64
	var price *int64
	err = q.QueryRow(ctx, `SELECT product_id, price_minor FROM product_variants WHERE id = $1 AND active`, variantID).
		Scan(&owner, &price)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, validation.New("variant_id", "variant %d does not exist", variantID)
	}
	if err != nil {
		return m, fmt.Errorf("cart: load variant %d: %w", variantID, err)
	}
	if owner != productID {
		return m, validation.New("variant_id", "variant %d is not a variant of product %d", variantID, productID)
	}
	if price != nil {
		m.Amount = *price
	}
	return m, nil
}

// Update sets the quantity of one of userID's items; a quantity that makes
// the line or the cart's total exceed money.MaxAmount is refused.
func (s *Store) Update(ctx context.Context, userID int64, cfg Config, itemID int64, quantity int32) error {
	if err := checkQuantity(quantity); err != nil {
		return err
	}
	return s.editItem(ctx, userID, &cfg, itemID, `UPDATE cart_items SET quantity = $3, updated_at = now() WHERE id = $1 AND user_id = $2`, quantity)
}

// Remove takes one of userID's items out of the cart.
func (s *Store) Remove(ctx context.Context, userID, itemID int64) error {
	return s.editItem(ctx, userID, nil, itemID, `DELETE FROM cart_items WHERE id = $1 AND user_id = $2`)
}

// editItem runs sql (with $1 item, $2 user) on the cart locked, and says
// ErrNotFound when it touched no line of userID's. With cfg, the cart must
// still be within the amount bounds afterwards.
func (s *Store) editItem(ctx context.Context, userID int64, cfg *Config, itemID int64, sql string, args ...any) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCart(ctx, tx, userID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sql, append([]any{itemID, userID}, args...)...)
		if err != nil {
			return fmt.Errorf("cart: item %d: %w", itemID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("item %d: %w", itemID, ErrNotFound)
		}
		if cfg != nil {
			if err := s.checkBounds(ctx, tx, userID, *cfg); err != nil {
				return err
			}
		}
		return touch(ctx, tx, userID)
	})
	if err != nil {
		return err
	}
	return nil
}

// SetCoupon puts code on the cart once it is known to apply: usable by
// userID now and, when the cart has items, accepted by pricing for them.
func (s *Store) SetCoupon(ctx context.Context, userID int64, cfg Config, code string, now time.Time) error {
	code = coupons.NormalizeCode(code)
	if code == "" {
		return validation.New("code", "is required")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCart(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := s.coupons.Check(ctx, tx, code, userID, now); errors.Is(err, coupons.ErrUnknown) {
			return validation.New("code", "there is no coupon %s", code)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE carts SET coupon_code = $2 WHERE user_id = $1`, userID, code); err != nil {
			return fmt.Errorf("cart: set coupon: %w", err)
		}
		c, err := s.load(ctx, tx, userID, false)
		if err != nil {
			return err
		}
		priced, err := s.Price(ctx, tx, userID, c, cfg, now)
		if err != nil {
			return err
		}
		if priced.CouponErr != nil {
			return priced.CouponErr
		}
		return touch(ctx, tx, userID)
	})
	if err != nil {
		return err
	}
	return nil
}

// ClearCoupon takes the coupon off the cart.
func (s *Store) ClearCoupon(ctx context.Context, userID int64) error {
	// No cart, no coupon: updating no row is fine.
	if _, err := s.pool.Exec(ctx, `UPDATE carts SET coupon_code = NULL, updated_at = now(), version = version + 1
		WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("cart: clear coupon: %w", err)
	}
	return nil
}

// Shipping is the shopper's shipping choice; empty fields keep the cart's.
type Shipping struct {
	Method string
	// Address is the destination: a whole address (checked as an order's
	// is) or, for a tax estimate, a country with optionally its region
	// and postal code. Setting it replaces the cart's destination.
	Address *address.Address
	// Country and Region are the older way to name a destination (a
	// country, and a region of it); with Address they must agree with it.
	Country string
	Region  string
}

// destination validates the destination in sh; ok is false when sh names
// none.
func (sh Shipping) destination() (d address.Address, ok bool, err error) {
	country, region := strings.TrimSpace(sh.Country), strings.TrimSpace(sh.Region)
	if sh.Address == nil {
		if country == "" && region == "" {
			return d, false, nil
		}
		if country, region, err = address.Jurisdiction(country, region, "country", "region"); err != nil {
			return d, false, err
		}
		d, err = address.Normalize(address.Address{Country: country, Region: region}, "", address.Destination)
		return d, err == nil, err
	}
	need := address.Destination
	if strings.TrimSpace(sh.Address.Line1) != "" || strings.TrimSpace(sh.Address.City) != "" {
		need = address.Full
	}
	if d, err = address.Normalize(*sh.Address, "address", need); err != nil {
		return d, false, err
	}
	// The older fields may only repeat what the address says.
	if err := address.Agree(country, region, d.Country, d.Region, "country", "region", "the address"); err != nil {
		return d, false, err
	}
	return d, true, nil
}

// SetShipping chooses the shipping method and the destination taxed.
func (s *Store) SetShipping(ctx context.Context, userID int64, cfg Config, sh Shipping) error {
	method := strings.ToLower(strings.TrimSpace(sh.Method))
	if _, ok := cfg.Shipping[method]; method != "" && !ok {
		codes := make([]string, 0, len(cfg.Shipping))
		for _, m := range cfg.Shipping.Sorted() {
			codes = append(codes, m.Code)
		}
		return validation.New("shipping_method", "%q is not offered; choose one of %s", sh.Method, strings.Join(codes, ", "))
	}
	d, newDest, err := sh.destination()
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCart(ctx, tx, userID); err != nil {
			return err
		}
		if method != "" {
			if _, err := tx.Exec(ctx, `UPDATE carts SET shipping_method = $2 WHERE user_id = $1`, userID, method); err != nil {
				return fmt.Errorf("cart: set shipping: %w", err)
			}
		}
		if newDest {
			_, err := tx.Exec(ctx, `UPDATE carts SET shipping_country = $2, shipping_region = $3, shipping_name = $4,
					shipping_line1 = $5, shipping_line2 = $6, shipping_city = $7, shipping_postal_code = $8, shipping_phone = $9
				WHERE user_id = $1`,
				userID, d.Country, d.Region, d.Name, d.Line1, d.Line2, d.City, d.PostalCode, d.Phone)
			if err != nil {
				return fmt.Errorf("cart: set shipping: %w", err)
			}
		}
		return touch(ctx, tx, userID)
	})
	if err != nil {
		return err
	}
	return nil
}

// Lines loads userID's cart inside checkout's transaction q, with current
// prices and stock, and locks the cart row until q ends so that no edit
// slips in between reading the cart and clearing it.
func (s *Store) Lines(ctx context.Context, q Querier, userID int64) (Contents, error) {
	return s.load(ctx, q, userID, true)
}

// Clear empties the cart after checkout (in its transaction) and drops the
// coupon the order used; the shipping choice stays for next time.
func (s *Store) Clear(ctx context.Context, q Querier, userID int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM cart_items WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("cart: clear: %w", err)
	}
	if _, err := q.Exec(ctx, `UPDATE carts SET coupon_code = NULL, updated_at = now(), version = version + 1 WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("cart: clear: %w", err)
	}
	return nil
}

func (s *Store) load(ctx context.Context, q Querier, userID int64, lock bool) (Contents, error) {
	c := Contents{ShippingMethod: DefaultShippingMethod}
	sql := `SELECT coalesce(coupon_code, ''), shipping_method, coalesce(shipping_country, ''), shipping_region,
			shipping_name, shipping_line1, shipping_line2, shipping_city, shipping_postal_code, shipping_phone, updated_at
		FROM carts WHERE user_id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	d := &c.Destination
	err := q.QueryRow(ctx, sql, userID).Scan(&c.CouponCode, &c.ShippingMethod, &d.Country, &d.Region,
		&d.Name, &d.Line1, &d.Line2, &d.City, &d.PostalCode, &d.Phone, &c.UpdatedAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("cart: load: %w", err)
	}
	rows, err := q.Query(ctx, `
		SELECT ci.id, ci.product_id, coalesce(ci.variant_id, 0), coalesce(v.sku, p.sku), p.name, ci.quantity,
			ci.added_price_minor, ci.currency, coalesce(v.price_minor, p.price_minor), p.currency,
			CASE WHEN ci.variant_id IS NULL THEN p.stock_quantity ELSE v.stock_quantity END,
			p.active AND coalesce(v.active, true)
		FROM cart_items ci
		JOIN products p ON p.id = ci.product_id
		LEFT JOIN product_variants v ON v.id = ci.variant_id
		WHERE ci.user_id = $1 ORDER BY ci.id`, userID)
	if err != nil {
		return c, fmt.Errorf("cart: load items: %w", err)
	}
	c.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		err := r.Scan(&it.ID, &it.ProductID, &it.VariantID, &it.SKU, &it.Name, &it.Quantity,
			&it.AddedPrice.Amount, &it.AddedPrice.Currency, &it.UnitPrice.Amount, &it.UnitPrice.Currency,
			&it.Stock, &it.Available)
		return it, err
	})
	if err != nil {
		return c, fmt.Errorf("cart: load items: %w", err)
	}
	return c, nil
}
