package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
)

// runStripe is `shop stripe trigger EVENT --order ID`: like Stripe's CLI, it
// sends a correctly signed event about the order's PaymentIntent to the
// webhook, so the whole payment path can be driven locally.
func runStripe(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	if len(args) < 2 || args[0] != "trigger" {
		return errors.New("usage: shop stripe trigger EVENT --order ID [--event-id evt_...] [--url URL]\nevents: " +
			fmt.Sprint(payments.TriggerTypes))
	}
	fs := flag.NewFlagSet("stripe trigger", flag.ContinueOnError)
	orderID := fs.Int64("order", 0, "the order the event is about")
	eventID := fs.String("event-id", "", "event id (repeat one to test duplicate delivery)")
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	url := fs.String("url", "http://127.0.0.1:"+port+"/webhooks/stripe", "the webhook endpoint")
	message := fs.String("message", "", "failure message of payment_intent.payment_failed")
	// The event may come before or after the flags.
	event, rest := args[1], args[2:]
	if strings.HasPrefix(event, "-") {
		event, rest = "", args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if event == "" {
		event = fs.Arg(0)
	}
	if *orderID <= 0 || event == "" {
		return errors.New("usage: shop stripe trigger EVENT --order ID")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	o, err := orders.NewStore(pool, nil, nil, orders.Settings{}).Get(ctx, *orderID)
	if err != nil {
		return err
	}
	ev, err := payments.OrderEvent(event, o)
	if err != nil {
		return err
	}
	ev.ID, ev.FailureMessage = *eventID, *message
	req, err := ev.WebhookRequest(ctx, *url, cfg.StripeWebhookSecret, time.Now())
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	fmt.Fprintf(os.Stdout, "%s for order %d (%s): %s %s", event, o.ID, ev.PaymentIntentID, res.Status, answer)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook answered %s", res.Status)
	}
	return nil
}

// runMailsink is `shop mailsink [DIR]`: a local SMTP server on SMTP_ADDR
// that keeps every email it receives as an .eml file.
func runMailsink(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	dir := ".data/mail"
	if len(args) > 0 {
		dir = args[0]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return mail.RunSink(ctx, cfg.SMTPAddr, dir, log)
}
