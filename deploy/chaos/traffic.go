package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopkit/shop/internal/payments"
)

// apiClient sends each request to the next API instance in turn. A request
// that is safe to repeat (reads, POST /api/orders with its Idempotency-Key,
// a cancel, a signed webhook) is repeated on the other instance when one is
// down, and after a 503/429 (the shop's "try again"), until its deadline.
type apiClient struct {
	bases []string
	next  atomic.Uint64
	hc    *http.Client
	// retryFor bounds the retries of one request (a Temporal restart).
	retryFor time.Duration
}

type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.Status, e.Body) }

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// do sends one request; out (when not nil) receives the JSON answer.
func (c *apiClient) do(ctx context.Context, method, path, token string, header map[string]string, body []byte, retry bool, out any) (int, error) {
	deadline := time.Now().Add(c.retryFor)
	for attempt := 0; ; attempt++ {
		base := c.bases[c.next.Add(1)%uint64(len(c.bases))]
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := c.hc.Do(req)
		var status int
		var b []byte
		if err == nil {
			status = res.StatusCode
			b, _ = io.ReadAll(res.Body)
			_ = res.Body.Close()
			if status < 300 {
				if out != nil && len(b) > 0 {
					if err := json.Unmarshal(b, out); err != nil {
						return status, fmt.Errorf("%s %s: %w", method, path, err)
					}
				}
				return status, nil
			}
			err = &apiError{Status: status, Body: string(b)}
		}
		again := retry && (status == 0 || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests ||
			status == http.StatusBadGateway || status == http.StatusGatewayTimeout || status == http.StatusInternalServerError)
		if !again || time.Now().After(deadline) || ctx.Err() != nil {
			return status, fmt.Errorf("%s %s: %w", method, path, err)
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(min(time.Duration(attempt+1)*250*time.Millisecond, 2*time.Second)):
		}
	}
}

// tally counts what the traffic did; the checks read Accepted and Paid.
type tally struct {
	mu       sync.Mutex
	Accepted []int64 // orders the API accepted (200/201)
	Paid     []int64 // orders whose payment_intent.succeeded webhook was acknowledged
	counts   map[string]int
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

func (t *tally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d orders accepted, %d paid; %s", len(t.Accepted), len(t.Paid), statusCounts(t.counts))
}

// shopper is one simulated customer: it browses, searches, fills its cart
// and checks out, then pays (mostly), fails to pay, cancels or walks away.
type shopper struct {
	n        int
	api      *apiClient
	stripe   *stripeProxy
	secret   string // the webhook signing secret
	products []int64
	lowStock []int64
	t        *tally
	token    string
	rng      *rand.Rand
}

type order struct {
	ID              flexInt `json:"id"`
	Status          string  `json:"status"`
	PaymentIntentID string  `json:"payment_intent_id"`
}

// flexInt reads an int64 sent as a JSON number or string (protojson).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	n, err := strconv.ParseInt(s, 10, 64)
	*f = flexInt(n)
	return err
}

func (s *shopper) signIn(ctx context.Context, run string) error {
	user := fmt.Sprintf("chaos%s_%d", run, s.n)
	pass := "Chaos-Shopper-2026!"
	reg, _ := json.Marshal(map[string]string{"username": user, "email": user + "@example.com", "password": pass, "first_name": "Chaos"})
	if _, err := s.api.do(ctx, "POST", "/api/auth/register", "", nil, reg, false, nil); err != nil && statusOf(err) != http.StatusConflict {
		// A lost answer: the account may exist; logging in tells.
		s.t.add("register error")
	}
	login, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := s.api.do(ctx, "POST", "/api/auth/login", "", nil, login, true, &tok); err != nil {
		return err
	}
	s.token = tok.AccessToken
	return nil
}

