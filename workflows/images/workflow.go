// Package images runs ProcessProductImage: it renders an uploaded product
// image's variants and marks the image ready, or failed when the file
// cannot be decoded.
package images

import (
	"errors"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	imagesact "github.com/shopkit/shop/activities/images"
)

// Name is the workflow type shown in the Temporal UI.
const Name = "ProcessProductImage"

// WorkflowID is the business id: one processing per image.
func WorkflowID(imageID int64) string { return "product-image-" + strconv.FormatInt(imageID, 10) }

// Input names the image to process.
type Input struct {
	ImageID     int64
	ProductID   int64
	OriginalKey string
}

// Result is the image's outcome.
type Result struct {
	Status   string // ready or failed
	Variants int
	Failure  string
}

// Workflow renders the variants, then records them. A corrupt original is
// not retried: the image is marked failed and the workflow completes.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	var a *imagesact.Activities
	render := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// A 40-megapixel original takes seconds to decode and resize.
		StartToCloseTimeout: 3 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        8,
			NonRetryableErrorTypes: []string{imagesact.ErrTypeCorrupt},
		},
	})
	record := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    20,
		},
	})

	var rendered imagesact.RenderResult
	err := workflow.ExecuteActivity(render, a.RenderVariants, imagesact.RenderInput{ImageID: in.ImageID, OriginalKey: in.OriginalKey}).Get(ctx, &rendered)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == imagesact.ErrTypeCorrupt {
		reason := ae.Message()
		if err := workflow.ExecuteActivity(record, a.MarkImageFailed, imagesact.MarkFailedInput{ImageID: in.ImageID, Reason: reason}).Get(ctx, nil); err != nil {
			return Result{}, err
		}
		return Result{Status: "failed", Failure: reason}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if err := workflow.ExecuteActivity(record, a.MarkImageReady, imagesact.MarkReadyInput{ImageID: in.ImageID, Variants: rendered.Variants}).Get(ctx, nil); err != nil {
		return Result{}, err
	}
	return Result{Status: "ready", Variants: len(rendered.Variants)}, nil
}
