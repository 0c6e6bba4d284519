package email

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	ordersact "github.com/shopkit/shop/activities/orders"
	"github.com/shopkit/shop/internal/failure"
)

// orderEmailWindow bounds the retries of preparing an order's email from
// the database: it rides out a long outage, as the order's own steps do.
const orderEmailWindow = 24 * time.Hour

// SendOrderEmail, from an order's workflow (checkout, refund), prepares the
// email about an order event and starts it; the key makes it go out at
// most once. Email trouble never fails the order.
func SendOrderEmail(ctx workflow.Context, req ordersact.EmailRequest) {
	var oa *ordersact.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: orderEmailWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound, failure.TypeInvalidData},
		},
	})
	var in emailact.Input
	if err := workflow.ExecuteActivity(actx, oa.OrderEmail, req).Get(ctx, &in); err != nil {
		workflow.GetLogger(ctx).Error("order email not prepared", "key", req.Key, "error", err)
		return
	}
	if err := Start(ctx, in); err != nil {
		workflow.GetLogger(ctx).Error("order email not started", "key", req.Key, "error", err)
	}
}
