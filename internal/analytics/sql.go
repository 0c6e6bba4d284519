package analytics

import (
	"fmt"
	"strings"
)

// Every join to a big table is a LATERAL subquery with OFFSET 0, which
// keeps it an index walk per row: the spans come as parameters, so the
// planner cannot see how few rows they select and would otherwise hash
// whole tables.
//
// The raw facts are computed by the queries below, over the instants of
// spans (@lo[i], @hi[i]) and put in buckets by a bucket expression: the
// UTC hour for a rollup, the calendar period of @tz or 'all' for an
// answer. The same queries fill the rollups and answer the open periods,
// so both follow one definition.

// spansCTE is the instant ranges read.
const spansCTE = `spans AS (SELECT lo, hi FROM unnest(@lo::timestamptz[], @hi::timestamptz[]) AS s (lo, hi))`

// saleOrdersCTE: the sale orders paid within the spans, each with whether
// it is its shopper's first paid order (whatever became of that one).
const saleOrdersCTE = `so AS (
	SELECT o.id, o.user_id, o.currency, o.total_minor, o.refunded_minor, o.paid_at, o.shipping_country::text AS country,
		NOT EXISTS (SELECT 1 FROM orders p WHERE p.user_id = o.user_id AND p.paid_at IS NOT NULL
			AND (p.paid_at, p.id) < (o.paid_at, o.id)) AS first_paid
	FROM spans s JOIN orders o ON o.paid_at >= s.lo AND o.paid_at < s.hi
	WHERE o.status <> 'cancelled' AND (@currency::text = '' OR o.currency = @currency::text))`

// saleLinesCTE shares each sale order's total and refunded amount among its
// lines in proportion to the lines' totals (rounded down, the rest to the
// last line), so lines always add up to their order exactly.
const saleLinesCTE = `li AS (
	SELECT so.*, i.line, i.product_id, i.quantity, pr.category_id, i.line_total_minor AS lt,
		sum(i.line_total_minor) OVER w AS sub, max(i.line) OVER w AS last_line
	FROM so CROSS JOIN LATERAL (SELECT * FROM order_items i WHERE i.order_id = so.id OFFSET 0) i
	JOIN products pr ON pr.id = i.product_id
	WINDOW w AS (PARTITION BY so.id)),
la AS (
	SELECT li.*,
		CASE WHEN sub > 0 THEN div(total_minor::numeric * lt, sub) ELSE 0 END AS g0,
		CASE WHEN sub > 0 THEN div(refunded_minor::numeric * lt, sub) ELSE 0 END AS r0
	FROM li),
lb AS (
	SELECT la.*,
		(g0 + CASE WHEN line = last_line THEN total_minor - sum(g0) OVER (PARTITION BY id) ELSE 0 END)::bigint AS g,
		(r0 + CASE WHEN line = last_line THEN refunded_minor - sum(r0) OVER (PARTITION BY id) ELSE 0 END)::bigint AS r
	FROM la)`

// salesSQL answers (bucket, key, currency, orders, units, gross, refunded,
// refunded orders, new customers, returning orders) for dim.
func salesSQL(dim, bucket string) string {
	b := func(col string) string { return strings.ReplaceAll(bucket, "$col", col) }
	switch dim {
	case "product", "category":
		key := "product_id::text"
		if dim == "category" {
			key = "category_id::text"
		}
		return `WITH ` + spansCTE + `, ` + saleOrdersCTE + `, ` + saleLinesCTE + `
			SELECT ` + b("paid_at") + ` AS bucket, ` + key + ` AS key, currency::text,
				count(DISTINCT id), sum(quantity)::bigint, sum(g)::bigint, sum(r)::bigint,
				count(DISTINCT id) FILTER (WHERE refunded_minor > 0),
				count(DISTINCT id) FILTER (WHERE first_paid), count(DISTINCT id) FILTER (WHERE NOT first_paid)
			FROM lb GROUP BY 1, 2, 3`
	default:
		key := "'all'::text"
		if dim == "country" {
			key = "country"
		}
		return `WITH ` + spansCTE + `, ` + saleOrdersCTE + `
			SELECT ` + b("so.paid_at") + ` AS bucket, ` + key + ` AS key, so.currency::text,
				count(*), coalesce(sum(u.units), 0)::bigint, sum(so.total_minor)::bigint, sum(so.refunded_minor)::bigint,
				count(*) FILTER (WHERE so.refunded_minor > 0),
				count(*) FILTER (WHERE so.first_paid), count(*) FILTER (WHERE NOT so.first_paid)
			FROM so LEFT JOIN LATERAL (SELECT sum(i.quantity) AS units FROM order_items i WHERE i.order_id = so.id) u ON true
			GROUP BY 1, 2, 3`
	}
}

