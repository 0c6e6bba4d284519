package main

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	shopmail "github.com/shopkit/shop/internal/mail"
)

// Result is one invariant's verdict.
type Result struct {
	Name   string
	OK     bool
	Detail string
}

func (r Result) String() string {
	v := "PASS"
	if !r.OK {
		v = "FAIL"
	}
	return fmt.Sprintf("%s  %-34s %s", v, r.Name, r.Detail)
}

func pass(name, format string, a ...any) Result {
	return Result{Name: name, OK: true, Detail: fmt.Sprintf(format, a...)}
}

func fail(name, format string, a ...any) Result {
	return Result{Name: name, Detail: fmt.Sprintf(format, a...)}
}

// errResult reports a check that could not run: a failure, never a pass.
func errResult(name string, err error) Result { return fail(name, "check could not run: %v", err) }

// validStatuses are the order statuses an order may rest in: final, or
// waiting on the customer (awaiting_payment) or on the warehouse.
var validStatuses = map[string]bool{
	"awaiting_payment": true, "paid": true, "partially_shipped": true, "shipped": true, "delivered": true,
	"payment_failed": true, "cancelled": true, "partially_refunded": true, "refunded": true,
}

// paidStatuses are the statuses of an order whose payment went through.
const paidStatusesSQL = `('paid', 'partially_shipped', 'shipped', 'delivered', 'partially_refunded', 'refunded')`

// limit lists at most a few ids in a message.
func limit(ids []int64) string {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var s []string
	for i, id := range ids {
		if i == 8 {
			s = append(s, fmt.Sprintf("... (%d in all)", len(ids)))
			break
		}
		s = append(s, fmt.Sprint(id))
	}
	return strings.Join(s, ", ")
}

// checkAcceptedOrders: every order the API accepted (200/201) exists and
// rests in a final or waiting status.
func checkAcceptedOrders(ctx context.Context, pool *pgxpool.Pool, accepted []int64) Result {
	const name = "accepted orders settled"
	rows, err := pool.Query(ctx, `SELECT id, status::text FROM orders WHERE id = ANY($1)`, accepted)
	if err != nil {
		return errResult(name, err)
	}
	status := map[int64]string{}
	var id int64
	var st string
	if _, err := pgx.ForEachRow(rows, []any{&id, &st}, func() error { status[id] = st; return nil }); err != nil {
		return errResult(name, err)
	}
	var missing, bad []int64
	counts := map[string]int{}
	for _, id := range accepted {
		s, ok := status[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !validStatuses[s]:
			bad = append(bad, id)
		}
		counts[s]++
	}
	detail := fmt.Sprintf("%d accepted: %s", len(accepted), statusCounts(counts))
	if len(missing)+len(bad) > 0 {
		return fail(name, "%s; missing: [%s]; unsettled: [%s]", detail, limit(missing), limit(bad))
	}
	return pass(name, "%s", detail)
}

func statusCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s []string
	for _, k := range keys {
		s = append(s, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(s, ", ")
}

// checkPaidAcknowledged: an order whose payment_intent.succeeded webhook the
// shop acknowledged (2xx) is paid (or further along).
func checkPaidAcknowledged(ctx context.Context, pool *pgxpool.Pool, paid []int64) Result {
	const name = "acknowledged payments recorded"
	var notPaid []int64
	rows, err := pool.Query(ctx, `SELECT id FROM orders WHERE id = ANY($1) AND status NOT IN `+paidStatusesSQL, paid)
	if err != nil {
		return errResult(name, err)
	}
	notPaid, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return errResult(name, err)
	}
	if len(notPaid) > 0 {
		return fail(name, "%d of %d paid at Stripe are not paid in the shop: [%s]", len(notPaid), len(paid), limit(notPaid))
	}
	return pass(name, "%d payment webhooks acknowledged, all orders paid", len(paid))
}

// checkPaymentIntents: exactly one PaymentIntent created at Stripe per order
// that has something to pay (see stripeProxy for what counts), none for an
// order the shop does not know, and the order names that PaymentIntent.
func checkPaymentIntents(ctx context.Context, pool *pgxpool.Pool, c StripeCounts) Result {
	const name = "one PaymentIntent per order"
	rows, err := pool.Query(ctx, `SELECT id, total_minor, coalesce(payment_intent_id, '') FROM orders`)
	if err != nil {
		return errResult(name, err)
	}
	var id, total int64
	var pi string
	var none, twice, wrong []int64
	known := map[int64]bool{}
	orders := 0
	_, err = pgx.ForEachRow(rows, []any{&id, &total, &pi}, func() error {
		known[id] = true
		if total == 0 {
			return nil
		}
		orders++
		created := c.Creations[id]
		switch {
		case len(created) == 0:
			none = append(none, id)
		case len(created) > 1:
			twice = append(twice, id)
		case pi != "" && pi != created[0].ID:
			wrong = append(wrong, id)
		}
		return nil
	})
	if err != nil {
		return errResult(name, err)
	}
	var stray []int64
	for oid := range c.Creations {
		if !known[oid] {
			stray = append(stray, oid)
		}
	}
	detail := fmt.Sprintf("%d orders, %d idempotent replays answered from the cache, %d proxy errors", orders, c.Replays, c.Errors)
	if len(none)+len(twice)+len(wrong)+len(stray) > 0 {
		return fail(name, "%s; none: [%s]; more than one: [%s]; order names another: [%s]; for unknown orders: [%s]",
			detail, limit(none), limit(twice), limit(wrong), limit(stray))
	}
	return pass(name, "%s", detail)
}

