package failure

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// CheckActivityOptions enforces the shop's rule for every activity call: a
// timeout on each attempt and a retry policy that ends (an attempt limit or
// an overall deadline), so an error nobody classified surfaces instead of
// being retried forever.
func CheckActivityOptions(o workflow.ActivityOptions) error {
	var errs []error
	if o.StartToCloseTimeout <= 0 && o.ScheduleToCloseTimeout <= 0 {
		errs = append(errs, errors.New("no StartToCloseTimeout"))
	}
	switch {
	case o.RetryPolicy == nil && o.ScheduleToCloseTimeout <= 0:
		errs = append(errs, errors.New("no RetryPolicy (the default retries forever)"))
	case o.RetryPolicy != nil && o.RetryPolicy.MaximumAttempts <= 0 && o.ScheduleToCloseTimeout <= 0:
		errs = append(errs, errors.New("retries are unbounded: set MaximumAttempts or ScheduleToCloseTimeout"))
	}
	return errors.Join(errs...)
}

// BoundsGuard is a worker interceptor for tests and replays: an activity
// call whose options break CheckActivityOptions panics, which fails the
// workflow task (and so the test) naming the activity.
func BoundsGuard() interceptor.WorkerInterceptor { return &boundsGuard{} }

type boundsGuard struct {
	interceptor.WorkerInterceptorBase
}

func (*boundsGuard) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &boundsInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type boundsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (b *boundsInbound) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return b.Next.Init(&boundsOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}})
}

type boundsOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (b *boundsOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if err := CheckActivityOptions(workflow.GetActivityOptions(ctx)); err != nil {
		panic(fmt.Sprintf("activity %s of workflow %s: %v", activityType, workflow.GetInfo(ctx).WorkflowType.Name, err))
	}
	return b.Next.ExecuteActivity(ctx, activityType, args...)
}
