// Package shoptest runs the order platform for tests against the real
// services `make test` starts: a fresh PostgreSQL database, the Temporal dev
// server (a private task queue), stripe-mock behind a recording proxy, and
// an in-process SMTP server.
package shoptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/mail/mailtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workflows/cartreminder"
	"github.com/shopkit/shop/workflows/checkout"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	"github.com/shopkit/shop/workflows/refund"
	returnswf "github.com/shopkit/shop/workflows/returns"
)

// WebhookSecret signs the webhooks of tests.
const WebhookSecret = "whsec_test_secret"

// Links in the emails of tests start at ShopURL; ReminderSecret signs the
// unsubscribe links of cart reminders.
const (
	ShopURL        = "http://shop.test"
	ReminderSecret = "cart-reminder-test-secret-0123456789"
)

// StripeMockURL is the stripe-mock the tests use.
func StripeMockURL() string {
	if v := os.Getenv("TEST_STRIPE_API_BASE"); v != "" {
		return v
	}
	return "http://127.0.0.1:12111"
}

// Settings are the pricing rules of test shops (also for a worker in
// another process).
func Settings() orders.Settings {
	ship, err := pricing.ParseShippingMethods("standard:5.99:50.00,express:14.99", "USD")
	if err != nil {
		panic(err) // a constant that does not parse
	}
	tax, err := pricing.ParseTaxRates("US-CA:7.25,DE:19")
	if err != nil {
		panic(err)
	}
	return orders.Settings{ShippingMethods: ship, TaxRates: tax, DefaultCountry: "US"}
}

// Shop is a running order platform.
type Shop struct {
	Pool     *pgxpool.Pool
	Catalog  *catalog.Store
	Coupons  *coupons.Store
	Carts    *cart.Store
	Orders   *orders.Store
	Temporal client.Client
	Queue    string
	Checkout *checkout.Client
	Refunds  *refund.Client
	// Reminders, once EnableCartReminders was called, hears every cart
	// change (of the API's carts and of checkout's).
	Reminders *cartreminder.Client
	Stripe    *Recorder
	SMTP      *mailtest.Server
	// PaymentTimeout is given to new checkouts.
	PaymentTimeout time.Duration
	// Shipments and Fulfil keep and drive the parcels of paid orders;
	// Deadlines (set before StartWorker) bound their steps.
	Shipments *fulfilment.Store
	Fulfil    *fulfilmentwf.Client
	Deadlines fulfilmentact.Deadlines
	// ReturnStore and Returns keep and drive returns under ReturnPolicy
	// (set it with UseReturnPolicy before StartWorker).
	ReturnStore  *returns.Store
	Returns      *returnswf.Client
	ReturnPolicy returns.Policy
}

// UseReturnPolicy makes the shop (its worker too, when started after)
// apply p to returns.
func (s *Shop) UseReturnPolicy(p returns.Policy) {
	s.ReturnPolicy = p
	s.ReturnStore = returns.NewStore(s.Pool, p)
	s.Returns = &returnswf.Client{Temporal: s.Temporal, Store: s.ReturnStore, TaskQueue: s.Queue}
}

// StaffEmail receives the staff alerts of test shops; parcels of the manual
// carrier are tracked at TrackingURL.
const (
	StaffEmail  = "staff@shop.test"
	TrackingURL = "https://track.test/{tracking_number}"
)

// New starts a shop with a worker running; paymentTimeout applies to checkouts.
func New(t *testing.T, paymentTimeout time.Duration) *Shop {
	t.Helper()
	s := NewWithoutWorker(t, paymentTimeout)
	s.StartWorker(t)
	return s
}

// NewWithoutWorker sets up everything but the worker.
func NewWithoutWorker(t *testing.T, paymentTimeout time.Duration) *Shop {
	t.Helper()
	pool := dbtest.New(t)
	// Workflow ids derive from order ids, and every test database counts
	// from the same start on one shared Temporal server.
	for _, q := range []string{"ALTER SEQUENCE order_ids RESTART WITH %d", "ALTER TABLE refunds ALTER COLUMN id RESTART WITH %d",
		"ALTER TABLE shipments ALTER COLUMN id RESTART WITH %d", "ALTER TABLE returns ALTER COLUMN id RESTART WITH %d",
		"ALTER TABLE product_images ALTER COLUMN id RESTART WITH %d"} {
		_, err := pool.Exec(context.Background(), fmt.Sprintf(q, 1_000_000+rand.Int64N(1<<40)))
		require.NoError(t, err)
	}
	cs := coupons.NewStore(pool)
	carts := cart.NewStore(pool, cs)
	s := &Shop{
		Pool: pool, Catalog: catalog.NewStore(pool), Coupons: cs, Carts: carts,
		Orders:   orders.NewStore(pool, cs, carts, Settings()),
		Temporal: testenv.Temporal(t), Queue: testenv.UniqueName("test-orders-"),
		Stripe: NewRecorder(t, StripeMockURL()), SMTP: mailtest.Start(t), PaymentTimeout: paymentTimeout,
	}
	s.Checkout = &checkout.Client{Temporal: s.Temporal, TaskQueue: s.Queue, PaymentTimeout: paymentTimeout}
	s.Refunds = &refund.Client{Temporal: s.Temporal, TaskQueue: s.Queue}
	s.Shipments = fulfilment.NewStore(pool)
	s.Fulfil = &fulfilmentwf.Client{Temporal: s.Temporal, Store: s.Shipments}
	s.UseReturnPolicy(returns.Policy{})
	return s
}

