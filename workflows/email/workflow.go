// Package email sends one transactional email per business event. Each email
// is its own workflow, keyed by the event, so a mail server outage delays it
// (retries for up to a day) without holding up the order workflow that asked
// for it, and asking twice for one event sends it once.
package email

import (
	"strconv"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/searchattr"
)

// Name is the workflow type shown in the Temporal UI.
const Name = "SendEmail"

// deliveryWindow is how long an email keeps being retried before it is
// dropped: later than this, the news it carries is stale.
const deliveryWindow = 24 * time.Hour

// WorkflowID names the email of a business event.
func WorkflowID(key string) string { return "email-" + key }

// Workflow sends in and returns what the activity did.
func Workflow(ctx workflow.Context, in emailact.Input) (emailact.Result, error) {
	if err := validate(in); err != nil {
		return emailact.Result{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: deliveryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{emailact.ErrTypeRejected, emailact.ErrTypeBadInput},
		},
	})
	var a *emailact.Activities
	var res emailact.Result
	err := workflow.ExecuteActivity(ctx, a.SendEmail, in).Get(ctx, &res)
	return res, err
}

// Start asks, from another workflow, for the email in to be sent, and
// returns once the email workflow has started: delivery goes on after the
// caller completes. Asking again for the same in.Key sends nothing more,
// even after the first email workflow has closed (within the namespace's
// retention).
func Start(ctx workflow.Context, in emailact.Input) error {
	if err := validate(in); err != nil {
		return err // an empty key would make every such email one workflow
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            WorkflowID(in.Key),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(Attributes(in)...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, Name, in)
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		workflow.GetLogger(ctx).Info("email already requested", "key", in.Key, "kind", in.Kind)
		return nil
	}
	return err
}

// Attributes are the search attributes of an email's workflow: the order
// and the customer it is about, so filtering by OrderId or CustomerId in
// the Temporal UI finds the email beside the order's other workflows.
func Attributes(in emailact.Input) []temporal.SearchAttributeUpdate {
	var attrs []temporal.SearchAttributeUpdate
	if in.OrderID != 0 {
		attrs = append(attrs, searchattr.OrderID.ValueSet(strconv.FormatInt(in.OrderID, 10)))
	}
	if in.CustomerID != 0 {
		attrs = append(attrs, searchattr.CustomerID.ValueSet(strconv.FormatInt(in.CustomerID, 10)))
	}
	return attrs
}

func validate(in emailact.Input) error {
	if in.Key == "" || in.Kind == "" || in.To == "" {
		return temporal.NewNonRetryableApplicationError(
			"email key, kind and recipient are required", emailact.ErrTypeBadInput, nil)
	}
	return nil
}
