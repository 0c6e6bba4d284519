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

// ReasonProcessingFailed is the failure shown for an image whose processing
// gave up on an error other than a corrupt file (the store unreachable for
// long, a render crashing every time).
const ReasonProcessingFailed = "processing failed; upload the image again"

// Workflow renders the variants, then records them. A corrupt original is
// not retried: the image is marked failed and the workflow completes. Any
// other error that outlasts the retries marks the image failed too (never
// left "processing"), and the workflow fails with that error.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	var a *imagesact.Activities
	render := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The activity first waits for one of the worker's render slots
		// (IMAGE_CONCURRENCY), heartbeating: a burst of uploads queues
		// there for hours if need be. A render itself takes seconds (a
		// 40-megapixel original) and is bounded by RenderTimeout.
		ScheduleToCloseTimeout: 12 * time.Hour,
		StartToCloseTimeout:    12 * time.Hour,
		HeartbeatTimeout:       4 * imagesact.HeartbeatEvery,
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

	// markFailed records the reason; on a disconnected context, so that it
	// runs after a cancellation too.
	markFailed := func(reason string) error {
		dctx, _ := workflow.NewDisconnectedContext(record)
		return workflow.ExecuteActivity(dctx, a.MarkImageFailed, imagesact.MarkFailedInput{ImageID: in.ImageID, Reason: reason}).Get(dctx, nil)
	}

	var rendered imagesact.RenderResult
	err := workflow.ExecuteActivity(render, a.RenderVariants, imagesact.RenderInput{ImageID: in.ImageID, OriginalKey: in.OriginalKey}).Get(ctx, &rendered)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == imagesact.ErrTypeCorrupt {
		reason := ae.Message()
		if err := markFailed(reason); err != nil {
			return Result{}, err
		}
		return Result{Status: "failed", Failure: reason}, nil
	}
	if err == nil {
		err = workflow.ExecuteActivity(record, a.MarkImageReady, imagesact.MarkReadyInput{ImageID: in.ImageID, Variants: rendered.Variants}).Get(ctx, nil)
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("image processing failed", "ImageID", in.ImageID, "Error", err)
		if merr := markFailed(ReasonProcessingFailed); merr != nil {
			return Result{}, errors.Join(err, merr)
		}
		return Result{}, err
	}
	return Result{Status: "ready", Variants: len(rendered.Variants)}, nil
}
