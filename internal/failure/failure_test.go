package failure_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/failure"
)

// Errors as PostgreSQL raises them: data errors are permanent, others not.
func TestPermanentOnRealPostgresErrors(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO t VALUES (1, 1)`)
	require.NoError(t, err)

	cases := map[string]struct {
		sql       string
		args      []any
		permanent bool
	}{
		"NUL byte in text (22021)":     {`SELECT $1::text`, []any{"a\x00b"}, true},
		"integer out of range (22003)": {`SELECT $1::int + 2147483647`, []any{1}, true},
		"duplicate key (23505)":        {`INSERT INTO t VALUES (1, 2)`, nil, false},
		"not null (23502)":             {`INSERT INTO t VALUES (2, NULL)`, nil, true},
		"undefined table (42P01)":      {`SELECT * FROM missing`, nil, false},
		"division by zero (22012)":     {`SELECT 1 / $1::int`, []any{0}, true},
		"foreign key (23503)":          {`DO $$ BEGIN RAISE EXCEPTION 'fk' USING ERRCODE = 'foreign_key_violation'; END $$`, nil, true},
		"exclusion (23P01)":            {`DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'exclusion_violation'; END $$`, nil, false},
		"serialization (40001)":        {`DO $$ BEGIN RAISE EXCEPTION 's' USING ERRCODE = 'serialization_failure'; END $$`, nil, false},
		"deadlock (40P01)":             {`DO $$ BEGIN RAISE EXCEPTION 'd' USING ERRCODE = 'deadlock_detected'; END $$`, nil, false},
		"query cancelled (57014)":      {`DO $$ BEGIN RAISE EXCEPTION 'c' USING ERRCODE = 'query_canceled'; END $$`, nil, false},
		"backend terminated (57P01)":   {`SELECT pg_terminate_backend(pg_backend_pid())`, nil, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pool.Exec(ctx, c.sql, c.args...)
			require.Error(t, err)
			wrapped := fmt.Errorf("orders: %w", err)
			assert.Equal(t, c.permanent, failure.Permanent(wrapped))
			var ae *temporal.ApplicationError
			got := failure.ForActivity(wrapped)
			if c.permanent {
				require.ErrorAs(t, got, &ae)
				assert.True(t, ae.NonRetryable())
				assert.Equal(t, failure.TypeInvalidData, ae.Type())
			} else {
				assert.Same(t, wrapped, got, "transient errors pass as they are")
			}
		})
	}
	assert.NoError(t, failure.ForActivity(nil))
	canceled := fmt.Errorf("x: %w", context.Canceled)
	assert.Same(t, canceled, failure.ForActivity(canceled))
	own := temporal.NewApplicationError("declined", "StripeRefused")
	assert.Same(t, own, failure.ForActivity(own), "an activity's own classification is kept")
	assert.False(t, failure.Permanent(errors.New("connection refused")))
}

// What is not PostgreSQL refusing a value (a connection gone, a deadline
// passed) is transient and passes as it is, to be retried.
func TestConnectionAndDeadlineErrorsAreTransient(t *testing.T) {
	pool := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := pool.Exec(ctx, `SELECT pg_sleep(5)`)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, failure.Permanent(err))
	assert.Same(t, err, failure.ForActivity(err))

	pool.Close()
	_, err = pool.Exec(context.Background(), `SELECT 1`)
	require.Error(t, err)
	assert.False(t, failure.Permanent(err), "%v", err)
	assert.Equal(t, err, failure.ForActivity(err))
}

func TestCheckActivityOptions(t *testing.T) {
	bounded := &temporal.RetryPolicy{MaximumAttempts: 5}
	unbounded := &temporal.RetryPolicy{InitialInterval: time.Second}
	ok := []workflow.ActivityOptions{
		{StartToCloseTimeout: time.Minute, RetryPolicy: bounded},
		{StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: time.Hour, RetryPolicy: unbounded},
		{StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: time.Hour},
	}
	for _, o := range ok {
		assert.NoError(t, failure.CheckActivityOptions(o), "%+v", o)
	}
	bad := map[string]workflow.ActivityOptions{
		"no timeout":           {RetryPolicy: bounded},
		"default retry policy": {StartToCloseTimeout: time.Minute},
		"unbounded policy":     {StartToCloseTimeout: time.Minute, RetryPolicy: unbounded},
	}
	for name, o := range bad {
		assert.Error(t, failure.CheckActivityOptions(o), name)
	}
}
