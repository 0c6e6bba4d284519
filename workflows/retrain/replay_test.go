package retrain

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayRetrainHistories replays histories recorded from real runs
// (refresh with `UPDATE_HISTORY=1 go test -run 'TestRetrain' ./api/ ./workers/`).
func TestReplayRetrainHistories(t *testing.T) {
	testenv.ReplayHistoryFiles(t, "testdata/*.json", Workflow, Name)
}
