// Package events is the behaviour event store: what shoppers do on the
// storefront (views, searches, cart changes, checkouts) and the order facts
// the shop records itself (placed, paid, shipped, delivered, cancelled,
// refunded), in one table that the recommender and sales analytics read.
//
// The table (migration 0018) is partitioned by month of occurred_at; a
// month is created ahead by EnsurePartitions and dropped whole by Prune
// once it is older than the retention. Every event carries a dedup key, so
// a client's retry of a batch or a redelivered outbox event is stored once.
package events

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/validation"
)

// Kind is what happened.
type Kind string

// What shoppers do, sent by the storefront.
const (
	KindView            Kind = "view"
	KindSearch          Kind = "search"
	KindAddToCart       Kind = "add_to_cart"
	KindRemoveFromCart  Kind = "remove_from_cart"
	KindCheckoutStarted Kind = "checkout_started"
)

// Order facts, recorded by the shop from the outbox; never accepted from a
// client.
const (
	KindOrderPlaced    Kind = "order_placed"
	KindOrderPaid      Kind = "order_paid"
	KindOrderShipped   Kind = "order_shipped"
	KindOrderDelivered Kind = "order_delivered"
	KindOrderCancelled Kind = "order_cancelled"
	KindOrderRefunded  Kind = "order_refunded"
)

// ClientKinds are the kinds a storefront may send.
var ClientKinds = []Kind{KindView, KindSearch, KindAddToCart, KindRemoveFromCart, KindCheckoutStarted}

// ServerKinds are the order facts.
var ServerKinds = []Kind{KindOrderPlaced, KindOrderPaid, KindOrderShipped, KindOrderDelivered, KindOrderCancelled, KindOrderRefunded}

// IsServerFact reports whether k is an order fact.
func (k Kind) IsServerFact() bool {
	for _, s := range ServerKinds {
		if k == s {
			return true
		}
	}
	return false
}

func (k Kind) known() bool {
	for _, c := range ClientKinds {
		if k == c {
			return true
		}
	}
	return k.IsServerFact()
}

// NeedsProduct reports whether an event of kind k must name a product.
func (k Kind) NeedsProduct() bool {
	return k == KindView || k == KindAddToCart || k == KindRemoveFromCart
}

// Limits of one event's fields.
const (
	MaxQueryChars   = 200
	MaxQuantity     = 10_000
	MaxDedupKey     = 300
	MinSessionChars = 8
	MaxSessionChars = 128
)

// Event is one stored behaviour event. Zero values mean "none" (stored as
// NULL); AmountMinor is stored only with a Currency.
type Event struct {
	ID         int64 // set when read back
	Kind       Kind
	OccurredAt time.Time
	ReceivedAt time.Time // set when read back
	SessionID  string
	UserID     int64
	ProductID  int64
	VariantID  int64
	Quantity   int32
	Query      string
	OrderID    int64
	// AmountMinor in Currency: an order's total, or for order_refunded
	// what had been refunded of it by then.
	AmountMinor int64
	Currency    string
	// DedupKey stores the event once (ClientKey, OrderKey).
	DedupKey string
}

// ClientKey is the dedup key of a storefront event: the client's event id
// within its session.
func ClientKey(sessionID, eventID string) string { return "c:" + sessionID + ":" + eventID }

