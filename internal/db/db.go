// Package db opens PostgreSQL pools and applies the embedded migrations.
package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/migrations"
)

// Open connects a pool and checks the server answers.
func Open(ctx context.Context, databaseURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := poolConfig(databaseURL, maxConns)
	if err != nil {
		return nil, fmt.Errorf("db: parse DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: ping %s: %w", config.Redact(databaseURL), err)
	}
	return pool, nil
}

// poolConfig holds the settings every pool shares (primary and replica).
func poolConfig(databaseURL string, maxConns int32) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// A span per query (with its SQL, never its arguments) in the caller's trace.
	cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	return cfg, nil
}

// Migrator applies the embedded migrations to the database behind pool.
type Migrator struct{ m *migrate.Migrate }

// NewMigrator prepares migrations for the pool's database.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	// The advisory lock golang-migrate takes makes concurrent starts safe.
	drv, err := pgxmigrate.WithInstance(sqlDB, &pgxmigrate.Config{})
	if err != nil {
		return nil, fmt.Errorf("db: migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	return &Migrator{m: m}, nil
}

// Up applies every pending migration.
func (g *Migrator) Up() error {
	if err := g.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("db: migrate up: %w", err)
	}
	return nil
}

// Down reverts the given number of migrations (all when steps <= 0).
func (g *Migrator) Down(steps int) error {
	var err error
	if steps <= 0 {
		err = g.m.Down()
	} else {
		err = g.m.Steps(-steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("db: migrate down: %w", err)
	}
	return nil
}

// Version reports the applied version; dirty means a migration failed halfway.
func (g *Migrator) Version() (version uint, dirty bool, err error) {
	version, dirty, err = g.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return version, dirty, err
}

// Close releases the connection the migrator holds; the pool cannot close
// before it.
func (g *Migrator) Close() error {
	srcErr, dbErr := g.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Migrate opens a migrator and applies every pending migration.
func Migrate(pool *pgxpool.Pool) error {
	g, err := NewMigrator(pool)
	if err != nil {
		return err
	}
	defer g.Close()
	return g.Up()
}

// Unavailable reports whether err means the database could not be reached
// or dropped the connection (rather than refusing the statement): the same
// request can succeed once it is back.
func Unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08 connection exceptions; 57P01-57P03 shutting down or
		// starting up.
		return pgerrcode.IsConnectionException(pe.Code) || pe.Code == pgerrcode.AdminShutdown ||
			pe.Code == pgerrcode.CrashShutdown || pe.Code == pgerrcode.CannotConnectNow
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, net.ErrClosed) || pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) // the statement never reached the server (its connection was gone)
}