// checkStock: no stock below zero; each location's reserved units equal
// what the open reservations (held, committed) hold there; reservations
// agree with their order's status; and no product sold more than it had
// (initial: units on hand at the start, per product, summed over locations).
func checkStock(ctx context.Context, pool *pgxpool.Pool, initial map[int64]int64) Result {
	const name = "stock and reservations"
	var negative, mismatched, wrongState int
	err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM location_stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand) +
		(SELECT count(*) FROM products WHERE stock_quantity < 0) +
		(SELECT count(*) FROM product_variants WHERE stock_quantity < 0)`).Scan(&negative)
	if err != nil {
		return errResult(name, err)
	}
	err = pool.QueryRow(ctx, `
		WITH r AS (SELECT location_id, product_id, coalesce(variant_id, 0) AS v, sum(quantity) AS q
		           FROM stock_reservations WHERE state IN ('held', 'committed') GROUP BY 1, 2, 3),
		     s AS (SELECT location_id, product_id, coalesce(variant_id, 0) AS v, reserved FROM location_stock)
		SELECT count(*) FROM s FULL JOIN r USING (location_id, product_id, v)
		WHERE coalesce(s.reserved, 0) <> coalesce(r.q, 0)`).Scan(&mismatched)
	if err != nil {
		return errResult(name, err)
	}
	err = pool.QueryRow(ctx, `SELECT count(*) FROM stock_reservations r JOIN orders o ON o.id = r.order_id
		WHERE (r.state = 'held') <> (o.status = 'awaiting_payment')
		   OR (o.status IN ('payment_failed', 'cancelled') AND r.state <> 'released')`).Scan(&wrongState)
	if err != nil {
		return errResult(name, err)
	}
	rows, err := pool.Query(ctx, `SELECT p.id,
		coalesce((SELECT sum(on_hand) FROM location_stock s WHERE s.product_id = p.id AND s.variant_id IS NULL), 0),
		coalesce((SELECT sum(quantity) FROM stock_reservations r WHERE r.product_id = p.id AND r.variant_id IS NULL AND r.state = 'shipped'), 0),
		coalesce((SELECT sum(quantity) FROM stock_reservations r WHERE r.product_id = p.id AND r.variant_id IS NULL AND r.state <> 'released'), 0)
		FROM products p WHERE p.id = ANY($1)`, keys(initial))
	if err != nil {
		return errResult(name, err)
	}
	var id, onHand, shipped, sold int64
	var oversold, lost []int64
	soldOut, unitsSold := 0, int64(0)
	_, err = pgx.ForEachRow(rows, []any{&id, &onHand, &shipped, &sold}, func() error {
		unitsSold += sold
		if sold > initial[id] {
			oversold = append(oversold, id)
		}
		if onHand+shipped != initial[id] {
			lost = append(lost, id)
		}
		if sold == initial[id] {
			soldOut++
		}
		return nil
	})
	if err != nil {
		return errResult(name, err)
	}
	detail := fmt.Sprintf("%d products, %d units sold, %d sold out", len(initial), unitsSold, soldOut)
	if negative+mismatched+wrongState+len(oversold)+len(lost) > 0 {
		return fail(name, "%s; below zero: %d; reserved <> reservations: %d; reservation state <> order status: %d; oversold: [%s]; on hand + shipped <> initial: [%s]",
			detail, negative, mismatched, wrongState, limit(oversold), limit(lost))
	}
	return pass(name, "%s", detail)
}

func keys(m map[int64]int64) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkFulfilment: every paid order's committed stock is in a shipment
// (its fulfilment allocated it).
func checkFulfilment(ctx context.Context, pool *pgxpool.Pool) Result {
	const name = "paid orders have fulfilment"
	rows, err := pool.Query(ctx, `SELECT o.id FROM orders o WHERE o.status IN `+paidStatusesSQL+`
		AND (NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id)
		     OR EXISTS (SELECT 1 FROM stock_reservations r WHERE r.order_id = o.id AND r.state = 'committed' AND r.shipment_id IS NULL))`)
	if err != nil {
		return errResult(name, err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return errResult(name, err)
	}
	var paid, shipments int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders WHERE status IN `+paidStatusesSQL+`),
		(SELECT count(*) FROM shipments)`).Scan(&paid, &shipments); err != nil {
		return errResult(name, err)
	}
	if len(missing) > 0 {
		return fail(name, "%d paid orders, %d without their shipments: [%s]", paid, len(missing), limit(missing))
	}
	return pass(name, "%d paid orders, %d shipments", paid, shipments)
}

