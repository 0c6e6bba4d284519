package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workflows/searchsync"
)

// runReindex starts the zero-downtime rebuild of the Elasticsearch index.
func runReindex(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	batch := fs.Int("batch-size", 500, "products per bulk request")
	wait := fs.Bool("wait", true, "wait for the reindex to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := searchsync.StartReindex(ctx, tc, cfg.TemporalTaskQueue, "", *batch)
	if err != nil {
		return fmt.Errorf("start reindex: %w", err)
	}
	fmt.Printf("reindex started: %s\n", workflowURL(cfg.TemporalUIURL, cfg.TemporalNamespace, run.GetID()))
	if !*wait {
		return nil
	}
	var p searchsync.ReindexProgress
	if err := run.Get(ctx, &p); err != nil {
		return fmt.Errorf("reindex failed: %w", err)
	}
	fmt.Printf("alias %s now serves %s (replaced %v)\n", cfg.SearchAlias, p.Index, p.Previous)
	return nil
}
