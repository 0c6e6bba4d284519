package fulfilment

import (
	"testing"

	"github.com/shopkit/shop/internal/testenv"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (refresh with `UPDATE_HISTORY=1 go test -run 'TestSplitOrder|TestLostParcelIsReshipped' ./workers/`).
func TestReplayCommittedHistories(t *testing.T) {
	testenv.ReplayHistoryFiles(t, "testdata/fulfilment_*.json", Workflow, Name)
	testenv.ReplayHistoryFiles(t, "testdata/shipment_*.json", ShipmentWorkflow, ShipmentName)
}
