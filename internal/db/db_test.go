package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/db/dbtest"
)

func TestMigrationsGoDownAndUpCleanly(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t) // already at the latest version
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	latest, dirty, err := m.Version()
	require.NoError(t, err)
	assert.False(t, dirty)
	assert.Positive(t, latest)

	exists := func(table string) bool {
		var ok bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok))
		return ok
	}
	require.True(t, exists("products"))

	require.NoError(t, m.Down(0))
	v, _, err := m.Version()
	require.NoError(t, err)
	assert.Zero(t, v)
	assert.False(t, exists("products"), "down removes every table")

	require.NoError(t, m.Up())
	require.NoError(t, m.Up(), "up twice is a no-op")
	v, dirty, err = m.Version()
	require.NoError(t, err)
	assert.Equal(t, latest, v)
	assert.False(t, dirty)
	assert.True(t, exists("products"))
}
