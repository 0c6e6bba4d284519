package analytics

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayHistories replays histories recorded from real runs (refresh
// with `UPDATE_HISTORY=1 go test -run TestAnalyticsRollups ./workers/`).
func TestReplayHistories(t *testing.T) {
	testenv.ReplayHistoryFiles(t, "testdata/backfill*.json", Backfill, BackfillName)
	testenv.ReplayHistoryFiles(t, "testdata/rollup*.json", Rollup, RollupName)
}
