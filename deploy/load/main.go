// Command load (`make load`) measures a running shop (`make run`) under a
// storefront mix (browse, search, cart, checkout), then measures the cached
// GetProduct read and the checkout against bare baselines started in the same
// run on the same machine, and writes a markdown report and a PNG chart.
//
// Configuration comes from the environment (flags override):
//
//	LOAD_URL          the API (http://localhost:8000)
//	LOAD_DURATION     total time of the measured phases (60s)
//	LOAD_CONCURRENCY  closed-loop workers per phase (16)
//	LOAD_OUT          report directory (.data/load/<timestamp>)
//	LOAD_MAX_ERRORS   a phase's error rate above which the run fails (0.05)
//	LOAD_PPROF_URL    the API's PPROF_ADDR as a URL (http://127.0.0.1:6060; off: no profile)
//
// and, like the app, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, REDIS_URL and
// STRIPE_WEBHOOK_SECRET (make run's development defaults when unset).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/shopkit/shop/deploy/load/baseline"
	"github.com/shopkit/shop/deploy/load/journey"
	"github.com/shopkit/shop/deploy/load/report"
	"github.com/shopkit/shop/deploy/load/stats"
	"github.com/shopkit/shop/internal/config"
)

// RaisedLimits is what `make run` needs for a load run from one IP.
const RaisedLimits = "login=100000/1m,auth=100000/1m,user=1000000/1m,public=1000000/1m,events=1000000/1m"

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type options struct {
	url         string
	duration    time.Duration
	concurrency int
	out         string
	maxErrors   float64
	pprofURL    string
	adminUser   string
	adminPass   string
}

func main() {
	var o options
	d, err := time.ParseDuration(env("LOAD_DURATION", "60s"))
	if err != nil {
		fatal(2, "LOAD_DURATION: %v", err)
	}
	c, err := strconv.Atoi(env("LOAD_CONCURRENCY", "16"))
	if err != nil {
		fatal(2, "LOAD_CONCURRENCY: %v", err)
	}
	maxErr, err := strconv.ParseFloat(env("LOAD_MAX_ERRORS", "0.05"), 64)
	if err != nil {
		fatal(2, "LOAD_MAX_ERRORS: %v", err)
	}
	flag.StringVar(&o.url, "url", env("LOAD_URL", "http://localhost:8000"), "the API's base URL (LOAD_URL)")
	flag.DurationVar(&o.duration, "duration", d, "total time of the measured phases (LOAD_DURATION)")
	flag.IntVar(&o.concurrency, "concurrency", c, "closed-loop workers per phase (LOAD_CONCURRENCY)")
	flag.StringVar(&o.out, "out", env("LOAD_OUT", filepath.Join(".data", "load", time.Now().UTC().Format("20060102-150405"))), "report directory (LOAD_OUT)")
	flag.Float64Var(&o.maxErrors, "max-errors", maxErr, "fail when a phase's error rate (429s excluded) is above this (LOAD_MAX_ERRORS)")
	flag.StringVar(&o.pprofURL, "pprof", env("LOAD_PPROF_URL", "http://127.0.0.1:6060"), "the API's pprof base URL, or off (LOAD_PPROF_URL)")
	flag.Parse()
	o.adminUser = env("LOAD_ADMIN_USER", "admin")
	o.adminPass = env("LOAD_ADMIN_PASSWORD", env("DEMO_ADMIN_PASSWORD", "Demo-Store-Owner-2026"))
	if o.concurrency < 1 || o.duration < 10*time.Second {
		fatal(2, "want LOAD_CONCURRENCY >= 1 and LOAD_DURATION >= 10s")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, o))
}

func fatal(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(code)
}

