package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/fulfilment"
)

// stuckAttempts: a pending activity on this attempt or later, with a
// failure, is failing rather than merely slow.
const stuckAttempts = 3

// listWorkflows answers the ids of the executions matching query.
func listWorkflows(ctx context.Context, tc client.Client, query string) ([]string, error) {
	var ids []string
	var token []byte
	for {
		res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, err
		}
		for _, e := range res.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		token = res.GetNextPageToken()
		if len(token) == 0 {
			return ids, nil
		}
	}
}

// stuckWorkflows answers the running workflows with an activity that keeps
// failing, as "id: activity (attempt n: error)".
func stuckWorkflows(ctx context.Context, tc client.Client) (running int, stuck []string, err error) {
	ids, err := listWorkflows(ctx, tc, `ExecutionStatus = 'Running'`)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range ids {
		dw, err := tc.DescribeWorkflow(ctx, id, "")
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue // closed meanwhile
			}
			return 0, nil, err
		}
		for _, a := range dw.RawResponse.GetPendingActivities() {
			if a.GetAttempt() >= stuckAttempts && a.GetLastFailure() != nil {
				stuck = append(stuck, fmt.Sprintf("%s: %s (attempt %d: %s)", id, a.GetActivityType().GetName(),
					a.GetAttempt(), a.GetLastFailure().GetMessage()))
			}
		}
	}
	return len(ids), stuck, nil
}

// checkWorkflows: no workflow stuck on a failing activity, no checkout
// failed or terminated, every order awaiting payment has its checkout
// waiting, and every paid order has its fulfilment workflow.
func checkWorkflows(ctx context.Context, tc client.Client, pool *pgxpool.Pool) Result {
	const name = "workflows not stuck"
	running, stuck, err := stuckWorkflows(ctx, tc)
	if err != nil {
		return errResult(name, err)
	}
	broken, err := listWorkflows(ctx, tc, fmt.Sprintf(`WorkflowType = '%s' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'`, checkout.Name))
	if err != nil {
		return errResult(name, err)
	}
	var noCheckout, noFulfilment []int64
	rows, err := pool.Query(ctx, `SELECT id, status = 'awaiting_payment' FROM orders
		WHERE status = 'awaiting_payment' OR status IN `+paidStatusesSQL)
	if err != nil {
		return errResult(name, err)
	}
	type row struct {
		id      int64
		waiting bool
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.waiting)
	})
	if err != nil {
		return errResult(name, err)
	}
	for _, o := range list {
		id := fulfilment.WorkflowID(o.id)
		if o.waiting {
			id = checkout.WorkflowID(o.id)
		}
		d, err := tc.DescribeWorkflow(ctx, id, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return errResult(name, err)
		case !o.waiting || d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
			continue
		}
		if o.waiting {
			noCheckout = append(noCheckout, o.id)
		} else {
			noFulfilment = append(noFulfilment, o.id)
		}
	}
	detail := fmt.Sprintf("%d running, %d orders checked", running, len(list))
	if len(stuck)+len(broken)+len(noCheckout)+len(noFulfilment) > 0 {
		return fail(name, "%s; failing activities: %d %s; checkouts failed/terminated: %d %s; awaiting payment without a running checkout: [%s]; paid without fulfilment: [%s]",
			detail, len(stuck), first(stuck), len(broken), first(broken), limit(noCheckout), limit(noFulfilment))
	}
	return pass(name, "%s", detail)
}
