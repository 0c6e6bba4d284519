package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CategoryDraft is a new or changed category.
type CategoryDraft struct {
	Name        string
	Slug        string // derived from Name when empty
	ParentID    int64  // 0: top level
	Description string
}

func (d *CategoryDraft) validate() error {
	d.Name = strings.TrimSpace(d.Name)
	if err := checkText("name", d.Name, true, 200); err != nil {
		return err
	}
	if d.Slug == "" {
		d.Slug = Slug(d.Name)
	}
	if d.Slug == "" || d.Slug != Slug(d.Slug) {
		return fieldErr("slug", "must be lowercase letters and digits separated by single dashes")
	}
	if d.ParentID < 0 {
		return fieldErr("parent_id", "must not be negative")
	}
	return checkText("description", d.Description, false, 2000)
}

const categoryColumns = `id, name, slug, coalesce(parent_id, 0), description`

func scanCategory(r pgx.Row) (Category, error) {
	var c Category
	err := r.Scan(&c.ID, &c.Name, &c.Slug, &c.ParentID, &c.Description)
	return c, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func slugErr(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation {
		return fieldErr("slug", "is already used by another category")
	}
	return err
}

// CreateCategory adds a category under ParentID.
func (s *Store) CreateCategory(ctx context.Context, d CategoryDraft) (Category, error) {
	if err := d.validate(); err != nil {
		return Category{}, err
	}
	var c Category
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if d.ParentID != 0 {
			if err := s.requireActiveCategory(ctx, tx, d.ParentID, "parent_id"); err != nil {
				return err
			}
		}
		var err error
		c, err = scanCategory(tx.QueryRow(ctx, `INSERT INTO categories (name, slug, parent_id, description)
			VALUES ($1, $2, $3, $4) RETURNING `+categoryColumns, d.Name, d.Slug, nullID(d.ParentID), d.Description))
		return slugErr(err)
	})
	return c, err
}

// UpdateCategory renames or moves a category; a move under its own subtree is refused.
func (s *Store) UpdateCategory(ctx context.Context, id int64, d CategoryDraft) (Category, error) {
	if err := d.validate(); err != nil {
		return Category{}, err
	}
	var c Category
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if d.ParentID != 0 {
			if err := s.requireActiveCategory(ctx, tx, d.ParentID, "parent_id"); err != nil {
				return err
			}
			var cycle bool
			if err := tx.QueryRow(ctx, `WITH RECURSIVE up AS (
				SELECT id, parent_id FROM categories WHERE id = $1
				UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
				SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`, d.ParentID, id).Scan(&cycle); err != nil {
				return err
			}
			if cycle {
				return fieldErr("parent_id", "would put the category inside itself")
			}
		}
		var err error
		c, err = scanCategory(tx.QueryRow(ctx, `UPDATE categories SET name = $2, slug = $3, parent_id = $4,
			description = $5, updated_at = now() WHERE id = $1 AND active RETURNING `+categoryColumns,
			id, d.Name, d.Slug, nullID(d.ParentID), d.Description))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("category %d: %w", id, ErrNotFound)
		}
		return slugErr(err)
	})
	return c, err
}

// ArchiveCategory hides an empty category.
func (s *Store) ArchiveCategory(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var inUse bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE category_id = $1 AND active)
			OR EXISTS (SELECT 1 FROM categories WHERE parent_id = $1 AND active)`, id).Scan(&inUse); err != nil {
			return err
		}
		if inUse {
			return ErrCategoryInUse
		}
		tag, err := tx.Exec(ctx, `UPDATE categories SET active = false, updated_at = now() WHERE id = $1 AND active`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("category %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// ProductIDsUnder lists the products of a category and of every category below it.
func (s *Store) ProductIDsUnder(ctx context.Context, categoryID int64) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE sub AS (
		SELECT id FROM categories WHERE id = $1
		UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id)
		SELECT p.id FROM products p JOIN sub ON p.category_id = sub.id ORDER BY p.id`, categoryID)
	if err != nil {
		return nil, fmt.Errorf("catalog: products under category: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
