package testenv

import (
	"log/slog"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shopkit/shop/internal/failure"
)

// ReplayHistories replays every testdata/*.json history (recorded from real
// runs with UPDATE_HISTORY=1) against fn registered as name: a code change
// that would break workflows already running fails the test, and so does an
// activity call without a timeout and bounded retries (failure.BoundsGuard).
func ReplayHistories(t *testing.T, fn any, name string) {
	t.Helper()
	ReplayHistoryFiles(t, "testdata/*.json", fn, name)
}

// ReplayHistoryFiles is ReplayHistories for the histories matching pattern,
// for a package with several workflows.
func ReplayHistoryFiles(t *testing.T, pattern string, fn any, name string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories match %s (%v)", pattern, err)
	}
	for _, f := range files {
		r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
			Interceptors: []interceptor.WorkerInterceptor{failure.BoundsGuard()},
		})
		if err != nil {
			t.Fatal(err)
		}
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
		if err := r.ReplayWorkflowHistoryFromJSONFile(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
