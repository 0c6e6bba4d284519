// Package demohistory gives the demo store a believable past: shoppers with
// tastes who browse, add to cart and buy, with items that go together, so
// the recommender and the sales figures have something real to learn from
// and show on a fresh `make run`. It writes past orders as delivered, with
// their order facts and behaviour events dated when they happened; it
// touches no stock (these sales are history) and starts no workflow.
package demohistory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/events"
)

// Options shape the history.
type Options struct {
	Customers int       // shoppers (default 150)
	Days      int       // how far back the history goes (default 90)
	Seed      uint64    // the same seed makes the same history
	Now       time.Time // the end of the history (default: now)
}

// Summary tells what Generate wrote.
type Summary struct {
	Customers, Orders, Events int
	// Skipped: the store already has its demo shoppers; nothing was written.
	Skipped bool
}

// emailDomain marks the demo shoppers: their accounts cannot log in.
const emailDomain = "@demo-shoppers.shop.local"

type product struct {
	id, category int64
	price        int64
	currency     string
	sku, name    string
}

// Generate writes the history once: a store that has its demo shoppers
// already is left alone.
func Generate(ctx context.Context, pool *pgxpool.Pool, o Options) (Summary, error) {
	o.Customers = cmp.Or(o.Customers, 150)
	o.Days = cmp.Or(o.Days, 90)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email LIKE $1)`, "%"+emailDomain).Scan(&exists); err != nil {
		return Summary{}, fmt.Errorf("demohistory: %w", err)
	}
	if exists {
		return Summary{Skipped: true}, nil
	}
	catalog, err := products(ctx, pool)
	if err != nil {
		return Summary{}, err
	}
	if len(catalog) < 10 {
		return Summary{}, errors.New("demohistory: the catalog has fewer than 10 active products; seed it first")
	}
	store := events.NewStore(pool)
	start := o.Now.AddDate(0, 0, -o.Days)
	if _, err := store.EnsurePartitions(ctx, start, o.Now); err != nil {
		return Summary{}, fmt.Errorf("demohistory: %w", err)
	}
	g := &generator{rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed)), byCategory: map[int64][]product{}, start: start, now: o.Now}
	for _, p := range catalog {
		g.byCategory[p.category] = append(g.byCategory[p.category], p)
	}
	for c := range g.byCategory {
		g.categories = append(g.categories, c)
	}
	slices.Sort(g.categories)

	var sum Summary
	for i := range o.Customers {
		n, evs, err := g.shopper(ctx, pool, i)
		if err != nil {
			return sum, err
		}
		if _, err := store.Record(ctx, evs); err != nil {
			return sum, fmt.Errorf("demohistory: events: %w", err)
		}
		sum.Customers++
		sum.Orders += n
		sum.Events += len(evs)
	}
	return sum, nil
}

func products(ctx context.Context, pool *pgxpool.Pool) ([]product, error) {
	rows, err := pool.Query(ctx, `SELECT id, coalesce(category_id, 0), price_minor, currency, sku, name
		FROM products WHERE active ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("demohistory: products: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (product, error) {
		var p product
		return p, r.Scan(&p.id, &p.category, &p.price, &p.currency, &p.sku, &p.name)
	})
}

type generator struct {
	rng        *rand.Rand
	byCategory map[int64][]product
	categories []int64
	start, now time.Time
}

// pick chooses a product of a category, the first ones far more often (a
// few best sellers and a long tail, as in every shop).
func (g *generator) pick(category int64) product {
	ps := g.byCategory[category]
	i := int(float64(len(ps)) * g.rng.Float64() * g.rng.Float64() * g.rng.Float64())
	return ps[min(i, len(ps)-1)]
}

// companion is what goes with p: its neighbour in the category, so some
// pairs are bought together far more than chance.
func (g *generator) companion(p product) product {
	ps := g.byCategory[p.category]
	i := slices.IndexFunc(ps, func(x product) bool { return x.id == p.id })
	return ps[(i+1)%len(ps)]
}

