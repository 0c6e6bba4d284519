package images_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	imagesact "github.com/shopkit/shop/activities/images"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/objectstore"
)

func TestRenderVariantsActivity(t *testing.T) {
	objects, err := objectstore.NewFS(t.TempDir())
	require.NoError(t, err)
	a := imagesact.NewActivities(nil, objects, images.Limits{}, 1)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	ctx := context.Background()

	m := image.NewNRGBA(image.Rect(0, 0, 900, 300))
	for x := range 900 {
		m.SetNRGBA(x, x/3, color.NRGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	up, err := images.Inspect(b.Bytes(), "image/png", images.Limits{})
	require.NoError(t, err)
	require.NoError(t, objects.Put(ctx, up.Key(), "image/png", up.Data))

	v, err := env.ExecuteActivity(a.RenderVariants, imagesact.RenderInput{ImageID: 1, OriginalKey: up.Key()})
	require.NoError(t, err)
	var res imagesact.RenderResult
	require.NoError(t, v.Get(&res))
	require.Len(t, res.Variants, 6)
	for _, variant := range res.Variants {
		assert.Nil(t, variant.Data, "bytes stay out of the workflow history")
		obj, err := objects.Stat(ctx, variant.Key)
		require.NoError(t, err, variant.Key)
		assert.Equal(t, int64(variant.Bytes), obj.Size)
	}

	// A corrupt original and a missing one are not retried.
	require.NoError(t, objects.Put(ctx, "originals/bad.png", "image/png", b.Bytes()[:b.Len()/2]))
	for _, key := range []string{"originals/bad.png", "originals/missing.png"} {
		_, err = env.ExecuteActivity(a.RenderVariants, imagesact.RenderInput{ImageID: 2, OriginalKey: key})
		var ae *temporal.ApplicationError
		require.True(t, errors.As(err, &ae), "%s: %v", key, err)
		assert.Equal(t, imagesact.ErrTypeCorrupt, ae.Type(), key)
		assert.True(t, ae.NonRetryable(), key)
	}
}
