package orders

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
)

// Store reads and writes orders.
type Store struct {
	pool     *pgxpool.Pool
	coupons  *coupons.Store
	carts    *cart.Store
	settings Settings
}

// NewStore returns a Store; coupons and carts may be nil when unused.
func NewStore(pool *pgxpool.Pool, cs *coupons.Store, carts *cart.Store, s Settings) *Store {
	return &Store{pool: pool, coupons: cs, carts: carts, settings: s}
}

// Settings returns the pricing rules the store applies.
func (s *Store) Settings() Settings { return s.settings }

// ClaimOrderID returns the order id for a new order request. With an
// idempotency key, the same key and body from the same user always get the
// same id, and the same key with another body is refused.
func (s *Store) ClaimOrderID(ctx context.Context, userID int64, key string, body []byte) (id int64, err error) {
	if key == "" {
		err = s.pool.QueryRow(ctx, `SELECT nextval('order_ids')`).Scan(&id)
		return id, err
	}
	if len(key) > 255 {
		return 0, validation.New("Idempotency-Key", "must be at most 255 characters")
	}
	sum := sha256.Sum256(body)
	err = s.pool.QueryRow(ctx, `INSERT INTO order_idempotency_keys (user_id, key, request_hash, order_id)
		VALUES ($1, $2, $3, nextval('order_ids')) ON CONFLICT (user_id, key) DO NOTHING RETURNING order_id`,
		userID, key, sum[:]).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	var hash []byte
	if err := s.pool.QueryRow(ctx, `SELECT order_id, request_hash FROM order_idempotency_keys WHERE user_id = $1 AND key = $2`,
		userID, key).Scan(&id, &hash); err != nil {
		return 0, err
	}
	if string(hash) != string(sum[:]) {
		return 0, ErrIdempotencyKeyReused
	}
	return id, nil
}

type wanted struct {
	Item
	pos int // index in the request, for error messages
}

