package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An optional dependency (the image bucket) that fails is reported as
// degraded; readiness stays 200. A required one still fails it.
func TestReadinessWithAnOptionalDependencyDown(t *testing.T) {
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("bucket unreachable") }
	get := func(checks, optional map[string]Check) (int, map[string]any) {
		rec := httptest.NewRecorder()
		readyHandler(checks, optional).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		return rec.Code, body
	}

	code, body := get(map[string]Check{"postgres": up}, map[string]Check{"images": down})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, body["ready"])
	assert.Equal(t, []any{"images"}, body["degraded"])
	assert.Equal(t, "bucket unreachable", body["checks"].(map[string]any)["images"])

	code, body = get(map[string]Check{"postgres": down}, map[string]Check{"images": up})
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, false, body["ready"])
	assert.Empty(t, body["degraded"])
}
