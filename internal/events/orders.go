package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/validation"
)

// ConsumerName is the outbox consumer that records order facts (migration
// 0018).
const ConsumerName = "event_store"

// Topics it hears: order.placed is recorded by the orders table on insert,
// order.status_changed on every status change (migration 0015).
const (
	TopicOrderPlaced        = "order.placed"
	TopicOrderStatusChanged = "order.status_changed"
)

// statusKinds maps the order statuses that are facts worth storing; the
// others (awaiting_payment, payment_failed, partially_shipped) are not.
var statusKinds = map[string]Kind{
	"paid":               KindOrderPaid,
	"shipped":            KindOrderShipped,
	"delivered":          KindOrderDelivered,
	"cancelled":          KindOrderCancelled,
	"partially_refunded": KindOrderRefunded,
	"refunded":           KindOrderRefunded,
}

// OrderFacts is the event_store outbox consumer: it turns order placements
// and status changes into order facts, keyed "order-<id>-<status>" and
// dated by the outbox event, so a redelivery stores nothing new.
type OrderFacts struct {
	Store *Store
}

var _ outbox.Consumer = OrderFacts{}

// Name implements outbox.Consumer.
func (OrderFacts) Name() string { return ConsumerName }

type orderPayload struct {
	Status        string  `json:"status"`
	CustomerID    int64   `json:"customer_id"`
	TotalMinor    *int64  `json:"total_minor"`
	RefundedMinor *int64  `json:"refunded_minor"`
	Currency      *string `json:"currency"`
	// PlacedAt dates a placement (an order imported with its history was
	// placed long before its outbox event).
	PlacedAt *time.Time `json:"placed_at"`
}

// Deliver implements outbox.Consumer.
func (c OrderFacts) Deliver(ctx context.Context, evs []outbox.Event) error {
	var facts []Event
	for _, ev := range evs {
		var p orderPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return outbox.Permanent(fmt.Errorf("order %d: unreadable %s event: %w", ev.EntityID, ev.Topic, err))
		}
		var kind Kind
		key := p.Status
		switch ev.Topic {
		case TopicOrderPlaced:
			kind, key = KindOrderPlaced, "placed"
		case TopicOrderStatusChanged:
			var ok bool
			if kind, ok = statusKinds[p.Status]; !ok {
				continue
			}
		default:
			continue
		}
		if p.Currency == nil || p.TotalMinor == nil {
			// Recorded before the payload carried the amounts.
			if err := c.amounts(ctx, ev.EntityID, &p); err != nil {
				return err
			}
		}
		f := Event{Kind: kind, OccurredAt: ev.At, UserID: p.CustomerID, OrderID: ev.EntityID,
			DedupKey: OrderKey(ev.EntityID, key)}
		if kind == KindOrderPlaced && p.PlacedAt != nil {
			f.OccurredAt = *p.PlacedAt
		}
		if p.Currency != nil && p.TotalMinor != nil {
			f.Currency, f.AmountMinor = *p.Currency, *p.TotalMinor
			if kind == KindOrderRefunded && p.RefundedMinor != nil {
				f.AmountMinor = *p.RefundedMinor
			}
		}
		facts = append(facts, f)
	}
	_, err := c.Store.Record(ctx, facts)
	var ve *validation.Error
	if errors.As(err, &ve) {
		return outbox.Permanent(err)
	}
	return err
}

// amounts reads what an older event lacks from the order as it is now.
func (c OrderFacts) amounts(ctx context.Context, orderID int64, p *orderPayload) error {
	var total, refunded int64
	var currency string
	err := c.Store.pool.QueryRow(ctx, `SELECT total_minor, refunded_minor, currency FROM orders WHERE id = $1`,
		orderID).Scan(&total, &refunded, &currency)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // deleted since: the fact is stored without amounts
	case err != nil:
		return fmt.Errorf("order %d: %w", orderID, err)
	}
	p.TotalMinor, p.RefundedMinor, p.Currency = &total, &refunded, &currency
	return nil
}
