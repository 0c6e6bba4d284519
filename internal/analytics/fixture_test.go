package analytics_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/analytics"
)

// The raw rows the reference computation reads back from the database.
type rawOrder struct {
	ID, User         int64
	Status, Currency string
	Country          string
	Total, Refunded  int64
	PaidAt           *time.Time
	Lines            []rawLine
}

type rawLine struct {
	Line      int32
	Product   int64
	Quantity  int32
	LineTotal int64
}

type rawEvent struct {
	Session string
	At      time.Time
	Kind    string
	User    *int64
	Product *int64
}

type rawData struct {
	Orders     []rawOrder
	Events     []rawEvent
	Categories map[int64]int64 // product -> category
	Products   map[int64]string
	CatNames   map[int64]string
}

// generate fills a fresh database with random sales and sessions over the
// days before now: orders in three currencies and four countries, every
// status, partial and full refunds, cancellations before and after
// payment, free lines, and sessions with and without a shopper.
func generate(t testing.TB, pool *pgxpool.Pool, seed uint64, now time.Time, days, nOrders, nSessions int) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	_, err := pool.Exec(ctx, `
		INSERT INTO categories (name, slug) SELECT 'Category ' || g, 'cat-' || g FROM generate_series(1, 4) g;
		INSERT INTO products (sku, name, category_id, price_minor, currency)
			SELECT 'SKU-' || g, 'Product ' || g, (SELECT id FROM categories ORDER BY id OFFSET (g % 4) LIMIT 1), 1000, 'USD'
			FROM generate_series(1, 25) g;
		INSERT INTO users (username, email, password_hash)
			SELECT 'shopper' || g, 'shopper' || g || '@example.com', 'x' FROM generate_series(1, 300) g`)
	require.NoError(t, err)
	var products, users []int64
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id FROM products ORDER BY id`)
		products, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT id FROM users ORDER BY id`)
		users, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	}))
	start := now.Add(-time.Duration(days) * 24 * time.Hour)
	span := now.Sub(start) - time.Minute
	randTime := func() time.Time {
		at := start.Add(time.Duration(r.Int64N(int64(span))))
		if r.IntN(20) == 0 {
			at = at.Truncate(time.Hour) // on the hour exactly
		}
		return at.Truncate(time.Microsecond)
	}
	currencies := []string{"USD", "EUR", "JPY"}
	countries := []string{"US", "DE", "JP", "FR"}
	var orderRows, itemRows [][]any
	for i := range nOrders {
		id := int64(100000 + i)
		user := users[r.IntN(len(users))]
		cur := currencies[r.IntN(len(currencies))]
		nLines := 1 + r.IntN(4)
		var sub int64
		allFree := r.IntN(50) == 0
		for l := 1; l <= nLines; l++ {
			q := int32(1 + r.IntN(3))
			price := int64(r.IntN(20000))
			if allFree || r.IntN(15) == 0 {
				price = 0
			}
			lt := price * int64(q)
			sub += lt
			itemRows = append(itemRows, []any{id, int32(l), products[r.IntN(len(products))], "SKU", "Item", q, price, lt})
		}
		discount := int64(0)
		if sub > 0 && r.IntN(4) == 0 {
			discount = r.Int64N(sub/5 + 1)
		}
		shipping, tax := int64(r.IntN(1500)), int64(r.IntN(3000))
		total := sub - discount + shipping + tax
		paidAt := randTime()
		created := paidAt.Add(-time.Duration(r.IntN(600)) * time.Second)
		var paid *time.Time = &paidAt
		status := "paid"
		captured, refunded := total, int64(0)
		switch x := r.IntN(100); {
		case x < 40:
		case x < 50:
			status = "shipped"
		case x < 60:
			status = "delivered"
		case x < 70:
			status = "partially_refunded"
			if total > 1 {
				refunded = 1 + r.Int64N(total-1)
			}
		case x < 75:
			status, refunded = "refunded", total
		case x < 82:
			status, refunded = "cancelled", total
		case x < 87:
			status, paid, captured = "cancelled", nil, 0
		case x < 95:
			status, paid, captured = "payment_failed", nil, 0
		default:
			status, paid, captured = "awaiting_payment", nil, 0
		}
		orderRows = append(orderRows, []any{id, user, status, cur, sub, discount, shipping, tax, int64(0), total, captured,
			refunded, "standard", "addr", "addr", countries[r.IntN(len(countries))], "card", created, paid})
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"id", "user_id", "status", "currency", "subtotal_minor",
		"discount_minor", "shipping_minor", "tax_minor", "tax_ppm", "total_minor", "captured_minor", "refunded_minor",
		"shipping_method", "shipping_address", "billing_address", "shipping_country", "payment_method", "created_at", "paid_at"},
		pgx.CopyFromRows(orderRows))
	require.NoError(t, err)
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"order_items"}, []string{"order_id", "line", "product_id", "sku", "name",
		"quantity", "unit_price_minor", "line_total_minor"}, pgx.CopyFromRows(itemRows))
	require.NoError(t, err)

	kinds := []string{"view", "view", "view", "search", "add_to_cart", "add_to_cart", "remove_from_cart", "checkout_started"}
	var evRows [][]any
	for i := range nSessions {
		sid := fmt.Sprintf("session-%06d", i)
		var user *int64
		if r.IntN(10) < 6 {
			u := users[r.IntN(len(users))]
			user = &u
		}
		at := randTime().Add(-2 * time.Hour)
		n := 1 + r.IntN(8)
		for e := range n {
			kind := kinds[r.IntN(len(kinds))]
			var product *int64
			switch kind {
			case "view", "add_to_cart", "remove_from_cart":
				p := products[r.IntN(len(products))]
				if r.IntN(40) == 0 {
					p = 999999 // a product the catalog does not know
				}
				product = &p
			}
			var u *int64
			if user != nil && (e > 0 || r.IntN(2) == 0) { // signs in on the way
				u = user
			}
			var query *string
			if kind == "search" {
				q := "socks"
				query = &q
			}
			evRows = append(evRows, []any{at, kind, sid, u, product, query, "c:" + sid + ":" + strconv.Itoa(e)})
			// Mostly minutes apart; sometimes back a day later (past the window).
			if r.IntN(12) == 0 {
				at = at.Add(time.Duration(20+r.IntN(10)) * time.Hour)
			} else {
				at = at.Add(time.Duration(r.IntN(40*60)) * time.Second)
			}
			if at.After(now) {
				break
			}
		}
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"behaviour_events"}, []string{"occurred_at", "kind", "session_id", "user_id",
		"product_id", "query", "dedup_key"}, pgx.CopyFromRows(evRows))
	require.NoError(t, err)
}