func say(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

// run returns the exit code: 0, 1 (setup failed or too many errors) or 2
// (the API is unreachable).
func run(ctx context.Context, o options) int {
	cfg, err := config.FromLookup(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	if err := reachable(ctx, o.url); err != nil {
		fmt.Fprintf(os.Stderr, "load: the API at %s is unreachable (%v): start it with `make run` (LOAD_URL picks another)\n", o.url, err)
		return 2
	}
	rep := report.Report{Started: time.Now(), Target: o.url}
	// Phase budget: mix 40 %, four GetProduct attacks 25 %, checkout 20 %,
	// bare workflow 15 %.
	part := func(pct int) time.Duration { return o.duration * time.Duration(pct) / 100 }
	rep.Conditions = []string{
		fmt.Sprintf("machine: %d CPUs (GOMAXPROCS %d), %s/%s; the load tool, the API, its worker and every service share them", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH),
		fmt.Sprintf("closed loop, %d workers per phase; LOAD_DURATION %s (mix %s, GetProduct 4 × %s, checkout %s, bare workflow %s)",
			o.concurrency, o.duration, part(40), part(25)/4, part(20), part(15)),
	}
	fmt.Printf("make run's default RATE_LIMITS answer a load run 429; this tool counts those apart as \"rate limited\".\n"+
		"For a real measurement start make run with:\n  RATE_LIMITS='%s' make run\n", RaisedLimits)

	// Temporal and Redis, as the app reads them.
	tc, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: Temporal at %s: %v\n", cfg.TemporalAddress, err)
		return 1
	}
	defer tc.Close()
	rep.Temporal = describeTemporal(ctx, tc, cfg)
	say("Temporal measured: %s", rep.Temporal)
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: REDIS_URL:", err)
		return 1
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()

	// Setup: the catalog, big stock on the products checkouts buy, customers.
	setup := journey.NewClient(o.url, o.concurrency, nil)
	say("setup: catalog, restock, %d customers", o.concurrency+4)
	cat, err := journey.Discover(ctx, setup)
	if err != nil {
		return setupFailed(err)
	}
	cat.Checkout = cat.Checkout[:min(len(cat.Checkout), 30)]
	if len(cat.Checkout) == 0 {
		return setupFailed(errors.New("no product without variants to check out"))
	}
	admin, err := journey.Login(ctx, setup, o.adminUser, o.adminPass)
	if err != nil {
		return setupFailed(fmt.Errorf("admin login (LOAD_ADMIN_USER/LOAD_ADMIN_PASSWORD): %w", err))
	}
	if err := journey.Restock(ctx, setup, admin, cat, cat.Checkout, 1_000_000); err != nil {
		return setupFailed(err)
	}
	pool, err := journey.NewPool(ctx, setup, "loadshopper", "Load-Shopper-Pass-2026", o.concurrency+4, 2)
	if err != nil {
		return setupFailed(err)
	}
	if pool.Size() < o.concurrency+4 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("only %d customers signed in (the others were rate limited)", pool.Size()))
	}

	// What counts against LOAD_MAX_ERRORS, per phase: the shop's calls, not
	// the baselines'.
	failures := map[string][]stats.Summary{}

	// 1. The storefront mix.
	say("mix: browse 60 %%, search 20 %%, cart 15 %%, checkout 5 %% for %s", part(40))
	mixRec, journeys := stats.NewRecorder(), stats.NewRecorder()
	e := &journey.Env{Client: journey.NewClient(o.url, o.concurrency, mixRec), Catalog: cat, Customers: pool,
		WebhookSecret: cfg.StripeWebhookSecret}
	mctx, cancel := context.WithTimeout(ctx, part(40))
	journey.Loop(mctx, journey.DefaultMix(e), o.concurrency, uint64(time.Now().UnixNano()), func(r journey.Result) {
		oc := journey.OK
		if r.Err != nil {
			oc = journey.Failed
			if journey.IsRateLimited(r.Err) {
				oc = journey.RateLimited
			}
		}
		journeys.Add(r.Journey, r.Elapsed, oc, r.Err)
	})
	cancel()
	mixRec.Stop()
	journeys.Stop()
	if ctx.Err() != nil {
		return 1
	}
	rep.Phases = append(rep.Phases,
		report.Phase{Name: "Mix", Description: "Every HTTP call of the storefront mix.", Summaries: mixRec.Summaries()},
		report.Phase{Name: "Journeys", Description: "Whole journeys of the mix (a checkout includes waiting for the paid status).", Summaries: journeys.Summaries()})
	failures["mix"] = mixRec.Summaries()

	// 2. Cached GetProduct against bare handlers serving the same bytes.
	gp, ratios, hot, notes := getProductPhase(ctx, o, cat, rdb, part(25)/4)
	rep.Phases = append(rep.Phases, gp)
	rep.Ratios = append(rep.Ratios, ratios...)
	rep.Hotspots = hot
	rep.Notes = append(rep.Notes, notes...)
	failures["GetProduct"] = gp.Summaries[:min(len(gp.Summaries), 2)]

	// 3. Checkout at saturation, then 4. the bare workflow.
	co, placed, paidRate := checkoutPhase(ctx, o, e, part(20))
	rep.Phases = append(rep.Phases, co)
	failures["checkout"] = co.Summaries
	say("bare workflow (three no-op activities) for %s", part(15))
	queue := fmt.Sprintf("load-baseline-%d", time.Now().UnixNano())
	w, err := baseline.StartWorker(tc, queue)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: bare workflow worker:", err)
		return 1
	}
	wf, wfErr := baseline.RunWorkflows(ctx, tc, queue, o.concurrency, part(15), 0)
	w.Stop()
	rep.Phases = append(rep.Phases, report.Phase{Name: "Bare Temporal workflow",
		Description: "Start → complete of a workflow of three no-op activities, on its own task queue and worker in this process, same server.",
		Summaries:   []stats.Summary{wf.Summary}})
	if wfErr != nil {
		rep.Notes = append(rep.Notes, "bare workflow: "+wfErr.Error())
	} else {
		rep.Ratios = append(rep.Ratios, placementRatios(placed, paidRate, wf.Summary)...)
	}

	limited, failed := 0, ""
	for _, phase := range []string{"mix", "GetProduct", "checkout"} {
		t := stats.Total(failures[phase])
		limited += t.RateLimited
		if rate := t.ErrorRate(); rate > o.maxErrors && failed == "" {
			failed = fmt.Sprintf("the %s phase's error rate %.2f %% (%d of %d) is above LOAD_MAX_ERRORS %.2f %%; first: %s",
				phase, rate*100, t.Errors, t.Requests-t.RateLimited, o.maxErrors*100, t.FirstError)
		}
	}
	if limited > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d requests were rate limited (429): the API runs with its default limits; "+
			"start make run with RATE_LIMITS='%s' to measure it", limited, RaisedLimits))
	}
	if failed != "" {
		rep.Notes = append(rep.Notes, "FAILED: "+failed)
	}
	md, png, err := report.Write(o.out, rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: writing the report:", err)
		return 1
	}
	printSummary(rep)
	fmt.Printf("\nreport: %s\nchart:  %s\n", md, png)
	if failed != "" {
		fmt.Fprintln(os.Stderr, "load:", failed)
		return 1
	}
	return 0
}

