package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/config"
)

var carrierUsage = "usage: shop carrier trigger STATUS --tracking NUMBER [--carrier manual] [--event-id ID] " +
	"[--description TEXT] [--url URL]\nstatuses: " + strings.Join(carrier.Statuses, ", ")

// runCarrier is `shop carrier trigger STATUS --tracking NUMBER`: it plays
// the carrier's part, posting a correctly signed tracking event to the
// webhook, so the tracking path can be driven locally.
func runCarrier(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	ev, url, err := carrierEvent(args, "http://127.0.0.1:"+port+"/webhooks/carrier", time.Now())
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(carrier.SignatureHeader, carrier.Sign(body, cfg.CarrierWebhookSecret, time.Now()))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	fmt.Fprintf(os.Stdout, "%s %s of %s %s (%s): %s %s", ev.Data.Status, ev.ID, ev.Data.Carrier,
		ev.Data.TrackingNumber, url, res.Status, answer)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook answered %s", res.Status)
	}
	return nil
}

// carrierEvent reads `trigger STATUS [flags]` into the event to send and
// the webhook's URL (defaultURL unless --url).
func carrierEvent(args []string, defaultURL string, now time.Time) (carrier.Event, string, error) {
	var ev carrier.Event
	if len(args) < 2 || args[0] != "trigger" {
		return ev, "", errors.New(carrierUsage)
	}
	fs := flag.NewFlagSet("carrier trigger", flag.ContinueOnError)
	tracking := fs.String("tracking", "", "the parcel's tracking number")
	name := fs.String("carrier", carrier.ManualName, "the carrier")
	eventID := fs.String("event-id", "", "event id (repeat one to test duplicate delivery)")
	description := fs.String("description", "", "what the carrier says about the scan")
	url := fs.String("url", defaultURL, "the webhook endpoint")
	// The status may come before or after the flags.
	status, rest := args[1], args[2:]
	if strings.HasPrefix(status, "-") {
		status, rest = "", args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return ev, "", err
	}
	if status == "" {
		status = fs.Arg(0)
	}
	if *tracking == "" || !slices.Contains(carrier.Statuses, status) {
		return ev, "", errors.New(carrierUsage)
	}
	if *eventID == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		*eventID = "evt_" + hex.EncodeToString(b)
	}
	ev = carrier.Event{ID: *eventID, Type: carrier.EventTrackingUpdated, Created: now.Unix(),
		Data: carrier.Tracking{Carrier: *name, TrackingNumber: *tracking, Status: status,
			Description: *description, OccurredAt: now.UTC().Truncate(time.Second)}}
	return ev, *url, nil
}
