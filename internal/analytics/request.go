// Package analytics answers sales analytics over the orders (sales, dated
// by payment) and the behaviour event store (sessions), exactly, in minor
// units per currency. Closed UTC hours are rolled up into hourly facts
// (RollHours, run nightly by the AnalyticsRollup schedule, by
// AnalyticsBackfill and by the outbox consumer after a late refund or
// cancellation); a query reads the rollups of the hours that have them
// and the raw rows for the rest. The README defines every metric.
package analytics

import (
	"slices"
	"strings"
	"time"

	"github.com/shopkit/shop/internal/validation"
)

// Metric is one figure the caller asks for.
type Metric string

// The metrics (README, "Metric definitions").
const (
	TotalSales            Metric = "total_sales"
	NetSales              Metric = "net_sales"
	OrderCount            Metric = "order_count"
	UnitsSold             Metric = "units_sold"
	AverageOrderValue     Metric = "average_order_value"
	ConversionRate        Metric = "conversion_rate"
	CartAbandonmentRate   Metric = "cart_abandonment_rate"
	RefundRate            Metric = "refund_rate"
	NewCustomers          Metric = "new_customers"
	ReturningCustomerRate Metric = "returning_customer_rate"
)

// Metrics lists every metric.
var Metrics = []Metric{TotalSales, NetSales, OrderCount, UnitsSold, AverageOrderValue, ConversionRate,
	CartAbandonmentRate, RefundRate, NewCustomers, ReturningCustomerRate}

// DefaultMetrics are answered when none are asked for.
var DefaultMetrics = []Metric{TotalSales, OrderCount, AverageOrderValue}

// IsMoney reports whether m is an amount of money (per currency).
func (m Metric) IsMoney() bool { return m == TotalSales || m == NetSales || m == AverageOrderValue }

// IsSession reports whether m counts sessions.
func (m Metric) IsSession() bool { return m == ConversionRate || m == CartAbandonmentRate }

// GroupBy is how rows are grouped.
type GroupBy string

// The groupings.
const (
	ByNone     GroupBy = "none"
	ByProduct  GroupBy = "product"
	ByCategory GroupBy = "category"
	ByDay      GroupBy = "day"
	ByWeek     GroupBy = "week"
	ByMonth    GroupBy = "month"
	ByCountry  GroupBy = "country"
)

// GroupBys lists every grouping.
var GroupBys = []GroupBy{ByNone, ByProduct, ByCategory, ByDay, ByWeek, ByMonth, ByCountry}

// IsTime reports whether g groups by calendar periods of the time zone.
func (g GroupBy) IsTime() bool { return g == ByDay || g == ByWeek || g == ByMonth }

// dim is the rollup dimension g reads.
func (g GroupBy) dim() string {
	switch g {
	case ByProduct, ByCategory, ByCountry:
		return string(g)
	}
	return "all"
}

// Request is one question.
type Request struct {
	Start, End time.Time // End is the last second counted
	Metrics    []Metric
	GroupBy    GroupBy
	TimeZone   string // IANA; "" is UTC
	Limit      int
	OrderBy    Metric // "" is by key
	Ascending  bool
	Currency   string // "" is every currency
	// Raw reads the raw rows only, never the rollups (benchmarks and
	// checks).
	Raw bool
}

// Query is a checked request.
type Query struct {
	Request
	// From and To bound the instants counted: [From, To).
	From, To time.Time
	Loc      *time.Location
}

// Check validates r against the longest range allowed and names the first
// bad field.
func (r Request) Check(maxRange time.Duration) (Query, error) {
	q := Query{Request: r}
	if r.Start.IsZero() {
		return q, validation.New("start_date", "is required")
	}
	if r.End.IsZero() {
		return q, validation.New("end_date", "is required")
	}
	if r.End.Before(r.Start) {
		return q, validation.New("end_date", "must not be before start_date")
	}
	q.From = r.Start.UTC()
	q.To = r.End.UTC().Truncate(time.Second).Add(time.Second)
	if maxRange > 0 && q.To.Sub(q.From) > maxRange {
		return q, validation.New("end_date", "the range is longer than the maximum of %s", fmtRange(maxRange))
	}
	if len(q.Metrics) == 0 {
		q.Metrics = slices.Clone(DefaultMetrics)
	}
	seen := map[Metric]bool{}
	var ms []Metric
	for _, m := range q.Metrics {
		if !slices.Contains(Metrics, m) {
			return q, validation.New("metrics", "%q is not a metric (one of %s)", m, joinMetrics())
		}
		if !seen[m] {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	q.Metrics = ms
	if q.GroupBy == "" {
		q.GroupBy = ByNone
	}
	if !slices.Contains(GroupBys, q.GroupBy) {
		return q, validation.New("group_by", "%q is not a grouping (none, product, category, day, week, month, country)", q.GroupBy)
	}
	if q.GroupBy == ByCountry {
		for _, m := range q.Metrics {
			if m.IsSession() {
				return q, validation.New("metrics", "%s cannot be grouped by country: sessions have no country", m)
			}
		}
	}
	switch tz := q.TimeZone; {
	case tz == "" || tz == "UTC":
		q.TimeZone, q.Loc = "UTC", time.UTC
	case tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, ".."):
		return q, validation.New("time_zone", "%q is not an IANA time zone", tz)
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return q, validation.New("time_zone", "%q is not an IANA time zone", tz)
		}
		q.Loc = loc
	}
	if q.Limit < 0 {
		return q, validation.New("limit", "must not be negative")
	}
	if q.OrderBy != "" {
		if !slices.Contains(Metrics, q.OrderBy) {
			return q, validation.New("order_by", "%q is not a metric", q.OrderBy)
		}
		if q.OrderBy.IsMoney() && q.Currency == "" {
			return q, validation.New("currency", "is required to order by %s (money is never mixed across currencies)", q.OrderBy)
		}
		if q.OrderBy.IsSession() && q.GroupBy == ByCountry {
			return q, validation.New("order_by", "%s cannot be grouped by country", q.OrderBy)
		}
	}
	if c := q.Currency; c != "" && (len(c) != 3 || strings.ToUpper(c) != c) {
		return q, validation.New("currency", "must be an ISO 4217 code")
	}
	return q, nil
}

func fmtRange(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strings.TrimSuffix(time.Duration(d/(24*time.Hour)).String(), "ns") + " days"
	}
	return d.String()
}

func joinMetrics() string {
	s := make([]string, len(Metrics))
	for i, m := range Metrics {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// needsSales and needsSessions say which facts the answer reads.
func (q Query) needsSales() bool {
	return slices.ContainsFunc(q.Metrics, func(m Metric) bool { return !m.IsSession() }) ||
		(q.OrderBy != "" && !q.OrderBy.IsSession())
}

func (q Query) needsSessions() bool {
	return slices.ContainsFunc(q.Metrics, Metric.IsSession) || q.OrderBy.IsSession()
}
