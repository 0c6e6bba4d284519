package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// SchedulePolicies are what every schedule of the shop does: a run still
// going when the next is due makes that one skip, and runs missed while
// Temporal was down are made up for within a day.
var SchedulePolicies = client.SchedulePolicies{
	Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
	CatchupWindow: 24 * time.Hour,
}

// EnsureSchedule makes the Temporal Schedule id start action on spec, with
// SchedulePolicies; every process may call it at start (`shop worker`
// does), any number of times. A new schedule is created; an existing one
// gets spec, action and policies (so a changed task queue or input takes
// effect) and keeps its state, so a schedule an operator paused in the UI
// stays paused. The action's workflow id defaults to id (Temporal adds the
// run's time to it).
func EnsureSchedule(ctx context.Context, c client.Client, id string, spec client.ScheduleSpec, action *client.ScheduleWorkflowAction) (client.ScheduleHandle, error) {
	if action.ID == "" {
		action.ID = id
	}
	policies := SchedulePolicies
	sc := c.ScheduleClient()
	h, err := sc.Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action,
		Overlap: policies.Overlap, CatchupWindow: policies.CatchupWindow})
	if err == nil {
		return h, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil, fmt.Errorf("temporal: create schedule %s: %w", id, err)
	}
	h = sc.GetHandle(ctx, id)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec, s.Action, s.Policy = &spec, action, &policies
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("temporal: update schedule %s: %w", id, err)
	}
	return h, nil
}