// sessionsCTE: the sessions whose first event ever falls within the spans,
// their events of the window after that first event, and the orders their
// shopper paid within the window.
const sessionsCTE = `starts AS (
	SELECT e.session_id, min(e.occurred_at) AS started
	FROM spans s JOIN behaviour_events e ON e.occurred_at >= s.lo AND e.occurred_at < s.hi
	WHERE e.session_id IS NOT NULL GROUP BY e.session_id),
sess AS (
	SELECT st.session_id, st.started FROM starts st
	WHERE (SELECT min(b.occurred_at) FROM behaviour_events b WHERE b.session_id = st.session_id) = st.started),
sw AS (
	SELECT s.session_id, s.started, b.kind, b.user_id, b.product_id
	FROM sess s CROSS JOIN LATERAL (SELECT b.kind, b.user_id, b.product_id FROM behaviour_events b
		WHERE b.session_id = s.session_id AND b.occurred_at >= s.started AND b.occurred_at < s.started + @window::interval OFFSET 0) b),
paid AS (
	SELECT DISTINCT su.session_id, o.id AS order_id
	FROM (SELECT DISTINCT session_id, started, user_id FROM sw WHERE user_id IS NOT NULL) su
	CROSS JOIN LATERAL (SELECT o.id FROM orders o WHERE o.user_id = su.user_id AND o.paid_at IS NOT NULL
		AND o.paid_at >= su.started AND o.paid_at < su.started + @window::interval OFFSET 0) o)`

// sessionsSQL answers (bucket, key, sessions, converted, cart, abandoned)
// for dim.
func sessionsSQL(dim, bucket string) string {
	b := strings.ReplaceAll(bucket, "$col", "started")
	head := `WITH ` + spansCTE + `, ` + sessionsCTE
	tail := `SELECT ` + b + ` AS bucket, k::text AS key, count(*), count(*) FILTER (WHERE conv),
			count(*) FILTER (WHERE cart), count(*) FILTER (WHERE cart AND NOT conv)
		FROM x GROUP BY 1, 2`
	switch dim {
	case "product", "category":
		touched := `SELECT session_id, started, product_id AS k, bool_or(kind = 'add_to_cart') AS cart
			FROM sw WHERE product_id IS NOT NULL GROUP BY 1, 2, 3`
		bought := `SELECT DISTINCT p.session_id, i.product_id AS k FROM paid p
			CROSS JOIN LATERAL (SELECT i.product_id FROM order_items i WHERE i.order_id = p.order_id OFFSET 0) i`
		if dim == "category" {
			touched = `SELECT sw.session_id, sw.started, pr.category_id AS k, bool_or(sw.kind = 'add_to_cart') AS cart
				FROM sw JOIN products pr ON pr.id = sw.product_id GROUP BY 1, 2, 3`
			bought = `SELECT DISTINCT p.session_id, pr.category_id AS k FROM paid p
				CROSS JOIN LATERAL (SELECT i.product_id FROM order_items i WHERE i.order_id = p.order_id OFFSET 0) i
				JOIN products pr ON pr.id = i.product_id`
		}
		return head + `, t AS (` + touched + `), pb AS (` + bought + `),
			x AS (SELECT t.*, pb.session_id IS NOT NULL AS conv FROM t LEFT JOIN pb ON pb.session_id = t.session_id AND pb.k = t.k)
			` + tail
	default:
		return head + `, x AS (SELECT s.session_id, s.started, 'all' AS k,
				pc.session_id IS NOT NULL AS conv, cc.session_id IS NOT NULL AS cart
			FROM sess s
			LEFT JOIN (SELECT DISTINCT session_id FROM paid) pc ON pc.session_id = s.session_id
			LEFT JOIN (SELECT DISTINCT session_id FROM sw WHERE kind = 'add_to_cart') cc ON cc.session_id = s.session_id)
			` + tail
	}
}

// Bucket expressions over $col.
const (
	bucketHour = `date_trunc('hour', $col, 'UTC')`
	bucketAll  = `'all'::text`
)

// bucketOf is the answer's bucket expression for g.
func bucketOf(g GroupBy) string {
	switch g {
	case ByDay:
		return `to_char($col AT TIME ZONE @tz::text, 'YYYY-MM-DD')`
	case ByWeek:
		return `to_char(date_trunc('week', $col AT TIME ZONE @tz::text), 'YYYY-MM-DD')`
	case ByMonth:
		return `to_char($col AT TIME ZONE @tz::text, 'YYYY-MM')`
	}
	return bucketAll
}

// rollupSalesSQL and rollupSessionsSQL read the rollups of [@rlo, @rhi).
func rollupSalesSQL(dim, bucket string) string {
	return fmt.Sprintf(`SELECT %s AS bucket, key, currency::text, sum(orders)::bigint, sum(units)::bigint,
			sum(gross_minor)::bigint, sum(refunded_minor)::bigint, sum(refunded_orders)::bigint,
			sum(new_customers)::bigint, sum(returning_orders)::bigint
		FROM analytics_sales_hourly
		WHERE dim = '%s' AND hour >= @rlo AND hour < @rhi AND (@currency::text = '' OR currency = @currency::text)
		GROUP BY 1, 2, 3`, strings.ReplaceAll(bucket, "$col", "hour"), dim)
}

func rollupSessionsSQL(dim, bucket string) string {
	return fmt.Sprintf(`SELECT %s AS bucket, key, sum(sessions)::bigint, sum(converted)::bigint, sum(cart)::bigint,
			sum(abandoned)::bigint
		FROM analytics_sessions_hourly
		WHERE dim = '%s' AND hour >= @rlo AND hour < @rhi
		GROUP BY 1, 2`, strings.ReplaceAll(bucket, "$col", "hour"), dim)
}
