package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopkit/shop/deploy/load/journey"
	"github.com/shopkit/shop/internal/payments"
)

// The traffic is the load test's journeys (deploy/load/journey: browse,
// search, cart, checkout paid through a signed Stripe webhook), plus orders
// that end otherwise (cancelled, payment failed, abandoned), sent to both
// API processes through failover.

// failover is the journeys' HTTP transport. It sends each request to the
// next API process in turn; a request that is safe to repeat (reads, POST
// /api/orders with its Idempotency-Key, a cancel, a signed webhook, which
// the shop processes once per event id) is repeated, on the other process,
// after a refused connection or a 5xx/429 answer, for up to retryFor. It
// also watches the answers: the orders the API accepted and the payments
// whose webhook it acknowledged are what the checks hold it to.
type failover struct {
	bases    []*url.URL
	next     atomic.Uint64
	rt       http.RoundTripper
	retryFor time.Duration
	t        *tally
}

func repeatable(r *http.Request) bool {
	p := r.URL.Path
	return r.Method == http.MethodGet || r.Header.Get("Idempotency-Key") != "" || p == "/webhooks/stripe" ||
		strings.HasSuffix(p, "/cancel") || p == "/api/auth/login" || strings.HasPrefix(p, "/shop.catalog.v1.CatalogService/")
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	again := repeatable(req)
	deadline := time.Now().Add(f.retryFor)
	for attempt := 1; ; attempt++ {
		base := f.bases[f.next.Add(1)%uint64(len(f.bases))]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = base.Scheme, base.Host, base.Host
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		res, err := f.rt.RoundTrip(out)
		retry := err != nil || res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests
		if !retry || !again || time.Now().After(deadline) || req.Context().Err() != nil {
			if attempt > 1 {
				f.t.add("requests repeated after a failure")
			}
			if err == nil {
				res = f.observe(req, body, res)
			}
			return res, err
		}
		if res != nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second)):
		}
	}
}

