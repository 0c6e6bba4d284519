package searchsync

import (
	"context"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// StartReindex starts (or joins) a full, zero-downtime rebuild of the index.
// An empty workflowID means ReindexWorkflowID.
func StartReindex(ctx context.Context, c client.Client, taskQueue, workflowID string, batchSize int) (client.WorkflowRun, error) {
	if workflowID == "" {
		workflowID = ReindexWorkflowID
	}
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 6 * time.Hour,
	}, ReindexName, ReindexInput{BatchSize: batchSize})
}
