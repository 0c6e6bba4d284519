package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogLinesCarryTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, "json").With("component", "api")
	ctx := WithRequestID(context.Background(), "abc123")
	log.InfoContext(ctx, "hello", "n", 1)

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, "abc123", line["request_id"])
	assert.Equal(t, "api", line["component"])
	assert.Equal(t, "hello", line["msg"])
}
