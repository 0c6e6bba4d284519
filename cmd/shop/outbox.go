package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/outbox"
)

// runOutbox shows what each outbox consumer still has to deliver, or
// requeues the events a consumer parked.
func runOutbox(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch {
	case len(args) == 0 || args[0] == "status":
		backlogs, err := outbox.Backlogs(ctx, pool)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "CONSUMER\tPENDING\tPARKED\tOLDEST WAITING")
		for _, b := range backlogs {
			oldest := "-"
			if !b.Oldest.IsZero() {
				oldest = time.Since(b.Oldest).Round(time.Second).String() + " ago"
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", b.Consumer, b.Pending, b.Parked, oldest)
		}
		return w.Flush()
	case args[0] == "retry" && len(args) <= 2:
		consumer := ""
		if len(args) == 2 {
			consumer = args[1]
		}
		n, err := outbox.Requeue(ctx, pool, consumer)
		if err != nil {
			return err
		}
		fmt.Printf("%d parked deliveries requeued\n", n)
		return nil
	}
	return fmt.Errorf("usage: shop outbox [status | retry [CONSUMER]]")
}
