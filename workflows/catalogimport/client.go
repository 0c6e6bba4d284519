package catalogimport

import (
	"context"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Start starts (or joins, when one is already running) the import of
// source. A finished import of the same source may run again: upserts by
// SKU make the re-run harmless. The imported rows reach the cache and the
// search index through the outbox, like every other catalog write.
func Start(ctx context.Context, c client.Client, taskQueue, source string, batchSize int) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(source),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 24 * time.Hour,
	}, Name, Input{Source: source, BatchSize: batchSize})
}
