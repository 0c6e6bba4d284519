package analytics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/db"
)

// SessionWindow is how long after its first event a session may convert:
// an order its shopper pays within it converts the session.
const SessionWindow = 24 * time.Hour

// Defaults of Config.
const (
	DefaultMaxRange   = 366 * 24 * time.Hour
	DefaultCloseAfter = 48 * time.Hour
)

// Config tunes a Store.
type Config struct {
	// MaxRange is the longest range a query may span (ANALYTICS_MAX_RANGE).
	MaxRange time.Duration
	// CloseAfter: an hour that ended longer ago is closed and may be rolled
	// up (ANALYTICS_CLOSE_AFTER). It must exceed SessionWindow plus the
	// 24 hours by which a storefront event may arrive late.
	CloseAfter time.Duration
}

// Store answers analytics and keeps the rollups.
type Store struct {
	pool  *pgxpool.Pool
	reads db.Reader // Answer: the replica for a read-only request
	cfg   Config
}

// NewStore returns a store over pool; zero Config fields take defaults.
func NewStore(pool *pgxpool.Pool, cfg Config) *Store {
	if cfg.MaxRange <= 0 {
		cfg.MaxRange = DefaultMaxRange
	}
	if cfg.CloseAfter <= 0 {
		cfg.CloseAfter = DefaultCloseAfter
	}
	return &Store{pool: pool, reads: db.PrimaryReader(pool), cfg: cfg}
}

// ReadFrom routes Answer through r: reports may come from a replica when
// the request allows it (db.ReplicaOK); rollups and event writes stay on
// the primary.
func (s *Store) ReadFrom(r db.Reader) { s.reads = r }

// Config answers the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// ClosedBefore answers the first hour that is not closed at now: every
// hour before it may be rolled up.
func ClosedBefore(now time.Time, closeAfter time.Duration) time.Time {
	return now.Add(-closeAfter).UTC().Truncate(time.Hour)
}

// Sales are a group's sale facts in one currency.
type Sales struct {
	Currency        string
	Orders          int64
	Units           int64
	Gross           int64 // minor units
	Refunded        int64 // minor units
	RefundedOrders  int64
	NewCustomers    int64
	ReturningOrders int64
}

// Net is what stays after refunds.
func (s Sales) Net() int64 { return s.Gross - s.Refunded }

// AverageOrderValue is Gross / Orders rounded half up (0 without orders).
func (s Sales) AverageOrderValue() int64 {
	if s.Orders == 0 {
		return 0
	}
	return (2*s.Gross + s.Orders) / (2 * s.Orders)
}

func (s *Sales) add(o Sales) {
	s.Orders += o.Orders
	s.Units += o.Units
	s.Gross += o.Gross
	s.Refunded += o.Refunded
	s.RefundedOrders += o.RefundedOrders
	s.NewCustomers += o.NewCustomers
	s.ReturningOrders += o.ReturningOrders
}

// Sessions are a group's session facts.
type Sessions struct {
	Sessions, Converted, Cart, Abandoned int64
}

func (s *Sessions) add(o Sessions) {
	s.Sessions += o.Sessions
	s.Converted += o.Converted
	s.Cart += o.Cart
	s.Abandoned += o.Abandoned
}

// Row is one group of an answer. Sales are by currency code.
type Row struct {
	Key, Label string
	Sales      []Sales
	Sessions   Sessions
}

// Totals add the row's sales over currencies (counts only: money is never
// added across currencies).
func (r Row) Totals() Sales {
	var t Sales
	for _, s := range r.Sales {
		t.add(s)
	}
	t.Gross, t.Refunded, t.Currency = 0, 0, ""
	return t
}

// Value answers metric m of the row; a money metric in currency.
func (r Row) Value(m Metric, currency string) float64 {
	t := r.Totals()
	switch m {
	case OrderCount:
		return float64(t.Orders)
	case UnitsSold:
		return float64(t.Units)
	case NewCustomers:
		return float64(t.NewCustomers)
	case ConversionRate:
		return ratio(r.Sessions.Converted, r.Sessions.Sessions)
	case CartAbandonmentRate:
		return ratio(r.Sessions.Abandoned, r.Sessions.Cart)
	case RefundRate:
		return ratio(t.RefundedOrders, t.Orders)
	case ReturningCustomerRate:
		return ratio(t.ReturningOrders, t.Orders)
	}
	return float64(r.Money(m, currency))
}

