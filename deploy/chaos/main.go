// Command chaos runs the shop (one worker, two API processes) on private
// Redis, Temporal (and optionally Elasticsearch) instances and its own
// PostgreSQL database, sends shoppers at it, kills and restarts the worker,
// an API process, Redis, Elasticsearch and the Temporal server while orders
// flow, waits for the shop to settle and checks the invariants in SQL and
// Temporal. It exits non-zero when one does not hold. `make chaos` runs it;
// see README "Chaos testing".
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
)

// config is read from CHAOS_* variables (README "Chaos testing").
type config struct {
	duration      time.Duration
	settle        time.Duration
	shoppers      int
	searchBackend string
	databaseURL   string
	stripeBase    string
	dataDir       string
	redisPort     int
	temporalPort  int
	esPort        int
	apiPorts      [2]int
	workerPort    int
}

func env(name, def string) string { return cmp.Or(os.Getenv(name), def) }

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number", name, v)
	}
	return n, nil
}

func loadConfig(root string) (config, error) {
	c := config{
		searchBackend: env("CHAOS_SEARCH_BACKEND", "postgres"),
		databaseURL:   env("CHAOS_DATABASE_URL", "postgres://shop:shop@127.0.0.1:5432/shop_chaos?sslmode=disable"),
		stripeBase:    env("CHAOS_STRIPE_API_BASE", env("TEST_STRIPE_API_BASE", "http://127.0.0.1:12111")),
		dataDir:       env("CHAOS_DATA_DIR", filepath.Join(root, ".data", "chaos")),
	}
	var err error
	if c.duration, err = time.ParseDuration(env("CHAOS_DURATION", "3m")); err != nil {
		return c, fmt.Errorf("CHAOS_DURATION: %w", err)
	}
	if c.settle, err = time.ParseDuration(env("CHAOS_SETTLE", "2m")); err != nil {
		return c, fmt.Errorf("CHAOS_SETTLE: %w", err)
	}
	if c.shoppers, err = envInt("CHAOS_SHOPPERS", 6); err != nil {
		return c, err
	}
	base, err := envInt("CHAOS_PORT_BASE", 6390)
	if err != nil {
		return c, err
	}
	// One block of ports: Redis +1, Temporal +873 (UI +1873), ES +2901,
	// the APIs +1701/+1702, the worker's metrics +3101 (6391, 7263, 8263,
	// 9291, 8091, 8092, 9491 by default).
	c.redisPort, c.temporalPort, c.esPort = base+1, base+873, base+2901
	c.apiPorts = [2]int{base + 1701, base + 1702}
	c.workerPort = base + 3101
	if c.searchBackend != "postgres" && c.searchBackend != "elasticsearch" {
		return c, fmt.Errorf("CHAOS_SEARCH_BACKEND=%q: want postgres or elasticsearch", c.searchBackend)
	}
	return c, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

var start = time.Now()

// logf prints a line with the time since start.
func logf(format string, a ...any) {
	fmt.Printf("[%s +%5.1fs] %s\n", time.Now().UTC().Format("15:04:05"), time.Since(start).Seconds(), fmt.Sprintf(format, a...))
}

func main() {
	ok, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run() (ok bool, err error) {
	root, err := repoRoot()
	if err != nil {
		return false, err
	}
	cfg, err := loadConfig(root)
	if err != nil {
		return false, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(filepath.Join(cfg.dataDir, "logs"), 0o755); err != nil {
		return false, err
	}
	h := &harness{cfg: cfg, root: root}
	// Whatever happens, everything this run started is stopped.
	defer h.cleanup()
	if err := h.setUp(ctx); err != nil {
		return false, err
	}
	return h.chaos(ctx)
}

// harness holds what one run started.
type harness struct {
	cfg      config
	root     string
	stack    *stack
	stackUp  bool
	pool     *pgxpool.Pool
	sink     *mail.Sink
	stopSMTP context.CancelFunc
	stripe   *stripeProxy
	worker   *proc
	apis     []*proc
	tc       client.Client
	secret   string
	initial  map[int64]int64
	plenty   []int64
	low      []int64
}

func (h *harness) services() []string {
	s := []string{"redis", "temporal"}
	if h.cfg.searchBackend == "elasticsearch" {
		s = append(s, "elasticsearch")
	}
	return s
}

func (h *harness) setUp(ctx context.Context) error {
	cfg := h.cfg
	shop := filepath.Join(h.root, "bin", "shop")
	if _, err := os.Stat(shop); err != nil {
		return fmt.Errorf("%s is missing: run `make build` (make chaos does)", shop)
	}
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", cfg.redisPort)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", cfg.temporalPort)
	esURL := fmt.Sprintf("http://127.0.0.1:%d", cfg.esPort)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOFLAGS=" + os.Getenv("GOFLAGS")}
	h.stack = &stack{root: h.root, env: slices.Concat(base, []string{
		"DATA_DIR=" + cfg.dataDir, "BIN_DIR=" + filepath.Join(h.root, "bin"),
		"REDIS_URL=" + redisURL, "TEMPORAL_ADDRESS=" + temporalAddr, "TEMPORAL_UI_PORT=" + strconv.Itoa(cfg.temporalPort+1000),
		"TEMPORAL_NAMESPACE=default", "ELASTICSEARCH_URL=" + esURL, "DATABASE_URL=" + cfg.databaseURL})}
	logf("private services: %s (state in %s)", strings.Join(h.services(), " "), cfg.dataDir)
	h.stackUp = true
	// Each run starts from an empty Temporal: workflow ids derive from
	// order ids, which the new database counts from the start again. The
	// server keeps its state in a file only so that a restart within the
	// run finds it.
	if err := h.stack.run("down", "temporal"); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(cfg.dataDir, "temporal")); err != nil {
		return err
	}
	if err := h.stack.run(append([]string{"up"}, h.services()...)...); err != nil {
		return err
	}

	logf("database: recreating %s", redactURL(cfg.databaseURL))
	if err := recreateDatabase(ctx, cfg.databaseURL); err != nil {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	wh := make([]byte, 24)
	_, _ = rand.Read(wh)
	h.secret = "whsec_" + base64.RawURLEncoding.EncodeToString(wh)

	// SMTP: an in-process sink that keeps every message.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.sink = &mail.Sink{}
	sctx, cancel := context.WithCancel(context.Background())
	h.stopSMTP = cancel
	go func() { _ = h.sink.Serve(sctx, ln) }()

	res, err := http.Get(cfg.stripeBase + "/v1/balance")
	if err != nil {
		return fmt.Errorf("stripe-mock is not reachable at CHAOS_STRIPE_API_BASE=%s (deploy/stack.sh up stripe-mock): %w", cfg.stripeBase, err)
	}
	_ = res.Body.Close()
	if h.stripe, err = startStripeProxy(cfg.stripeBase); err != nil {
		return err
	}

	// WEB_ADDR=off: two APIs run side by side, and the journeys call the API itself.
	appEnv := slices.Concat(base, []string{"APP_ENV=development", "LOG_FORMAT=json", "LOG_LEVEL=info", "WEB_ADDR=off",
		"DATABASE_URL=" + cfg.databaseURL, "DATABASE_MAX_CONNS=6", "REDIS_URL=" + redisURL,
		"TEMPORAL_ADDRESS=" + temporalAddr, "TEMPORAL_NAMESPACE=default", "TEMPORAL_TASK_QUEUE=shop",
		"SEARCH_BACKEND=" + cfg.searchBackend, "ELASTICSEARCH_URL=" + esURL,
		"STRIPE_API_BASE=" + h.stripe.URL(), "STRIPE_SECRET_KEY=sk_test_chaos", "STRIPE_WEBHOOK_SECRET=" + h.secret,
		"SMTP_ADDR=" + ln.Addr().String(), "PAYMENT_TIMEOUT=30m",
		"JWT_SIGNING_KEYS=chaos:" + base64.StdEncoding.EncodeToString(key), "ACCESS_TOKEN_TTL=1h",
		"RATE_LIMITS=login=100000/1m,auth=100000/1m,user=100000/1m,public=100000/1m,events=100000/1m",
		"WORKER_METRICS_ADDR=" + fmt.Sprintf("127.0.0.1:%d", cfg.workerPort)})
	logf("migrating")
	mig := exec.CommandContext(ctx, shop, "migrate", "up")
	mig.Env = appEnv
	if out, err := mig.CombinedOutput(); err != nil {
		return fmt.Errorf("shop migrate up: %w\n%s", err, out)
	}
	if h.pool, err = pgxpool.New(ctx, cfg.databaseURL+"&pool_max_conns=4"); err != nil {
		return err
	}
	if err := h.seed(ctx); err != nil {
		return err
	}

	logs := filepath.Join(cfg.dataDir, "logs")
	h.worker = &proc{name: "worker", bin: shop, args: []string{"worker"}, env: appEnv,
		logPath: filepath.Join(logs, "worker.log"), pidPath: filepath.Join(logs, "worker.pid"),
		readyURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", cfg.workerPort)}
	for i, port := range cfg.apiPorts {
		name := fmt.Sprintf("api-%d", i+1)
		h.apis = append(h.apis, &proc{name: name, bin: shop, args: []string{"api"},
			env: slices.Concat(appEnv, []string{fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port)}), logPath: filepath.Join(logs, name+".log"),
			pidPath: filepath.Join(logs, name+".pid"), readyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", port)})
	}
	for _, p := range append([]*proc{h.worker}, h.apis...) {
		if err := p.start(ctx); err != nil {
			return fmt.Errorf("%w (log: %s)", err, p.logPath)
		}
		logf("%s started (pid %d, log %s)", p.name, p.cmd.Process.Pid, p.logPath)
	}
	if cfg.searchBackend == "elasticsearch" {
		// A workflow, run by the worker started above.
		re := exec.CommandContext(ctx, shop, "reindex")
		re.Env = appEnv
		if out, err := re.CombinedOutput(); err != nil {
			return fmt.Errorf("shop reindex: %w\n%s", err, out)
		}
		logf("search index built")
	}
	h.tc, err = client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default",
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	return err
}

func redactURL(u string) string {
	if i, j := strings.Index(u, "://"), strings.Index(u, "@"); i >= 0 && j > i {
		return u[:i+3] + "..." + u[j:]
	}
	return u
}

// recreateDatabase drops and creates the database of url (on its server).
func recreateDatabase(ctx context.Context, url string) error {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	name := cc.Database
	cc.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident)
	return err
}

// seed writes the catalog: plenty of most products, a few units of some
// (so that shoppers compete for the last ones and overselling would show).
func (h *harness) seed(ctx context.Context) error {
	var in []catalog.ProductInput
	for i := range 24 {
		in = append(in, catalog.ProductInput{SKU: fmt.Sprintf("CHAOS-%03d", i), Name: fmt.Sprintf("Chaos widget %d", i),
			Description: "A chaos test product", Category: "Chaos", Brand: "Chaos",
			Price: money.Money{Amount: int64(500 + 137*i), Currency: "USD"}, StockQuantity: 100000})
	}
	for i := range 4 {
		in = append(in, catalog.ProductInput{SKU: fmt.Sprintf("CHAOS-LOW-%d", i), Name: fmt.Sprintf("Chaos rarity %d", i),
			Description: "A chaos test product with little stock", Category: "Chaos", Brand: "Chaos",
			Price: money.Money{Amount: int64(2500 + 100*i), Currency: "USD"}, StockQuantity: 3})
	}
	if _, err := catalog.NewStore(h.pool).UpsertProducts(ctx, in); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	rows, err := h.pool.Query(ctx, `SELECT id, sku, stock_quantity FROM products WHERE sku LIKE 'CHAOS-%'`)
	if err != nil {
		return err
	}
	h.initial = map[int64]int64{}
	var id, stock int64
	var sku string
	_, err = pgx.ForEachRow(rows, []any{&id, &sku, &stock}, func() error {
		h.initial[id] = stock
		if strings.HasPrefix(sku, "CHAOS-LOW-") {
			h.low = append(h.low, id)
		} else {
			h.plenty = append(h.plenty, id)
		}
		return nil
	})
	logf("seeded %d products (%d with 3 units)", len(h.initial), len(h.low))
	return err
}

// fault is one thing that goes wrong, and its repair.
type fault struct {
	name string
	do   func(ctx context.Context) error
}

func (h *harness) faults() []fault {
	restartProc := func(p *proc, down time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			p.kill(syscall.SIGKILL)
			logf("  %s killed (SIGKILL); down for %s", p.name, down)
			time.Sleep(down)
			if err := p.start(ctx); err != nil {
				return err
			}
			logf("  %s restarted (pid %d) and ready", p.name, p.cmd.Process.Pid)
			return nil
		}
	}
	restartSvc := func(svc string, down time.Duration) func(context.Context) error {
		return func(context.Context) error {
			if err := h.stack.run("down", svc); err != nil {
				return err
			}
			logf("  %s stopped; down for %s", svc, down)
			time.Sleep(down)
			if err := h.stack.run("up", svc); err != nil {
				return err
			}
			logf("  %s started again and ready", svc)
			return nil
		}
	}
	f := []fault{
		{"SIGKILL the worker, restart it", restartProc(h.worker, 2*time.Second)},
		{"SIGKILL api-1, restart it", restartProc(h.apis[0], 3*time.Second)},
		{"stop Redis, start it", restartSvc("redis", 5*time.Second)},
	}
	if h.cfg.searchBackend == "elasticsearch" {
		f = append(f, fault{"stop Elasticsearch, start it", restartSvc("elasticsearch", 5*time.Second)})
	}
	return append(f, fault{"stop the Temporal server, start it", restartSvc("temporal", 5*time.Second)})
}

func (h *harness) chaos(ctx context.Context) (bool, error) {
	cfg := h.cfg
	var bases []string
	for _, p := range cfg.apiPorts {
		bases = append(bases, fmt.Sprintf("http://127.0.0.1:%d", p))
	}
	t := &tally{}
	tr, err := newTraffic(ctx, bases, cfg.shoppers, h.secret, strconv.FormatInt(time.Now().Unix(), 36), h.low, t)
	if err != nil {
		return false, fmt.Errorf("traffic setup: %w", err)
	}
	logf("traffic: %d shoppers for %s against %s (%d products, %d customers)", cfg.shoppers, cfg.duration,
		strings.Join(bases, ", "), len(tr.env.Catalog.Products), tr.env.Customers.Size())
	stopTraffic := tr.run(ctx, cfg.shoppers)

	faults := h.faults()
	every := cfg.duration / time.Duration(len(faults)+1)
	trafficStart := time.Now()
	for i, f := range faults {
		at := trafficStart.Add(every * time.Duration(i+1))
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		logf("FAULT %d/%d: %s", i+1, len(faults), f.name)
		t0 := time.Now()
		if err := f.do(ctx); err != nil {
			return false, fmt.Errorf("fault %q: %w", f.name, err)
		}
		logf("FAULT %d/%d done in %.1fs", i+1, len(faults), time.Since(t0).Seconds())
	}
	// Traffic goes on for the rest of the duration, and at least a few
	// seconds past the last repair.
	end := trafficStart.Add(cfg.duration)
	if soon := time.Now().Add(5 * time.Second); soon.After(end) {
		end = soon
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(time.Until(end)):
	}
	stopTraffic()
	logf("traffic stopped: %s", t.summary())

	logf("waiting (at most %s) for the shop to settle", cfg.settle)
	t0 := time.Now()
	settled := h.settle(ctx, t)
	logf("settled=%v after %.1fs", settled, time.Since(t0).Seconds())

	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	results := []Result{
		checkAcceptedOrders(cctx, h.pool, t.Accepted),
		checkPaidAcknowledged(cctx, h.pool, t.Paid),
		checkWorkflows(cctx, h.tc, h.pool),
		checkPaymentIntents(cctx, h.pool, h.stripe.Counts()),
		checkStock(cctx, h.pool, h.initial),
		checkFulfilment(cctx, h.pool),
		checkEmails(cctx, h.pool, h.sink.Messages()),
		checkOutbox(cctx, h.pool, 30*time.Second),
	}
	fmt.Println("\n==> invariants")
	ok := true
	for _, r := range results {
		fmt.Println(r)
		ok = ok && r.OK
	}
	if len(t.Accepted) == 0 {
		fmt.Println("FAIL  traffic                            no order was accepted: nothing was tested")
		ok = false
	}
	if ok {
		fmt.Println("\nchaos: all invariants hold")
	} else {
		fmt.Printf("\nchaos: invariants violated (logs in %s)\n", filepath.Join(cfg.dataDir, "logs"))
	}
	return ok, nil
}

// settle waits until the work the traffic left behind is done: the outbox
// delivered, emails sent, acknowledged payments recorded, paid orders
// allocated; three polls in a row, or until CHAOS_SETTLE.
func (h *harness) settle(ctx context.Context, t *tally) bool {
	calm := 0
	err := waitFor(ctx, h.cfg.settle, "settle", func() bool {
		rs := []Result{checkOutbox(ctx, h.pool, 0), checkPaidAcknowledged(ctx, h.pool, t.Paid),
			checkFulfilment(ctx, h.pool), checkEmails(ctx, h.pool, h.sink.Messages())}
		for _, r := range rs {
			if !r.OK {
				calm = 0
				return false
			}
		}
		calm++
		return calm >= 3
	})
	return err == nil
}

// cleanup stops everything this run started, newest first.
func (h *harness) cleanup() {
	if h.tc != nil {
		h.tc.Close()
	}
	for _, p := range slices.Concat(h.apis, []*proc{h.worker}) {
		if p != nil {
			p.kill(syscall.SIGTERM)
		}
	}
	if h.stripe != nil {
		h.stripe.Close()
	}
	if h.stopSMTP != nil {
		h.stopSMTP()
	}
	if h.pool != nil {
		h.pool.Close()
	}
	if h.stackUp {
		logf("stopping the private services")
		if err := h.stack.run(append([]string{"down"}, h.services()...)...); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
		}
	}
}
