package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/validation"
)

// Status is where an image is in its processing.
type Status string

// Statuses of an image.
const (
	StatusProcessing Status = "processing" // the variants are being made
	StatusReady      Status = "ready"      // shown on the storefront
	StatusFailed     Status = "failed"     // the file could not be processed
)

// MaxAltText bounds an image's alt text.
const MaxAltText = 300

// Image is a product image's record.
type Image struct {
	ID          int64
	ProductID   int64
	OriginalKey string
	ContentType string
	ByteSize    int64
	Width       int
	Height      int
	AltText     string
	Position    int
	Status      Status
	Failure     string
	Variants    []Variant
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Store keeps image records in PostgreSQL. Every write locks the product's
// row first (as variant writes do), so the outbox events the table's
// triggers record for the product stay in commit order.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const imageColumns = `id, product_id, original_key, content_type, byte_size, width, height, alt_text, position,
	status, failure, variants, created_at, updated_at`

func scanImage(r pgx.Row) (Image, error) {
	var im Image
	err := r.Scan(&im.ID, &im.ProductID, &im.OriginalKey, &im.ContentType, &im.ByteSize, &im.Width, &im.Height,
		&im.AltText, &im.Position, &im.Status, &im.Failure, &im.Variants, &im.CreatedAt, &im.UpdatedAt)
	return im, err
}

// ProductExists reports whether the product exists (archived or not).
func (s *Store) ProductExists(ctx context.Context, productID int64) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, productID).Scan(&ok); err != nil {
		return fmt.Errorf("images: look up product %d: %w", productID, err)
	}
	if !ok {
		return fmt.Errorf("product %d: %w", productID, ErrNotFound)
	}
	return nil
}

func lockProduct(ctx context.Context, tx pgx.Tx, productID int64) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM products WHERE id = $1 FOR NO KEY UPDATE`, productID)
	if err != nil {
		return fmt.Errorf("images: lock product %d: %w", productID, err)
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, productID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("product %d: %w", productID, ErrNotFound)
	}
	return nil
}

// CheckAlt trims an alt text and checks it as the database stores it:
// valid UTF-8 without NUL, at most MaxAltText characters (not bytes, like
// the API's schema and the column's CHECK).
func CheckAlt(alt string) (string, error) {
	alt = strings.TrimSpace(alt)
	if !utf8.ValidString(alt) || strings.ContainsRune(alt, 0) {
		return "", validation.New("alt_text", "must be UTF-8 text without NUL characters")
	}
	if utf8.RuneCountInString(alt) > MaxAltText {
		return "", validation.New("alt_text", "must be at most %d characters", MaxAltText)
	}
	return alt, nil
}

// Create records an uploaded original as the product's last image, in
// processing. The same file uploaded to the product again is the image
// already recorded (created is false).
func (s *Store) Create(ctx context.Context, productID int64, u Upload, alt string, uploadedBy int64) (im Image, created bool, err error) {
	alt, err = CheckAlt(alt)
	if err != nil {
		return Image{}, false, err
	}
	var by *int64
	if uploadedBy > 0 {
		by = &uploadedBy
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockProduct(ctx, tx, productID); err != nil {
			return err
		}
		im, err = scanImage(tx.QueryRow(ctx, `
			INSERT INTO product_images (product_id, original_key, content_type, byte_size, width, height, alt_text, position, uploaded_by)
			SELECT $1, $2, $3, $4, $5, $6, $7, coalesce(max(position) + 1, 0), $8 FROM product_images WHERE product_id = $1
			ON CONFLICT (product_id, original_key) DO NOTHING
			RETURNING `+imageColumns,
			productID, u.Key(), u.Format.ContentType, len(u.Data), u.Width, u.Height, alt, by))
		if errors.Is(err, pgx.ErrNoRows) {
			im, err = scanImage(tx.QueryRow(ctx, `SELECT `+imageColumns+` FROM product_images
				WHERE product_id = $1 AND original_key = $2`, productID, u.Key()))
			return err
		}
		created = err == nil
		return err
	})
	if err != nil {
		return Image{}, false, fmt.Errorf("images: create: %w", err)
	}
	return im, created, nil
}

