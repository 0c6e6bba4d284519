// Package modelstore keeps trained recommendation models in PostgreSQL
// (table recommender_models): a model is saved as a candidate, published
// live (the previous live one retires), rejected, or rolled back to. The
// Watcher keeps the live model in memory and swaps it on publish.
package modelstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/recommender"
)

// Channel is the NOTIFY channel a publish signals, with the version as payload.
const Channel = "recommender_model"

// Statuses of a stored model.
const (
	Candidate = "candidate"
	Live      = "live"
	Rejected  = "rejected"
	Retired   = "retired"
)

var (
	// ErrNoLive: no model was published yet.
	ErrNoLive = errors.New("no model trained yet: run shop recommender train")
	// ErrNotFound: no model has that version.
	ErrNotFound = errors.New("modelstore: no such model version")
	// ErrLiveChanged: another model went live since the caller looked.
	ErrLiveChanged = errors.New("modelstore: the live model changed")
	// ErrPinned: an operator's rollback pinned the live model.
	ErrPinned = errors.New("modelstore: the live model is pinned by a rollback (shop recommender unpin)")
)

// Store reads and writes recommender_models.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Info describes a stored model without its bytes.
type Info struct {
	Version   string
	CreatedAt time.Time
	Status    string
	Metrics   map[string]float64
	Report    string
	SizeBytes int64
}

// newVersion is sortable by time and unique: 20261130T095855Z-3fa1c2.
func newVersion(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Save stores m as a candidate with report and answers its version.
func (s *Store) Save(ctx context.Context, m *recommender.Model, report string) (string, error) {
	v := newVersion(time.Now())
	return v, s.SaveVersion(ctx, v, m, report)
}

// SaveVersion stores m as a candidate under a version the caller chose;
// saving a version that exists already keeps the first (a retried
// training step stores its model once).
func (s *Store) SaveVersion(ctx context.Context, version string, m *recommender.Model, report string) error {
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	metrics, err := json.Marshal(m.Version.Metrics)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO recommender_models (version, status, metrics, report, data, size_bytes)
		VALUES ($1, 'candidate', $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING`, version, metrics, report, data, len(data))
	if err != nil {
		return fmt.Errorf("modelstore: save: %w", err)
	}
	return nil
}

// Load loads one version's model.
func (s *Store) Load(ctx context.Context, version string) (*recommender.Model, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM recommender_models WHERE version = $1`, version).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, version)
	}
	if err != nil {
		return nil, fmt.Errorf("modelstore: load: %w", err)
	}
	m, err := recommender.Load(data)
	if err != nil {
		return nil, fmt.Errorf("modelstore: load %s: %w", version, err)
	}
	return m, nil
}

// Publish makes version live in one transaction: the live model retires,
// then listeners hear the new version (NOTIFY is delivered on commit).
// The new live model is not pinned.
func (s *Store) Publish(ctx context.Context, version string) error {
	return s.publish(ctx, version, nil, false)
}

// PublishReplacing publishes version only while expected is still the live
// model ("" for none) and is not pinned: a retraining judged its candidate
// against expected, and must not replace a model published or rolled back
// since. It answers ErrLiveChanged or ErrPinned otherwise.
func (s *Store) PublishReplacing(ctx context.Context, version, expected string) error {
	return s.publish(ctx, version, &expected, false)
}

// Rollback makes an older version live again and pins it, so the nightly
// retraining leaves it alone until Unpin.
func (s *Store) Rollback(ctx context.Context, version string) error {
	return s.publish(ctx, version, nil, true)
}

// Unpin lets the retraining replace the live model again.
func (s *Store) Unpin(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `UPDATE recommender_models SET pinned = false, updated_at = now() WHERE pinned`); err != nil {
		return fmt.Errorf("modelstore: unpin: %w", err)
	}
	return nil
}

