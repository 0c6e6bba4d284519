package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/address"
)

const addressColumns = `id, kind, full_name, line1, line2, city, region, postal_code, country, phone, is_default`

func scanAddress(row pgx.Row) (Address, error) {
	var a Address
	err := row.Scan(&a.ID, &a.Kind, &a.FullName, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode,
		&a.Country, &a.Phone, &a.IsDefault)
	if errors.Is(err, pgx.ErrNoRows) {
		return Address{}, ErrNotFound
	}
	return a, err
}

// ListAddresses returns the user's addresses, defaults first.
func (s *Service) ListAddresses(ctx context.Context, userID int64) ([]Address, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+addressColumns+` FROM addresses WHERE user_id = $1
		ORDER BY kind, is_default DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("identity: list addresses: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Address, error) { return scanAddress(r) })
}

// checkAddress validates an address-book entry as an order's shipping
// address is validated (address.Normalize), so ordering with it can be
// taxed by it, and stores it in the normal form: country and region codes,
// national postal code format, the region filled in from the postal code.
func (a *Address) checkAddress() error {
	if err := a.normalize(); err != nil {
		return err
	}
	n, err := address.Normalize(a.Postal(), "", address.Full)
	if err != nil {
		return err
	}
	a.FullName, a.Line1, a.Line2, a.City = n.Name, n.Line1, n.Line2, n.City
	a.Region, a.PostalCode, a.Country, a.Phone = n.Region, n.PostalCode, n.Country, n.Phone
	return nil
}

// AddAddress stores a new address. The first of its kind becomes the
// default; one marked default takes that place from the previous one.
func (s *Service) AddAddress(ctx context.Context, userID int64, a Address) (Address, error) {
	if err := a.checkAddress(); err != nil {
		return Address{}, err
	}
	var out Address
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialise address-book writes of one user so "one default" holds.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		var hasDefault bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND kind = $2 AND is_default)`,
			userID, a.Kind).Scan(&hasDefault); err != nil {
			return err
		}
		if a.IsDefault && hasDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE user_id = $1 AND kind = $2 AND is_default`, userID, a.Kind); err != nil {
				return err
			}
		}
		var err error
		out, err = scanAddress(tx.QueryRow(ctx, `INSERT INTO addresses
			(user_id, kind, full_name, line1, line2, city, region, postal_code, country, phone, is_default)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+addressColumns,
			userID, a.Kind, a.FullName, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone,
			a.IsDefault || !hasDefault))
		return err
	})
	if err != nil {
		return Address{}, fmt.Errorf("identity: add address: %w", err)
	}
	return out, nil
}

// UpdateAddress replaces an address of the user's. Clearing the default flag
// of the default address is ignored: each kind keeps one default.
func (s *Service) UpdateAddress(ctx context.Context, userID int64, a Address) (Address, error) {
	if err := a.checkAddress(); err != nil {
		return Address{}, err
	}
	var out Address
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		cur, err := scanAddress(tx.QueryRow(ctx, `SELECT `+addressColumns+` FROM addresses WHERE id = $1 AND user_id = $2`, a.ID, userID))
		if err != nil {
			return err
		}
		makeDefault := a.IsDefault || (cur.IsDefault && cur.Kind == a.Kind)
		if makeDefault {
			if _, err := tx.Exec(ctx, `UPDATE addresses SET is_default = false WHERE user_id = $1 AND kind = $2 AND is_default AND id <> $3`,
				userID, a.Kind, a.ID); err != nil {
				return err
			}
		}
		out, err = scanAddress(tx.QueryRow(ctx, `UPDATE addresses SET kind = $3, full_name = $4, line1 = $5, line2 = $6,
			city = $7, region = $8, postal_code = $9, country = $10, phone = $11, is_default = $12, updated_at = now()
			WHERE id = $1 AND user_id = $2 RETURNING `+addressColumns,
			a.ID, userID, a.Kind, a.FullName, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone, makeDefault))
		if err != nil {
			return err
		}
		if cur.IsDefault && cur.Kind != a.Kind {
			return promoteDefault(ctx, tx, userID, cur.Kind)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Address{}, fmt.Errorf("identity: update address: %w", err)
	}
	return out, err
}

// DeleteAddress removes an address of the user's; when it was the default,
// the newest remaining address of its kind takes over.
func (s *Service) DeleteAddress(ctx context.Context, userID, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		cur, err := scanAddress(tx.QueryRow(ctx, `DELETE FROM addresses WHERE id = $1 AND user_id = $2 RETURNING `+addressColumns, id, userID))
		if err != nil {
			return err
		}
		if cur.IsDefault {
			return promoteDefault(ctx, tx, userID, cur.Kind)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("identity: delete address: %w", err)
	}
	return err
}

func promoteDefault(ctx context.Context, tx pgx.Tx, userID int64, kind AddressKind) error {
	_, err := tx.Exec(ctx, `UPDATE addresses SET is_default = true WHERE id = (
		SELECT id FROM addresses WHERE user_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1)
		AND NOT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND kind = $2 AND is_default)`, userID, kind)
	return err
}
