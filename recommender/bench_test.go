package recommender

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// synthetic makes nUsers×perUser interactions over nItems items in 500
// categories: each user keeps to 3 categories and picks items there with a
// Zipf-like skew, so neighbours and factors have structure to find.
func synthetic(nUsers, perUser, nItems int) ([]Interaction, []Item) {
	rng := rand.New(rand.NewPCG(7, 7))
	const cats = 500
	catalog := make([]Item, nItems)
	for i := range catalog {
		catalog[i] = Item{ID: int64(i + 1), CategoryID: int64(i%cats + 1), Brand: fmt.Sprintf("brand%d", i%997),
			Name: fmt.Sprintf("product w%d w%d", rng.IntN(5000), rng.IntN(5000)), Repeatable: i%10 == 0}
	}
	perCat := nItems / cats
	zipf := rand.NewZipf(rand.New(rand.NewPCG(8, 8)), 1.2, 1, uint64(perCat-1))
	ins := make([]Interaction, 0, nUsers*perUser)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := range nUsers {
		likes := [3]int{rng.IntN(cats), rng.IntN(cats), rng.IntN(cats)}
		for range perUser {
			item := likes[rng.IntN(3)] + int(zipf.Uint64())*cats
			ins = append(ins, Interaction{UserID: int64(u + 1), ItemID: int64(item + 1), Kind: Kind(rng.IntN(3)),
				At: t0.Add(time.Duration(rng.IntN(180*24)) * time.Hour)})
		}
	}
	return ins, catalog
}

var (
	bigOnce  sync.Once
	bigModel *Model
	bigTrain time.Duration
)