// observe notes accepted orders and acknowledged payments.
func (f *failover) observe(req *http.Request, body []byte, res *http.Response) *http.Response {
	if res.StatusCode/100 != 2 || req.Method != http.MethodPost {
		return res
	}
	switch req.URL.Path {
	case "/api/orders":
		b, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		var o journey.Order
		if err == nil && json.Unmarshal(b, &o) == nil && o.ID != 0 {
			f.t.accepted(int64(o.ID))
		}
	case "/webhooks/stripe":
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Object struct {
					Metadata map[string]string `json:"metadata"`
				} `json:"object"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &ev) == nil && ev.Type == "payment_intent.succeeded" {
			if id, err := strconv.ParseInt(ev.Data.Object.Metadata["order_id"], 10, 64); err == nil {
				f.t.paid(id)
			}
		}
	}
	return res
}

// tally counts what the traffic did; the checks read Accepted and Paid.
type tally struct {
	mu       sync.Mutex
	Accepted []int64 // orders the API accepted (200/201)
	Paid     []int64 // orders whose payment_intent.succeeded webhook was acknowledged
	counts   map[string]int
	samples  map[string]string // the first error answer per count key
}

func (t *tally) add(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[what]++
}

func (t *tally) accepted(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Accepted = append(t.Accepted, id)
}

func (t *tally) paid(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Paid = append(t.Paid, id)
}

// Record counts the journeys' calls by endpoint and outcome.
func (t *tally) Record(c journey.Call) {
	switch {
	case c.Status/100 == 2:
		t.add(c.Endpoint + " ok")
	case c.Status == 0:
		t.add(c.Endpoint + " no answer")
	default:
		k := fmt.Sprintf("%s %d", c.Endpoint, c.Status)
		t.add(k)
		var se *journey.StatusError
		if errors.As(c.Err, &se) {
			t.mu.Lock()
			if t.samples == nil {
				t.samples = map[string]string{}
			}
			if _, ok := t.samples[k]; !ok {
				t.samples[k] = se.Body
			}
			t.mu.Unlock()
		}
	}
}

func (t *tally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []string
	for k := range t.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d orders accepted, %d payments acknowledged", len(t.Accepted), len(t.Paid))
	for _, k := range keys {
		fmt.Fprintf(&b, "\n      %-48s %d", k, t.counts[k])
		if e, ok := t.samples[k]; ok {
			fmt.Fprintf(&b, "  (e.g. %.120s)", e)
		}
	}
	return b.String()
}

// traffic runs the journeys against both API processes.
type traffic struct {
	env *journey.Env
	t   *tally
	low []int64 // products with little stock: the other endings always ask for one
}

func newTraffic(ctx context.Context, bases []string, workers int, secret, run string, low []int64, t *tally) (*traffic, error) {
	var us []*url.URL
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	c := journey.NewClient(bases[0], workers, t)
	f := &failover{bases: us, rt: c.HTTP.Transport, retryFor: 90 * time.Second, t: t}
	// The client's timeout covers the retries too: one attempt is bounded
	// by the API itself (it answers 503 after its own waits).
	c.HTTP.Transport, c.HTTP.Timeout = f, f.retryFor+30*time.Second
	cat, err := journey.Discover(ctx, c)
	if err != nil {
		return nil, err
	}
	customers, err := journey.NewPool(ctx, c, "chaos"+run, "Chaos-Shopper-2026!", workers, workers)
	if err != nil {
		return nil, err
	}
	env := &journey.Env{Client: c, Catalog: cat, Customers: customers, WebhookSecret: secret, PayTimeout: 60 * time.Second}
	return &traffic{env: env, t: t, low: low}, nil
}

// mix: mostly checkouts, so that many orders meet the faults.
func (tr *traffic) mix() journey.Mix {
	e := tr.env
	return journey.Mix{
		{Name: "browse", Weight: 15, Run: e.Browse},
		{Name: "search", Weight: 10, Run: e.Search},
		{Name: "cart", Weight: 10, Run: e.Cart},
		{Name: "checkout (paid)", Weight: 45, Run: e.Checkout},
		{Name: "checkout (cancelled)", Weight: 8, Run: tr.cancelled},
		{Name: "checkout (payment failed)", Weight: 6, Run: tr.paymentFailed},
		{Name: "checkout (abandoned)", Weight: 6, Run: func(ctx context.Context, r *mrand.Rand) error { _, _, err := tr.place(ctx, r); return err }},
	}
}

// place orders a product or two and answers the order, awaiting payment,
// and its customer's token.
func (tr *traffic) place(ctx context.Context, r *mrand.Rand) (journey.Order, string, error) {
	e := tr.env
	// Half of them want one of the last units; the others would be refused
	// once those are gone, and end no other way.
	first := e.Catalog.Checkout[r.IntN(len(e.Catalog.Checkout))]
	if r.IntN(2) == 0 {
		first = tr.low[r.IntN(len(tr.low))]
	}
	items := []map[string]any{{"product_id": first, "quantity": 1}}
	if r.IntN(2) == 0 {
		items = append(items, map[string]any{"product_id": e.Catalog.Checkout[r.IntN(len(e.Catalog.Checkout))], "quantity": 1})
	}
	key := make([]byte, 12)
	_, _ = rand.Read(key)
	var o journey.Order
	token := e.Customers.Any(r).Token
	err := e.Client.Do(ctx, journey.Request{Endpoint: "POST /api/orders", Method: http.MethodPost, Path: "/api/orders",
		Token: token, Header: http.Header{"Idempotency-Key": {"chaos-" + hex.EncodeToString(key)}},
		Body: map[string]any{"items": items, "shipping_address": "123 Main St, Springfield, CA 90001", "payment_method": "credit_card"}}, &o)
	return o, token, err
}

func (tr *traffic) cancelled(ctx context.Context, r *mrand.Rand) error {
	o, token, err := tr.place(ctx, r)
	if err != nil {
		return err
	}
	return tr.env.Client.Do(ctx, journey.Request{Endpoint: "POST /api/orders/{id}/cancel", Method: http.MethodPost,
		Path: fmt.Sprintf("/api/orders/%d/cancel", o.ID), Token: token, Body: map[string]any{}}, nil)
}

func (tr *traffic) paymentFailed(ctx context.Context, r *mrand.Rand) error {
	o, _, err := tr.place(ctx, r)
	if err != nil {
		return err
	}
	ev := payments.FakeEvent{Type: "payment_intent.payment_failed", OrderID: int64(o.ID), PaymentIntentID: o.PaymentIntentID,
		Amount: int64(o.Totals.Total.AmountMinor), Currency: o.Totals.Total.Currency}
	body, sig, err := ev.Signed(tr.env.WebhookSecret, time.Now())
	if err != nil {
		return err
	}
	return tr.env.Client.Do(ctx, journey.Request{Endpoint: "POST /webhooks/stripe", Method: http.MethodPost, Path: "/webhooks/stripe",
		Body: body, Header: http.Header{"Stripe-Signature": {sig}}}, nil)
}

// run runs workers closed-loop until stop is called; the journeys under
// way then finish (ctx cancels everything).
func (tr *traffic) run(ctx context.Context, workers int) (stop func()) {
	var stopping atomic.Bool
	var wg sync.WaitGroup
	m := tr.mix()
	for w := range workers {
		wg.Go(func() {
			r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for !stopping.Load() && ctx.Err() == nil {
				s := m.Pick(r)
				if err := s.Run(ctx, r); err != nil {
					tr.t.add("journey " + s.Name + " failed")
				} else {
					tr.t.add("journey " + s.Name + " done")
				}
			}
		})
	}
	return func() {
		stopping.Store(true)
		wg.Wait()
	}
}
