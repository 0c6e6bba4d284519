// Package outbox delivers the side effects of committed writes (cache
// invalidation, search indexing, and later analytics and alerts) at least
// once, in order per entity, whatever was down when the write committed.
//
// A write records an event in its own transaction: the catalog tables do it
// by trigger (migration 0009), other domains call Record. A trigger fans each
// event out to one delivery row per subscribed consumer. The Relay hands each
// consumer its pending deliveries in event-id order and deletes them once the
// consumer accepted them; a failure leaves them in place for the next try.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Topics written by the catalog tables' triggers.
const (
	TopicProductChanged  = "product.changed"  // EntityID: product id (a variant's product for variant changes)
	TopicCategoryChanged = "category.changed" // EntityID: category id
	// TopicProductResync asks the search index alone to re-read a product
	// (one per product under a changed category), so a big category is
	// re-indexed in batches rather than in one delivery.
	TopicProductResync = "product.resync"
)

// Event is one recorded change.
type Event struct {
	ID       int64
	Topic    string
	EntityID int64
	Payload  json.RawMessage
	At       time.Time
}

// Consumer applies events. Deliver may be called again with events it has
// already applied (after a crash or a failed batch), so it must be
// idempotent; it gets a consumer's events in the order they were written.
type Consumer interface {
	Name() string
	Deliver(ctx context.Context, events []Event) error
}

// Record writes an event in tx, so it exists exactly when the change does.
// payload may be nil. Events of one entity reach a consumer in the order
// recorded only if their writers serialize on the entity (hold a lock on
// its row when recording), as the catalog triggers do.
func Record(ctx context.Context, tx pgx.Tx, topic string, entityID int64, payload any) error {
	body := []byte("{}")
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return fmt.Errorf("outbox: %s payload: %w", topic, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox_events (topic, entity_id, payload) VALUES ($1, $2, $3)`,
		topic, entityID, body); err != nil {
		return fmt.Errorf("outbox: record %s: %w", topic, err)
	}
	return nil
}

// permanentError marks events a consumer can never apply.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps a consumer error that retrying cannot fix (a malformed
// event): the relay parks the event for an operator instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Discard is a consumer that accepts every event and does nothing: it stands
// for a subscriber whose backend is switched off (the search consumer when
// search runs on PostgreSQL), so its deliveries do not pile up.
type Discard string

// Name implements Consumer.
func (d Discard) Name() string { return string(d) }

// Deliver implements Consumer.
func (Discard) Deliver(context.Context, []Event) error { return nil }

// EntityIDs returns the distinct entity ids of the events with topic, in
// first-seen order.
func EntityIDs(events []Event, topic string) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for _, e := range events {
		if e.Topic == topic && !seen[e.EntityID] {
			seen[e.EntityID] = true
			ids = append(ids, e.EntityID)
		}
	}
	return ids
}