// Money answers money metric m of the row in currency, in minor units.
func (r Row) Money(m Metric, currency string) int64 {
	for _, s := range r.Sales {
		if s.Currency != currency {
			continue
		}
		switch m {
		case TotalSales:
			return s.Gross
		case NetSales:
			return s.Net()
		case AverageOrderValue:
			return s.AverageOrderValue()
		}
	}
	return 0
}

func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Answer is the answer to a Query.
type Answer struct {
	Query       Query
	Rows        []Row
	RollupHours int // UTC hours read from rollups
	RawHours    int // UTC hours (or parts) read from raw rows
}

type span struct{ lo, hi time.Time }

// wholeHourZone reports whether loc's offset is a whole number of hours
// throughout [from, to), so that every UTC hour lies within one local day.
func wholeHourZone(loc *time.Location, from, to time.Time) bool {
	for t := from; ; {
		_, off := t.In(loc).Zone()
		if off%3600 != 0 {
			return false
		}
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return true
		}
		t = end
	}
}

// Answer answers q (checked by Request.Check), reading the rollups of the
// whole UTC hours that have them and raw rows for everything else, in one
// snapshot.
func (s *Store) Answer(ctx context.Context, q Query) (ans Answer, err error) {
	err = s.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		ans, err = s.answer(ctx, pool, q)
		return err
	})
	return ans, err
}

func (s *Store) answer(ctx context.Context, pool *pgxpool.Pool, q Query) (Answer, error) {
	ans := Answer{Query: q}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return ans, fmt.Errorf("analytics: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The plans are index walks whose cost the planner overrates; JIT
	// compiling them costs more than running them.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return ans, fmt.Errorf("analytics: %w", err)
	}

	// The rollups serve whole UTC hours, and a time grouping only where the
	// zone's days begin on a UTC hour.
	firstH := q.From.Truncate(time.Hour)
	if firstH.Before(q.From) {
		firstH = firstH.Add(time.Hour)
	}
	lastH := q.To.Truncate(time.Hour)
	var rolled []time.Time
	if !q.Raw && firstH.Before(lastH) && (!q.GroupBy.IsTime() || wholeHourZone(q.Loc, q.From, q.To)) {
		rows, err := tx.Query(ctx, `SELECT hour FROM analytics_rollup_hours WHERE hour >= $1 AND hour < $2 ORDER BY hour`,
			firstH, lastH)
		if err != nil {
			return ans, fmt.Errorf("analytics: rolled hours: %w", err)
		}
		if rolled, err = pgx.CollectRows(rows, pgx.RowTo[time.Time]); err != nil {
			return ans, fmt.Errorf("analytics: rolled hours: %w", err)
		}
	}
	var spans []span
	addSpan := func(lo, hi time.Time) {
		if !lo.Before(hi) {
			return
		}
		if n := len(spans); n > 0 && spans[n-1].hi.Equal(lo) {
			spans[n-1].hi = hi
			return
		}
		spans = append(spans, span{lo, hi})
	}
	at := q.From
	for _, h := range rolled {
		addSpan(at, h.UTC())
		at = h.UTC().Add(time.Hour)
	}
	addSpan(at, q.To)
	ans.RollupHours = len(rolled)
	for _, sp := range spans {
		ans.RawHours += int((sp.hi.Sub(sp.lo) + time.Hour - 1) / time.Hour)
	}

	groups := map[string]*Row{}
	group := func(k string) *Row {
		r := groups[k]
		if r == nil {
			r = &Row{Key: k}
			groups[k] = r
		}
		return r
	}
	pick := func(bucket, key string) string {
		if q.GroupBy.IsTime() {
			return bucket
		}
		return key
	}
	los := make([]time.Time, len(spans))
	his := make([]time.Time, len(spans))
	for i, sp := range spans {
		los[i], his[i] = sp.lo, sp.hi
	}
	args := pgx.NamedArgs{"lo": los, "hi": his, "tz": q.TimeZone, "currency": q.Currency,
		"window": SessionWindow.String(), "rlo": firstH, "rhi": lastH}
	dim, bucket := q.GroupBy.dim(), bucketOf(q.GroupBy)
	readSales := func(sql string) error {
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, k string
			var f Sales
			if err := rows.Scan(&b, &k, &f.Currency, &f.Orders, &f.Units, &f.Gross, &f.Refunded, &f.RefundedOrders,
				&f.NewCustomers, &f.ReturningOrders); err != nil {
				return err
			}
			r := group(pick(b, k))
			i := slices.IndexFunc(r.Sales, func(s Sales) bool { return s.Currency == f.Currency })
			if i < 0 {
				r.Sales = append(r.Sales, Sales{Currency: f.Currency})
				i = len(r.Sales) - 1
			}
			r.Sales[i].add(f)
		}
		return rows.Err()
	}
	readSessions := func(sql string) error {
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, k string
			var f Sessions
			if err := rows.Scan(&b, &k, &f.Sessions, &f.Converted, &f.Cart, &f.Abandoned); err != nil {
				return err
			}
			group(pick(b, k)).Sessions.add(f)
		}
		return rows.Err()
	}
	if q.needsSales() {
		if len(rolled) > 0 {
			if err := readSales(rollupSalesSQL(dim, bucket)); err != nil {
				return ans, fmt.Errorf("analytics: rolled-up sales: %w", err)
			}
		}
		if len(spans) > 0 {
			if err := readSales(salesSQL(dim, bucket)); err != nil {
				return ans, fmt.Errorf("analytics: sales: %w", err)
			}
		}
	}
	if q.needsSessions() {
		if len(rolled) > 0 {
			if err := readSessions(rollupSessionsSQL(dim, bucket)); err != nil {
				return ans, fmt.Errorf("analytics: rolled-up sessions: %w", err)
			}
		}
		if len(spans) > 0 {
			if err := readSessions(sessionsSQL(dim, bucket)); err != nil {
				return ans, fmt.Errorf("analytics: sessions: %w", err)
			}
		}
	}
	// Every period of a time grouping is answered, and "all" always.
	switch {
	case q.GroupBy.IsTime():
		for _, k := range Periods(q.GroupBy, q.Loc, q.From, q.To) {
			group(k)
		}
	case q.GroupBy == ByNone:
		group("all")
	}
	if err := s.label(ctx, tx, q.GroupBy, groups); err != nil {
		return ans, err
	}
	for _, r := range groups {
		slices.SortFunc(r.Sales, func(a, b Sales) int { return compareStrings(a.Currency, b.Currency) })
		ans.Rows = append(ans.Rows, *r)
	}
	SortRows(q, ans.Rows)
	if q.Limit > 0 && len(ans.Rows) > q.Limit {
		ans.Rows = ans.Rows[:q.Limit]
	}
	return ans, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SortRows orders rows by q's order_by (largest first unless ascending),
