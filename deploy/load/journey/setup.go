package journey

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/sync/errgroup"
)

// Product is the part of the API's product a journey needs.
type Product struct {
	ID         Int    `json:"id"`
	Name       string `json:"name"`
	Brand      string `json:"brand"`
	CategoryID Int    `json:"category_id"`
	Stock      int    `json:"stock_quantity"`
	Active     bool   `json:"active"`
	Variants   []any  `json:"variants"`
	Price      Money  `json:"price_money"`
}

// Catalog is what the journeys pick from: products, categories and search
// queries made from the catalog's own words (some with a typo).
type Catalog struct {
	Products    []Product
	CategoryIDs []int64
	Queries     []string
	// Checkout products: active, without variants, restocked by Restock.
	Checkout []int64
}

// Discover reads the whole active catalog and builds the search queries.
func Discover(ctx context.Context, c *Client) (*Catalog, error) {
	cat := &Catalog{}
	for skip := 0; ; skip += 100 {
		var page struct {
			Products []Product `json:"products"`
			Total    int       `json:"total"`
		}
		err := c.Do(ctx, Request{Endpoint: "setup", Method: http.MethodGet,
			Path: "/api/products?limit=100&skip=" + strconv.Itoa(skip)}, &page)
		if err != nil {
			return nil, err
		}
		cat.Products = append(cat.Products, page.Products...)
		if len(page.Products) == 0 || len(cat.Products) >= page.Total {
			break
		}
	}
	if len(cat.Products) == 0 {
		return nil, errors.New("the catalog is empty: run `make run` (it seeds the demo catalog)")
	}
	var cats struct {
		Categories []struct {
			ID Int `json:"id"`
		} `json:"categories"`
	}
	if err := c.Do(ctx, Request{Endpoint: "setup", Method: http.MethodGet, Path: "/api/categories"}, &cats); err != nil {
		return nil, err
	}
	for _, x := range cats.Categories {
		cat.CategoryIDs = append(cat.CategoryIDs, int64(x.ID))
	}
	cat.Queries = Queries(cat.Products, rand.New(rand.NewPCG(1, 2)))
	for _, p := range cat.Products {
		if p.Active && len(p.Variants) == 0 {
			cat.Checkout = append(cat.Checkout, int64(p.ID))
		}
	}
	return cat, nil
}

// Queries makes search queries from product names and brands: single words,
// word pairs, and words of five letters or more with one typo (the search
// tolerates a typo from that length on).
func Queries(products []Product, r *rand.Rand) []string {
	seen := map[string]bool{}
	var out []string
	add := func(q string) {
		q = strings.ToLower(strings.TrimSpace(q))
		if q != "" && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for _, p := range products {
		words := strings.FieldsFunc(p.Name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		words = slices.DeleteFunc(words, func(w string) bool { return len(w) < 4 })
		if len(words) == 0 {
			continue
		}
		add(words[len(words)-1])
		if len(words) > 1 {
			add(words[len(words)-2] + " " + words[len(words)-1])
		}
		if p.Brand != "" {
			add(p.Brand)
		}
		if w := words[r.IntN(len(words))]; len(w) >= 5 {
			add(Typo(w, r))
		}
	}
	return out
}

// Typo swaps two neighbouring letters of word or drops one, never the first.
func Typo(word string, r *rand.Rand) string {
	rs := []rune(word)
	if len(rs) < 3 {
		return word
	}
	i := 1 + r.IntN(len(rs)-2)
	if r.IntN(2) == 0 {
		rs[i], rs[i+1] = rs[i+1], rs[i]
		return string(rs)
	}
	return string(append(rs[:i:i], rs[i+1:]...))
}

// Login returns an access token.
func Login(ctx context.Context, c *Client, username, password string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := c.Do(ctx, Request{Endpoint: "POST /api/auth/login", Method: http.MethodPost, Path: "/api/auth/login",
		Body: map[string]string{"username": username, "password": password}}, &out)
	return out.AccessToken, err
}

// Restock raises each product's stock to at least min units with the admin
// stock API (POST /api/products/{id}/stock), so that checkouts under load
// do not run the catalog dry.
func Restock(ctx context.Context, c *Client, adminToken string, cat *Catalog, ids []int64, minStock int) error {
	stock := map[int64]int{}
	for _, p := range cat.Products {
		stock[int64(p.ID)] = p.Stock
	}
	for _, id := range ids {
		delta := minStock - stock[id]
		if delta <= 0 {
			continue
		}
		err := c.Do(ctx, Request{Endpoint: "setup", Method: http.MethodPost, Path: fmt.Sprintf("/api/products/%d/stock", id),
			Token: adminToken, Body: map[string]any{"delta": delta, "reason": "load test restock"}}, nil)
		if err != nil {
			return fmt.Errorf("restocking product %d: %w", id, err)
		}
	}
	return nil
}

// Customer is a signed-in shopper of the pool.
type Customer struct {
	Username string
	Token    string
}

// Pool lends customers to journeys one at a time, so that two concurrent
// journeys never share a cart.
type Pool struct {
	free chan *Customer
	all  []*Customer
}

// NewPool signs in n customers named prefix-0 … prefix-(n-1), registering
// the ones that do not exist yet (so repeated runs reuse them). Passwords
// are hashed with argon2id, so this takes a moment; parallel caps the
// concurrent registrations. A customer refused with 429 (the API's login
// and auth rate limits) is left out; NewPool fails only when none signed in.
func NewPool(ctx context.Context, c *Client, prefix, password string, n, parallel int) (*Pool, error) {
	p := &Pool{free: make(chan *Customer, n), all: make([]*Customer, n)}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	var mu sync.Mutex
	var limited error
	for i := range n {
		g.Go(func() error {
			name := fmt.Sprintf("%s-%d", prefix, i)
			tok, err := Login(ctx, c, name, password)
			var se *StatusError
			if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
				err = c.Do(ctx, Request{Endpoint: "POST /api/auth/register", Method: http.MethodPost, Path: "/api/auth/register",
					Body: map[string]string{"username": name, "email": name + "@load.shop.local", "password": password,
						"first_name": "Load", "last_name": "Tester"}}, nil)
				if err == nil {
					tok, err = Login(ctx, c, name, password)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case IsRateLimited(err):
				limited = fmt.Errorf("customer %s: %w", name, err)
			case err != nil:
				return fmt.Errorf("customer %s: %w", name, err)
			default:
				p.all[i] = &Customer{Username: name, Token: tok}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	p.all = slices.DeleteFunc(p.all, func(c *Customer) bool { return c == nil })
	if len(p.all) == 0 {
		return nil, limited
	}
	for _, cu := range p.all {
		p.free <- cu
	}
	return p, nil
}

// Size is the number of customers.
func (p *Pool) Size() int { return len(p.all) }

// Acquire waits for a free customer; Release gives it back.
func (p *Pool) Acquire(ctx context.Context) (*Customer, error) {
	select {
	case c := <-p.free:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Release returns c to the pool.
func (p *Pool) Release(c *Customer) { p.free <- c }

// Any returns a customer without taking it (for calls that never touch the
// cart, such as placing an order with explicit items).
func (p *Pool) Any(r *rand.Rand) *Customer { return p.all[r.IntN(len(p.all))] }