// OrderKey is the dedup key of an order fact: one per order and status.
func OrderKey(orderID int64, status string) string {
	return "order-" + strconv.FormatInt(orderID, 10) + "-" + status
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks one event; field names are prefixed with prefix
// ("events[3]"). Client events name the type field "type", as the API does.
func (e Event) Validate(prefix string) error {
	f := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch {
	case !e.Kind.known():
		return validation.New(f("type"), "%q is not an event type", e.Kind)
	case e.OccurredAt.IsZero():
		return validation.New(f("occurred_at"), "is required")
	case e.DedupKey == "" || len(e.DedupKey) > MaxDedupKey:
		return validation.New(f("event_id"), "is required (at most %d characters with its session)", MaxDedupKey)
	case e.ProductID < 0:
		return validation.New(f("product_id"), "must be greater than 0")
	case e.Kind.NeedsProduct() && e.ProductID == 0:
		return validation.New(f("product_id"), "is required for %s events", e.Kind)
	case e.VariantID < 0:
		return validation.New(f("variant_id"), "must not be negative")
	case e.VariantID > 0 && e.ProductID == 0:
		return validation.New(f("variant_id"), "needs a product_id")
	case e.Quantity < 0 || e.Quantity > MaxQuantity:
		return validation.New(f("quantity"), "must be from 0 to %d", MaxQuantity)
	case utf8.RuneCountInString(e.Query) > MaxQueryChars:
		return validation.New(f("query"), "must be at most %d characters", MaxQueryChars)
	case e.Kind == KindSearch && e.Query == "":
		return validation.New(f("query"), "is required for search events")
	case e.Currency != "" && !currencyPattern.MatchString(e.Currency):
		return validation.New(f("currency"), "must be an ISO 4217 code")
	}
	if e.Kind.IsServerFact() {
		if e.OrderID <= 0 {
			return validation.New(f("order_id"), "is required for %s", e.Kind)
		}
		return nil
	}
	if n := utf8.RuneCountInString(e.SessionID); n < MinSessionChars || n > MaxSessionChars {
		return validation.New("session_id", "must be %d to %d characters", MinSessionChars, MaxSessionChars)
	}
	return nil
}

// Validate checks a batch, naming the first bad event's field
// ("events[3].product_id").
func Validate(evs []Event) error {
	for i, e := range evs {
		if err := e.Validate(fmt.Sprintf("events[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// DedupWindow is how far apart in occurred_at two events with one dedup key
// may be and still be one: a retried batch whose times were clamped to the
// server clock (at most 24 h off) is still recognised.
const DedupWindow = 26 * time.Hour

// Store keeps behaviour events in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Record stores events in one statement and answers how many were new;
// an event whose dedup key is stored already (within DedupWindow of its
// occurred_at), or repeats one earlier in the batch, is skipped.
func (s *Store) Record(ctx context.Context, evs []Event) (int, error) {
	if err := Validate(evs); err != nil {
		return 0, err
	}
	seen := make(map[string]bool, len(evs))
	n := 0
	var (
		at                                    []time.Time
		kind, session, query, currency, dedup []string
		user, product, variant, order, amount []int64
		quantity                              []int32
	)
	for _, e := range evs {
		if seen[e.DedupKey] {
			continue
		}
		seen[e.DedupKey] = true
		n++
		at = append(at, e.OccurredAt)
		kind = append(kind, string(e.Kind))
		session = append(session, e.SessionID)
		user = append(user, e.UserID)
		product = append(product, e.ProductID)
		variant = append(variant, e.VariantID)
		quantity = append(quantity, e.Quantity)
		query = append(query, e.Query)
		order = append(order, e.OrderID)
		amount = append(amount, e.AmountMinor)
		currency = append(currency, e.Currency)
		dedup = append(dedup, e.DedupKey)
	}
	if n == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO behaviour_events (occurred_at, kind, session_id, user_id, product_id,
			variant_id, quantity, query, order_id, amount_minor, currency, dedup_key)
		SELECT v.at, v.kind, NULLIF(v.session, ''), NULLIF(v.usr, 0), NULLIF(v.product, 0), NULLIF(v.variant, 0),
			NULLIF(v.quantity, 0), NULLIF(v.query, ''), NULLIF(v.ord, 0),
			CASE WHEN v.currency <> '' THEN v.amount END, NULLIF(v.currency, ''), v.dedup
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::int[],
			$8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::text[])
			AS v (at, kind, session, usr, product, variant, quantity, query, ord, amount, currency, dedup)
		WHERE NOT EXISTS (SELECT 1 FROM behaviour_events b WHERE b.dedup_key = v.dedup
			AND b.occurred_at BETWEEN v.at - $13::interval AND v.at + $13::interval)
		ON CONFLICT DO NOTHING`,
		at, kind, session, user, product, variant, quantity, query, order, amount, currency, dedup, DedupWindow.String())
	if err != nil {
		return 0, fmt.Errorf("events: record: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// EnsurePartitions creates the monthly partitions (UTC months) from the
// month of from to the month of to, both included, and answers how many
// were new. Rows waiting in the default partition move into their month.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) (int, error) {
	if to.Before(from) {
		return 0, errors.New("events: ensure partitions: the range ends before it starts")
	}
	var n int
	err := s.pool.QueryRow(ctx, `SELECT behaviour_events_ensure_partitions($1::date, $2::date)`,
		from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("events: ensure partitions: %w", err)
	}
	return n, nil
}

// Partition is one month of events.
type Partition struct {
	Name  string
	Month time.Time // its first instant, UTC
}

// End is the first instant after the partition's month.
func (p Partition) End() time.Time { return p.Month.AddDate(0, 1, 0) }

var partitionName = regexp.MustCompile(`^behaviour_events_(\d{4})_(\d{2})$`)

// Partitions lists the monthly partitions, oldest first (the default
// partition is not one of them).
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'behaviour_events'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("events: partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("events: partitions: %w", err)
	}
	var out []Partition
	for _, name := range names {
		m := partitionName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		out = append(out, Partition{Name: name, Month: time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)})
	}
	return out, nil
}

// Prune drops every monthly partition that ends at or before before, whole
// (never deleting rows one by one), and answers the names dropped. Rows in
// the default partition are left alone.
func (s *Store) Prune(ctx context.Context, before time.Time) ([]string, error) {
	parts, err := s.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, p := range parts {
		if p.End().After(before) {
			continue
		}
		// Dropping a partition locks the parent for a moment: wait for
		// readers a little, then give up until the next run.
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{p.Name}.Sanitize())
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("events: drop %s: %w", p.Name, err)
		}
		dropped = append(dropped, p.Name)
	}
	return dropped, nil
}
