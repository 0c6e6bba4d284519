package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/metrics"
)

// ShipmentScanner hands a carrier scan to the parcel's shipment.
type ShipmentScanner interface {
	ScanByTracking(ctx context.Context, carrier, trackingNumber string, scan fulfilment.Scan) error
}

// carrierWebhook is POST /webhooks/carrier: it verifies the signature and
// hands the scan to the parcel's shipment. Carriers retry any non-2xx
// answer, so only what a redelivery can fix is answered 503: a bad
// signature or an unreadable event is refused (400), and a scan of no
// parcel of the shop, or one its shipment no longer takes, is acknowledged
// and ignored. A replayed event needs no check here: the scan is stored
// once per event id downstream, so its second hand-off changes nothing.
type carrierWebhook struct {
	secret    string
	shipments ShipmentScanner
	log       *slog.Logger
}

func (h *carrierWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	typ, result := "", "" // the scan's status once read; result when not told by the answer's code
	defer func() { metrics.Webhook("carrier", typ, cmp.Or(result, metrics.WebhookResult(rec.status, false))) }()
	if h.secret == "" || h.shipments == nil {
		carrierAnswer(w, http.StatusServiceUnavailable, "message", "carrier tracking is not configured")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		carrierAnswer(w, http.StatusBadRequest, "message", "unreadable or too large body")
		return
	}
	if err := carrier.Verify(body, r.Header.Get(carrier.SignatureHeader), h.secret, time.Now()); err != nil {
		h.log.WarnContext(r.Context(), "carrier webhook refused", "error", err)
		carrierAnswer(w, http.StatusBadRequest, "message", "invalid "+carrier.SignatureHeader)
		return
	}
	// Signed, so redelivering the same bytes cannot help: refused and
	// logged as an error.
	ev, err := carrier.ParseEvent(body)
	if err != nil {
		h.log.ErrorContext(r.Context(), "carrier event unreadable; refused", "error", err)
		carrierAnswer(w, http.StatusBadRequest, "message", "unreadable event: "+err.Error())
		return
	}
	typ = ev.Data.Status
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	log := h.log.With("event", ev.ID, "carrier", ev.Data.Carrier, "tracking_number", ev.Data.TrackingNumber,
		"status", ev.Data.Status)
	err = h.shipments.ScanByTracking(ctx, ev.Data.Carrier, ev.Data.TrackingNumber, ev.Scan())
	switch {
	case errors.Is(err, fulfilment.ErrNotFound):
		log.WarnContext(ctx, "carrier scan of no shipment of this shop; ignored")
		result = "ignored"
		carrierAnswer(w, http.StatusOK, "ignored", "no shipment has this tracking number")
	case errors.Is(err, fulfilment.ErrWrongState):
		log.InfoContext(ctx, "carrier scan the shipment does not take now; ignored", "error", err)
		result = "ignored"
		carrierAnswer(w, http.StatusOK, "ignored", "the shipment does not take this scan now")
	case err != nil:
		log.ErrorContext(ctx, "carrier scan not handed to the shipment", "error", err)
		carrierAnswer(w, http.StatusServiceUnavailable, "message", "try again")
	default:
		log.InfoContext(ctx, "carrier scan handed to the shipment")
		carrierAnswer(w, http.StatusOK, "", "")
	}
}

// carrierAnswer answers {"received": …} and, when key is set, key: msg.
func carrierAnswer(w http.ResponseWriter, code int, key, msg string) {
	answer := map[string]any{"received": code == http.StatusOK}
	if key != "" {
		answer[key] = msg
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(answer)
}