// Place writes the order and reserves its stock in one transaction: every
// line's stock is taken with a conditional update, so concurrent orders can
// never oversell, and a short line rolls the whole order back. Placing an
// order that already exists returns it unchanged.
func (s *Store) Place(ctx context.Context, in PlaceInput) (Order, error) {
	if err := in.Validate(s.settings); err != nil {
		return Order{}, err
	}
	placedIn := "" // the new order's currency, once written
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		placedIn = ""
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)`, in.OrderID).Scan(&exists); err != nil || exists {
			return err
		}
		fromCart := len(in.Items) == 0
		if fromCart {
			if s.carts == nil {
				return validation.New("items", "is required")
			}
			c, err := s.carts.Lines(ctx, tx, in.UserID)
			if err != nil {
				return err
			}
			if len(c.Items) == 0 {
				return validation.New("items", "the cart is empty; add items or send them with the order")
			}
			for _, it := range c.Items {
				in.Items = append(in.Items, Item{ProductID: it.ProductID, VariantID: it.VariantID, Quantity: it.Quantity})
			}
			in.CouponCode = cmp.Or(in.CouponCode, c.CouponCode)
			in.ShippingMethod = cmp.Or(in.ShippingMethod, c.ShippingMethod)
			// The tax follows the order's shipping address, never the
			// cart's estimate destination.
		}
		items := merge(in.Items)
		lines, alloc, currency, err := reserve(ctx, tx, items)
		if err != nil {
			return err
		}
		q, err := s.quote(ctx, tx, in, items, lines, currency)
		if err != nil {
			return err
		}
		if err := insertOrder(ctx, tx, in, q, alloc); err != nil {
			return err
		}
		placedIn = currency
		if in.CouponCode != "" {
			if err := s.coupons.Redeem(ctx, tx, in.CouponCode, in.UserID, in.OrderID, time.Now()); err != nil {
				return couponErr(err)
			}
		}
		if fromCart {
			return s.carts.Clear(ctx, tx, in.UserID)
		}
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	if placedIn != "" {
		metrics.OrderPlaced(placedIn)
	}
	return s.Get(ctx, in.OrderID)
}

// merge adds up repeated products and sorts the lines, so concurrent orders
// lock stock rows in the same order and cannot deadlock.
func merge(items []Item) []wanted {
	var out []wanted
	for i, it := range items {
		j := slices.IndexFunc(out, func(w wanted) bool { return w.ProductID == it.ProductID && w.VariantID == it.VariantID })
		if j >= 0 {
			out[j].Quantity += it.Quantity
			continue
		}
		out = append(out, wanted{Item: it, pos: i})
	}
	slices.SortFunc(out, func(a, b wanted) int {
		if a.ProductID != b.ProductID {
			return int(a.ProductID - b.ProductID)
		}
		return int(a.VariantID - b.VariantID)
	})
	return out
}

// reserve prices the order's lines and reserves their stock at the
// locations (see inventory.Reserve), answering each line's allocations.
func reserve(ctx context.Context, tx pgx.Tx, items []wanted) ([]pricing.Line, [][]inventory.Allocation, string, error) {
	var lines []pricing.Line
	wants := make([]inventory.Want, 0, len(items))
	currency := ""
	for _, w := range items {
		if w.Quantity > pricing.MaxLineQuantity {
			return nil, nil, "", validation.New(fmt.Sprintf("items[%d].quantity", w.pos), "must be at most %d in total", pricing.MaxLineQuantity)
		}
		l := pricing.Line{ProductID: w.ProductID, VariantID: w.VariantID, Quantity: w.Quantity}
		var cur string
		var err error
		if w.VariantID == 0 {
			err = tx.QueryRow(ctx, `SELECT sku, name, price_minor, currency FROM products WHERE id = $1 AND active`,
				w.ProductID).Scan(&l.SKU, &l.Name, &l.UnitPrice, &cur)
		} else {
			err = tx.QueryRow(ctx, `SELECT v.sku, p.name, coalesce(v.price_minor, p.price_minor), p.currency
				FROM product_variants v JOIN products p ON p.id = v.product_id
				WHERE v.id = $2 AND v.product_id = $1 AND v.active AND p.active`,
				w.ProductID, w.VariantID).Scan(&l.SKU, &l.Name, &l.UnitPrice, &cur)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, "", whyNotReserved(ctx, tx, w)
		}
		if err != nil {
			return nil, nil, "", err
		}
		if currency != "" && cur != currency {
			return nil, nil, "", validation.New(fmt.Sprintf("items[%d].product_id", w.pos), "is priced in %s; one order is paid in one currency (%s)", cur, currency)
		}
		currency = cur
		lines = append(lines, l)
		wants = append(wants, inventory.Want{ProductID: w.ProductID, VariantID: w.VariantID, Quantity: w.Quantity})
	}
	alloc, err := inventory.Reserve(ctx, tx, wants)
	var short *inventory.ShortError
	if errors.As(err, &short) {
		return nil, nil, "", whyNotReserved(ctx, tx, items[short.Index])
	}
	if err != nil {
		return nil, nil, "", err
	}
	return lines, alloc, currency, nil
}

func whyNotReserved(ctx context.Context, tx pgx.Tx, w wanted) error {
	var e StockError
	e.ProductID, e.VariantID, e.Requested = w.ProductID, w.VariantID, w.Quantity
	var active bool
	var err error
	field := fmt.Sprintf("items[%d].product_id", w.pos)
	if w.VariantID == 0 {
		err = tx.QueryRow(ctx, `SELECT sku, name, stock_quantity, active FROM products WHERE id = $1`, w.ProductID).
			Scan(&e.SKU, &e.Name, &e.Available, &active)
	} else {
		field = fmt.Sprintf("items[%d].variant_id", w.pos)
		err = tx.QueryRow(ctx, `SELECT v.sku, p.name, v.stock_quantity, v.active AND p.active
			FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = $2 AND v.product_id = $1`,
			w.ProductID, w.VariantID).Scan(&e.SKU, &e.Name, &e.Available, &active)
	}
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !active {
		return validation.New(field, "no such product is for sale")
	}
	if err != nil {
		return err
	}
	return &e
}

func (s *Store) quote(ctx context.Context, tx pgx.Tx, in PlaceInput, items []wanted, lines []pricing.Line, currency string) (pricing.Quote, error) {
	method, ok := s.settings.ShippingMethods[cmp.Or(in.ShippingMethod, "standard")]
	if !ok {
		return pricing.Quote{}, validation.New("shipping_method", "unknown shipping method %q", in.ShippingMethod)
	}
	pin := pricing.Input{Currency: currency, Lines: lines, Shipping: method, TaxPPM: s.settings.TaxRates.Rate(in.Country, in.Region)}
	if in.CouponCode != "" {
		if s.coupons == nil {
			return pricing.Quote{}, validation.New("coupon_code", "coupons are not accepted")
		}
		c, err := s.coupons.Check(ctx, tx, in.CouponCode, in.UserID, time.Now())
		if err != nil {
			return pricing.Quote{}, couponErr(err)
		}
		pin.Coupon = &c
	}
	q, err := pricing.Compute(pin)
	return q, quoteErr(err, items)
}

// quoteErr names the input field a pricing refusal is about: the request's
// line for a line too large, items for a total too large, the coupon for a
// coupon that does not apply, the shipping method for one not priced in the
// order's currency. Any other error is not the shopper's and is returned as
// it is.
func quoteErr(err error, items []wanted) error {
	var le *pricing.LineError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pricing.ErrCouponNotApplicable):
		return validation.New("coupon_code", "%v", err)
	case errors.As(err, &le) && errors.Is(le, pricing.ErrTooLarge) && le.Index < len(items):
		return validation.New(fmt.Sprintf("items[%d]", items[le.Index].pos), "%v", le.Err)
	case errors.Is(err, pricing.ErrTooLarge):
		return validation.New("items", "%v", err)
	case errors.Is(err, pricing.ErrShippingCurrency):
		return validation.New("shipping_method", "%v", err)
	}
	return err
}

// couponErr names the coupon_code field when the coupon itself is refused
// (unknown, not yet valid, expired, used up). Anything else (a dropped
// connection, a timeout, a data error) is not about the coupon and is
// returned as it is, for the caller to classify.
func couponErr(err error) error {
	if errors.Is(err, coupons.ErrUnknown) || errors.Is(err, coupons.ErrNotApplicable) {
		return validation.New("coupon_code", "%v", err)
	}
	return err
}

func insertOrder(ctx context.Context, tx pgx.Tx, in PlaceInput, q pricing.Quote, alloc [][]inventory.Allocation) error {
	var coupon any
	if in.CouponCode != "" {
		coupon = in.CouponCode
	}
	var to address.Address
	if in.Shipping != nil {
		to = *in.Shipping
	}
	_, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor,
		shipping_minor, tax_minor, tax_ppm, total_minor, coupon_code, shipping_method, shipping_address, billing_address,
		shipping_country, shipping_region, payment_method,
		shipping_name, shipping_line1, shipping_line2, shipping_city, shipping_postal_code, shipping_phone)
		VALUES ($1, $2, 'awaiting_payment', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
			$17, $18, $19, $20, $21, $22)`,
		in.OrderID, in.UserID, q.Currency, q.Subtotal, q.Discount, q.Shipping, q.Tax, q.TaxPPM, q.Total, coupon,
		cmp.Or(in.ShippingMethod, "standard"), in.ShippingAddress, in.BillingAddress, in.Country, in.Region, in.PaymentMethod,
		to.Name, to.Line1, to.Line2, to.City, to.PostalCode, to.Phone)
	if err != nil {
		return err
	}
	for i, l := range q.Lines {
		var variant any
		if l.VariantID != 0 {
			variant = l.VariantID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, variant_id, sku, name, quantity,
			unit_price_minor, line_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			in.OrderID, i+1, l.ProductID, variant, l.SKU, l.Name, l.Quantity, l.UnitPrice, l.LineTotal); err != nil {
			return err
		}
		for _, a := range alloc[i] {
			if _, err := tx.Exec(ctx, `INSERT INTO stock_reservations (order_id, line, location_id, product_id, variant_id, quantity, state)
				VALUES ($1, $2, $3, $4, $5, $6, 'held')`, in.OrderID, i+1, a.LocationID, l.ProductID, variant, a.Quantity); err != nil {
				return err
			}
		}
	}
	return addEvent(ctx, tx, in.OrderID, string(StatusAwaitingPayment), "stock reserved; awaiting payment")
}

func addEvent(ctx context.Context, tx pgx.Tx, orderID int64, status, note string) error {
	_, err := tx.Exec(ctx, `INSERT INTO order_events (order_id, status, note) VALUES ($1, $2, $3)`, orderID, status, note)
	return err
}
