package main

import (
	"fmt"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/shopkit/shop/internal/config"
)

// openRedis connects to REDIS_URL (lazily: the first command dials).
func openRedis(cfg *config.Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// Honour per-call deadlines, so a hung Redis costs a read 100 ms, not seconds.
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	// A span per command in the caller's trace.
	if err := redisotel.InstrumentTracing(rdb); err != nil {
		return nil, fmt.Errorf("redis tracing: %w", err)
	}
	return rdb, nil
}