// load reads the raw rows back.
func load(t testing.TB, pool *pgxpool.Pool) rawData {
	t.Helper()
	ctx := context.Background()
	d := rawData{Categories: map[int64]int64{}, Products: map[int64]string{}, CatNames: map[int64]string{}}
	rows, err := pool.Query(ctx, `SELECT id, user_id, status::text, currency, shipping_country, total_minor, refunded_minor, paid_at
		FROM orders ORDER BY id`)
	require.NoError(t, err)
	byID := map[int64]int{}
	for rows.Next() {
		var o rawOrder
		require.NoError(t, rows.Scan(&o.ID, &o.User, &o.Status, &o.Currency, &o.Country, &o.Total, &o.Refunded, &o.PaidAt))
		byID[o.ID] = len(d.Orders)
		d.Orders = append(d.Orders, o)
	}
	require.NoError(t, rows.Err())
	rows, err = pool.Query(ctx, `SELECT order_id, line, product_id, quantity, line_total_minor FROM order_items ORDER BY order_id, line`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var l rawLine
		require.NoError(t, rows.Scan(&id, &l.Line, &l.Product, &l.Quantity, &l.LineTotal))
		o := &d.Orders[byID[id]]
		o.Lines = append(o.Lines, l)
	}
	require.NoError(t, rows.Err())
	rows, err = pool.Query(ctx, `SELECT session_id, occurred_at, kind, user_id, product_id FROM behaviour_events
		WHERE session_id IS NOT NULL`)
	require.NoError(t, err)
	for rows.Next() {
		var e rawEvent
		require.NoError(t, rows.Scan(&e.Session, &e.At, &e.Kind, &e.User, &e.Product))
		d.Events = append(d.Events, e)
	}
	require.NoError(t, rows.Err())
	rows, err = pool.Query(ctx, `SELECT p.id, p.name, c.id, c.name FROM products p JOIN categories c ON c.id = p.category_id`)
	require.NoError(t, err)
	for rows.Next() {
		var p, c int64
		var pn, cn string
		require.NoError(t, rows.Scan(&p, &pn, &c, &cn))
		d.Categories[p], d.Products[p], d.CatNames[c] = c, pn, cn
	}
	require.NoError(t, rows.Err())
	return d
}

