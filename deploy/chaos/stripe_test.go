package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// The proxy counts what Stripe would have created: a retry with the same
// Idempotency-Key is a replay, another key is a second PaymentIntent.
func TestStripeProxyCountsCreations(t *testing.T) {
	var n atomic.Int64
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": fmt.Sprintf("pi_%d", n.Add(1)), "object": "payment_intent"})
	}))
	defer stripe.Close()
	p, err := startStripeProxy(stripe.URL)
	require.NoError(t, err)
	defer p.Close()
	create := func(key string) string {
		form := url.Values{"amount": {"1000"}, "currency": {"usd"}, "metadata[order_id]": {"42"}}
		req, err := http.NewRequest(http.MethodPost, p.URL()+"/v1/payment_intents", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var pi struct{ ID string }
		require.NoError(t, json.NewDecoder(res.Body).Decode(&pi))
		return pi.ID
	}
	first := create("checkout-42/payment-intent")
	require.Equal(t, first, create("checkout-42/payment-intent"), "a retry answers the same PaymentIntent")
	c := p.Counts()
	require.Len(t, c.Creations[42], 1)
	require.Equal(t, 1, c.Replays)
	require.Equal(t, createdIntent{ID: first, OrderID: 42, Amount: 1000, Currency: "usd", Key: "checkout-42/payment-intent"}, c.Creations[42][0])

	create("another-key")
	require.Len(t, p.Counts().Creations[42], 2, "a second key is a second PaymentIntent")
}
