package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	catalogact "github.com/shopkit/shop/activities/catalog"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workflows/catalogimport"
)

func runSeed(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	return importCatalog(ctx, cfg, log, "seed", catalogact.DemoSource, args)
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
