// Package payments talks to Stripe (PaymentIntents, refunds, webhook events)
// and keeps the ledger of webhook events already processed.
package payments

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v82"

	"github.com/shopkit/shop/internal/telemetry"
)

// ErrAlreadySucceeded means a PaymentIntent could not be cancelled because
// the customer's payment went through first.
var ErrAlreadySucceeded = errors.New("payment intent already succeeded")

// Stripe is the part of the Stripe API the shop uses.
type Stripe struct {
	c *stripe.Client
}

// NewStripe returns a client of the Stripe API at apiBase (stripe-mock
// locally). Retries are left to the workflows, where they are visible.
func NewStripe(secretKey, apiBase string, hc *http.Client) *Stripe {
	if hc == nil {
		hc = &http.Client{Transport: telemetry.HTTPTransport(nil)}
	}
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimRight(apiBase, "/")),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
	return &Stripe{c: stripe.NewClient(secretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))}
}

// PaymentIntentRequest is a charge to prepare for an order.
type PaymentIntentRequest struct {
	OrderID        int64
	Amount         int64
	Currency       string
	CustomerEmail  string
	IdempotencyKey string
}

// PaymentIntent is what the shop keeps of one.
type PaymentIntent struct {
	ID string
	// ClientSecret lets the shopper's browser confirm the payment. It is
	// never serialized, so it cannot reach a workflow history, a query or a
	// log; the API reads it from Stripe when it answers the shopper.
	ClientSecret string `json:"-"`
	Status       string
}

// CreatePaymentIntent prepares the charge. The idempotency key makes a
// retried call return the PaymentIntent the first call created.
func (s *Stripe) CreatePaymentIntent(ctx context.Context, r PaymentIntentRequest) (PaymentIntent, error) {
	p := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(r.Amount),
		Currency:           stripe.String(strings.ToLower(r.Currency)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Description:        stripe.String(fmt.Sprintf("Order %d", r.OrderID)),
	}
	if r.CustomerEmail != "" {
		p.ReceiptEmail = stripe.String(r.CustomerEmail)
	}
	p.AddMetadata("order_id", strconv.FormatInt(r.OrderID, 10))
	p.SetIdempotencyKey(r.IdempotencyKey)
	pi, err := s.c.V1PaymentIntents.Create(ctx, p)
	if err != nil {
		return PaymentIntent{}, fmt.Errorf("stripe: create payment intent: %w", err)
	}
	return PaymentIntent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status)}, nil
}

// GetPaymentIntent reads a PaymentIntent.
func (s *Stripe) GetPaymentIntent(ctx context.Context, id string) (PaymentIntent, error) {
	pi, err := s.c.V1PaymentIntents.Retrieve(ctx, id, nil)
	if err != nil {
		return PaymentIntent{}, fmt.Errorf("stripe: retrieve payment intent %s: %w", id, err)
	}
	return PaymentIntent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status)}, nil
}

// CancelPaymentIntent cancels an unpaid PaymentIntent; ErrAlreadySucceeded
// when the payment went through before the cancel.
func (s *Stripe) CancelPaymentIntent(ctx context.Context, id, reason, idempotencyKey string) error {
	p := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(reason)}
	p.SetIdempotencyKey(idempotencyKey)
	_, err := s.c.V1PaymentIntents.Cancel(ctx, id, p)
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState {
		pi, rerr := s.c.V1PaymentIntents.Retrieve(ctx, id, nil)
		if rerr != nil {
			return fmt.Errorf("stripe: retrieve payment intent %s: %w", id, rerr)
		}
		switch pi.Status {
		case stripe.PaymentIntentStatusSucceeded:
			return ErrAlreadySucceeded
		case stripe.PaymentIntentStatusCanceled:
			return nil
		}
	}
	return fmt.Errorf("stripe: cancel payment intent %s: %w", id, err)
}

// RefundRequest returns money of a paid PaymentIntent.
type RefundRequest struct {
	PaymentIntentID string
	Amount          int64
	RefundID        int64
	OrderID         int64
	IdempotencyKey  string
}

// Refund asks Stripe to return the money and answers Stripe's refund id.
func (s *Stripe) Refund(ctx context.Context, r RefundRequest) (string, error) {
	p := &stripe.RefundCreateParams{
		PaymentIntent: stripe.String(r.PaymentIntentID),
		Amount:        stripe.Int64(r.Amount),
	}
	p.AddMetadata("order_id", strconv.FormatInt(r.OrderID, 10))
	p.AddMetadata("refund_id", strconv.FormatInt(r.RefundID, 10))
	p.SetIdempotencyKey(r.IdempotencyKey)
	rf, err := s.c.V1Refunds.Create(ctx, p)
	if err != nil {
		return "", fmt.Errorf("stripe: refund %d: %w", r.RefundID, err)
	}
	if rf.Status == stripe.RefundStatusFailed || rf.Status == stripe.RefundStatusCanceled {
		return "", fmt.Errorf("stripe: refund %d: %w: status %s", r.RefundID, ErrRefused, rf.Status)
	}
	return rf.ID, nil
}

// Describe is a one-line account of a failed Stripe call for staff:
// Stripe's own message, code and request id, never its raw JSON.
func Describe(err error) string {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg := cmp.Or(se.Msg, string(se.Type), "error "+strconv.Itoa(se.HTTPStatusCode))
	var extra []string
	if se.Code != "" {
		extra = append(extra, "code "+string(se.Code))
	}
	if se.DeclineCode != "" {
		extra = append(extra, "decline code "+string(se.DeclineCode))
	}
	if se.RequestID != "" {
		extra = append(extra, "request "+se.RequestID)
	}
	if len(extra) > 0 {
		msg += " (" + strings.Join(extra, ", ") + ")"
	}
	return "Stripe: " + msg
}

// ErrRefused marks an answer from Stripe that retrying the same request
// cannot change (bad request, card error, refund failed).
var ErrRefused = errors.New("refused by Stripe")

// Permanent reports whether err is Stripe refusing the request for good,
// rather than a network fault, rate limit or Stripe outage worth retrying.
func Permanent(err error) bool {
	if errors.Is(err, ErrRefused) {
		return true
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		return false
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return true
	case se.HTTPStatusCode == http.StatusConflict || se.HTTPStatusCode == http.StatusTooManyRequests:
		return false
	case se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500:
		return true
	}
	return false
}
