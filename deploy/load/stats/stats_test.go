package stats

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shopkit/shop/deploy/load/journey"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentileNearestRank(t *testing.T) {
	var xs []time.Duration
	for i := 1; i <= 100; i++ {
		xs = append(xs, ms(i))
	}
	assert.Equal(t, ms(50), Percentile(xs, 50))
	assert.Equal(t, ms(95), Percentile(xs, 95))
	assert.Equal(t, ms(99), Percentile(xs, 99))
	assert.Equal(t, ms(100), Percentile(xs, 100))
	assert.Equal(t, ms(1), Percentile(xs, 0.1))
	assert.Equal(t, ms(2), Percentile([]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 50), "ceil(0.5×4) = 2nd value")
	assert.Equal(t, ms(7), Percentile([]time.Duration{ms(7)}, 99))
	assert.Zero(t, Percentile(nil, 50))
}

func TestRecorderCountsRateLimitsApartFromErrors(t *testing.T) {
	r := NewRecorder()
	for i := 1; i <= 10; i++ {
		r.Record(journey.Call{Endpoint: "GET /a", Latency: ms(i), Status: 200})
	}
	r.Record(journey.Call{Endpoint: "GET /a", Latency: ms(1), Status: 429, Err: &journey.StatusError{Status: 429}})
	r.Record(journey.Call{Endpoint: "GET /a", Latency: ms(1000), Status: 500, Err: errors.New("boom")})
	r.Record(journey.Call{Endpoint: "GET /b", Latency: ms(3), Status: 204})
	r.Stop()
	ss := r.Summaries()
	assert.Equal(t, []string{"GET /a", "GET /b"}, []string{ss[0].Name, ss[1].Name}, "order of first appearance")
	a := ss[0]
	assert.Equal(t, 12, a.Requests)
	assert.Equal(t, 10, a.OK)
	assert.Equal(t, 1, a.RateLimited)
	assert.Equal(t, 1, a.Errors)
	assert.Equal(t, "boom", a.FirstError)
	assert.Equal(t, ms(5), a.P50, "latencies of successful calls only")
	assert.Equal(t, ms(10), a.P99)
	assert.InDelta(t, 1.0/11, a.ErrorRate(), 1e-9, "429s are neither errors nor in the denominator")
	assert.Positive(t, a.Throughput)
	tot := Total(ss)
	assert.Equal(t, 13, tot.Requests)
	assert.Equal(t, 1, tot.Errors)
	assert.Equal(t, Summary{Name: "GET /c"}, r.Get("GET /c"))
}
