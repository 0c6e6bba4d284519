package images

import (
	"context"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/internal/images"
)

// Client starts the processing of uploaded images (api.ImageFlows).
type Client struct {
	Temporal  client.Client
	TaskQueue string
}

// ProcessImage starts, or joins when it runs already, the image's
// ProcessProductImage workflow.
func (c Client) ProcessImage(ctx context.Context, im images.Image) error {
	_, err := Start(ctx, c.Temporal, c.TaskQueue, Input{ImageID: im.ID, ProductID: im.ProductID, OriginalKey: im.OriginalKey})
	return err
}

// Start starts the workflow; a running one of the same image is joined.
func Start(ctx context.Context, c client.Client, taskQueue string, in Input) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(in.ImageID),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: time.Hour,
	}, Name, in)
}
