package baseline

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/testenv"
)

// The bare workflow baseline runs on the test Temporal: a few workflows of
// three no-op activities complete, each measured start → complete.
func TestBareWorkflowBaseline(t *testing.T) {
	c := testenv.Temporal(t)
	queue := testenv.UniqueName("load-baseline-")
	w, err := StartWorker(c, queue)
	require.NoError(t, err)
	t.Cleanup(w.Stop)

	run, err := RunWorkflows(context.Background(), c, queue, 2, time.Minute, 6)
	require.NoError(t, err)
	s := run.Summary
	t.Logf("bare workflow: p50 %s, p99 %s, %.1f/s", s.P50, s.P99, s.Throughput)
	assert.Equal(t, 6, s.OK, "exactly the iterations asked for")
	assert.Zero(t, s.Errors, s.FirstError)
	assert.Positive(t, s.P50)
	assert.GreaterOrEqual(t, s.P99, s.P50)
	assert.Positive(t, s.Throughput)
}

func TestBareHandlersServeTheBytes(t *testing.T) {
	body := []byte(`{"id":"1","name":"Lamp"}`)
	mem, err := Memory(body)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mem.Close() })

	rdb := testenv.Redis(t)
	key := testenv.UniqueName("load-baseline-")
	require.NoError(t, rdb.Set(context.Background(), key, body, time.Minute).Err())
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	red, err := Redis(rdb, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = red.Close() })

	for _, u := range []string{mem.URL, red.URL} {
		res, err := http.Get(u)
		require.NoError(t, err)
		got, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.Equal(t, body, got)
	}
}
