package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals/signalstest"
)

// `shop recommender train` publishes a model of the shop's past; a second
// train retires it, `rollback` brings it back pinned, `unpin` unpins.
func TestRecommenderTrainAndRollback(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	signalstest.Seed(t, pool, 25)
	cfg, err := config.FromLookup(func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return dbtest.URL(pool), true
		}
		return "", false
	})
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	store := modelstore.New(pool)

	require.NoError(t, runRecommender(ctx, cfg, log, []string{"train"}))
	first, err := store.LiveVersion(ctx)
	require.NoError(t, err)
	in, err := store.Get(ctx, first)
	require.NoError(t, err)
	assert.Contains(t, in.Report, "purchases")
	assert.Positive(t, in.SizeBytes)

	require.NoError(t, runRecommender(ctx, cfg, log, []string{"train"}))
	second, err := store.LiveVersion(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first, second)

	require.NoError(t, runRecommender(ctx, cfg, log, []string{"rollback", first}))
	live, pinned, err := store.LiveInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, live)
	assert.True(t, pinned, "a rollback pins")
	require.NoError(t, runRecommender(ctx, cfg, log, []string{"unpin"}))
	_, pinned, err = store.LiveInfo(ctx)
	require.NoError(t, err)
	assert.False(t, pinned)
	assert.Error(t, runRecommender(ctx, cfg, log, []string{"rollback", "no-such-version"}))
	assert.Error(t, runRecommender(ctx, cfg, log, []string{"nonsense"}))
}
