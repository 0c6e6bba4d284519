// Command shop is the whole platform in one binary:
//
//	shop api          serve the Connect/gRPC/REST API (:8000)
//	shop worker       run the Temporal workflows and activities
//	shop migrate      up | down [N] | version
//	shop seed         import the bundled demo catalog through a workflow
//	shop import FILE  import a JSON or CSV catalog file through a workflow
//	shop reindex      rebuild the Elasticsearch index with no downtime
//	shop outbox       what the cache and search index still have to apply
//	shop user create  create an account, e.g. the first admin
//	shop stripe trigger EVENT --order ID   send a signed Stripe event to the webhook
//	shop carrier trigger STATUS --tracking NUMBER   send a signed carrier tracking event to the webhook
//	shop mailsink     a local SMTP server that keeps what it receives
//	shop recommender  serve recommendations (and the API) on RECOMMENDER_ADDR (:8001)
//	shop recommender train | rollback VERSION   train and publish a model; make an older one live
//	shop analytics backfill --from DATE --to DATE   rebuild the sales rollups of a range
//	shop recommender evaluate --interactions FILE.csv   offline evaluation of the recommenders
//
// Configuration comes from the environment; see .env.example.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/telemetry"
)

type command struct {
	run   func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error
	usage string
}

var commands = map[string]command{
	"api":         {runAPI, "serve the API"},
	"worker":      {runWorker, "run the Temporal worker"},
	"migrate":     {runMigrate, "up | down [N] | version: apply or revert schema migrations"},
	"seed":        {runSeed, "import the bundled demo catalog (200+ products)"},
	"import":      {runImport, "FILE [-batch-size N]: import a JSON or CSV catalog file"},
	"reindex":     {runReindex, "[-batch-size N]: rebuild the Elasticsearch index behind its alias, no downtime"},
	"outbox":      {runOutbox, "[status | retry [CONSUMER]]: pending side effects per consumer; requeue parked ones"},
	"user":        {runUser, "create -username U -email E [-role admin]: create an account (password on stdin)"},
	"stripe":      {runStripe, "trigger EVENT --order ID: send a signed Stripe event (payment_intent.succeeded, ...) to the webhook"},
	"carrier":     {runCarrier, "trigger STATUS --tracking NUMBER: send a signed carrier tracking event (in_transit, delivered, ...) to the webhook"},
	"mailsink":    {runMailsink, "[DIR]: a local SMTP server on SMTP_ADDR storing each email as an .eml file"},
	"analytics":   {runAnalytics, "backfill --from DATE --to DATE: rebuild the sales analytics rollups of a range (a workflow)"},
	"recommender": {runRecommender, "[serve] | train | rollback VERSION | evaluate --interactions FILE.csv: serve recommendations on RECOMMENDER_ADDR (:8001), train and publish a model, roll back, evaluate offline"},
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]].run == nil {
		usage()
		os.Exit(2)
	}
	cmd := commands[os.Args[1]]
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := telemetry.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat).With("cmd", os.Args[1])
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Traces (and the trace ids on log lines) of every command; the
	// recommender serves its metrics where RECOMMENDER_METRICS_ADDR says.
	tracing, err := telemetry.SetupTracing(ctx, "shop-"+os.Args[1], log)
	if err != nil {
		log.Error("exiting", "error", err)
		os.Exit(1)
	}
	if os.Args[1] == "recommender" {
		cfg.MetricsAddr = cfg.RecommenderMetricsAddr
	}
	err = cmd.run(ctx, cfg, log, os.Args[2:])
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if ferr := tracing.Shutdown(flush); ferr != nil {
		log.Warn("spans not flushed", "error", ferr)
	}
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("exiting", "error", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: shop <command> [args]\n\ncommands:")
	for _, name := range []string{"api", "worker", "migrate", "seed", "import", "reindex", "user", "stripe", "carrier", "mailsink", "recommender", "analytics"} {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, commands[name].usage)
	}
}
