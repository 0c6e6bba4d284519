package images

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (refresh with `UPDATE_HISTORY=1 go test -run 'TestProductImage' ./api/`).
func TestReplayCommittedHistories(t *testing.T) { testenv.ReplayHistories(t, Workflow, Name) }