// then by key: numerically for product and category ids.
func SortRows(q Query, rows []Row) {
	byKey := func(a, b Row) int {
		if q.GroupBy == ByProduct || q.GroupBy == ByCategory {
			x, _ := strconv.ParseInt(a.Key, 10, 64)
			y, _ := strconv.ParseInt(b.Key, 10, 64)
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
		return compareStrings(a.Key, b.Key)
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if q.OrderBy != "" {
			x, y := a.Value(q.OrderBy, q.Currency), b.Value(q.OrderBy, q.Currency)
			if x != y {
				c := 1
				if x > y {
					c = -1
				}
				if q.Ascending {
					c = -c
				}
				return c
			}
		}
		return byKey(a, b)
	})
}

// Periods lists the keys of the calendar periods of g in loc that
// [from, to) touches.
func Periods(g GroupBy, loc *time.Location, from, to time.Time) []string {
	var out []string
	l := from.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	switch g {
	case ByWeek:
		d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case ByMonth:
		d = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	}
	for d.Before(to) {
		switch g {
		case ByMonth:
			out = append(out, d.Format("2006-01"))
			d = d.AddDate(0, 1, 0)
		case ByWeek:
			out = append(out, d.Format("2006-01-02"))
			d = d.AddDate(0, 0, 7)
		default:
			out = append(out, d.Format("2006-01-02"))
			d = d.AddDate(0, 0, 1)
		}
	}
	return out
}

// label names products and categories; other keys are their own label.
func (s *Store) label(ctx context.Context, tx pgx.Tx, g GroupBy, groups map[string]*Row) error {
	var ids []int64
	for k, r := range groups {
		r.Label = k
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	var table string
	switch g {
	case ByProduct:
		table = "products"
	case ByCategory:
		table = "categories"
	default:
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id::text, name FROM `+table+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("analytics: labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, name string
		if err := rows.Scan(&k, &name); err != nil {
			return fmt.Errorf("analytics: labels: %w", err)
		}
		groups[k].Label = name
	}
	return rows.Err()
}