// reference answers q by plain Go over the raw rows, following the
// README's definitions.
func reference(q analytics.Query, d rawData) []analytics.Row {
	bucket := func(at time.Time) string {
		l := at.In(q.Loc)
		switch q.GroupBy {
		case analytics.ByDay:
			return l.Format("2006-01-02")
		case analytics.ByWeek:
			day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
			return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)).Format("2006-01-02")
		case analytics.ByMonth:
			return l.Format("2006-01")
		}
		return "all"
	}
	in := func(at time.Time) bool { return !at.Before(q.From) && at.Before(q.To) }
	groups := map[string]*analytics.Row{}
	group := func(k string) *analytics.Row {
		if groups[k] == nil {
			groups[k] = &analytics.Row{Key: k, Label: k}
		}
		return groups[k]
	}
	addSales := func(k string, f analytics.Sales) {
		r := group(k)
		for i := range r.Sales {
			if r.Sales[i].Currency == f.Currency {
				s := &r.Sales[i]
				s.Orders += f.Orders
				s.Units += f.Units
				s.Gross += f.Gross
				s.Refunded += f.Refunded
				s.RefundedOrders += f.RefundedOrders
				s.NewCustomers += f.NewCustomers
				s.ReturningOrders += f.ReturningOrders
				return
			}
		}
		r.Sales = append(r.Sales, f)
	}
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	earlier := func(a, b rawOrder) bool {
		return a.PaidAt.Before(*b.PaidAt) || (a.PaidAt.Equal(*b.PaidAt) && a.ID < b.ID)
	}
	// Each shopper's first paid order (whatever became of it).
	firstPaid := map[int64]rawOrder{}
	paidBy := map[int64][]rawOrder{}
	for _, p := range d.Orders {
		if p.PaidAt == nil {
			continue
		}
		paidBy[p.User] = append(paidBy[p.User], p)
		if f, ok := firstPaid[p.User]; !ok || earlier(p, f) {
			firstPaid[p.User] = p
		}
	}
	for _, o := range d.Orders {
		if o.PaidAt == nil || o.Status == "cancelled" || !in(*o.PaidAt) || (q.Currency != "" && o.Currency != q.Currency) {
			continue
		}
		first := firstPaid[o.User].ID == o.ID
		var units int64
		var sub int64
		for _, l := range o.Lines {
			units += int64(l.Quantity)
			sub += l.LineTotal
		}
		// Each line's share, rounded down; the rest to the last line.
		share := func(amount int64) []int64 {
			out := make([]int64, len(o.Lines))
			var sum int64
			for i, l := range o.Lines {
				if sub > 0 {
					x := new(big.Int).Mul(big.NewInt(amount), big.NewInt(l.LineTotal))
					out[i] = x.Quo(x, big.NewInt(sub)).Int64()
				}
				sum += out[i]
			}
			last := 0
			for i, l := range o.Lines {
				if l.Line > o.Lines[last].Line {
					last = i
				}
			}
			out[last] += amount - sum
			return out
		}
		b := bucket(*o.PaidAt)
		refundedOrder := b2i(o.Refunded > 0)
		switch q.GroupBy {
		case analytics.ByProduct, analytics.ByCategory:
			gross, refunded := share(o.Total), share(o.Refunded)
			type acc struct{ units, gross, refunded int64 }
			per := map[string]*acc{}
			for i, l := range o.Lines {
				k := strconv.FormatInt(l.Product, 10)
				if q.GroupBy == analytics.ByCategory {
					k = strconv.FormatInt(d.Categories[l.Product], 10)
				}
				if per[k] == nil {
					per[k] = &acc{}
				}
				per[k].units += int64(l.Quantity)
				per[k].gross += gross[i]
				per[k].refunded += refunded[i]
			}
			for k, a := range per {
				addSales(k, analytics.Sales{Currency: o.Currency, Orders: 1, Units: a.units, Gross: a.gross,
					Refunded: a.refunded, RefundedOrders: refundedOrder, NewCustomers: b2i(first), ReturningOrders: b2i(!first)})
			}
		default:
			k := b
			if q.GroupBy == analytics.ByCountry {
				k = o.Country
			}
			addSales(k, analytics.Sales{Currency: o.Currency, Orders: 1, Units: units, Gross: o.Total,
				Refunded: o.Refunded, RefundedOrders: refundedOrder, NewCustomers: b2i(first), ReturningOrders: b2i(!first)})
		}
	}

	// Sessions.
	if q.GroupBy != analytics.ByCountry {
		bySession := map[string][]rawEvent{}
		for _, e := range d.Events {
			bySession[e.Session] = append(bySession[e.Session], e)
		}
		for _, evs := range bySession {
			started := evs[0].At
			for _, e := range evs {
				if e.At.Before(started) {
					started = e.At
				}
			}
			if !in(started) {
				continue
			}
			end := started.Add(analytics.SessionWindow)
			users := map[int64]bool{}
			touched := map[string]bool{} // key -> carted
			for _, e := range evs {
				if e.At.Before(started) || !e.At.Before(end) {
					continue
				}
				if e.User != nil {
					users[*e.User] = true
				}
				if e.Product != nil {
					k := strconv.FormatInt(*e.Product, 10)
					if q.GroupBy == analytics.ByCategory {
						c, ok := d.Categories[*e.Product]
						if !ok {
							continue
						}
						k = strconv.FormatInt(c, 10)
					}
					touched[k] = touched[k] || e.Kind == "add_to_cart"
				}
			}
			carted := false
			for _, e := range evs {
				if !e.At.Before(started) && e.At.Before(end) && e.Kind == "add_to_cart" {
					carted = true
				}
			}
			converted := false
			bought := map[string]bool{}
			var paid []rawOrder
			for u := range users {
				paid = append(paid, paidBy[u]...)
			}
			for _, o := range paid {
				if o.PaidAt.Before(started) || !o.PaidAt.Before(end) {
					continue
				}
				converted = true
				for _, l := range o.Lines {
					k := strconv.FormatInt(l.Product, 10)
					if q.GroupBy == analytics.ByCategory {
						k = strconv.FormatInt(d.Categories[l.Product], 10)
					}
					bought[k] = true
				}
			}
			switch q.GroupBy {
			case analytics.ByProduct, analytics.ByCategory:
				for k, cart := range touched {
					s := &group(k).Sessions
					s.Sessions++
					s.Converted += b2i(bought[k])
					s.Cart += b2i(cart)
					s.Abandoned += b2i(cart && !bought[k])
				}
			default:
				s := &group(bucket(started)).Sessions
				s.Sessions++
				s.Converted += b2i(converted)
				s.Cart += b2i(carted)
				s.Abandoned += b2i(carted && !converted)
			}
		}
	}
	switch {
	case q.GroupBy.IsTime():
		for _, k := range analytics.Periods(q.GroupBy, q.Loc, q.From, q.To) {
			group(k)
		}
	case q.GroupBy == analytics.ByNone:
		group("all")
	}
	var out []analytics.Row
	for k, r := range groups {
		id, _ := strconv.ParseInt(k, 10, 64)
		switch q.GroupBy {
		case analytics.ByProduct:
			if n, ok := d.Products[id]; ok {
				r.Label = n
			}
		case analytics.ByCategory:
			if n, ok := d.CatNames[id]; ok {
				r.Label = n
			}
		}
		slices.SortFunc(r.Sales, func(a, b analytics.Sales) int {
			switch {
			case a.Currency < b.Currency:
				return -1
			case a.Currency > b.Currency:
				return 1
			}
			return 0
		})
		out = append(out, *r)
	}
	analytics.SortRows(q, out)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}
