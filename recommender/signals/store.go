package signals

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/recommender"
)

var (
	// ErrNoSnapshot: no stored snapshot has that id.
	ErrNoSnapshot = errors.New("signals: no such snapshot")
	// ErrUnreadable: the stored snapshot does not decode.
	ErrUnreadable = errors.New("signals: unreadable snapshot")
)

// columns is a snapshot's interactions column by column: gob writes the
// integer columns as varints, a third of the size of the structs.
type columns struct {
	Users, Items []int64
	Kinds        []uint8
	Weights      []float64
	At           []int64 // Unix nanoseconds
	Catalog      []recommender.Item
	Purchases    int
	Views, Carts int
	TakenAt      time.Time
}

// Save stores s under id (table recommender_snapshots) once: saving the
// same id again keeps the first, so a retried step cannot change the data
// the others already used.
func Save(ctx context.Context, pool *pgxpool.Pool, id string, s Snapshot) error {
	c := columns{Catalog: s.Items, Purchases: s.Purchases, Views: s.Views, Carts: s.Carts, TakenAt: s.TakenAt}
	n := len(s.Interactions)
	c.Users, c.Items, c.Kinds, c.Weights, c.At = make([]int64, n), make([]int64, n), make([]uint8, n), make([]float64, n), make([]int64, n)
	for i, in := range s.Interactions {
		c.Users[i], c.Items[i], c.Kinds[i], c.Weights[i], c.At[i] = in.UserID, in.ItemID, uint8(in.Kind), in.Weight, in.At.UnixNano()
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&c); err != nil {
		return fmt.Errorf("signals: encode snapshot: %w", err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO recommender_snapshots (id, taken_at, interactions, items, data)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, id, s.TakenAt, n, len(s.Items), b.Bytes())
	if err != nil {
		return fmt.Errorf("signals: save snapshot: %w", err)
	}
	return nil
}

// Load reads the snapshot stored under id.
func Load(ctx context.Context, pool *pgxpool.Pool, id string) (Snapshot, error) {
	var data []byte
	err := pool.QueryRow(ctx, `SELECT data FROM recommender_snapshots WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("%w %q", ErrNoSnapshot, id)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("signals: load snapshot: %w", err)
	}
	var c columns
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
		return Snapshot{}, fmt.Errorf("%w %q: %v", ErrUnreadable, id, err)
	}
	s := Snapshot{Items: c.Catalog, Purchases: c.Purchases, Views: c.Views, Carts: c.Carts, TakenAt: c.TakenAt,
		Interactions: make([]recommender.Interaction, len(c.Users))}
	for i := range s.Interactions {
		s.Interactions[i] = recommender.Interaction{UserID: c.Users[i], ItemID: c.Items[i], Kind: recommender.Kind(c.Kinds[i]),
			Weight: c.Weights[i], At: time.Unix(0, c.At[i]).UTC()}
	}
	return s, nil
}

// Prune deletes all but the keep newest snapshots.
func Prune(ctx context.Context, pool *pgxpool.Pool, keep int) (int64, error) {
	tag, err := pool.Exec(ctx, `DELETE FROM recommender_snapshots WHERE id NOT IN
		(SELECT id FROM recommender_snapshots ORDER BY created_at DESC, id DESC LIMIT $1)`, keep)
	if err != nil {
		return 0, fmt.Errorf("signals: prune snapshots: %w", err)
	}
	return tag.RowsAffected(), nil
}
