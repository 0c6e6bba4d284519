package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	imagesact "github.com/shopkit/shop/activities/images"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/demoimages"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/testenv"
	imageswf "github.com/shopkit/shop/workflows/images"
)

// TestSeedImages runs the seed's picture step twice over a store holding a
// few demo products (one with an image of its own already), against
// PostgreSQL, the S3 server and Temporal with a worker: each demo product
// ends with exactly one image, the seeded ones made ready with their
// variants in the bucket, and the product that had one left alone.
func TestSeedImages(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	products, err := demoimages.Products()
	require.NoError(t, err)
	require.Greater(t, len(products), 100, "the demo catalogue")
	// A few demo products of different categories keep the test fast;
	// the seed looks at whichever demo products the store holds.
	var some []catalog.ProductInput
	seen := map[string]bool{}
	for _, p := range products {
		if !seen[p.Category] && len(some) < 4 {
			seen[p.Category] = true
			some = append(some, p)
		}
	}
	_, err = catalog.NewStore(pool).UpsertProducts(ctx, some)
	require.NoError(t, err)
	ids, err := images.NewStore(pool).WithoutImages(ctx, []string{some[0].SKU, some[1].SKU, some[2].SKU, some[3].SKU})
	require.NoError(t, err)
	require.Len(t, ids, 4)

	s3 := testenv.S3Config()
	objects := objectstore.NewS3(s3)
	require.NoError(t, objects.EnsureBucket(ctx), "the S3 server at TEST_S3_ENDPOINT=%s is not usable; deploy/stack.sh up s3", s3.Endpoint)
	queue := testenv.UniqueName("test-seed-images-")
	tc := testenv.Temporal(t)
	w := worker.New(tc, queue, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{failure.BoundsGuard()}, WorkflowPanicPolicy: worker.FailWorkflow})
	w.RegisterWorkflowWithOptions(imageswf.Workflow, workflow.RegisterOptions{Name: imageswf.Name})
	w.RegisterActivity(imagesact.NewActivities(images.NewStore(pool), objects, images.Limits{}, 1))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	cfg := &config.Config{TemporalAddress: testenv.TemporalAddress(), TemporalNamespace: testenv.TemporalNamespace(),
		TemporalTaskQueue: queue, ImageStore: "s3", S3Endpoint: s3.Endpoint, S3Region: s3.Region, S3Bucket: s3.Bucket,
		S3AccessKeyID: s3.AccessKeyID, S3SecretAccessKey: s3.SecretAccessKey, S3ForcePathStyle: s3.ForcePathStyle}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The last product has a picture of its own (not processed here).
	own, err := demoimages.Picture("A photo of its own", "Elsewhere")
	require.NoError(t, err)
	store := images.NewStore(pool)
	ownImage, created, err := images.Service{Store: store, Objects: objects}.Add(ctx, ids[some[3].SKU], own, "image/png", "Own", 0)
	require.NoError(t, err)
	require.True(t, created)

	for range 2 {
		require.NoError(t, seedImages(ctx, cfg, log, pool))
	}

	for i, p := range some {
		list, err := store.List(ctx, ids[p.SKU])
		require.NoError(t, err)
		require.Len(t, list, 1, "%s has exactly one image after two seeds", p.SKU)
		if i == 3 {
			assert.Equal(t, ownImage.ID, list[0].ID, "a product with an image is left alone")
			continue
		}
		assert.Equal(t, p.Name, list[0].AltText)
		assert.Equal(t, [2]int{demoimages.Width, demoimages.Height}, [2]int{list[0].Width, list[0].Height})
		assert.Equal(t, "image/png", list[0].ContentType)
		want, err := demoimages.Picture(p.Name, p.Category)
		require.NoError(t, err)
		assert.EqualValues(t, len(want), list[0].ByteSize, "the same product gives the same picture")
		im := waitReady(t, store, ids[p.SKU], list[0].ID)
		require.Len(t, im.Variants, 2*len(images.Sizes), "WebP and JPEG of each size")
		for _, v := range append([]string{im.OriginalKey}, variantKeys(im)...) {
			body, _, err := objects.Get(ctx, v)
			require.NoError(t, err, "%s is in the bucket", v)
			_ = body.Close()
		}
	}
}

func variantKeys(im images.Image) []string {
	var keys []string
	for _, v := range im.Variants {
		keys = append(keys, v.Key)
	}
	return keys
}

// waitReady polls until the worker has made the image's variants.
func waitReady(t *testing.T, store *images.Store, productID, imageID int64) images.Image {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		im, err := store.Get(context.Background(), productID, imageID)
		require.NoError(t, err)
		require.NotEqual(t, images.StatusFailed, im.Status, im.Failure)
		if im.Status == images.StatusReady {
			return im
		}
		require.True(t, time.Now().Before(deadline), "image %d of product %d not ready in time", imageID, productID)
		<-time.After(200 * time.Millisecond)
	}
}
