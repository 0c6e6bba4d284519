package temporalclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/internal/testenv"
)

// answering has an update that answers at once, or (hold) one that never
// does while the workflow completes.
func answering(ctx workflow.Context, hold bool) error {
	release := false
	if err := workflow.SetUpdateHandler(ctx, "u", func(ctx workflow.Context) (string, error) {
		if hold {
			release = true
			return "", workflow.Await(ctx, func() bool { return false })
		}
		return "answered", nil
	}); err != nil {
		return err
	}
	if hold {
		return workflow.Await(ctx, func() bool { return release })
	}
	return nil
}

// TestServerErrorsAreClassified pins what the dev server answers to an
// update or update-with-start that finds its workflow completed, so a
// server upgrade that changes the answer fails here, not in production.
func TestServerErrorsAreClassified(t *testing.T) {
	c := testenv.Temporal(t)
	queue := testenv.UniqueName("test-errors-")
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(answering, workflow.RegisterOptions{Name: "Answering"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func(id string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: id, TaskQueue: queue,
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}
	}
	update := client.UpdateWorkflowOptions{UpdateName: "u", WaitForStage: client.WorkflowUpdateStageCompleted}

	done := testenv.UniqueName("test-done-")
	run, err := c.ExecuteWorkflow(ctx, start(done), "Answering", false)
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	u := update
	u.WorkflowID = done
	_, err = c.UpdateWorkflow(ctx, u)
	assert.True(t, temporalclient.IsNotFound(err), "an update to a completed workflow: %v", err)
	assert.True(t, temporalclient.IsClosed(err))

	err = c.SignalWorkflow(ctx, done, "", "s", nil)
	assert.True(t, temporalclient.IsNotFound(err), "a signal to a completed workflow: %v", err)

	_, err = c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: c.NewWithStartWorkflowOperation(start(done), "Answering", false), UpdateOptions: update})
	assert.True(t, temporalclient.IsAlreadyStarted(err), "update-with-start of a completed workflow that may not run again: %v", err)
	assert.False(t, temporalclient.IsClosed(err))

	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: c.NewWithStartWorkflowOperation(start(testenv.UniqueName("test-held-")), "Answering", true),
		UpdateOptions:          update})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	assert.True(t, temporalclient.IsCompletedBeforeUpdate(err), "an accepted update the workflow never answered: %v", err)
	assert.True(t, temporalclient.IsClosed(err))
	assert.False(t, temporalclient.IsNotFound(err))
}
