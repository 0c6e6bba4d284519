package shoptest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// TriggerSchedule runs the schedule now (as "Trigger" in the Temporal UI
// does) and answers the run it started.
func TriggerSchedule(ctx context.Context, t testing.TB, c client.Client, h client.ScheduleHandle) client.WorkflowRun {
	t.Helper()
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var run client.WorkflowRun
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		res := d.Info.RecentActions[0].StartWorkflowResult
		run = c.GetWorkflow(ctx, res.WorkflowID, res.FirstExecutionRunID)
		return true
	}, 30*time.Second, 50*time.Millisecond, "the triggered run starts")
	return run
}