// onceKinds are the emails an order gets at most once, and the status that
// calls for each.
var onceKinds = map[string]string{
	shopmail.KindOrderConfirmation: "paid",
	shopmail.KindPaymentFailed:     "payment_failed",
	shopmail.KindOrderCancelled:    "cancelled",
}

// checkEmails: no email delivered twice (one Message-ID per business event
// at the SMTP sink, and one business event per order and kind), none stuck
// or lost (every row sent and received), and every settled order got its
// email (confirmation, payment failed, cancelled).
func checkEmails(ctx context.Context, pool *pgxpool.Pool, received []shopmail.Received) Result {
	const name = "emails exactly once"
	byID := map[string]int{}
	for _, m := range received {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			return errResult(name, fmt.Errorf("unreadable message at the sink: %w", err))
		}
		byID[msg.Header.Get("Message-ID")]++
	}
	var redelivered []string
	for id, n := range byID {
		if n > 1 {
			redelivered = append(redelivered, id)
		}
	}
	var kinds []string
	for k := range onceKinds {
		kinds = append(kinds, k)
	}
	rows, err := pool.Query(ctx, `SELECT order_id FROM emails WHERE kind = ANY($1) AND order_id IS NOT NULL
		GROUP BY kind, order_id HAVING count(*) > 1`, kinds)
	if err != nil {
		return errResult(name, err)
	}
	twice, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return errResult(name, err)
	}
	rows, err = pool.Query(ctx, `SELECT dedup_key, status, message_id FROM emails`)
	if err != nil {
		return errResult(name, err)
	}
	var key, status, mid string
	var stuck, lost []string
	sent := 0
	_, err = pgx.ForEachRow(rows, []any{&key, &status, &mid}, func() error {
		switch {
		case status != shopmail.StatusSent:
			stuck = append(stuck, key+" "+status)
		case byID[mid] == 0:
			lost = append(lost, key)
		default:
			sent++
		}
		return nil
	})
	if err != nil {
		return errResult(name, err)
	}
	var unmailed []int64
	for kind, st := range onceKinds {
		rows, err := pool.Query(ctx, `SELECT o.id FROM orders o WHERE o.status = $1 AND NOT EXISTS
			(SELECT 1 FROM emails e WHERE e.order_id = o.id AND e.kind = $2 AND e.status = 'sent')`, st, kind)
		if err != nil {
			return errResult(name, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return errResult(name, err)
		}
		unmailed = append(unmailed, ids...)
	}
	detail := fmt.Sprintf("%d received, %d distinct, %d rows sent", len(received), len(byID), sent)
	if len(redelivered)+len(twice)+len(stuck)+len(lost)+len(unmailed) > 0 {
		return fail(name, "%s; Message-ID received twice: %d %s; two emails of one kind for orders [%s]; not sent: %d %s; sent but never received: %d %s; settled orders without their email: [%s]",
			detail, len(redelivered), first(redelivered), limit(twice), len(stuck), first(stuck), len(lost), first(lost), limit(unmailed))
	}
	return pass(name, "%s", detail)
}

func first(s []string) string {
	sort.Strings(s)
	if len(s) > 3 {
		return fmt.Sprintf("%v...", s[:3])
	}
	if len(s) == 0 {
		return ""
	}
	return fmt.Sprint(s)
}

// checkOutbox: no delivery parked, none pending for longer than maxAge.
func checkOutbox(ctx context.Context, pool *pgxpool.Pool, maxAge time.Duration) Result {
	const name = "outbox drained"
	var parked, old, pending, events int
	err := pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE d.parked_at IS NOT NULL),
		count(*) FILTER (WHERE d.parked_at IS NULL AND e.created_at < now() - $1::interval),
		count(*), (SELECT count(*) FROM outbox_events)
		FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id`, maxAge.String()).Scan(&parked, &old, &pending, &events)
	if err != nil {
		return errResult(name, err)
	}
	detail := fmt.Sprintf("%d events written, %d deliveries pending", events, pending)
	if parked+old > 0 {
		return fail(name, "%s; parked: %d; pending for more than %s: %d", detail, parked, maxAge, old)
	}
	return pass(name, "%s", detail)
}
