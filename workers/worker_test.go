package workers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	catalogact "github.com/shopkit/shop/activities/catalog"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/catalog/demodata"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/catalogimport"
)

// startWorker runs a real worker on a private task queue of the dev server.
func startWorker(t *testing.T) (client.Client, string, *catalog.Store) {
	t.Helper()
	c := testenv.Temporal(t)
	pool := dbtest.New(t)
	store := catalog.NewStore(pool)
	queue := testenv.UniqueName("test-import-")
	w := workers.New(c, queue, workers.Deps{Catalog: store, GuardActivityOptions: true})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c, queue, store
}

func importFile(t *testing.T, c client.Client, queue, source string) (client.WorkflowRun, catalogimport.Progress) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := catalogimport.Start(ctx, c, queue, source, 5)
	require.NoError(t, err)
	var p catalogimport.Progress
	require.NoError(t, run.Get(ctx, &p))
	return run, p
}

func TestCSVImportEndToEnd(t *testing.T) {
	c, queue, store := startWorker(t)
	path := filepath.Join(t.TempDir(), "catalog.csv")
	require.NoError(t, os.WriteFile(path, demodata.SampleCSV, 0o600))

	run, p := importFile(t, c, queue, path)
	assert.True(t, p.Done)
	assert.Equal(t, 12, p.TotalRows)
	assert.Equal(t, 9, p.Inserted)
	assert.Equal(t, 3, p.Failed)
	var rows []int
	for _, e := range p.Errors {
		rows = append(rows, e.Row)
	}
	assert.Equal(t, []int{4, 8, 11}, rows, "bad rows are reported by number")

	ctx := context.Background()
	_, total, err := store.ListProducts(ctx, catalog.ListFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, int32(9), total, "the good rows are in the database")

	// The workflow's history shows one activity per batch of 5 rows.
	assert.Equal(t, 3, countActivities(t, c, run, "ImportCatalogBatch"))

	// The progress query works on the finished workflow too.
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), catalogimport.ProgressQuery)
	require.NoError(t, err)
	var q catalogimport.Progress
	require.NoError(t, v.Get(&q))
	assert.Equal(t, 9, q.Inserted)

	// Re-running the same file duplicates nothing.
	_, p = importFile(t, c, queue, path)
	assert.Equal(t, 0, p.Inserted)
	assert.Equal(t, 9, p.Unchanged)
	_, total, err = store.ListProducts(ctx, catalog.ListFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, int32(9), total)

	shoptest.RecordHistory(t, c, run.GetID(), "../workflows/catalogimport/testdata/import_csv.json")
}

func TestDemoCatalogSeed(t *testing.T) {
	c, queue, store := startWorker(t)
	_, p := importFile(t, c, queue, catalogact.DemoSource)
	assert.GreaterOrEqual(t, p.Inserted, 200)
	assert.Zero(t, p.Failed)
	cats, err := store.ListCategories(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(cats), 10)
}

func TestMissingFileFailsClearly(t *testing.T) {
	c, queue, _ := startWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := catalogimport.Start(ctx, c, queue, "/nonexistent/catalog.csv", 5)
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.ErrorContains(t, err, "cannot read import file")
}

func countActivities(t *testing.T, c client.Client, run client.WorkflowRun, name string) int {
	n := 0
	for _, e := range shoptest.History(t, c, run.GetID(), run.GetRunID()).Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == name {
			n++
		}
	}
	return n
}