// journey is one visit that ends in an order (or a refusal).
func (s *shopper) journey(ctx context.Context) {
	if _, err := s.api.do(ctx, "GET", "/api/products?limit=20", "", nil, nil, true, nil); err != nil {
		s.t.add("browse error")
	}
	if _, err := s.api.do(ctx, "GET", "/api/products?search=chaos&limit=10", "", nil, nil, true, nil); err != nil {
		s.t.add("search error")
	}
	p := s.products[s.rng.IntN(len(s.products))]
	if _, err := s.api.do(ctx, "GET", "/api/cart", s.token, nil, nil, true, nil); err != nil {
		s.t.add("cart error")
	}
	items := []map[string]any{{"product_id": p, "quantity": 1 + s.rng.IntN(2)}}
	if s.rng.IntN(3) == 0 {
		items = append(items, map[string]any{"product_id": s.lowStock[s.rng.IntN(len(s.lowStock))], "quantity": 1})
	}
	body, _ := json.Marshal(map[string]any{
		"items":    items,
		"shipping": map[string]string{"name": "Chaos Shopper", "line1": "1 Main St", "city": "Los Angeles", "region": "CA", "postal_code": "90001", "country": "US"},
	})
	key := fmt.Sprintf("chaos-%d-%d", s.n, s.rng.Int64())
	var o order
	_, err := s.api.do(ctx, "POST", "/api/orders", s.token, map[string]string{"Idempotency-Key": key}, body, true, &o)
	switch st := statusOf(err); {
	case err == nil:
	case st == http.StatusUnauthorized:
		s.t.add("token expired")
		s.token = ""
		return
	case st >= 400 && st < 500:
		s.t.add("order refused (out of stock)")
		return
	default:
		s.t.add("order not answered")
		return
	}
	id := int64(o.ID)
	s.t.accepted(id)
	switch r := s.rng.IntN(20); {
	case r < 14:
		s.pay(ctx, id, o.PaymentIntentID, "payment_intent.succeeded")
	case r < 16:
		s.pay(ctx, id, o.PaymentIntentID, "payment_intent.payment_failed")
	case r < 18:
		path := fmt.Sprintf("/api/orders/%d/cancel", id)
		if _, err := s.api.do(ctx, "POST", path, s.token, nil, []byte(`{}`), true, nil); err != nil {
			s.t.add("cancel error")
		} else {
			s.t.add("cancelled")
		}
	default:
		s.t.add("abandoned (awaiting payment)")
	}
}

// pay plays Stripe: a signed event about the order's PaymentIntent, for
// the amount the shop asked Stripe for, redelivered until acknowledged.
func (s *shopper) pay(ctx context.Context, orderID int64, piID, typ string) {
	pi, ok := s.stripe.Intent(piID)
	if !ok {
		s.t.add("no PaymentIntent in the answer")
		return
	}
	ev := payments.FakeEvent{Type: typ, OrderID: orderID, PaymentIntentID: pi.ID, Amount: pi.Amount, Currency: pi.Currency}
	for {
		body, sig, err := ev.Signed(s.secret, time.Now())
		if err != nil {
			s.t.add("sign error")
			return
		}
		_, err = s.api.do(ctx, "POST", "/webhooks/stripe", "", map[string]string{"Stripe-Signature": sig}, body, true, nil)
		if err == nil {
			if typ == "payment_intent.succeeded" {
				s.t.paid(orderID)
			}
			s.t.add(typ)
			return
		}
		if ctx.Err() != nil || statusOf(err) == http.StatusBadRequest {
			s.t.add("webhook refused")
			return
		}
		// Stripe redelivers (same event id) until it gets a 2xx.
		ev.ID = eventID(body)
	}
}

func eventID(body []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &e)
	return e.ID
}

// runTraffic runs n shoppers until ctx ends.
func runTraffic(ctx context.Context, n int, run string, api *apiClient, stripe *stripeProxy, secret string, products, lowStock []int64, t *tally) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &shopper{n: i, api: api, stripe: stripe, secret: secret, products: products, lowStock: lowStock, t: t,
				rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
			for ctx.Err() == nil {
				if s.token == "" {
					if err := s.signIn(ctx, run); err != nil {
						s.t.add("sign-in error")
						select {
						case <-ctx.Done():
						case <-time.After(time.Second):
						}
						continue
					}
				}
				s.journey(ctx)
			}
		}()
	}
	return &wg
}
