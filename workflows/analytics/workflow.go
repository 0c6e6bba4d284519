// Package analytics rolls closed UTC hours of sales and sessions up into
// hourly facts (internal/analytics): the AnalyticsRollup workflow, run
// nightly by the Temporal Schedule analytics-rollup that `shop worker`
// ensures, rolls the last days' closed hours; AnalyticsBackfill rebuilds
// any range (`shop analytics backfill --from --to`), a day per activity,
// with its progress readable by the query "progress".
package analytics

import (
	"context"
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	analyticsact "github.com/shopkit/shop/activities/analytics"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/temporalclient"
)

// Names shown in the Temporal UI.
const (
	RollupName   = "AnalyticsRollup"
	BackfillName = "AnalyticsBackfill"
	ScheduleID   = "analytics-rollup"
	// ProgressQuery answers a Progress.
	ProgressQuery = "progress"
)

// ErrTypeBadInput: a backfill range that is empty or not on the hour.
const ErrTypeBadInput = "AnalyticsBadInput"

// DefaultLookback is how many days before the closed boundary the nightly
// rollup rebuilds: a night the schedule missed is caught up by the next.
const DefaultLookback = 7 * 24 * time.Hour

// chunk is the hours one activity rolls.
const chunk = 24 * time.Hour

// RollupInput tunes the nightly run.
type RollupInput struct {
	// CloseAfter: hours that ended longer ago are closed
	// (ANALYTICS_CLOSE_AFTER).
	CloseAfter time.Duration
	// Lookback: closed hours this far back are rebuilt (default 7 days).
	Lookback time.Duration
}

// BackfillInput is the range to rebuild: [From, To), on whole UTC hours.
// The part of it that is not closed yet is left to the nightly rollups.
type BackfillInput struct {
	From, To   time.Time
	CloseAfter time.Duration
}

// Progress is a run's progress (ProgressQuery) and result.
type Progress struct {
	From, To time.Time
	// Done: the hours before it are rolled.
	Done        time.Time
	HoursRolled int
	HoursTotal  int
}

func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{failure.TypeInvalidData, analyticsact.ErrTypeNotClosed}},
	})
}

// roll rolls [p.From, p.To) a day at a time, keeping p current.
func roll(ctx workflow.Context, p *Progress) error {
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return *p, nil }); err != nil {
		return err
	}
	ctx = activityCtx(ctx)
	var a *analyticsact.Activities
	p.Done = p.From
	p.HoursTotal = int(p.To.Sub(p.From) / time.Hour)
	for p.Done.Before(p.To) {
		end := p.Done.Add(chunk)
		if end.After(p.To) {
			end = p.To
		}
		var n int
		if err := workflow.ExecuteActivity(ctx, a.RollUpHours, analyticsact.Hours{From: p.Done, To: end}).Get(ctx, &n); err != nil {
			return err
		}
		p.HoursRolled += n
		p.Done = end
	}
	return nil
}

// closedBefore mirrors analytics.ClosedBefore on the workflow's clock.
func closedBefore(now time.Time, closeAfter time.Duration) time.Time {
	return now.Add(-closeAfter).UTC().Truncate(time.Hour)
}

// Rollup rolls the closed hours of the last Lookback up.
func Rollup(ctx workflow.Context, in RollupInput) (Progress, error) {
	if in.CloseAfter <= 0 {
		in.CloseAfter = 48 * time.Hour
	}
	if in.Lookback <= 0 {
		in.Lookback = DefaultLookback
	}
	to := closedBefore(workflow.Now(ctx), in.CloseAfter)
	p := Progress{From: to.Add(-in.Lookback).Truncate(time.Hour), To: to}
	err := roll(ctx, &p)
	return p, err
}

// Backfill rebuilds the rollups of the closed hours of [From, To).
func Backfill(ctx workflow.Context, in BackfillInput) (Progress, error) {
	if in.CloseAfter <= 0 {
		in.CloseAfter = 48 * time.Hour
	}
	from, to := in.From.UTC(), in.To.UTC()
	if !from.Equal(from.Truncate(time.Hour)) || !to.Equal(to.Truncate(time.Hour)) || !from.Before(to) {
		return Progress{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill %s..%s: want whole UTC hours, from before to", from.Format(time.RFC3339), to.Format(time.RFC3339)),
			ErrTypeBadInput, nil)
	}
	if closed := closedBefore(workflow.Now(ctx), in.CloseAfter); to.After(closed) {
		to = closed
	}
	p := Progress{From: from, To: to}
	if !from.Before(to) {
		return p, nil // nothing closed yet
	}
	err := roll(ctx, &p)
	return p, err
}

// Schedule are the schedule's options: every day at 02:05 UTC, on
// taskQueue, with in.
func Schedule(taskQueue string, in RollupInput) (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Hour: []client.ScheduleRange{{Start: 2}}, Minute: []client.ScheduleRange{{Start: 5}}}}}
	return spec, &client.ScheduleWorkflowAction{Workflow: RollupName, Args: []any{in}, TaskQueue: taskQueue,
		WorkflowRunTimeout: 6 * time.Hour}
}

// EnsureSchedule makes the schedule id (ScheduleID in production) run the
// rollup nightly on taskQueue.
func EnsureSchedule(ctx context.Context, c client.Client, id, taskQueue string, in RollupInput) (client.ScheduleHandle, error) {
	spec, action := Schedule(taskQueue, in)
	return temporalclient.EnsureSchedule(ctx, c, id, spec, action)
}

// BackfillWorkflowID names the backfill of a range: starting the same
// range twice joins the running one.
func BackfillWorkflowID(from, to time.Time) string {
	return "analytics-backfill-" + from.UTC().Format("20060102T15") + "-" + to.UTC().Format("20060102T15")
}

// StartBackfill starts (or joins) the backfill of in on taskQueue.
func StartBackfill(ctx context.Context, c client.Client, taskQueue string, in BackfillInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       BackfillWorkflowID(in.From, in.To),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 24 * time.Hour,
	}, BackfillName, in)
}
