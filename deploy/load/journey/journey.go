package journey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/shopkit/shop/internal/payments"
)

// The Connect procedures the journeys call besides REST routes.
const (
	GetProductProcedure     = "/shop.catalog.v1.CatalogService/GetProduct"
	SearchProductsProcedure = "/shop.catalog.v1.CatalogService/SearchProducts"
)

// Env is what journeys share: the client, the catalog, the customers and
// the webhook secret that signs Stripe events.
type Env struct {
	Client        *Client
	Catalog       *Catalog
	Customers     *Pool
	WebhookSecret string // STRIPE_WEBHOOK_SECRET of the API under test
	// PayTimeout bounds the wait for an order to turn paid (default 30 s).
	PayTimeout time.Duration
	// OnCheckout, when set, receives every checkout that placed an order.
	OnCheckout func(CheckoutResult)
}

func (e *Env) product(r *mrand.Rand) Product {
	return e.Catalog.Products[r.IntN(len(e.Catalog.Products))]
}

// Browse lists products (a page of a category half of the time), opens two
// products and lists the categories.
func (e *Env) Browse(ctx context.Context, r *mrand.Rand) error {
	path := "/api/products?limit=20"
	if len(e.Catalog.CategoryIDs) > 0 && r.IntN(2) == 0 {
		path += fmt.Sprintf("&category_id=%d", e.Catalog.CategoryIDs[r.IntN(len(e.Catalog.CategoryIDs))])
	}
	if err := e.Client.Do(ctx, Request{Endpoint: "GET /api/products", Method: http.MethodGet, Path: path}, nil); err != nil {
		return err
	}
	for range 2 {
		if err := e.GetProductREST(ctx, int64(e.product(r).ID)); err != nil {
			return err
		}
	}
	return e.Client.Do(ctx, Request{Endpoint: "GET /api/categories", Method: http.MethodGet, Path: "/api/categories"}, nil)
}

// GetProductREST is GET /api/products/{id}.
func (e *Env) GetProductREST(ctx context.Context, id int64) error {
	return e.Client.Do(ctx, Request{Endpoint: "GET /api/products/{id}", Method: http.MethodGet,
		Path: fmt.Sprintf("/api/products/%d", id)}, nil)
}

// GetProductConnect is the GetProduct RPC over Connect JSON.
func (e *Env) GetProductConnect(ctx context.Context, id int64) error {
	return e.Client.Do(ctx, Request{Endpoint: "POST CatalogService/GetProduct", Method: http.MethodPost,
		Path: GetProductProcedure, Body: map[string]int64{"product_id": id}}, nil)
}

// Search runs the simple listing search (GET /api/products?search=) and the
// search RPC (Connect JSON) with a query from the catalog, then opens a hit.
func (e *Env) Search(ctx context.Context, r *mrand.Rand) error {
	q := e.Catalog.Queries[r.IntN(len(e.Catalog.Queries))]
	err := e.Client.Do(ctx, Request{Endpoint: "GET /api/products?search=", Method: http.MethodGet,
		Path: "/api/products?limit=20&search=" + url.QueryEscape(q)}, nil)
	if err != nil {
		return err
	}
	var res struct {
		Hits []struct {
			Product Product `json:"product"`
		} `json:"hits"`
	}
	err = e.Client.Do(ctx, Request{Endpoint: "POST CatalogService/SearchProducts", Method: http.MethodPost,
		Path: SearchProductsProcedure, Body: map[string]any{"q": q, "limit": 10}}, &res)
	if err != nil || len(res.Hits) == 0 {
		return err
	}
	return e.GetProductREST(ctx, int64(res.Hits[r.IntN(len(res.Hits))].Product.ID))
}

type cartAnswer struct {
	Lines []struct {
		ItemID    Int `json:"item_id"`
		ProductID Int `json:"product_id"`
	} `json:"lines"`
	Cart *cartAnswer `json:"cart"`
}

func (c *cartAnswer) lines() *cartAnswer {
	if c.Cart != nil {
		return c.Cart
	}
	return c
}

