// Package eventstore holds the activities of the behaviour event store's
// maintenance (workflows/eventstore).
package eventstore

import (
	"context"
	"time"

	"github.com/shopkit/shop/internal/events"
)

// Activities keep the event store's monthly partitions.
type Activities struct {
	Store *events.Store
}

// Months is a range of months, both ends included.
type Months struct {
	From, To time.Time
}

// EnsureEventPartitions creates the partitions of the months in m that are
// missing and answers how many it created.
func (a *Activities) EnsureEventPartitions(ctx context.Context, m Months) (int, error) {
	return a.Store.EnsurePartitions(ctx, m.From, m.To)
}

// PruneEventPartitions drops the partitions of the months that ended at or
// before before and answers their names.
func (a *Activities) PruneEventPartitions(ctx context.Context, before time.Time) ([]string, error) {
	return a.Store.Prune(ctx, before)
}
