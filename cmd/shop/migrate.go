package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
)

func runMigrate(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: shop migrate up | down [N] | version")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		err = m.Up()
	case "down":
		steps := 1
		if len(args) > 1 {
			if args[1] == "all" {
				steps = 0
			} else if steps, err = strconv.Atoi(args[1]); err != nil || steps < 1 {
				return fmt.Errorf("migrate down: N must be a positive integer or \"all\", got %q", args[1])
			}
		}
		err = m.Down(steps)
	case "version":
	default:
		return fmt.Errorf("migrate: unknown action %q; want up, down or version", args[0])
	}
	if err != nil {
		return err
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	log.Info("schema", "version", v, "dirty", dirty)
	fmt.Printf("schema version %d (dirty=%v)\n", v, dirty)
	return nil
}
