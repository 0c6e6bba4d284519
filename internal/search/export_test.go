package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MappingVersion identifies the index settings and mapping, so that a
// benchmark keeps an index only as long as they are unchanged.
func MappingVersion() string {
	sum := sha256.Sum256([]byte(indexSettings))
	return hex.EncodeToString(sum[:4])
}

// ExplainPostgres returns the plan of Search's statement for q, run with
// EXPLAIN (ANALYZE, BUFFERS).
func ExplainPostgres(ctx context.Context, pool *pgxpool.Pool, q Query) (string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, setThreshold, strconv.FormatFloat(trigramThreshold, 'f', -1, 64)); err != nil {
		return "", err
	}
	sql, args := pgSearch(q)
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// CreateIndexAs creates an index behind alias as an older version with
// fingerprint would have.
func (e *Elastic) CreateIndexAs(ctx context.Context, name, alias, fingerprint string) error {
	return e.createIndexAs(ctx, name, alias, fingerprint)
}
