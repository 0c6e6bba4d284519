package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
)

// A category that does not exist is the caller's mistake, named on its
// field; a lookup the database could not answer is not: it says nothing
// about the category and is returned as the database error it is.
func TestCategoryLookupFailureIsNotAMissingCategory(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s := catalog.NewStore(pool)
	parent, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Garden"})
	require.NoError(t, err)
	child, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Tools"})
	require.NoError(t, err)
	const missing = 999999

	_, err = s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Seeds", ParentID: missing})
	assert.Equal(t, "parent_id", field(t, err))
	_, err = s.UpdateCategory(ctx, child.ID, catalog.CategoryDraft{Name: "Tools", ParentID: missing})
	assert.Equal(t, "parent_id", field(t, err))
	_, err = s.CreateProduct(ctx, catalog.ProductDraft{SKU: "RAKE-1", Name: "Rake", CategoryID: missing,
		Price: money.Money{Amount: 1000, Currency: "USD"}})
	assert.Equal(t, "category_id", field(t, err))

	// Another transaction holds the categories table, so the lookup cannot
	// answer before the caller's deadline.
	lock, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = lock.Rollback(ctx) }()
	_, err = lock.Exec(ctx, `LOCK TABLE categories IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	calls := map[string]func(context.Context) error{
		"create under a parent": func(ctx context.Context) error {
			_, err := s.CreateCategory(ctx, catalog.CategoryDraft{Name: "Seeds", ParentID: parent.ID})
			return err
		},
		"move under a parent": func(ctx context.Context) error {
			_, err := s.UpdateCategory(ctx, child.ID, catalog.CategoryDraft{Name: "Tools", ParentID: parent.ID})
			return err
		},
		"create a product": func(ctx context.Context) error {
			_, err := s.CreateProduct(ctx, catalog.ProductDraft{SKU: "RAKE-1", Name: "Rake", CategoryID: parent.ID,
				Price: money.Money{Amount: 1000, Currency: "USD"}})
			return err
		},
	}
	for name, call := range calls {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := call(cctx)
		cancel()
		require.Error(t, err, name)
		var fe *validation.Error
		assert.NotErrorAs(t, err, &fe, "%s: a failed lookup is no missing category: %v", name, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.NotErrorIs(t, err, catalog.ErrNotFound, name)
	}
	require.NoError(t, lock.Rollback(ctx))

	// Once the database answers, the same calls go through.
	for name, call := range calls {
		assert.NoError(t, call(ctx), name)
	}
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM categories WHERE parent_id = $1`, parent.ID).Scan(&n))
	assert.Equal(t, 2, n)
}