// WorkerDeps are a worker's dependencies on the given database, Stripe
// and SMTP server (also for a worker in another process).
func WorkerDeps(pool *pgxpool.Pool, settings orders.Settings, stripeURL, smtpAddr string) (workers.Deps, error) {
	sender, err := mail.NewSender(mail.Config{Addr: smtpAddr, From: "Shop <orders@shop.test>"})
	if err != nil {
		return workers.Deps{}, err
	}
	cs := coupons.NewStore(pool)
	carts := cart.NewStore(pool, cs)
	return workers.Deps{
		Catalog: catalog.NewStore(pool), Pool: pool,
		Orders: orders.NewStore(pool, cs, carts, settings),
		Stripe: payments.NewStripe("sk_test_123", stripeURL, nil),
		Mail:   sender,
		Carts:  carts, ShopURL: ShopURL, CartReminderSecret: ReminderSecret,
		Fulfilment: fulfilment.NewStore(pool),
		Returns:    returns.NewStore(pool, returns.Policy{}),
		Events:     events.NewStore(pool),
		Carriers:   carrier.NewCarriers(carrier.Manual{TrackingURL: TrackingURL}),
		StaffEmail: StaffEmail,
		// Every workflow the tests run proves its activities are bounded.
		GuardActivityOptions: true,
	}, nil
}

// StartWorker runs a worker on the shop's task queue until the test ends.
func (s *Shop) StartWorker(t *testing.T) worker.Worker {
	t.Helper()
	deps, err := WorkerDeps(s.Pool, Settings(), s.Stripe.URL(), s.SMTP.Addr())
	require.NoError(t, err)
	deps.Deadlines = s.Deadlines
	deps.Returns = returns.NewStore(s.Pool, s.ReturnPolicy)
	w := workers.New(s.Temporal, s.Queue, deps)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return w
}

// EnableCartReminders makes every cart change start or reset the cart's
// reminders, due after the idle times of schedule. Call it before creating
// users and starting the worker: user ids are made unique on the shared
// Temporal server, as the reminders' workflow ids derive from them.
func (s *Shop) EnableCartReminders(t testing.TB, schedule ...time.Duration) *cartreminder.Client {
	t.Helper()
	_, err := s.Pool.Exec(context.Background(), fmt.Sprintf("ALTER TABLE users ALTER COLUMN id RESTART WITH %d", 1_000_000+rand.Int64N(1<<40)))
	require.NoError(t, err)
	s.Reminders = &cartreminder.Client{Temporal: s.Temporal, Pool: s.Pool, TaskQueue: s.Queue, Schedule: schedule}
	s.StartRelay(t, s.Reminders)
	return s.Reminders
}

// StartRelay runs the outbox relay for consumers until the test ends, as
// `shop worker` does.
func (s *Shop) StartRelay(t testing.TB, consumers ...outbox.Consumer) {
	t.Helper()
	testenv.RunRelay(t, &outbox.Relay{Pool: s.Pool, Consumers: consumers, Poll: 50 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond})
}

// User creates a customer and answers its id.
func (s *Shop) User(t testing.TB, name string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, s.Pool.QueryRow(context.Background(), `INSERT INTO users (username, email, password_hash, first_name)
		VALUES ($1, $2, 'not-a-login', $1) RETURNING id`, name, name+"@example.com").Scan(&id))
	return id
}

