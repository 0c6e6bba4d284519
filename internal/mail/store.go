package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status of a row of the emails table.
const (
	StatusSending = "sending" // attempted, not known to be delivered
	StatusSent    = "sent"
	StatusFailed  = "failed" // refused for good; see LastError
)

// ErrNoRecord means no email was ever attempted under a key.
var ErrNoRecord = errors.New("mail: no email with that key")

// Record is the bookkeeping row of one email, keyed by its business event.
type Record struct {
	Key       string
	Kind      string
	OrderID   int64 // 0 when the email is about no order
	Recipient string
	Subject   string
	Status    string
	MessageID string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

const recordColumns = `dedup_key, kind, coalesce(order_id, 0), recipient, subject, status, message_id,
	attempts, last_error, created_at, sent_at`

func scanRecord(row pgx.Row) (Record, error) {
	var r Record
	err := row.Scan(&r.Key, &r.Kind, &r.OrderID, &r.Recipient, &r.Subject, &r.Status, &r.MessageID,
		&r.Attempts, &r.LastError, &r.CreatedAt, &r.SentAt)
	return r, err
}

// BeginAttempt counts an attempt to send the email r.Key and marks it
// 'sending'. A row that is already 'sent' is left as it is and returned: the
// caller must not send it again. Concurrent attempts for one key are not
// serialised here; the email workflow's ID already makes them impossible.
func BeginAttempt(ctx context.Context, pool *pgxpool.Pool, r Record) (Record, error) {
	got, err := scanRecord(pool.QueryRow(ctx, `
		INSERT INTO emails (dedup_key, kind, order_id, recipient, subject, status, attempts)
		VALUES ($1, $2, NULLIF($3::bigint, 0), $4, $5, 'sending', 1)
		ON CONFLICT (dedup_key) DO UPDATE
		   SET status = 'sending', attempts = emails.attempts + 1, kind = EXCLUDED.kind,
		       order_id = EXCLUDED.order_id, recipient = EXCLUDED.recipient, subject = EXCLUDED.subject
		 WHERE emails.status <> 'sent'
		RETURNING `+recordColumns,
		r.Key, r.Kind, r.OrderID, r.Recipient, r.Subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return GetRecord(ctx, pool, r.Key) // the WHERE kept a sent row out
	}
	if err != nil {
		return Record{}, fmt.Errorf("mail: record attempt %q: %w", r.Key, err)
	}
	return got, nil
}

// MarkSent records the delivery of the email key.
func MarkSent(ctx context.Context, pool *pgxpool.Pool, key, messageID string) error {
	return update(ctx, pool, key, `UPDATE emails SET status = 'sent', message_id = $2, sent_at = now()
		WHERE dedup_key = $1`, messageID)
}

// MarkFailed records that the email key can never be sent, and why.
func MarkFailed(ctx context.Context, pool *pgxpool.Pool, key, reason string) error {
	return update(ctx, pool, key, `UPDATE emails SET status = 'failed', last_error = $2
		WHERE dedup_key = $1 AND status <> 'sent'`, reason)
}

// NoteError keeps the reason of a failed attempt that will be retried.
func NoteError(ctx context.Context, pool *pgxpool.Pool, key, reason string) error {
	return update(ctx, pool, key, `UPDATE emails SET last_error = $2 WHERE dedup_key = $1`, reason)
}

func update(ctx context.Context, pool *pgxpool.Pool, key, sql, arg string) error {
	if _, err := pool.Exec(ctx, sql, key, arg); err != nil {
		return fmt.Errorf("mail: update email %q: %w", key, err)
	}
	return nil
}

// GetRecord returns the row of the email key, or ErrNoRecord.
func GetRecord(ctx context.Context, pool *pgxpool.Pool, key string) (Record, error) {
	r, err := scanRecord(pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM emails WHERE dedup_key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, fmt.Errorf("%w: %q", ErrNoRecord, key)
	}
	if err != nil {
		return Record{}, fmt.Errorf("mail: read email %q: %w", key, err)
	}
	return r, nil
}

// ByOrder lists the emails about an order, oldest first.
func ByOrder(ctx context.Context, pool *pgxpool.Pool, orderID int64) ([]Record, error) {
	rows, err := pool.Query(ctx, `SELECT `+recordColumns+` FROM emails WHERE order_id = $1
		ORDER BY created_at, dedup_key`, orderID)
	if err != nil {
		return nil, fmt.Errorf("mail: list emails of order %d: %w", orderID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) { return scanRecord(row) })
}