// shopper writes one demo customer with their sessions and orders, and
// answers how many orders and the behaviour events to record.
func (g *generator) shopper(ctx context.Context, pool *pgxpool.Pool, i int) (int, []events.Event, error) {
	var user int64
	name := fmt.Sprintf("demo-shopper-%03d", i+1)
	if err := pool.QueryRow(ctx, `INSERT INTO users (username, email, password_hash, first_name, created_at)
		VALUES ($1, $2, '!demo', 'Demo', $3) RETURNING id`, name, name+emailDomain, g.start).Scan(&user); err != nil {
		return 0, nil, fmt.Errorf("demohistory: user: %w", err)
	}
	// Two favourite categories; a visit stays in them four times in five.
	tastes := []int64{g.categories[g.rng.IntN(len(g.categories))], g.categories[g.rng.IntN(len(g.categories))]}
	var evs []events.Event
	orders := 0
	sessions := 2 + g.rng.IntN(7)
	for s := range sessions {
		at := g.start.Add(time.Duration(g.rng.Int64N(int64(g.now.Sub(g.start)))))
		session := fmt.Sprintf("demo-%d-%d", user, s)
		add := func(k events.Kind, p product, qty int32) {
			at = at.Add(time.Duration(20+g.rng.IntN(120)) * time.Second)
			evs = append(evs, events.Event{Kind: k, OccurredAt: at, SessionID: session, UserID: user, ProductID: p.id,
				Quantity: qty, DedupKey: events.ClientKey(session, fmt.Sprint(len(evs)))})
		}
		var cart []product
		for range 3 + g.rng.IntN(6) {
			c := tastes[g.rng.IntN(2)]
			if g.rng.IntN(5) == 0 {
				c = g.categories[g.rng.IntN(len(g.categories))]
			}
			p := g.pick(c)
			add(events.KindView, p, 0)
			if g.rng.IntN(4) == 0 {
				add(events.KindAddToCart, p, 1)
				cart = append(cart, p)
			}
		}
		if len(cart) == 0 || g.rng.IntN(10) >= 6 {
			continue
		}
		if g.rng.IntN(2) == 0 {
			c := g.companion(cart[0])
			add(events.KindView, c, 0)
			add(events.KindAddToCart, c, 1)
			cart = append(cart, c)
		}
		add(events.KindCheckoutStarted, cart[0], 0)
		evs[len(evs)-1].ProductID = 0
		facts, err := g.order(ctx, pool, user, name, at, cart)
		if err != nil {
			return 0, nil, err
		}
		evs = append(evs, facts...)
		orders++
	}
	return orders, evs, nil
}

// order writes a delivered order of the cart, placed at at, and answers its
// paid and delivered facts (the placement is recorded from the orders
// table's outbox event, dated when placed).
func (g *generator) order(ctx context.Context, pool *pgxpool.Pool, user int64, name string, at time.Time, cart []product) ([]events.Event, error) {
	lines := map[int64]int32{}
	var uniq []product
	for _, p := range cart {
		if lines[p.id] == 0 {
			uniq = append(uniq, p)
		}
		lines[p.id]++
	}
	var subtotal int64
	for _, p := range uniq {
		subtotal += p.price * int64(lines[p.id])
	}
	const shipping = 599
	currency := uniq[0].currency
	paid, delivered := at.Add(2*time.Minute), at.Add(time.Duration(2+g.rng.IntN(4))*24*time.Hour)
	if delivered.After(g.now) {
		delivered = g.now
	}
	var id int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor,
			shipping_minor, tax_minor, tax_ppm, total_minor, captured_minor, shipping_method, shipping_address, billing_address,
			shipping_country, payment_method, created_at, updated_at, paid_at)
			VALUES (nextval('order_ids'), $1, 'delivered', $2, $3, 0, $4, 0, 0, $5, $5, 'standard', $6, $6, 'US',
				'credit_card', $7, $8, $9) RETURNING id`,
			user, currency, subtotal, shipping, subtotal+shipping, name+", 1 Demo Street, Springfield, US", at, delivered, paid).Scan(&id); err != nil {
			return err
		}
		for i, p := range uniq {
			q := lines[p.id]
			if _, err := tx.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, sku, name, quantity,
				unit_price_minor, line_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				id, i+1, p.id, p.sku, p.name, q, p.price, p.price*int64(q)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO order_events (order_id, status, note, created_at)
			VALUES ($1, 'paid', 'payment received', $2), ($1, 'delivered', 'delivered', $3)`, id, paid, delivered)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("demohistory: order: %w", err)
	}
	total := subtotal + shipping
	fact := func(k events.Kind, status string, t time.Time) events.Event {
		return events.Event{Kind: k, OccurredAt: t, UserID: user, OrderID: id, AmountMinor: total, Currency: currency,
			DedupKey: events.OrderKey(id, status)}
	}
	return []events.Event{fact(events.KindOrderPaid, "paid", paid), fact(events.KindOrderDelivered, "delivered", delivered)}, nil
}
