package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/temporalclient"
	analyticswf "github.com/shopkit/shop/workflows/analytics"
)

func analyticsStoreOf(pool *pgxpool.Pool, cfg *config.Config) *analytics.Store {
	return analytics.NewStore(pool, analytics.Config{MaxRange: cfg.AnalyticsMaxRange, CloseAfter: cfg.AnalyticsCloseAfter})
}

// parseDay reads 2024-01-31 (midnight UTC) or an RFC 3339 time.
func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// runAnalytics: `shop analytics backfill --from 2024-01-01 --to 2024-02-01`
// rebuilds the rollups of the closed hours of [from, to) through the
// AnalyticsBackfill workflow and follows its progress.
func runAnalytics(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "backfill" {
		return errors.New("usage: shop analytics backfill --from DATE --to DATE [--wait=false]")
	}
	fs := flag.NewFlagSet("analytics backfill", flag.ContinueOnError)
	fromS := fs.String("from", "", "first day (2024-01-01, UTC) or RFC 3339 hour")
	toS := fs.String("to", "", "day after the last (2024-02-01, UTC) or RFC 3339 hour")
	wait := fs.Bool("wait", true, "follow the progress until it ends")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	from, err := parseDay(*fromS)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := parseDay(*toS)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := analyticswf.StartBackfill(ctx, tc, cfg.TemporalTaskQueue,
		analyticswf.BackfillInput{From: from, To: to, CloseAfter: cfg.AnalyticsCloseAfter})
	if err != nil {
		return fmt.Errorf("start backfill: %w", err)
	}
	fmt.Printf("backfill started: %s\n", workflowURL(cfg.TemporalUIURL, cfg.TemporalNamespace, run.GetID()))
	if !*wait {
		return nil
	}
	done := make(chan error, 1)
	var p analyticswf.Progress
	go func() { done <- run.Get(ctx, &p) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("backfill failed: %w", err)
			}
			fmt.Printf("rolled %d hours, %s..%s\n", p.HoursRolled, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
			return nil
		case <-tick.C:
			v, err := tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), analyticswf.ProgressQuery)
			if err != nil {
				continue
			}
			var q analyticswf.Progress
			if v.Get(&q) == nil && q.HoursTotal > 0 {
				fmt.Printf("  %d/%d hours\n", q.HoursRolled, q.HoursTotal)
			}
		}
	}
}
