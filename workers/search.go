package workers

import (
	"context"
	"log/slog"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/workflows/searchsync"
)

// SearchSync tells the index-sync workflow about catalog writes, starting it
// when it is not running.
type SearchSync struct {
	Client    client.Client
	TaskQueue string
	Log       *slog.Logger
	// WorkflowID defaults to searchsync.SyncWorkflowID (tests use their own).
	WorkflowID string
}

// ProductsChanged signals the sync workflow. The write is already committed;
// if Temporal cannot be reached the change is logged and picked up by the
// next reindex, which rebuilds from PostgreSQL.
func (s *SearchSync) ProductsChanged(ctx context.Context, ids ...int64) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	id := s.WorkflowID
	if id == "" {
		id = searchsync.SyncWorkflowID
	}
	_, err := s.Client.SignalWithStartWorkflow(ctx, id, searchsync.SignalChanged, ids,
		client.StartWorkflowOptions{
			TaskQueue:                s.TaskQueue,
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, searchsync.SyncName, searchsync.SyncInput{})
	if err != nil {
		s.Log.ErrorContext(ctx, "search index sync not signalled; the next reindex will include the change",
			"product_ids", ids, "error", err)
	}
}

// StartReindex starts (or joins) a full, zero-downtime rebuild of the index.
// An empty workflowID means searchsync.ReindexWorkflowID.
func StartReindex(ctx context.Context, c client.Client, taskQueue, workflowID string, batchSize int) (client.WorkflowRun, error) {
	if workflowID == "" {
		workflowID = searchsync.ReindexWorkflowID
	}
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 6 * time.Hour,
	}, searchsync.ReindexName, searchsync.ReindexInput{BatchSize: batchSize})
}