func setupFailed(err error) int {
	fmt.Fprintln(os.Stderr, "load: setup:", err)
	if journey.IsRateLimited(err) {
		fmt.Fprintf(os.Stderr, "load: rate limited: start make run with RATE_LIMITS='%s'\n", RaisedLimits)
	}
	return 1
}

func reachable(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", res.Status)
	}
	return nil
}

// describeTemporal names the server measured: address, namespace, version
// and persistence (SQLite for the dev server, PostgreSQL for
// TEMPORAL_BACKEND=postgres).
func describeTemporal(ctx context.Context, tc client.Client, cfg *config.Config) string {
	s := fmt.Sprintf("%s, namespace %s", cfg.TemporalAddress, cfg.TemporalNamespace)
	if info, err := tc.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{}); err == nil {
		s += fmt.Sprintf(", server %s (persistence %s)", info.GetServerVersion(), info.GetPersistenceStore())
	}
	return s
}

// attack runs a closed loop of workers sending target for d with vegeta
// (rate 0: each worker sends its next request when the last one answered),
// records the answers in rec under name, and returns how long it ran.
func attack(rec *stats.Recorder, name string, target vegeta.Target, workers int, d time.Duration) time.Duration {
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
		vegeta.Connections(workers), vegeta.MaxConnections(workers), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	start := time.Now()
	for res := range atk.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: 0, Per: time.Second}, d, name) {
		var err error
		oc := journey.OK
		switch {
		case res.Code == http.StatusTooManyRequests:
			oc = journey.RateLimited
		case res.Error != "":
			oc, err = journey.Failed, errors.New(res.Error)
		case res.Code < 200 || res.Code > 299:
			oc, err = journey.Failed, fmt.Errorf("HTTP %d: %.200s", res.Code, res.Body)
		}
		rec.Add(name, res.Latency, oc, err)
	}
	return time.Since(start)
}

// roundLength is how long one target is attacked before the next takes its
// turn: short rounds spread a neighbour's burst of CPU over every target, so
// the ratios compare like with like.
const roundLength = 500 * time.Millisecond