// Product creates a product with stock and answers it.
func (s *Shop) Product(t testing.TB, sku string, price int64, stock int32) catalog.Product {
	t.Helper()
	ctx := context.Background()
	_, err := s.Catalog.UpsertProducts(ctx, []catalog.ProductInput{{SKU: sku, Name: "Product " + sku, Category: "Test",
		Price: money.Money{Amount: price, Currency: "USD"}, StockQuantity: stock}})
	require.NoError(t, err)
	var id int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT id FROM products WHERE sku = $1`, sku).Scan(&id))
	p, err := s.Catalog.GetProduct(ctx, id)
	require.NoError(t, err)
	return p
}

// Stock answers a product's stock now.
func (s *Shop) Stock(t testing.TB, productID int64) int32 {
	var n int32
	require.NoError(t, s.Pool.QueryRow(context.Background(), `SELECT stock_quantity FROM products WHERE id = $1`, productID).Scan(&n))
	return n
}

// WaitStatus waits until the order reaches status.
func (s *Shop) WaitStatus(t testing.TB, orderID int64, status orders.Status, within time.Duration) orders.Order {
	t.Helper()
	var o orders.Order
	require.Eventually(t, func() bool {
		var err error
		o, err = s.Orders.Get(context.Background(), orderID)
		return err == nil && o.Status == status
	}, within, 50*time.Millisecond, "order %d did not become %s (is %s)", orderID, status, o.Status)
	return o
}

// Request is one call that reached the Stripe API.
type Request struct {
	Method, Path, IdempotencyKey string
	Status                       int
	// Replayed: Stripe answered from its idempotency cache; nothing new
	// was created.
	Replayed bool
}

// Recorder is a proxy in front of stripe-mock that records every request.
// Like Stripe (and unlike stripe-mock) it answers a repeated POST with the
// same Idempotency-Key from a cache; it can also make the next calls to a
// path fail, or hold one answer back, as a flaky network would.
type Recorder struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []Request
	fails map[string][]failure
	seen  map[string]answer
	holds map[string]*Hold
}

type failure struct {
	status int
	body   string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// Hold is an answer held back: Reached closes once Stripe has done the
// work; the caller gets the answer after Release.
type Hold struct {
	Reached chan struct{}
	release chan struct{}
}

// Release lets the held answer go.
func (h *Hold) Release() { close(h.release) }

// NewRecorder starts the proxy.
func NewRecorder(t testing.TB, target string) *Recorder {
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(target + "/v1/balance")
	if err != nil {
		t.Fatalf("stripe-mock is not reachable at TEST_STRIPE_API_BASE=%s: %v; start the test services with `make test`", target, err)
	}
	_ = res.Body.Close()
	r := &Recorder{fails: map[string][]failure{}, seen: map[string]answer{}, holds: map[string]*Hold{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := Request{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key")}
		a, hold := r.serve(c, target, req, &rec)
		r.mu.Lock()
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
		if hold != nil {
			close(hold.Reached)
			<-hold.release
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Recorder) serve(c *http.Client, target string, req *http.Request, rec *Request) (answer, *Hold) {
	body, _ := io.ReadAll(req.Body)
	cacheKey := req.Method + " " + req.URL.Path + " " + rec.IdempotencyKey
	r.mu.Lock()
	var f *failure
	for prefix, list := range r.fails {
		if strings.HasPrefix(req.URL.Path, prefix) && len(list) > 0 {
			f = &list[0]
			r.fails[prefix] = list[1:]
			break
		}
	}
	cached, replay := r.seen[cacheKey]
	replay = replay && rec.IdempotencyKey != "" && req.Method == http.MethodPost
	var hold *Hold
	for prefix, h := range r.holds {
		if strings.HasPrefix(req.URL.Path, prefix) && f == nil && !replay {
			hold = h
			delete(r.holds, prefix)
			break
		}
	}
	r.mu.Unlock()
	json := http.Header{"Content-Type": {"application/json"}}
	switch {
	case f != nil:
		rec.Status = f.status
		return answer{status: f.status, header: json, body: []byte(f.body)}, nil
	case replay:
		rec.Status, rec.Replayed = cached.status, true
		return cached, nil
	}
	out, err := http.NewRequest(req.Method, target+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return answer{status: http.StatusBadGateway, header: json}, nil
	}
	out.Header = req.Header.Clone()
	res, err := c.Do(out)
	if err != nil {
		rec.Status = http.StatusBadGateway
		return answer{status: http.StatusBadGateway, header: json, body: []byte(`{"error":{"type":"api_error","message":"stripe-mock unreachable"}}`)}, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header.Clone(), body: b}
	a.header.Del("Content-Length")
	rec.Status = a.status
	if rec.IdempotencyKey != "" && req.Method == http.MethodPost {
		r.mu.Lock()
		r.seen[cacheKey] = a
		r.mu.Unlock()
	}
	return a, hold
}

// HoldNext holds back the answer to the next request to a path starting
// with prefix, after stripe-mock has handled it.
func (r *Recorder) HoldNext(prefix string) *Hold {
	h := &Hold{Reached: make(chan struct{}), release: make(chan struct{})}
	r.mu.Lock()
	r.holds[prefix] = h
	r.mu.Unlock()
	return h
}

// URL is the proxy's address, for STRIPE_API_BASE.
func (r *Recorder) URL() string { return r.srv.URL }

// FailNext makes the next n requests to paths starting with prefix answer
// status with a Stripe error body.
func (r *Recorder) FailNext(prefix string, n, status int, errType, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.fails[prefix] = append(r.fails[prefix], failure{status: status,
			body: fmt.Sprintf(`{"error":{"type":%q,"message":%q}}`, errType, message)})
	}
}

// Requests answers the recorded requests matching method and path prefix.
func (r *Recorder) Requests(method, prefix string) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, q := range r.reqs {
		if q.Method == method && strings.HasPrefix(q.Path, prefix) {
			out = append(out, q)
		}
	}
	return out
}
