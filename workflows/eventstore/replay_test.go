package eventstore

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayMaintenanceHistories replays histories recorded from real runs
// (refresh with `UPDATE_HISTORY=1 go test -run TestEventMaintenanceOnASchedule ./workers/`).
func TestReplayMaintenanceHistories(t *testing.T) {
	testenv.ReplayHistoryFiles(t, "testdata/maintenance*.json", Workflow, Name)
}
