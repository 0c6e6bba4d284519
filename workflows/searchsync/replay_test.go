package searchsync

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayReindexHistories replays reindex histories recorded from real
// runs (refresh with `UPDATE_HISTORY=1 go test -run TestReindexRebuildsTheIndex ./workers/`).
func TestReplayReindexHistories(t *testing.T) {
	testenv.ReplayHistoryFiles(t, "testdata/reindex*.json", ReindexWorkflow, ReindexName)
}