// Get returns one image of a product.
func (s *Store) Get(ctx context.Context, productID, imageID int64) (Image, error) {
	im, err := scanImage(s.pool.QueryRow(ctx, `SELECT `+imageColumns+` FROM product_images WHERE id = $1 AND product_id = $2`,
		imageID, productID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Image{}, fmt.Errorf("image %d of product %d: %w", imageID, productID, ErrNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("images: get %d: %w", imageID, err)
	}
	return im, nil
}

// ByID returns an image by its id alone (the processing workflow's view).
func (s *Store) ByID(ctx context.Context, imageID int64) (Image, error) {
	im, err := scanImage(s.pool.QueryRow(ctx, `SELECT `+imageColumns+` FROM product_images WHERE id = $1`, imageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Image{}, fmt.Errorf("image %d: %w", imageID, ErrNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("images: get %d: %w", imageID, err)
	}
	return im, nil
}

// List returns a product's images in display order, whatever their status.
func (s *Store) List(ctx context.Context, productID int64) ([]Image, error) {
	if err := s.ProductExists(ctx, productID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+imageColumns+` FROM product_images WHERE product_id = $1 ORDER BY position, id`, productID)
	if err != nil {
		return nil, fmt.Errorf("images: list: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Image, error) { return scanImage(r) })
	if err != nil {
		return nil, fmt.Errorf("images: list: %w", err)
	}
	return list, nil
}

// Ready returns the ready images of products, in display order, by product id.
func (s *Store) Ready(ctx context.Context, productIDs []int64) (map[int64][]Image, error) {
	out := map[int64][]Image{}
	if len(productIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+imageColumns+` FROM product_images
		WHERE product_id = ANY($1) AND status = 'ready' ORDER BY product_id, position, id`, productIDs)
	if err != nil {
		return nil, fmt.Errorf("images: ready: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Image, error) { return scanImage(r) })
	if err != nil {
		return nil, fmt.Errorf("images: ready: %w", err)
	}
	for _, im := range list {
		out[im.ProductID] = append(out[im.ProductID], im)
	}
	return out, nil
}

// finish sets an image's outcome; a deleted image stays deleted.
func (s *Store) finish(ctx context.Context, imageID int64, status Status, variants []Variant, failure string) error {
	if variants == nil {
		variants = []Variant{}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var productID int64
		err := tx.QueryRow(ctx, `SELECT product_id FROM product_images WHERE id = $1`, imageID).Scan(&productID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := lockProduct(ctx, tx, productID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE product_images SET status = $2, variants = $3, failure = $4, updated_at = now()
			WHERE id = $1`, imageID, status, variants, failure)
		return err
	})
}

// MarkReady records an image's variants and shows it on the storefront.
func (s *Store) MarkReady(ctx context.Context, imageID int64, variants []Variant) error {
	if err := s.finish(ctx, imageID, StatusReady, variants, ""); err != nil {
		return fmt.Errorf("images: mark %d ready: %w", imageID, err)
	}
	return nil
}

// MarkFailed records why an image could not be processed.
func (s *Store) MarkFailed(ctx context.Context, imageID int64, reason string) error {
	reason = truncate(reason, 500)
	if err := s.finish(ctx, imageID, StatusFailed, nil, reason); err != nil {
		return fmt.Errorf("images: mark %d failed: %w", imageID, err)
	}
	return nil
}

// truncate cuts s to at most n bytes on a character boundary (a cut
// character would make the text invalid UTF-8, which the database refuses).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Retry sets a failed image back to processing, for its file uploaded
// again; other images are left as they are. It returns the image.
func (s *Store) Retry(ctx context.Context, imageID int64) (Image, error) {
	im, err := scanImage(s.pool.QueryRow(ctx, `UPDATE product_images SET status = 'processing', failure = '', updated_at = now()
		WHERE id = $1 AND status = 'failed' RETURNING `+imageColumns, imageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.ByID(ctx, imageID)
	}
	if err != nil {
		return Image{}, fmt.Errorf("images: retry %d: %w", imageID, err)
	}
	return im, nil
}

// Update changes an image's alt text (when alt is not nil) and, with
// primary, moves it first.
func (s *Store) Update(ctx context.Context, productID, imageID int64, alt *string, primary bool) (Image, error) {
	if alt != nil {
		trimmed, err := CheckAlt(*alt)
		if err != nil {
			return Image{}, err
		}
		alt = &trimmed
	}
	var im Image
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockProduct(ctx, tx, productID); err != nil {
			return err
		}
		if primary {
			if _, err := tx.Exec(ctx, `UPDATE product_images SET position = CASE WHEN id = $2 THEN 0 ELSE position + 1 END
				WHERE product_id = $1 AND EXISTS (SELECT 1 FROM product_images WHERE id = $2 AND product_id = $1)`,
				productID, imageID); err != nil {
				return err
			}
		}
		var err error
		im, err = scanImage(tx.QueryRow(ctx, `UPDATE product_images SET alt_text = coalesce($3, alt_text), updated_at = now()
			WHERE id = $1 AND product_id = $2 RETURNING `+imageColumns, imageID, productID, alt))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("image %d of product %d: %w", imageID, productID, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return Image{}, fmt.Errorf("images: update: %w", err)
	}
	if primary {
		return s.Get(ctx, productID, imageID) // positions were renumbered
	}
	return im, nil
}

// Reorder sets the display order of a product's images: ids must name each
// of its images once; the first becomes the primary image.
func (s *Store) Reorder(ctx context.Context, productID int64, ids []int64) ([]Image, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockProduct(ctx, tx, productID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM product_images WHERE product_id = $1`, productID)
		if err != nil {
			return err
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		slices.Sort(have)
		if !slices.Equal(want, have) {
			return validation.New("image_ids", "must list each of the product's %d images exactly once", len(have))
		}
		_, err = tx.Exec(ctx, `UPDATE product_images p SET position = o.n - 1, updated_at = now()
			FROM unnest($2::bigint[]) WITH ORDINALITY AS o(id, n)
			WHERE p.id = o.id AND p.product_id = $1 AND p.position <> o.n - 1`, productID, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("images: reorder: %w", err)
	}
	return s.List(ctx, productID)
}

// Delete removes an image record and answers it, with the object keys no
// other image uses any more (the caller deletes those objects).
func (s *Store) Delete(ctx context.Context, productID, imageID int64) (Image, []string, error) {
	var im Image
	var unused []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockProduct(ctx, tx, productID); err != nil {
			return err
		}
		var err error
		im, err = scanImage(tx.QueryRow(ctx, `DELETE FROM product_images WHERE id = $1 AND product_id = $2 RETURNING `+imageColumns,
			imageID, productID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("image %d of product %d: %w", imageID, productID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		keys := []string{im.OriginalKey}
		for _, v := range im.Variants {
			keys = append(keys, v.Key)
		}
		// Content-hashed keys are shared by images of the same file.
		rows, err := tx.Query(ctx, `SELECT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (
			SELECT 1 FROM product_images WHERE original_key = k OR variants @> jsonb_build_array(jsonb_build_object('key', k)))`, keys)
		if err != nil {
			return err
		}
		unused, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return Image{}, nil, fmt.Errorf("images: delete: %w", err)
	}
	return im, unused, nil
}

// WithoutImages answers which of the products with these SKUs have no
// image at all (whatever its status), by SKU; SKUs of no product are left out.
func (s *Store) WithoutImages(ctx context.Context, skus []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.sku, p.id FROM products p WHERE p.sku = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id)`, skus)
	if err != nil {
		return nil, fmt.Errorf("images: products without images: %w", err)
	}
	out := map[string]int64{}
	var sku string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&sku, &id}, func() error {
		out[sku] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("images: products without images: %w", err)
	}
	return out, nil
}
