// Package testenv connects tests to the real services `make test` starts.
// A missing service fails the test with how to start it; nothing skips.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/telemetry"
)

const hint = "start the test services with `make test` (or `deploy/stack.sh up`)"

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TemporalAddress is the dev server the tests use.
func TemporalAddress() string { return env("TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233") }

// TemporalNamespace keeps test workflows apart from `make run`'s when both
// use one dev server (`make test` sets shop-test).
func TemporalNamespace() string { return env("TEST_TEMPORAL_NAMESPACE", "default") }

// ElasticsearchURL is the Elasticsearch node the tests use.
func ElasticsearchURL() string { return env("TEST_ELASTICSEARCH_URL", "http://127.0.0.1:9200") }

// RedisURL is the Redis the tests use (database 15, away from `make run`'s).
func RedisURL() string { return env("TEST_REDIS_URL", "redis://127.0.0.1:6379/15") }

// Temporal returns a client of the dev server, closed when the test ends.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	// Traced and measured like the shop's own clients (spans go to the
	// global tracer provider, a no-op unless a test installs one).
	tracing, err := telemetry.TemporalInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: TemporalAddress(), Namespace: TemporalNamespace(), Logger: quietLogger{},
		Interceptors: []interceptor.ClientInterceptor{tracing}, MetricsHandler: metrics.TemporalMetrics()})
	if err != nil {
		t.Fatalf("Temporal is not reachable at TEST_TEMPORAL_ADDRESS=%s (namespace %s): %v; %s", TemporalAddress(), TemporalNamespace(), err, hint)
	}
	t.Cleanup(c.Close)
	return c
}

// Redis returns a client, closed when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is not reachable at TEST_REDIS_URL=%s: %v; %s", RedisURL(), err, hint)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RequireElasticsearch fails the test unless the node answers.
func RequireElasticsearch(t testing.TB) string {
	t.Helper()
	u := ElasticsearchURL()
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("Elasticsearch is not reachable at TEST_ELASTICSEARCH_URL=%s: %v; %s", u, err, hint)
	}
	_ = res.Body.Close()
	return u
}

// UniqueName returns prefix plus a random suffix, for task queues and indexes.
func UniqueName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
