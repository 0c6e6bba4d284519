// Package stats keeps latencies and outcomes per endpoint and summarises
// them: percentiles, throughput, errors and rate-limit refusals apart.
package stats

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shopkit/shop/deploy/load/journey"
)

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summary of one endpoint (or one phase) over a window.
type Summary struct {
	Name          string
	Requests      int
	OK            int
	RateLimited   int // 429, counted apart from errors
	Errors        int // any other failure: non-2xx, transport error
	P50, P95, P99 time.Duration
	Max           time.Duration
	Throughput    float64 // successful requests per second over the window
	Window        time.Duration
	FirstError    string
}

// ErrorRate is errors over requests (rate-limited ones excluded from both).
func (s Summary) ErrorRate() float64 {
	n := s.Requests - s.RateLimited
	if n == 0 {
		return 0
	}
	return float64(s.Errors) / float64(n)
}

// Series is the recorded calls of one endpoint.
type series struct {
	lat        []time.Duration // of successful calls
	ok, rl, er int
	max        time.Duration
	firstErr   string
}

// Recorder collects calls per endpoint; safe for concurrent use. It
// implements journey.Recorder.
type Recorder struct {
	mu     sync.Mutex
	start  time.Time
	end    time.Time
	byName map[string]*series
	order  []string
}

// NewRecorder starts the window now.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now(), byName: map[string]*series{}}
}

// Record adds one call.
func (r *Recorder) Record(c journey.Call) {
	r.Add(c.Endpoint, c.Latency, c.Outcome(), c.Err)
}

// Add records one outcome of name.
func (r *Recorder) Add(name string, latency time.Duration, o journey.Outcome, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.byName[name]
	if s == nil {
		s = &series{}
		r.byName[name] = s
		r.order = append(r.order, name)
	}
	switch o {
	case journey.OK:
		s.ok++
		s.lat = append(s.lat, latency)
		s.max = max(s.max, latency)
	case journey.RateLimited:
		s.rl++
	default:
		s.er++
		if s.firstErr == "" && err != nil {
			s.firstErr = err.Error()
		}
	}
}

// Stop ends the window (throughput is measured over it).
func (r *Recorder) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.end.IsZero() {
		r.end = time.Now()
	}
}

// Window is the time from NewRecorder to Stop (or now).
func (r *Recorder) Window() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.end.IsZero() {
		return time.Since(r.start)
	}
	return r.end.Sub(r.start)
}

// Summaries returns one summary per endpoint, in the order first seen.
func (r *Recorder) Summaries() []Summary {
	w := r.Window()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Summary, 0, len(r.order))
	for _, name := range r.order {
		out = append(out, summarise(name, r.byName[name], w))
	}
	return out
}

// Get returns the summary of one endpoint (zero when never seen).
func (r *Recorder) Get(name string) Summary {
	for _, s := range r.Summaries() {
		if s.Name == name {
			return s
		}
	}
	return Summary{Name: name}
}

// Over returns the summary of one endpoint with its throughput over window,
// for calls recorded in several bursts (their summed duration) rather than
// over the recorder's whole life.
func (r *Recorder) Over(name string, window time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.byName[name]
	if s == nil {
		return Summary{Name: name}
	}
	return summarise(name, s, window)
}

// Total sums every endpoint: counts add up, latencies are not merged.
func Total(ss []Summary) Summary {
	t := Summary{Name: "total"}
	for _, s := range ss {
		t.Requests += s.Requests
		t.OK += s.OK
		t.RateLimited += s.RateLimited
		t.Errors += s.Errors
		t.Throughput += s.Throughput
		if t.FirstError == "" {
			t.FirstError = s.FirstError
		}
	}
	return t
}

func summarise(name string, s *series, window time.Duration) Summary {
	lat := slices.Clone(s.lat)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sum := Summary{
		Name: name, Requests: s.ok + s.rl + s.er, OK: s.ok, RateLimited: s.rl, Errors: s.er,
		P50: Percentile(lat, 50), P95: Percentile(lat, 95), P99: Percentile(lat, 99), Max: s.max,
		Window: window, FirstError: s.firstErr,
	}
	if window > 0 {
		sum.Throughput = float64(s.ok) / window.Seconds()
	}
	return sum
}
