package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// stripeProxy sits between the shop and stripe-mock. Like Stripe (and
// unlike stripe-mock) it answers a repeated POST with the same
// Idempotency-Key from a cache, and it counts the PaymentIntents it lets
// stripe-mock create, per order (metadata[order_id]).
//
// A "creation" is a POST /v1/payment_intents forwarded to stripe-mock and
// answered 2xx. A retry with the same Idempotency-Key is answered from the
// cache and counted as a replay, not a creation: at real Stripe it would
// create nothing. The invariant is one creation per order.
type stripeProxy struct {
	target string
	client *http.Client
	srv    *http.Server
	addr   string

	mu        sync.Mutex
	keyLocks  map[string]*sync.Mutex
	cache     map[string]cachedAnswer
	creations map[int64][]createdIntent
	replays   int
	errors    int
}

type cachedAnswer struct {
	status int
	header http.Header
	body   []byte
}

// createdIntent is one PaymentIntent stripe-mock created.
type createdIntent struct {
	ID       string
	OrderID  int64
	Amount   int64
	Currency string
	Key      string
}

func startStripeProxy(target string) (*stripeProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &stripeProxy{
		target: target, client: &http.Client{Timeout: 15 * time.Second}, addr: ln.Addr().String(),
		keyLocks: map[string]*sync.Mutex{}, cache: map[string]cachedAnswer{},
		creations: map[int64][]createdIntent{},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *stripeProxy) URL() string { return "http://" + p.addr }

func (p *stripeProxy) Close() { _ = p.srv.Close() }

func (p *stripeProxy) lockKey(k string) func() {
	p.mu.Lock()
	l, ok := p.keyLocks[k]
	if !ok {
		l = &sync.Mutex{}
		p.keyLocks[k] = l
	}
	p.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (p *stripeProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	idem := key != "" && r.Method == http.MethodPost
	cacheKey := r.Method + " " + r.URL.Path + " " + key
	if idem {
		// Concurrent requests with one key are served one after the other,
		// so the second one is a replay.
		defer p.lockKey(cacheKey)()
		p.mu.Lock()
		a, ok := p.cache[cacheKey]
		if ok {
			p.replays++
		}
		p.mu.Unlock()
		if ok {
			writeAnswer(w, a)
			return
		}
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	res, err := p.client.Do(out)
	if err != nil {
		p.mu.Lock()
		p.errors++
		p.mu.Unlock()
		writeAnswer(w, cachedAnswer{status: http.StatusBadGateway, header: http.Header{"Content-Type": {"application/json"}},
			body: []byte(`{"error":{"type":"api_error","message":"stripe-mock unreachable"}}`)})
		return
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	a := cachedAnswer{status: res.StatusCode, header: res.Header.Clone(), body: b}
	a.header.Del("Content-Length")
	p.mu.Lock()
	if idem && res.StatusCode < 500 {
		p.cache[cacheKey] = a
	}
	if r.Method == http.MethodPost && r.URL.Path == "/v1/payment_intents" && res.StatusCode/100 == 2 {
		p.recordCreation(body, b, key)
	}
	p.mu.Unlock()
	writeAnswer(w, a)
}

// recordCreation notes a PaymentIntent stripe-mock created (p.mu held).
// stripe-mock answers with fixture values, so the amount and currency are
// those of the request.
func (p *stripeProxy) recordCreation(form, answer []byte, key string) {
	q, _ := url.ParseQuery(string(form))
	var pi struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(answer, &pi)
	orderID, _ := strconv.ParseInt(q.Get("metadata[order_id]"), 10, 64)
	amount, _ := strconv.ParseInt(q.Get("amount"), 10, 64)
	c := createdIntent{ID: pi.ID, OrderID: orderID, Amount: amount, Currency: q.Get("currency"), Key: key}
	p.creations[orderID] = append(p.creations[orderID], c)
}

func writeAnswer(w http.ResponseWriter, a cachedAnswer) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// StripeCounts is what the checks need from the proxy.
type StripeCounts struct {
	Creations map[int64][]createdIntent
	Replays   int
	Errors    int
}

func (p *stripeProxy) Counts() StripeCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := StripeCounts{Creations: map[int64][]createdIntent{}, Replays: p.replays, Errors: p.errors}
	for k, v := range p.creations {
		c.Creations[k] = append([]createdIntent(nil), v...)
	}
	return c
}
