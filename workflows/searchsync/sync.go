// Package searchsync keeps the Elasticsearch index in step with the catalog.
//
// One long-running workflow receives "products changed" signals from every
// catalog write and applies them in batches with unlimited retries, so an
// Elasticsearch outage only delays the index: it catches up when the node is
// back. A separate reindex workflow rebuilds the index behind an alias.
package searchsync

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	searchact "github.com/shopkit/shop/activities/search"
)

// Names shown in the Temporal UI.
const (
	SyncName       = "SearchIndexSync"
	SyncWorkflowID = "search-index-sync"
	SignalChanged  = "products-changed"
	PendingQuery   = "pending"
	maxBatch       = 500
)

// maxBatchesInRun bounds one run's history; then the workflow continues as new.
var maxBatchesInRun = 1000

// SyncInput carries ids not yet applied across continue-as-new.
type SyncInput struct {
	Pending []int64
}

// SyncWorkflow applies product changes to the index until cancelled.
func SyncWorkflow(ctx workflow.Context, in SyncInput) error {
	var a *searchact.Activities
	pending := map[int64]bool{}
	for _, id := range in.Pending {
		pending[id] = true
	}
	if err := workflow.SetQueryHandler(ctx, PendingQuery, func() (int, error) { return len(pending), nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, SignalChanged)
	add := func(ids []int64) {
		for _, id := range ids {
			pending[id] = true
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		// An outage delays the index for up to a day; past that the
		// workflow fails for operators to see, and `shop reindex` (or a
		// reset once Elasticsearch is back) brings the index up to date.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	for batches := 0; ; batches++ {
		if len(pending) == 0 {
			var ids []int64
			ch.Receive(ctx, &ids)
			if err := ctx.Err(); err != nil {
				return err // cancelled while idle
			}
			add(ids)
		}
		for {
			var ids []int64
			if !ch.ReceiveAsync(&ids) {
				break
			}
			add(ids)
		}
		if batches >= maxBatchesInRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, SyncWorkflow, SyncInput{Pending: sortedKeys(pending)})
		}
		batch := sortedKeys(pending)
		batch = batch[:min(len(batch), maxBatch)]
		if err := workflow.ExecuteActivity(ctx, a.SyncProducts, "", batch).Get(ctx, nil); err != nil {
			return err // only on cancellation: the retry policy has no limit
		}
		for _, id := range batch {
			delete(pending, id)
		}
	}
}

// sortedKeys gives the pending ids in a deterministic order (map iteration is random).
func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	// The order is random but sorted right below, so replay sees the same ids.
	//workflowcheck:ignore
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
