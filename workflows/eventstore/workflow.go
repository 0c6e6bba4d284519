// Package eventstore keeps the behaviour event store's monthly partitions:
// the EventMaintenance workflow, run daily by the Temporal Schedule
// event-maintenance that `shop worker` ensures, creates the months ahead
// and drops the months older than the retention (EVENT_RETENTION).
package eventstore

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	eventstoreact "github.com/shopkit/shop/activities/eventstore"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Names shown in the Temporal UI.
const (
	Name       = "EventMaintenance"
	ScheduleID = "event-maintenance"
)

// ErrTypeBadInput: the workflow was started with a retention too short or
// no months ahead.
const ErrTypeBadInput = "EventMaintenanceBadInput"

// MinRetention is the shortest retention the workflow accepts.
const MinRetention = 24 * time.Hour

// Input tunes a run.
type Input struct {
	// Retention: months that ended longer ago are dropped.
	Retention time.Duration
	// MonthsAhead are created beyond the current month (default 3).
	MonthsAhead int
}

// Result says what a run did.
type Result struct {
	Created int
	Dropped []string
}

// Workflow ensures the partitions from the current month to MonthsAhead
// months ahead, then drops those older than the retention.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	var res Result
	if in.MonthsAhead == 0 {
		in.MonthsAhead = 3
	}
	if in.Retention < MinRetention || in.MonthsAhead < 0 || in.MonthsAhead > 24 {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("retention %s (at least %s) and months ahead %d (0-24)", in.Retention, MinRetention, in.MonthsAhead),
			ErrTypeBadInput, nil)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{failure.TypeInvalidData}},
	})
	var a *eventstoreact.Activities
	now := workflow.Now(ctx).UTC()
	if err := workflow.ExecuteActivity(ctx, a.EnsureEventPartitions,
		eventstoreact.Months{From: now, To: now.AddDate(0, in.MonthsAhead, 0)}).Get(ctx, &res.Created); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(ctx, a.PruneEventPartitions, now.Add(-in.Retention)).Get(ctx, &res.Dropped); err != nil {
		return res, err
	}
	return res, nil
}

// Schedule are the schedule's options: every day at 03:17 UTC, on
// taskQueue, with in.
func Schedule(taskQueue string, in Input) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Hour: []client.ScheduleRange{{Start: 3}}, Minute: []client.ScheduleRange{{Start: 17}}}}}
	return spec, &client.ScheduleWorkflowAction{Workflow: Name, Args: []any{in}, TaskQueue: taskQueue,
		WorkflowRunTimeout: time.Hour}
}

// EnsureSchedule makes the schedule id (ScheduleID in production) run the
// maintenance daily on taskQueue.
func EnsureSchedule(ctx context.Context, c client.Client, id, taskQueue string, in Input) (client.ScheduleHandle, error) {
	spec, action := Schedule(taskQueue, in)
	return temporalclient.EnsureSchedule(ctx, c, id, spec, action)
}
