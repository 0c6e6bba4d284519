package catalogimport

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	catalogact "github.com/shopkit/shop/activities/catalog"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterActivity(&catalogact.Activities{})
	return env
}

func TestImportsInBatchesAndReportsBadRows(t *testing.T) {
	env := newEnv(t)
	var a *catalogact.Activities
	env.OnActivity(a.InspectCatalogFile, mock.Anything, "demo.csv").
		Return(catalogact.InspectResult{Rows: 25, Checksum: "c1"}, nil).Once()
	var batches [][2]int
	env.OnActivity(a.ImportCatalogBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in catalogact.BatchInput) (catalogact.BatchResult, error) {
			assert.Equal(t, "c1", in.Checksum)
			batches = append(batches, [2]int{in.From, in.To})
			res := catalogact.BatchResult{Inserted: in.To - in.From}
			if in.From == 10 {
				res.Inserted--
				res.Errors = []catalogact.RowError{{Row: 12, Reason: "price: invalid"}}
			}
			return res, nil
		})
	env.ExecuteWorkflow(Workflow, Input{Source: "demo.csv", BatchSize: 10})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var p Progress
	require.NoError(t, env.GetWorkflowResult(&p))
	assert.Equal(t, [][2]int{{0, 10}, {10, 20}, {20, 25}}, batches)
	assert.True(t, p.Done)
	assert.Equal(t, 25, p.Processed)
	assert.Equal(t, 24, p.Inserted)
	assert.Equal(t, 1, p.Failed)
	assert.Equal(t, []catalogact.RowError{{Row: 12, Reason: "price: invalid"}}, p.Errors)

	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var q Progress
	require.NoError(t, v.Get(&q))
	assert.Equal(t, p, q, "the progress query answers the same state")
}

func TestRetriesAFailedBatchThenCompletes(t *testing.T) {
	env := newEnv(t)
	var a *catalogact.Activities
	env.OnActivity(a.InspectCatalogFile, mock.Anything, mock.Anything).Return(catalogact.InspectResult{Rows: 3, Checksum: "c"}, nil)
	env.OnActivity(a.ImportCatalogBatch, mock.Anything, mock.Anything).Return(catalogact.BatchResult{}, errors.New("connection reset")).Once()
	env.OnActivity(a.ImportCatalogBatch, mock.Anything, mock.Anything).Return(catalogact.BatchResult{Inserted: 3}, nil).Once()

	env.ExecuteWorkflow(Workflow, Input{Source: "f.json"})
	require.NoError(t, env.GetWorkflowError())
	var p Progress
	require.NoError(t, env.GetWorkflowResult(&p))
	assert.Equal(t, 3, p.Inserted)
}

func TestABadFileFailsWithoutRetrying(t *testing.T) {
	env := newEnv(t)
	var a *catalogact.Activities
	env.OnActivity(a.InspectCatalogFile, mock.Anything, mock.Anything).Return(catalogact.InspectResult{},
		temporal.NewNonRetryableApplicationError("no CSV header", catalogact.ErrTypeBadFile, nil)).Once()

	env.ExecuteWorkflow(Workflow, Input{Source: "broken.csv"})
	err := env.GetWorkflowError()
	var actErr *temporal.ActivityError
	require.ErrorAs(t, err, &actErr)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, actErr.Unwrap(), &appErr)
	assert.Equal(t, catalogact.ErrTypeBadFile, appErr.Type())
}

func TestLongImportsContinueAsNew(t *testing.T) {
	env := newEnv(t)
	var a *catalogact.Activities
	rows := batchesPerRun + 3
	env.OnActivity(a.InspectCatalogFile, mock.Anything, mock.Anything).Return(catalogact.InspectResult{Rows: rows, Checksum: "c"}, nil)
	env.OnActivity(a.ImportCatalogBatch, mock.Anything, mock.Anything).Return(catalogact.BatchResult{Inserted: 1}, nil)

	env.ExecuteWorkflow(Workflow, Input{Source: "big.csv", BatchSize: 1})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var next Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Resume)
	assert.Equal(t, batchesPerRun, next.Resume.Processed)
	assert.Equal(t, rows, next.Resume.TotalRows)
}
