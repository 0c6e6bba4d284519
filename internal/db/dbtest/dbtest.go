// Package dbtest gives each test a fresh, migrated PostgreSQL database.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/migrations"
)

// DefaultURL is where `make test` starts PostgreSQL.
const DefaultURL = "postgres://shop:shop@127.0.0.1:5432/shop_test?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL is the test server's URL from TEST_DATABASE_URL; only its
// host and credentials matter, each test gets a database of its own.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New returns a pool on a new database with every migration applied,
// dropped when the test ends. Migrations run once per test binary into a
// template that each database is cloned from.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin := connect(t, withDB(ServerURL(), "postgres"))
	defer admin.Close(ctx)

	templateOnce.Do(func() { templateName, templateErr = buildTemplate(ctx, admin) })
	if templateErr != nil {
		t.Fatalf("dbtest: migrating the template database: %v", templateErr)
	}
	name := "shop_t_" + randomHex(6)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	pool, err := db.Open(ctx, withDB(ServerURL(), name), 10)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		c := connect(t, withDB(ServerURL(), "postgres"))
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return pool
}

// URL returns the connection string of the pool's database.
func URL(pool *pgxpool.Pool) string {
	return withDB(ServerURL(), pool.Config().ConnConfig.Database)
}

// buildTemplate creates (once per schema version, shared by test binaries)
// a database named after a hash of the migrations, with all of them applied.
func buildTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	h := sha256.New()
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(migrations.FS, e.Name())
		if err != nil {
			return "", err
		}
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	sum := h.Sum(nil)
	name := "shop_tpl_" + hex.EncodeToString(sum[:6])
	lock := int64(binary.BigEndian.Uint64(sum[:8]))

	// Test binaries run in parallel; one builds, the others wait and reuse.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", lock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	pool, err := db.Open(ctx, withDB(ServerURL(), name), 2)
	if err == nil {
		err = db.Migrate(pool)
		pool.Close()
	}
	if err != nil {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return "", err
	}
	return name, nil
}

func connect(t testing.TB, raw string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), raw)
	if err != nil {
		t.Fatalf("dbtest: PostgreSQL is not reachable at TEST_DATABASE_URL (%s): %v\n"+
			"Start the test services with `make test` (or `deploy/stack.sh up`).", config.Redact(raw), err)
	}
	return c
}

func withDB(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ReplicaURL returns the connection string of the pool's database on the
// test server's streaming replica (TEST_DATABASE_READ_URL), once the
// database has reached it. Without a replica configured the test fails in
// CI (`make test` starts one) and is skipped elsewhere.
func ReplicaURL(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_READ_URL")
	if raw == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("dbtest: TEST_DATABASE_READ_URL is not set; `make test` starts a replica " +
				"(deploy/stack.sh up postgres postgres-replica with DATABASE_READ_URL)")
		}
		t.Skip("TEST_DATABASE_READ_URL is not set (no streaming replica to test against)")
	}
	u := withDB(raw, pool.Config().ConnConfig.Database)
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := pgx.Connect(ctx, u)
		if err == nil {
			_ = c.Close(ctx)
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: the test database did not reach the replica at TEST_DATABASE_READ_URL (%s) within 60s: %v\n"+
				"Start it with `make test` (or deploy/stack.sh up postgres postgres-replica).", config.Redact(raw), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitReplayed waits until the replica at replicaURL has replayed all the
// primary has written so far: a read pool opened then measures it fresh.
func WaitReplayed(t testing.TB, primary *pgxpool.Pool, replicaURL string) {
	t.Helper()
	ctx := context.Background()
	var target string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done bool
		if err := c.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: the replica did not replay %s within 60s (is its replay paused?)", target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Routed answers how many reads db.Pools sent to target for reason so far
// in this process (db_reads_total).
func Routed(t testing.TB, target, reason string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != metrics.Namespace+"_db_reads_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["target"] == target && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// OnReplica answers whether a read under ctx runs on the replica (a
// standby), as the pools route it.
func OnReplica(t testing.TB, ctx context.Context, p *db.Pools) bool {
	t.Helper()
	var standby bool
	err := p.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		return pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
	})
	if err != nil {
		t.Fatalf("read through the pools: %v", err)
	}
	return standby
}