// big is the 1M-interaction model. RECOMMENDER_BENCH_MODEL names a file to
// reuse it across runs of the serving benchmarks: loaded when it exists,
// written after training otherwise (delete it after changing training).
func big(b *testing.B) *Model {
	bigOnce.Do(func() {
		path := os.Getenv("RECOMMENDER_BENCH_MODEL")
		if path != "" {
			if data, err := os.ReadFile(path); err == nil {
				m, err := Load(data)
				if err != nil {
					b.Fatal(err)
				}
				bigModel = m
				return
			}
		}
		ins, catalog := synthetic(50_000, 20, 100_000)
		start := time.Now()
		m, err := Train(ins, catalog, DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		bigModel, bigTrain = m, time.Since(start)
		if path != "" {
			data, err := m.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	return bigModel
}

// BenchmarkTrain1M trains every algorithm (with the validation pass and the
// refit) on 1M interactions, 100k items, 50k users, once whatever
// -benchtime says, and reports the time, the CPU time it took (training is
// parallel; shared cores stretch the wall time) and the heap a loaded copy
// of the model takes. The serving benchmarks after it reuse its model.
func BenchmarkTrain1M(b *testing.B) {
	ins, catalog := synthetic(50_000, 20, 100_000)
	c0 := cpuTime()
	start := time.Now()
	m, err := Train(ins, catalog, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	took, cpu := time.Since(start), cpuTime()-c0
	bigOnce.Do(func() { bigModel, bigTrain = m, took })
	var r reporter
	r.add(took.Seconds(), "s/train")
	r.add(cpu.Seconds(), "cpu-s/train")
	r.add(float64(m.MemoryBytes())/(1<<20), "MiB")
	data, err := m.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	if path := os.Getenv("RECOMMENDER_BENCH_MODEL"); path != "" {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	before := heapInUse()
	loaded, err := Load(data)
	if err != nil {
		b.Fatal(err)
	}
	r.add(float64(heapInUse()-before)/(1<<20), "heap-MiB-loaded")
	runtime.KeepAlive(loaded)
	runtime.KeepAlive(data)
	runtime.KeepAlive(m)
	r.report(b)
}

// reporter holds the figures of a benchmark that measures once, whatever
// -benchtime says: b.Loop would drop metrics reported before it.
type reporter struct {
	values []float64
	units  []string
}

func (r *reporter) add(v float64, unit string) {
	r.values, r.units = append(r.values, v), append(r.units, unit)
}

func (r *reporter) report(b *testing.B) {
	for b.Loop() {
	}
	for k, v := range r.values {
		b.ReportMetric(v, r.units[k])
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// threadCPU is the CPU time of the calling thread (lock the goroutine to it).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantiles adds the p50, p95, p99 and p99.9 of lat in milliseconds.
func (r *reporter) quantiles(lat []time.Duration, prefix string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	r.add(q(0.5), prefix+"p50-ms")
	r.add(q(0.95), prefix+"p95-ms")
	r.add(q(0.99), prefix+"p99-ms")
	r.add(q(0.999), prefix+"p99.9-ms")
}

// BenchmarkRecommendTop10 serves top-10 recommendations from the 1M model
// and reports the latency distribution per call: the hybrid with and
// without a per-category cap, a shopper without history, and a history
// given with the request (folded into the latent factors), of a user's
// length and of 50 events. Besides the
// wall time it reports the CPU time of the serving thread per call
// (cpu-p50-ms, ...): on cores shared with other work the wall time's tail
// is mostly time spent waiting for a core, which the CPU time leaves out.
func BenchmarkRecommendTop10(b *testing.B) {
	m := big(b)
	for _, bc := range []struct {
		name string
		req  func(n int) Request
	}{
		{"hybrid-cap3", func(n int) Request {
			return Request{UserID: m.Data.UserIDs[(n*7919)%m.Data.NumUsers()], K: 10, PerCategoryCap: 3}
		}},
		{"hybrid", func(n int) Request { return Request{UserID: m.Data.UserIDs[(n*7919)%m.Data.NumUsers()], K: 10} }},
		{"cold-start", func(n int) Request { return Request{UserID: -1 - int64(n), K: 10, PerCategoryCap: 3} }},
		{"fresh-history", func(n int) Request {
			u := (n * 7919) % m.Data.NumUsers()
			var hist []Interaction
			for _, e := range m.Data.User(u) {
				hist = append(hist, Interaction{UserID: -1, ItemID: m.Data.ItemIDs[e.Item], Kind: View, At: m.Data.Ref})
			}
			return Request{UserID: -1, History: hist, K: 10, PerCategoryCap: 3}
		}},
		{"fresh-history-50", func(n int) Request { // the most events the signals store keeps per shopper
			var hist []Interaction
			for u := (n * 7919) % m.Data.NumUsers(); len(hist) < 50; u = (u + 1) % m.Data.NumUsers() {
				for _, e := range m.Data.User(u) {
					if len(hist) < 50 {
						hist = append(hist, Interaction{UserID: -1, ItemID: m.Data.ItemIDs[e.Item], Kind: View,
							At: m.Data.Ref.Add(time.Duration(len(hist)-50) * time.Hour)})
					}
				}
			}
			return Request{UserID: -1, History: hist, K: 10, PerCategoryCap: 3}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var lat, cpu []time.Duration
			n := 0
			for b.Loop() {
				req := bc.req(n)
				n++
				c0 := threadCPU()
				start := time.Now()
				if _, err := m.Recommend(req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				cpu = append(cpu, threadCPU()-c0)
			}
			var r reporter
			r.quantiles(lat, "")
			r.quantiles(cpu, "cpu-")
			for k, v := range r.values {
				b.ReportMetric(v, r.units[k])
			}
		})
	}
}

// BenchmarkHTTP200rps serves top-10 hybrid recommendations from the 1M
// model through a plain net/http handler (JSON out, as an API would) on
// loopback, paced open loop at 200 requests/s for RECOMMENDER_HTTP_SECONDS
// (default 10) seconds: latency counts from each request's scheduled send
// time, so a stall delays the requests queued behind it too. A bare handler
// answering a fixed body is measured the same way first, as the baseline of
// what the server, the client and the shared cores cost by themselves.
// Whatever -benchtime says, each is measured once.
func BenchmarkHTTP200rps(b *testing.B) {
	m := big(b)
	dur := 10 * time.Second
	if s, err := strconv.ParseFloat(os.Getenv("RECOMMENDER_HTTP_SECONDS"), 64); err == nil && s > 0 {
		dur = time.Duration(s * float64(time.Second))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bare", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"recommendations":[]}`))
	})
	mux.HandleFunc("GET /recommendations", func(w http.ResponseWriter, r *http.Request) {
		u, err := strconv.ParseInt(r.URL.Query().Get("user"), 10, 64)
		if err != nil {
			http.Error(w, "bad user", http.StatusBadRequest)
			return
		}
		recs, err := m.Recommend(Request{UserID: u, K: 10, PerCategoryCap: 3})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"recommendations": recs})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 5 * time.Second}
	url := func(path string) func(int) string {
		return func(n int) string {
			return fmt.Sprintf("%s/%s?user=%d", srv.URL, path, m.Data.UserIDs[(n*7919)%m.Data.NumUsers()])
		}
	}
	pace(b, client, url("bare"), 200, time.Second) // warm up the connections
	bare, bareErrs := pace(b, client, url("bare"), 200, dur)
	reco, recoErrs := pace(b, client, url("recommendations"), 200, dur)
	var r reporter
	r.quantiles(bare, "bare-")
	r.quantiles(reco, "")
	r.add(float64(bareErrs+recoErrs), "errors")
	r.add(float64(len(reco))/dur.Seconds(), "req/s")
	r.report(b)
}

// pace sends rate GET requests per second for dur, each at its scheduled
// time whatever the previous ones are doing, and returns their latencies
// from the scheduled time and the number of failed requests.
func pace(b *testing.B, client *http.Client, url func(int) string, rate int, dur time.Duration) ([]time.Duration, int) {
	b.Helper()
	interval := time.Second / time.Duration(rate)
	n := int(dur / interval)
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var wg sync.WaitGroup
	// The ticker's times are the schedule; the loop only starts goroutines,
	// so it never falls behind a tick.
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		at := <-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(url(i))
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			lat[i] = time.Since(at)
			if err != nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	return lat, int(errs.Load())
}
