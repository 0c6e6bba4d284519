package testenv

import (
	"log/slog"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ReplayHistories replays every testdata/*.json history (recorded from real
// runs with UPDATE_HISTORY=1) against fn registered as name: a code change
// that would break workflows already running fails the test.
func ReplayHistories(t *testing.T, fn any, name string) {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/ (%v)", err)
	}
	for _, f := range files {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
		if err := r.ReplayWorkflowHistoryFromJSONFile(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
