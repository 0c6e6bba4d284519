package shoptest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// History returns the whole event history of a workflow's latest run.
func History(t testing.TB, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	return h
}

// RecordHistory writes the workflow's history to path for the replay tests
// when UPDATE_HISTORY is set; the replayer then checks that later code
// still makes the same decisions.
func RecordHistory(t testing.TB, c client.Client, workflowID, path string) {
	t.Helper()
	if os.Getenv("UPDATE_HISTORY") == "" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(History(t, c, workflowID, ""))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