// getProductPhase measures GetProduct of one cached product over Connect
// JSON and REST, and bare handlers serving the same JSON bytes from memory
// and from one Redis GET, each for d at the same concurrency, the four
// taking turns. The API's CPU is profiled over the phase.
func getProductPhase(ctx context.Context, o options, cat *journey.Catalog, rdb *redis.Client, d time.Duration) (report.Phase, []report.Ratio, string, []string) {
	var notes []string
	id := int64(cat.Products[0].ID)
	base := strings.TrimRight(o.url, "/")
	rest := fmt.Sprintf("%s/api/products/%d", base, id)
	body, err := fetch(rest) // also warms the cache
	if err != nil {
		notes = append(notes, "GetProduct: "+err.Error())
	}
	key := fmt.Sprintf("shop:load:baseline:%d", time.Now().UnixNano())
	if err := rdb.Set(ctx, key, body, 10*time.Minute).Err(); err != nil {
		notes = append(notes, "Redis baseline: "+err.Error())
	}
	defer rdb.Del(context.WithoutCancel(ctx), key)
	mem, err := baseline.Memory(body)
	if err != nil {
		notes = append(notes, "memory baseline: "+err.Error())
		return report.Phase{Name: "GetProduct"}, nil, "", notes
	}
	defer mem.Close()
	red, err := baseline.Redis(rdb, key)
	if err != nil {
		notes = append(notes, "Redis baseline: "+err.Error())
		return report.Phase{Name: "GetProduct"}, nil, "", notes
	}
	defer red.Close()

	rounds := max(1, int(d/roundLength))
	say("GetProduct of product %d: Connect, REST, bare memory, bare Redis, %s each in %d turns", id, d, rounds)
	hdr := http.Header{"Content-Type": {"application/json"}}
	targets := []struct {
		name   string
		target vegeta.Target
		ran    time.Duration
	}{
		{name: "Connect POST CatalogService/GetProduct", target: vegeta.Target{Method: http.MethodPost, URL: base + journey.GetProductProcedure,
			Body: fmt.Appendf(nil, `{"product_id": %d}`, id), Header: hdr}},
		{name: "REST GET /api/products/{id}", target: vegeta.Target{Method: http.MethodGet, URL: rest}},
		{name: "bare net/http, bytes from memory", target: vegeta.Target{Method: http.MethodGet, URL: mem.URL}},
		{name: "bare net/http, one Redis GET", target: vegeta.Target{Method: http.MethodGet, URL: red.URL}},
	}
	var prof profile
	if o.pprofURL != "" && o.pprofURL != "off" {
		// The API works during half of the phase: its two targets' turns.
		prof.start(o.pprofURL, time.Duration(len(targets))*d, filepath.Join(o.out, "api-cpu.pprof"))
	}
	rec := stats.NewRecorder()
	for range rounds {
		for i := range targets {
			targets[i].ran += attack(rec, targets[i].name, targets[i].target, o.concurrency, d/time.Duration(rounds))
		}
	}
	hot, perr := prof.wait()
	if perr != nil {
		notes = append(notes, "CPU profile: "+perr.Error())
	}
	sum := make([]stats.Summary, len(targets))
	for i, t := range targets {
		sum[i] = rec.Over(t.name, t.ran)
	}
	connect, restS, bare, bareRedis := sum[0], sum[1], sum[2], sum[3]

	ratio := func(s, b stats.Summary) report.Ratio {
		r := report.Ratio{Name: s.Name + " ÷ " + b.Name, Goal: "≥ 40 %", Format: "percent",
			Detail: fmt.Sprintf("%.0f ÷ %.0f req/s", s.Throughput, b.Throughput)}
		if b.Throughput > 0 {
			r.Value = s.Throughput / b.Throughput
		}
		r.Pass = r.Value >= 0.40
		return r
	}
	return report.Phase{Name: "GetProduct", Description: fmt.Sprintf(
			"Closed loop, %d workers, %s each in %d turns of the four targets, product %d (%d bytes of JSON), cache warm.", o.concurrency, d, rounds, id, len(body)),
			Summaries: []stats.Summary{connect, restS, bare, bareRedis}},
		[]report.Ratio{ratio(connect, bare), ratio(restS, bare), ratio(connect, bareRedis), ratio(restS, bareRedis)}, hot, notes
}

func fetch(url string) ([]byte, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s answered %s", url, res.Status)
	}
	return b, err
}

// profile fetches a CPU profile of the API in the background.
type profile struct {
	done chan struct{}
	top  string
	err  error
}

