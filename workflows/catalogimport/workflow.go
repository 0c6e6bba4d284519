// Package catalogimport imports a product file in batches, one activity per
// batch, so a crash or a deploy mid-import resumes at the next batch and a
// re-run changes nothing that is already in place.
package catalogimport

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	catalogact "github.com/shopkit/shop/activities/catalog"
)

// Name is the workflow type shown in the Temporal UI.
const Name = "CatalogImport"

// ProgressQuery answers with the import's Progress.
const ProgressQuery = "progress"

const (
	defaultBatchSize = 100
	maxBatchSize     = 1000
	// maxListedErrors bounds the bad rows kept in workflow state.
	maxListedErrors = 200
	// batchesPerRun bounds the history of one run; the import continues as new.
	batchesPerRun = 500
)

// Input starts an import.
type Input struct {
	// Source is a file path the worker can read, or catalogact.DemoSource.
	Source    string
	BatchSize int
	// Resume carries progress across continue-as-new; callers leave it nil.
	Resume *Progress
}

// Progress is the import's state, readable at any time with ProgressQuery.
type Progress struct {
	Source      string
	TotalRows   int
	Processed   int
	Inserted    int
	Updated     int
	Unchanged   int
	Failed      int
	Errors      []catalogact.RowError // the first maxListedErrors bad rows
	Checksum    string
	Done        bool
	StartedAt   time.Time
	CompletedAt time.Time
}

// WorkflowID names the import of a source, so two imports of one file never run at once.
func WorkflowID(source string) string { return "catalog-import-" + source }

// Workflow imports in.Source and returns the final progress.
func Workflow(ctx workflow.Context, in Input) (Progress, error) {
	var a *catalogact.Activities
	p := Progress{Source: in.Source, StartedAt: workflow.Now(ctx)}
	if in.Resume != nil {
		p = *in.Resume
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return p, nil }); err != nil {
		return p, err
	}
	if in.Source == "" {
		return p, temporal.NewNonRetryableApplicationError("source is required", catalogact.ErrTypeBadFile, nil)
	}
	size := in.BatchSize
	if size <= 0 {
		size = defaultBatchSize
	}
	size = min(size, maxBatchSize)

	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{catalogact.ErrTypeBadFile, catalogact.ErrTypeFileChanged},
		},
	})

	if in.Resume == nil {
		var info catalogact.InspectResult
		if err := workflow.ExecuteActivity(ctx, a.InspectCatalogFile, in.Source).Get(ctx, &info); err != nil {
			return p, fmt.Errorf("inspect %s: %w", in.Source, err)
		}
		p.TotalRows, p.Checksum = info.Rows, info.Checksum
	}

	for batches := 0; p.Processed < p.TotalRows; batches++ {
		if batches == batchesPerRun {
			return p, workflow.NewContinueAsNewError(ctx, Workflow, Input{Source: in.Source, BatchSize: size,
				Resume: &p})
		}
		to := min(p.Processed+size, p.TotalRows)
		var res catalogact.BatchResult
		err := workflow.ExecuteActivity(ctx, a.ImportCatalogBatch, catalogact.BatchInput{
			Source: in.Source, Checksum: p.Checksum, From: p.Processed, To: to,
		}).Get(ctx, &res)
		if err != nil {
			return p, fmt.Errorf("import rows %d-%d of %s: %w", p.Processed+1, to, in.Source, err)
		}
		p.Processed = to
		p.Inserted += res.Inserted
		p.Updated += res.Updated
		p.Unchanged += res.Unchanged
		p.Failed += len(res.Errors)
		for _, e := range res.Errors {
			if len(p.Errors) < maxListedErrors {
				p.Errors = append(p.Errors, e)
			}
		}
	}
	p.Done = true
	p.CompletedAt = workflow.Now(ctx)
	workflow.GetLogger(ctx).Info("catalog import finished", "source", in.Source, "rows", p.TotalRows,
		"inserted", p.Inserted, "updated", p.Updated, "unchanged", p.Unchanged, "failed", p.Failed)
	return p, nil
}
