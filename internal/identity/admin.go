package identity

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/validation"
)

// ListUsers returns a page of accounts, oldest first, and the total.
func (s *Service) ListUsers(ctx context.Context, skip, limit int32) ([]User, int32, error) {
	if skip < 0 {
		return nil, 0, validation.New("skip", "must not be negative")
	}
	if limit < 0 || limit > 100 {
		return nil, 0, validation.New("limit", "must be between 1 and 100")
	}
	if limit == 0 {
		limit = 50
	}
	var total int32
	if err := s.pool.QueryRow(ctx, `SELECT LEAST(count(*), 2147483647)::int FROM users`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("identity: count users: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY id LIMIT $1 OFFSET $2`, limit, skip)
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	return users, total, err
}

// SetRole lets the admin actorID change a user's role, and ends the user's
// sessions, so tokens carrying the old role stop working. It refuses to leave
// the shop without an active admin (ErrLastAdmin), whoever is demoted.
//
// Every active admin's row is locked first, in id order, so concurrent role
// changes run one after the other (without deadlocks) and each sees the
// admins the previous one left. Two admins demoting each other at once cannot
// both succeed: the second finds its own actor demoted (ErrInvalidToken: the
// demotion ended its session) or its target the last admin.
func (s *Service) SetRole(ctx context.Context, actorID, userID int64, role Role) (User, error) {
	if !role.Valid() {
		return User{}, validation.New("role", "must be customer, staff or admin")
	}
	var u User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// FOR NO KEY UPDATE excludes other role changes but not the key-share
		// locks that inserting an admin's refresh token takes, so logins and
		// refreshes are not held up.
		rows, err := tx.Query(ctx, `SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR NO KEY UPDATE`)
		if err != nil {
			return fmt.Errorf("identity: lock admins: %w", err)
		}
		admins, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("identity: lock admins: %w", err)
		}
		if !slices.Contains(admins, actorID) {
			return fmt.Errorf("%w: no longer an active admin", ErrInvalidToken)
		}
		if role != RoleAdmin && len(admins) == 1 && admins[0] == userID {
			return ErrLastAdmin
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1`, userID, role)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if _, err := revokeAll(ctx, tx, userID); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		return err
	})
	return u, err
}
