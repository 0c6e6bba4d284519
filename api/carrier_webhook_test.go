package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
)

const carrierSecret = "carrier_test_secret"

type scanCall struct {
	Carrier, TrackingNumber string
	Scan                    fulfilment.Scan
}

// scanner records the scans handed to it and answers err; the real one is
// the shipments' workflows.
type scanner struct {
	mu    sync.Mutex
	calls []scanCall
	err   error
}

func (s *scanner) ScanByTracking(_ context.Context, c, tn string, scan fulfilment.Scan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, scanCall{c, tn, scan})
	return s.err
}

func (s *scanner) answer(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *scanner) taken() []scanCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scanCall(nil), s.calls...)
}

// carrierServer serves the API with only what the carrier webhook needs.
func carrierServer(t *testing.T, secret string, scans api.ShipmentScanner) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, err := api.NewHandler(api.Deps{Logger: slog.New(slog.NewTextHandler(logs, nil)),
		CarrierWebhookSecret: secret, Shipments: scans})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/carrier", logs
}

func trackingEvent(id, tn, status string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id": %q, "type": "tracking.updated", "created": %d, "data": {"carrier": "manual",
		"tracking_number": %q, "status": %q, "description": "Arrived at the depot", "occurred_at": %q}}`,
		id, time.Now().Unix(), tn, status, at.Format(time.RFC3339))
}

func postCarrier(t *testing.T, url string, body []byte, sig string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(carrier.SignatureHeader, sig)
	}
	return send(t, req)
}

func TestCarrierWebhookHandsTheScanToTheShipment(t *testing.T) {
	scans := &scanner{}
	url, logs := carrierServer(t, carrierSecret, scans)
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	body := trackingEvent("evt_c1", "1Z999", "in_transit", at)

	code, answer := postCarrier(t, url, body, carrier.Sign(body, carrierSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, answer)
	assert.Equal(t, map[string]any{"received": true}, answer)
	require.Len(t, scans.taken(), 1)
	got := scans.taken()[0]
	assert.Equal(t, "manual", got.Carrier)
	assert.Equal(t, "1Z999", got.TrackingNumber)
	assert.Equal(t, "evt_c1", got.Scan.EventID)
	assert.Equal(t, fulfilment.ScanInTransit, got.Scan.Kind)
	assert.Equal(t, "Arrived at the depot", got.Scan.Description)
	assert.True(t, at.Equal(got.Scan.OccurredAt), got.Scan.OccurredAt)
	assert.NotContains(t, logs.String(), carrierSecret)
}

// Nothing but a correctly signed, fresh event reaches the shipments.
func TestCarrierWebhookRefusesBadSignatures(t *testing.T) {
	scans := &scanner{}
	url, _ := carrierServer(t, carrierSecret, scans)
	body := trackingEvent("evt_c2", "1Z999", "delivered", time.Now())
	valid := carrier.Sign(body, carrierSecret, time.Now())
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"no signature":         {body, ""},
		"forged signature":     {body, carrier.Sign(body, "guessed", time.Now())},
		"tampered body":        {bytes.Replace(body, []byte("1Z999"), []byte("1Z998"), 1), valid},
		"replayed old request": {body, carrier.Sign(body, carrierSecret, time.Now().Add(-carrier.Tolerance-time.Minute))},
		"timestamp future":     {body, carrier.Sign(body, carrierSecret, time.Now().Add(carrier.Tolerance+time.Minute))},
		"malformed header":     {body, "v1=" + strings.Repeat("0", 64)},
		"only a v0 signature":  {body, strings.Replace(valid, "v1=", "v0=", 1)},
	} {
		code, answer := postCarrier(t, url, c.body, c.sig)
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.Equal(t, false, answer["received"], name)
		assert.Contains(t, answer["message"], carrier.SignatureHeader, name)
	}
	assert.Empty(t, scans.taken(), "no refused event is handed on")

	// A clock a little ahead is within the tolerance.
	code, _ := postCarrier(t, url, body, carrier.Sign(body, carrierSecret, time.Now().Add(time.Minute)))
	assert.Equal(t, http.StatusOK, code)
}

func TestCarrierWebhookRefusesUnreadableEvents(t *testing.T) {
	scans := &scanner{}
	url, _ := carrierServer(t, carrierSecret, scans)
	for name, body := range map[string][]byte{
		"not JSON":       []byte(`{"id": "evt_c3", "type": "tracking.upd`),
		"unknown status": trackingEvent("evt_c3", "1Z999", "teleported", time.Now()),
		"no tracking":    trackingEvent("evt_c3", "", "delivered", time.Now()),
	} {
		code, answer := postCarrier(t, url, body, carrier.Sign(body, carrierSecret, time.Now()))
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.Contains(t, answer["message"], "unreadable event", name)
	}
	assert.Empty(t, scans.taken())
}

// A scan the shop has no use for is acknowledged, so the carrier stops
// sending it; a failure on the shop's side is answered 503 to have it again.
func TestCarrierWebhookAnswers(t *testing.T) {
	scans := &scanner{}
	url, logs := carrierServer(t, carrierSecret, scans)
	for _, c := range []struct {
		err     error
		code    int
		ignored bool
	}{
		{fulfilment.ErrNotFound, http.StatusOK, true},
		{fmt.Errorf("shipment 7 is cancelled: %w", fulfilment.ErrWrongState), http.StatusOK, true},
		{orders.ErrUnavailable, http.StatusServiceUnavailable, false},
		{errors.New("connection refused"), http.StatusServiceUnavailable, false},
	} {
		scans.answer(c.err)
		body := trackingEvent("evt_"+c.err.Error(), "UNKNOWN-1", "delivered", time.Now())
		code, answer := postCarrier(t, url, body, carrier.Sign(body, carrierSecret, time.Now()))
		assert.Equal(t, c.code, code, c.err)
		assert.Equal(t, c.code == http.StatusOK, answer["received"], c.err)
		if c.ignored {
			assert.NotEmpty(t, answer["ignored"], c.err)
		} else {
			assert.Nil(t, answer["ignored"], c.err)
		}
	}
	assert.Len(t, scans.taken(), 4)
	assert.Contains(t, logs.String(), "level=WARN msg=\"carrier scan of no shipment of this shop; ignored\"")
	assert.Contains(t, logs.String(), "tracking_number=UNKNOWN-1")
}

func TestCarrierWebhookNotConfigured(t *testing.T) {
	body := trackingEvent("evt_c4", "1Z999", "delivered", time.Now())
	for name, c := range map[string]struct {
		secret string
		scans  api.ShipmentScanner
	}{"no secret": {"", &scanner{}}, "no shipments": {carrierSecret, nil}} {
		url, _ := carrierServer(t, c.secret, c.scans)
		code, answer := postCarrier(t, url, body, carrier.Sign(body, c.secret, time.Now()))
		assert.Equal(t, http.StatusServiceUnavailable, code, name)
		assert.Equal(t, "carrier tracking is not configured", answer["message"], name)
	}
}
