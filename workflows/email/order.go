package email

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
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
	SendPrepared(ctx, oa.OrderEmail, req)
}

// SendPrepared runs prepare (an activity answering the emailact.Input,
// built from what is stored now) with req, and starts the email it
// answers. Email trouble is logged, never fails the caller.
func SendPrepared(ctx workflow.Context, prepare, req any) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: orderEmailWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			NonRetryableErrorTypes: []string{ordersact.ErrTypeWrongState, ordersact.ErrTypeNotFound, failure.TypeInvalidData,
				fulfilmentact.ErrTypeNotFound, fulfilmentact.ErrTypeInvalid},
		},
	})
	var in emailact.Input
	if err := workflow.ExecuteActivity(actx, prepare, req).Get(ctx, &in); err != nil {
		workflow.GetLogger(ctx).Error("email not prepared", "request", req, "error", err)
		return
	}
	if err := Start(ctx, in); err != nil {
		workflow.GetLogger(ctx).Error("email not started", "key", in.Key, "error", err)
	}
}
