package returns

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (refresh with `UPDATE_HISTORY=1 go test -run 'TestReturn|TestApprovedReturn|TestExchange' ./workers/`).
func TestReplayCommittedHistories(t *testing.T) { testenv.ReplayHistories(t, Workflow, Name) }
