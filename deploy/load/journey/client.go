// Package journey drives the shop's HTTP API the way shoppers do: browsing,
// searching, filling a cart and checking out (placing an order and paying it
// through a signed Stripe webhook). Each journey is a function of an *Env and
// a random source, and every HTTP call it makes is reported to a Recorder,
// so a load test, a chaos run or a smoke test can reuse the same journeys
// with their own bookkeeping.
package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Call is one HTTP request a journey made.
type Call struct {
	Endpoint string // a route template, e.g. "GET /api/products/{id}"
	Start    time.Time
	Latency  time.Duration
	Status   int   // 0 when no answer came
	Err      error // transport error or unexpected status
}

// Outcome classifies a call: an answer in 2xx, a rate-limit refusal (429,
// expected when the API's limits are not raised) or an error.
type Outcome int

const (
	OK Outcome = iota
	RateLimited
	Failed
)

// Outcome of the call.
func (c Call) Outcome() Outcome {
	switch {
	case c.Status == http.StatusTooManyRequests:
		return RateLimited
	case c.Err == nil && c.Status >= 200 && c.Status < 300:
		return OK
	default:
		return Failed
	}
}

// Recorder receives every call; it must be safe for concurrent use.
type Recorder interface {
	Record(Call)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(Call)

// Record calls f.
func (f RecorderFunc) Record(c Call) { f(c) }

// StatusError is a call answered with a status the journey did not expect.
type StatusError struct {
	Endpoint string
	Status   int
	Body     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Endpoint, e.Status, e.Body)
}

// IsRateLimited reports whether err is a 429 answer.
func IsRateLimited(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusTooManyRequests
}

// Client calls one API base URL and reports each call.
type Client struct {
	Base string // e.g. http://localhost:8000
	HTTP *http.Client
	Rec  Recorder // nil: calls are not recorded
}

// NewClient returns a client with a connection pool sized for workers
// concurrent callers.
func NewClient(base string, workers int, rec Recorder) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = workers * 4
	tr.MaxIdleConnsPerHost = workers * 4
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}, Rec: rec}
}

// Request describes one call.
type Request struct {
	Endpoint string // the name it is recorded under
	Method   string
	Path     string // with the query string
	Token    string // bearer token, if any
	Body     any    // marshalled as JSON; []byte is sent as is
	Header   http.Header
}

// Do sends req and decodes a 2xx JSON answer into out (when not nil). Any
// other status is a *StatusError.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	var body io.Reader
	if req.Body != nil {
		b, ok := req.Body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(req.Body); err != nil {
				return err
			}
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, c.Base+req.Path, body)
	if err != nil {
		return err
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	if req.Body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	call := Call{Endpoint: req.Endpoint, Start: time.Now()}
	res, err := c.HTTP.Do(hr)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
		call.Status = res.StatusCode
	}
	call.Latency = time.Since(call.Start)
	if err == nil && (call.Status < 200 || call.Status > 299) {
		err = &StatusError{Endpoint: req.Endpoint, Status: call.Status, Body: snippet(data)}
	}
	if err == nil && out != nil {
		if jerr := json.Unmarshal(data, out); jerr != nil {
			err = fmt.Errorf("%s: decoding the answer: %w", req.Endpoint, jerr)
		}
	}
	call.Err = err
	if c.Rec != nil && ctx.Err() == nil {
		c.Rec.Record(call)
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Int is an int64 that reads both JSON numbers and strings (proto3 JSON
// writes 64-bit integers as strings).
type Int int64

// UnmarshalJSON accepts 12 and "12".
func (n *Int) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	*n = Int(v)
	return err
}

// Money is the API's amount in minor units plus currency.
type Money struct {
	AmountMinor Int    `json:"amount_minor"`
	Currency    string `json:"currency"`
}