func (p *profile) start(base string, d time.Duration, path string) {
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		secs := max(int(d.Seconds()), 1)
		c := http.Client{Timeout: d + 30*time.Second}
		res, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimRight(base, "/"), secs))
		if err != nil {
			p.err = fmt.Errorf("%w (is the API running with PPROF_ADDR? LOAD_PPROF_URL=off skips the profile)", err)
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("pprof answered %s", res.Status)
		}
		if err == nil {
			err = os.MkdirAll(filepath.Dir(path), 0o755)
		}
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			p.err = err
			return
		}
		p.top = "profile: " + path + "  (go tool pprof -http=: " + path + ")\n"
		for _, args := range [][]string{{"-top", "-nodecount=25"}, {"-top", "-cum", "-nodecount=40"}} {
			out, err := exec.Command("go", append([]string{"tool", "pprof"}, append(args, path)...)...).CombinedOutput()
			if err != nil {
				p.err = fmt.Errorf("go tool pprof: %v: %s", err, out)
				return
			}
			p.top += "\n$ go tool pprof " + strings.Join(args, " ") + "\n" + string(out)
		}
	}()
}

func (p *profile) wait() (string, error) {
	if p.done == nil {
		return "", nil
	}
	<-p.done
	return p.top, p.err
}

// checkoutPhase places and pays orders with a closed loop for d: placement
// is POST /api/orders, which answers once the checkout workflow reserved the
// stock; paid orders per second is the checkout throughput.
func checkoutPhase(ctx context.Context, o options, e *journey.Env, d time.Duration) (report.Phase, stats.Summary, float64) {
	say("checkout at saturation: place and pay orders for %s", d)
	rec := stats.NewRecorder()
	var mu sync.Mutex
	placed, paid := stats.NewRecorder(), 0
	ce := *e
	ce.Client = journey.NewClient(o.url, o.concurrency, rec)
	ce.OnCheckout = func(r journey.CheckoutResult) {
		placed.Add("order placement (stock reserved)", r.Placed, journey.OK, nil)
		if r.Paid > 0 {
			mu.Lock()
			paid++
			mu.Unlock()
			placed.Add("order placed → paid", r.Paid, journey.OK, nil)
		}
	}
	journey.LoopFor(ctx, journey.Mix{{Name: "checkout", Weight: 1, Run: ce.Checkout}}, o.concurrency, rand.Uint64(), d, nil)
	rec.Stop()
	placed.Stop()
	mu.Lock()
	rate := float64(paid) / placed.Window().Seconds()
	mu.Unlock()
	ss := append(rec.Summaries(), placed.Summaries()...)
	return report.Phase{Name: "Checkout at saturation",
		Description: fmt.Sprintf("Closed loop, %d workers: place an order, pay it with a signed payment_intent.succeeded, poll until paid. %.1f orders placed and paid per second.", o.concurrency, rate),
		Summaries:   ss}, placed.Get("order placement (stock reserved)"), rate
}

func placementRatios(placed stats.Summary, paidRate float64, wf stats.Summary) []report.Ratio {
	var out []report.Ratio
	if wf.P50 > 0 && placed.OK > 0 {
		v := float64(placed.P50) / float64(wf.P50)
		out = append(out, report.Ratio{Name: "order placement p50 ÷ bare workflow p50", Value: v, Goal: "≤ 1.5×", Pass: v <= 1.5,
			Format: "times", Detail: fmt.Sprintf("%s ÷ %s", placed.P50.Round(time.Millisecond/10), wf.P50.Round(time.Millisecond/10))})
	}
	if wf.Throughput > 0 {
		v := paidRate / wf.Throughput
		out = append(out, report.Ratio{Name: "checkouts paid per second ÷ bare workflows per second", Value: v, Goal: "≥ 80 %", Pass: v >= 0.8,
			Format: "percent", Detail: fmt.Sprintf("%.1f ÷ %.1f /s", paidRate, wf.Throughput)})
	}
	return out
}

func printSummary(r report.Report) {
	fmt.Println()
	for _, p := range r.Phases {
		fmt.Printf("%s\n", p.Name)
		for _, s := range p.Summaries {
			fmt.Printf("  %-48s n=%-6d 429=%-5d err=%-4d p50=%-9s p95=%-9s p99=%-9s %8.1f/s\n", s.Name, s.Requests, s.RateLimited, s.Errors,
				s.P50.Round(10*time.Microsecond), s.P95.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.Throughput)
		}
	}
	fmt.Println("\nratios")
	for _, x := range r.Ratios {
		verdict := "met"
		if !x.Pass {
			verdict = "MISSED"
		}
		fmt.Printf("  %-70s %7s (goal %s: %s) %s\n", x.Name, x.Measured(), x.Goal, verdict, x.Detail)
	}
	for _, n := range r.Notes {
		fmt.Println("note:", n)
	}
}