func (s *Store) publish(ctx context.Context, version string, expected *string, pin bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The live row first, always in this order, so that two publishes
		// queue up instead of deadlocking.
		var live string
		var pinned bool
		err := tx.QueryRow(ctx, `SELECT version, pinned FROM recommender_models WHERE status = 'live' FOR UPDATE`).Scan(&live, &pinned)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("modelstore: publish: %w", err)
		}
		if expected != nil && live != *expected {
			return fmt.Errorf("%w: %q is live, not %q", ErrLiveChanged, live, *expected)
		}
		if expected != nil && pinned {
			return fmt.Errorf("%w: %q", ErrPinned, live)
		}
		var status string
		err = tx.QueryRow(ctx, `SELECT status FROM recommender_models WHERE version = $1 FOR UPDATE`, version).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w %q", ErrNotFound, version)
		}
		if err != nil {
			return fmt.Errorf("modelstore: publish: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE recommender_models SET status = 'retired', pinned = false, updated_at = now()
			WHERE status = 'live' AND version <> $1`, version); err != nil {
			return fmt.Errorf("modelstore: publish: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE recommender_models SET status = 'live', pinned = $2, updated_at = now() WHERE version = $1`, version, pin); err != nil {
			return fmt.Errorf("modelstore: publish: %w", err)
		}
		if status == Live {
			return nil // already live (a retried publish, or pinning the live model)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, version); err != nil {
			return fmt.Errorf("modelstore: publish: %w", err)
		}
		return nil
	})
}

// LiveInfo answers the live version and whether it is pinned, or ErrNoLive.
func (s *Store) LiveInfo(ctx context.Context) (version string, pinned bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT version, pinned FROM recommender_models WHERE status = 'live'`).Scan(&version, &pinned)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, ErrNoLive
	}
	if err != nil {
		return "", false, fmt.Errorf("modelstore: live: %w", err)
	}
	return version, pinned, nil
}

// Exists reports whether version is stored.
func (s *Store) Exists(ctx context.Context, version string) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM recommender_models WHERE version = $1)`, version).Scan(&ok); err != nil {
		return false, fmt.Errorf("modelstore: exists: %w", err)
	}
	return ok, nil
}

// Reject marks a candidate rejected and records why; a live model cannot
// be rejected (publish another first).
func (s *Store) Reject(ctx context.Context, version, why string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE recommender_models SET status = 'rejected', report = report || $2, updated_at = now()
		WHERE version = $1 AND status <> 'live'`, version, "\nrejected: "+why)
	if err != nil {
		return fmt.Errorf("modelstore: reject: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w %q (or it is live)", ErrNotFound, version)
	}
	return nil
}

// LiveVersion answers the live version, or ErrNoLive.
func (s *Store) LiveVersion(ctx context.Context) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT version FROM recommender_models WHERE status = 'live'`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNoLive
	}
	if err != nil {
		return "", fmt.Errorf("modelstore: live: %w", err)
	}
	return v, nil
}

// Live loads the live model, or answers ErrNoLive.
func (s *Store) Live(ctx context.Context) (string, *recommender.Model, error) {
	var v string
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT version, data FROM recommender_models WHERE status = 'live'`).Scan(&v, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, ErrNoLive
	}
	if err != nil {
		return "", nil, fmt.Errorf("modelstore: live: %w", err)
	}
	m, err := recommender.Load(data)
	if err != nil {
		return "", nil, fmt.Errorf("modelstore: live %s: %w", v, err)
	}
	return v, m, nil
}

// Get describes one version.
func (s *Store) Get(ctx context.Context, version string) (Info, error) {
	var in Info
	err := s.pool.QueryRow(ctx, `SELECT version, created_at, status, metrics, report, size_bytes
		FROM recommender_models WHERE version = $1`, version).
		Scan(&in.Version, &in.CreatedAt, &in.Status, &in.Metrics, &in.Report, &in.SizeBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, fmt.Errorf("%w %q", ErrNotFound, version)
	}
	if err != nil {
		return in, fmt.Errorf("modelstore: get: %w", err)
	}
	return in, nil
}
