package report

import (
	"bytes"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/deploy/load/stats"
)

func TestWriteMakesMarkdownAndAValidPNG(t *testing.T) {
	dir := t.TempDir() + "/out"
	r := Report{
		Started: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), Target: "http://localhost:8000", Temporal: "127.0.0.1:7233 (default)",
		Conditions: []string{"2 cores"},
		Phases: []Phase{{Name: "GetProduct", Summaries: []stats.Summary{
			{Name: "REST", Requests: 10, OK: 9, RateLimited: 1, P50: 2 * time.Millisecond, P95: 5 * time.Millisecond, P99: 9 * time.Millisecond, Throughput: 900},
			{Name: "bare", Requests: 10, OK: 10, P50: 50 * time.Microsecond, P95: 80 * time.Microsecond, P99: 2 * time.Microsecond, Throughput: 9000},
			{Name: "checkout", Requests: 3, OK: 2, Errors: 1, FirstError: "HTTP 500", P50: 1500 * time.Millisecond},
		}}},
		Ratios:   []Ratio{{Name: "cached GetProduct ÷ bare", Value: 0.1, Goal: "≥ 40 %", Pass: false, Detail: "900 / 9000 req/s"}},
		Hotspots: "flat  flat%\n 1s 50% runtime.mallocgc",
	}
	md, pngPath, err := Write(dir, r)
	require.NoError(t, err)

	text, err := os.ReadFile(md)
	require.NoError(t, err)
	for _, want := range []string{"| REST | 10 | 9 | 1 | 0 | 2.0 | 5.0 | 9.0 |", "| cached GetProduct ÷ bare | 10 % | ≥ 40 % | **missed** |",
		"runtime.mallocgc", "First error of checkout: `HTTP 500`", "![latency per endpoint](latency.png)", "2026-11-30 17:00 UTC"} {
		assert.Contains(t, string(text), want)
	}

	b, err := os.ReadFile(pngPath)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err, "a valid PNG")
	assert.GreaterOrEqual(t, img.Bounds().Dx(), 400)
	assert.GreaterOrEqual(t, img.Bounds().Dy(), 400)
}
