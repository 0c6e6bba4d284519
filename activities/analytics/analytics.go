// Package analytics holds the activities of the sales analytics rollups
// (workflows/analytics).
package analytics

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/failure"
)

// Activities roll closed hours up.
type Activities struct {
	Store *analytics.Store
}

// Hours is a range of whole UTC hours, [From, To).
type Hours struct {
	From, To time.Time
}

// ErrTypeNotClosed: the hours asked for are not closed yet (retrying does
// not help within the attempt's time).
const ErrTypeNotClosed = "AnalyticsHourNotClosed"

// RollUpHours rebuilds the rollups of h from the raw rows and answers how
// many hours it rolled.
func (a *Activities) RollUpHours(ctx context.Context, h Hours) (int, error) {
	n, err := a.Store.RollHours(ctx, h.From, h.To, time.Now())
	if errors.Is(err, analytics.ErrNotClosed) {
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotClosed, err)
	}
	return n, failure.ForActivity(err)
}
