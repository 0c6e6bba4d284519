package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	catalogact "github.com/shopkit/shop/activities/catalog"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/demohistory"
	"github.com/shopkit/shop/internal/demoimages"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workflows/catalogimport"
	imageswf "github.com/shopkit/shop/workflows/images"
)

// runSeed imports the demo catalog, gives its products without an image a
// generated picture, then (once) a demo past for it: shoppers, their
// browsing and their delivered orders, so recommendations and sales figures
// have something to show on a fresh store.
func runSeed(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	batch := fs.Int("batch-size", 50, "products per activity")
	pictures := fs.Bool("images", true, "also give each demo product without an image a generated picture")
	history := fs.Bool("history", true, "also write a demo past (shoppers, browsing, delivered orders), once")
	customers := fs.Int("history-customers", 150, "demo shoppers in that past")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := importCatalog(ctx, cfg, log, "seed", catalogact.DemoSource, []string{"-batch-size", strconv.Itoa(*batch)}); err != nil {
		return err
	}
	if !*pictures && !*history {
		return nil
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Pictures are decoration: a store without a usable image store (a
	// container with no writable IMAGE_STORE_DIR, say) still gets its
	// catalogue and its past.
	if *pictures {
		if err := seedImages(ctx, cfg, log, pool); err != nil {
			log.Warn("demo pictures skipped", "error", err)
		}
	}
	if !*history {
		return nil
	}
	sum, err := demohistory.Generate(ctx, pool, demohistory.Options{Customers: *customers, Seed: 1})
	switch {
	case err != nil:
		return err
	case sum.Skipped:
		fmt.Println("demo history: already there")
	default:
		fmt.Printf("demo history: %d shoppers, %d delivered orders, %d behaviour events over 90 days\n",
			sum.Customers, sum.Orders, sum.Events)
	}
	return nil
}

// seedImages gives each demo product without an image its generated
// picture, stored and processed (by the worker's ProcessProductImage
// workflow) as an upload is.
func seedImages(ctx context.Context, cfg *config.Config, log *slog.Logger, pool *pgxpool.Pool) error {
	objects, err := openImageStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()
	products, err := demoimages.Products()
	if err != nil {
		return err
	}
	svc := images.Service{Store: images.NewStore(pool), Objects: objects, Limits: imageLimits(cfg),
		Flows: imageswf.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue}}
	n, err := demoimages.Seed(ctx, svc, products)
	if err != nil {
		return fmt.Errorf("demo pictures: %w", err)
	}
	if n == 0 {
		fmt.Println("demo pictures: every demo product has an image already")
	} else {
		fmt.Printf("demo pictures: %d added; the worker makes their variants\n", n)
	}
	return nil
}

func runImport(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return fmt.Errorf("usage: shop import FILE [-batch-size N] [-wait=false]")
	}
	// The worker reads the file, so hand it an absolute path.
	path, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	return importCatalog(ctx, cfg, log, "import", path, args[1:])
}

func importCatalog(ctx context.Context, cfg *config.Config, log *slog.Logger, name, source string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	batch := fs.Int("batch-size", 50, "products per activity")
	wait := fs.Bool("wait", true, "wait for the import to finish and print its summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := catalogimport.Start(ctx, tc, cfg.TemporalTaskQueue, source, *batch)
	if err != nil {
		return fmt.Errorf("start import: %w", err)
	}
	fmt.Printf("catalog import started: workflow %s run %s\n  %s\n",
		run.GetID(), run.GetRunID(), workflowURL(cfg.TemporalUIURL, cfg.TemporalNamespace, run.GetID()))
	if !*wait {
		return nil
	}
	var p catalogimport.Progress
	if err := run.Get(ctx, &p); err != nil {
		return fmt.Errorf("import failed: %w", err)
	}
	fmt.Printf("imported %d rows: %d new, %d updated, %d unchanged, %d rejected\n",
		p.Processed, p.Inserted, p.Updated, p.Unchanged, p.Failed)
	for _, e := range p.Errors {
		fmt.Printf("  row %d: %s\n", e.Row, e.Reason)
	}
	return nil
}

// workflowURL is the Temporal UI's page of a workflow. The namespace and the
// workflow id are path segments, escaped: an import's workflow id holds the
// file's path, with its slashes and whatever else the file name has (spaces,
// '#', '?', '%').
func workflowURL(uiURL, namespace, workflowID string) string {
	return strings.TrimRight(uiURL, "/") + "/namespaces/" + url.PathEscape(namespace) +
		"/workflows/" + url.PathEscape(workflowID)
}
