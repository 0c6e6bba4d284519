// Package searchsync rebuilds the Elasticsearch index from PostgreSQL behind
// its alias, with no downtime. Day-to-day changes reach the index through
// the outbox (search.IndexConsumer); a reindex is for a new mapping or a
// lost index.
package searchsync

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	searchact "github.com/shopkit/shop/activities/search"
)

// Reindex names.
const (
	ReindexName       = "SearchReindex"
	ReindexWorkflowID = "search-reindex"
	ReindexQuery      = "progress"
)

// ReindexInput tunes a reindex.
type ReindexInput struct {
	BatchSize int
}

// ReindexProgress is readable with ReindexQuery.
type ReindexProgress struct {
	Index    string
	Copied   int64 // last product id copied
	Phase    string
	Previous []string
}

// ReindexWorkflow builds a fresh index from PostgreSQL while the old one keeps
// serving, catches up with writes made meanwhile, swaps the alias atomically
// and catches up once more, so no write made during the rebuild is lost.
func ReindexWorkflow(ctx workflow.Context, in ReindexInput) (ReindexProgress, error) {
	var a *searchact.Activities
	var p ReindexProgress
	if err := workflow.SetQueryHandler(ctx, ReindexQuery, func() (ReindexProgress, error) { return p, nil }); err != nil {
		return p, err
	}
	size := in.BatchSize
	if size <= 0 || size > 2000 {
		size = 500
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 50},
	})

	p.Phase = "creating index"
	var start searchact.ReindexStart
	if err := workflow.ExecuteActivity(ctx, a.BeginReindex).Get(ctx, &start); err != nil {
		return p, err
	}
	p.Index = start.Index
	// If anything below fails for good, drop the half-built index.
	defer func() {
		if p.Phase != "done" {
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			_ = workflow.ExecuteActivity(dctx, a.DeleteIndexes, []string{p.Index}).Get(dctx, nil)
		}
	}()

	p.Phase = "copying"
	for {
		var last int64
		if err := workflow.ExecuteActivity(ctx, a.CopyPage, p.Index, p.Copied, start.MaxID, size).Get(ctx, &last); err != nil {
			return p, err
		}
		if last == 0 {
			break
		}
		p.Copied = last
	}

	p.Phase = "catching up"
	since := start.Since
	if err := workflow.ExecuteActivity(ctx, a.CatchUp, p.Index, since).Get(ctx, &since); err != nil {
		return p, err
	}
	p.Phase = "swapping alias"
	if err := workflow.ExecuteActivity(ctx, a.SwapAlias, p.Index).Get(ctx, &p.Previous); err != nil {
		return p, err
	}
	p.Phase = "done"
	// The alias serves the new index now; writes that raced the swap may have
	// gone to the old one, so sync everything changed since the last cut-off.
	if err := workflow.ExecuteActivity(ctx, a.CatchUp, p.Index, since).Get(ctx, nil); err != nil {
		return p, err
	}
	if err := workflow.ExecuteActivity(ctx, a.DeleteIndexes, p.Previous).Get(ctx, nil); err != nil {
		return p, err
	}
	return p, nil
}
