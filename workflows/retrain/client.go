package retrain

import (
	"context"
	"fmt"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/internal/temporalclient"
)

// ManualID is the workflow id of `shop recommender retrain`: a second
// request while one runs joins it.
const ManualID = "recommender-retrain-manual"

// Start starts a retraining now under id (ManualID from the command line),
// or joins the one running under that id.
func Start(ctx context.Context, c client.Client, id, taskQueue string, in Input) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, Name, in)
	if err != nil {
		return nil, fmt.Errorf("retrain: start: %w", err)
	}
	return run, nil
}

// QueryProgress asks a run where it stands.
func QueryProgress(ctx context.Context, c client.Client, workflowID, runID string) (Progress, error) {
	var p Progress
	v, err := c.QueryWorkflow(ctx, workflowID, runID, ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// Schedule are the schedule's options: every day at hour:minute UTC, on
// taskQueue, with in. A run missed while Temporal was down is made up
// within a day; a run still going when the next is due makes that one skip.
func Schedule(taskQueue string, hour, minute int, in Input) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Hour: []client.ScheduleRange{{Start: hour}}, Minute: []client.ScheduleRange{{Start: minute}}}}}
	return spec, &client.ScheduleWorkflowAction{Workflow: Name, Args: []any{in}, TaskQueue: taskQueue}
}

// EnsureSchedule makes the schedule id (ScheduleID in production) retrain
// daily at hour:minute UTC on taskQueue.
func EnsureSchedule(ctx context.Context, c client.Client, id, taskQueue string, hour, minute int, in Input) (client.ScheduleHandle, error) {
	spec, action := Schedule(taskQueue, hour, minute, in)
	return temporalclient.EnsureSchedule(ctx, c, id, spec, action)
}
