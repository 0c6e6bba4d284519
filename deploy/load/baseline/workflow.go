package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shopkit/shop/deploy/load/journey"
	"github.com/shopkit/shop/deploy/load/stats"
)

// WorkflowName is the bare workflow's registered name.
const WorkflowName = "LoadBaseline"

// Noop is the activity: it does nothing, so what is measured is Temporal's
// own cost (history writes, task dispatch, worker polling).
func Noop(context.Context) error { return nil }

// Workflow runs Noop three times in a row, like a checkout's three steps
// without their work.
func Workflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	for range 3 {
		if err := workflow.ExecuteActivity(ctx, Noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// StartWorker runs a worker of the bare workflow on taskQueue (a queue of
// its own, so the shop's workers never see these tasks); stop it with
// Stop.
func StartWorker(c client.Client, taskQueue string) (worker.Worker, error) {
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivity(Noop)
	return w, w.Start()
}

// WorkflowRun is what RunWorkflows measured.
type WorkflowRun struct {
	Summary stats.Summary // start→complete latency, completions per second
}

// RunWorkflows starts the bare workflow and waits for its result, with
// workers closed-loop callers, for d or (when iterations > 0) until that
// many have been started. Workflows under way at the end complete and are
// measured; the window ends with the last one.
func RunWorkflows(ctx context.Context, c client.Client, taskQueue string, workers int, d time.Duration, iterations int) (WorkflowRun, error) {
	deadline := time.Now().Add(d)
	prefix := make([]byte, 6)
	_, _ = rand.Read(prefix)
	rec := stats.NewRecorder()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				if iterations > 0 && n.Add(1) > int64(iterations) {
					return
				}
				id := fmt.Sprintf("load-baseline-%s-%d-%d", hex.EncodeToString(prefix), w, i)
				start := time.Now()
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue,
					WorkflowExecutionTimeout: time.Minute}, WorkflowName)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if ctx.Err() != nil {
					return // the whole run was cancelled
				}
				o := journey.OK
				if err != nil {
					o = journey.Failed
				}
				rec.Add("bare workflow", time.Since(start), o, err)
			}
		})
	}
	wg.Wait()
	rec.Stop()
	s := rec.Get("bare workflow")
	if s.OK == 0 {
		return WorkflowRun{Summary: s}, fmt.Errorf("no bare workflow completed: %s", s.FirstError)
	}
	return WorkflowRun{Summary: s}, nil
}