// Cart takes a customer of the pool, adds one or two products to their
// cart, views it, and empties it again so carts stay small across a run.
func (e *Env) Cart(ctx context.Context, r *mrand.Rand) error {
	cu, err := e.Customers.Acquire(ctx)
	if err != nil {
		return err
	}
	defer e.Customers.Release(cu)
	for range 1 + r.IntN(2) {
		id := e.Catalog.Checkout[r.IntN(len(e.Catalog.Checkout))]
		err := e.Client.Do(ctx, Request{Endpoint: "POST /api/cart/items", Method: http.MethodPost, Path: "/api/cart/items",
			Token: cu.Token, Body: map[string]any{"product_id": id, "quantity": 1 + r.IntN(2)}}, nil)
		if err != nil {
			return err
		}
	}
	var cart cartAnswer
	if err := e.Client.Do(ctx, Request{Endpoint: "GET /api/cart", Method: http.MethodGet, Path: "/api/cart", Token: cu.Token}, &cart); err != nil {
		return err
	}
	for _, l := range cart.lines().Lines {
		err := e.Client.Do(ctx, Request{Endpoint: "DELETE /api/cart/items/{id}", Method: http.MethodDelete,
			Path: fmt.Sprintf("/api/cart/items/%d", l.ItemID), Token: cu.Token}, nil)
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckoutResult is one placed order.
type CheckoutResult struct {
	OrderID int64
	Start   time.Time
	// Placed is the time to the answer of POST /api/orders, which comes once
	// the checkout workflow has reserved the stock (status awaiting_payment).
	Placed time.Duration
	// Paid is the time from the start until the order was seen paid (zero
	// when it was not).
	Paid time.Duration
}

// Order is the part of the API's order a journey reads.
type Order struct {
	ID              Int    `json:"id"`
	Status          string `json:"status"`
	PaymentIntentID string `json:"payment_intent_id"`
	PaidAt          string `json:"paid_at"`
	Totals          struct {
		Total Money `json:"total"`
	} `json:"totals"`
}

// IsPaid reports whether the order has been paid (whatever came after).
func (o Order) IsPaid() bool {
	return o.PaidAt != "" || slices.Contains([]string{"paid", "partially_shipped", "shipped", "delivered"}, o.Status)
}

// ErrNotPaid is a checkout whose order did not turn paid within PayTimeout.
var ErrNotPaid = errors.New("the order was not paid in time")

// Checkout places an order of one or two products, pays it by sending
// Stripe's signed payment_intent.succeeded event to the webhook, and polls
// the order until it is paid.
func (e *Env) Checkout(ctx context.Context, r *mrand.Rand) error {
	_, err := e.PlaceAndPay(ctx, r)
	return err
}

// PlaceAndPay is Checkout returning what it measured.
func (e *Env) PlaceAndPay(ctx context.Context, r *mrand.Rand) (CheckoutResult, error) {
	cu := e.Customers.Any(r)
	items := []map[string]any{}
	for _, i := range r.Perm(len(e.Catalog.Checkout))[:min(1+r.IntN(2), len(e.Catalog.Checkout))] {
		items = append(items, map[string]any{"product_id": e.Catalog.Checkout[i], "quantity": 1})
	}
	key := make([]byte, 12)
	_, _ = rand.Read(key)
	res := CheckoutResult{Start: time.Now()}
	var o Order
	err := e.Client.Do(ctx, Request{Endpoint: "POST /api/orders", Method: http.MethodPost, Path: "/api/orders", Token: cu.Token,
		Header: http.Header{"Idempotency-Key": {"load-" + hex.EncodeToString(key)}},
		Body: map[string]any{"items": items, "shipping_address": "123 Main St, Springfield, CA 90001",
			"payment_method": "credit_card"}}, &o)
	if err != nil {
		return res, err
	}
	res.Placed, res.OrderID = time.Since(res.Start), int64(o.ID)
	defer func() {
		if e.OnCheckout != nil {
			e.OnCheckout(res)
		}
	}()
	if o.Status != "awaiting_payment" || o.PaymentIntentID == "" {
		return res, fmt.Errorf("order %d placed as %q without a PaymentIntent", o.ID, o.Status)
	}
	ev := payments.FakeEvent{Type: "payment_intent.succeeded", OrderID: int64(o.ID), PaymentIntentID: o.PaymentIntentID,
		Amount: int64(o.Totals.Total.AmountMinor), Currency: o.Totals.Total.Currency}
	body, sig, err := ev.Signed(e.WebhookSecret, time.Now())
	if err != nil {
		return res, err
	}
	err = e.Client.Do(ctx, Request{Endpoint: "POST /webhooks/stripe", Method: http.MethodPost, Path: "/webhooks/stripe",
		Body: body, Header: http.Header{"Stripe-Signature": {sig}}}, nil)
	if err != nil {
		return res, err
	}
	timeout := e.PayTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, 500*time.Millisecond) {
		err := e.Client.Do(ctx, Request{Endpoint: "GET /api/orders/{id}", Method: http.MethodGet,
			Path: fmt.Sprintf("/api/orders/%d", o.ID), Token: cu.Token}, &o)
		if err != nil {
			return res, err
		}
		if o.IsPaid() {
			res.Paid = time.Since(res.Start)
			return res, nil
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("order %d: %w (status %s)", o.ID, ErrNotPaid, o.Status)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
	}
}
