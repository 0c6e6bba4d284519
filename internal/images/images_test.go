package images_test

import (
	"bytes"
	"errors"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/images/imagestest"
	"github.com/shopkit/shop/internal/validation"
)

func TestInspect(t *testing.T) {
	pngData := imagestest.PNG(t, imagestest.Photo(64, 48, false))
	u, err := images.Inspect(pngData, "image/png", images.Limits{})
	require.NoError(t, err)
	assert.Equal(t, 64, u.Width)
	assert.Equal(t, 48, u.Height)
	assert.Equal(t, "png", u.Format.Ext)
	assert.Regexp(t, `^originals/[0-9a-f]{64}\.png$`, u.Key())

	jpg := imagestest.JPEG(t, imagestest.Photo(64, 48, false))
	_, err = images.Inspect(jpg, "image/jpg; charset=binary", images.Limits{})
	require.NoError(t, err, "image/jpg is image/jpeg")

	for name, c := range map[string]struct {
		data     []byte
		declared string
		field    string
	}{
		"text named .png":    {[]byte("hello, not an image at all"), "image/png", "file"},
		"no content type":    {pngData, "", "content_type"},
		"svg":                {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "image/svg+xml", "content_type"},
		"declared jpeg, png": {pngData, "image/jpeg", "content_type"},
		"empty":              {nil, "image/png", "file"},
		"bomb":               {imagestest.BombPNG(100000, 100000), "image/png", "file"},
		"strip":              {imagestest.BombPNG(30000, 2), "image/png", "file"},
		"header only":        {[]byte("\x89PNG\r\n\x1a\n"), "image/png", "file"},
	} {
		_, err := images.Inspect(c.data, c.declared, images.Limits{})
		var ve *validation.Error
		if assert.True(t, errors.As(err, &ve), "%s: %v", name, err) {
			assert.Equal(t, c.field, ve.Field, name)
		}
	}
	_, err = images.Inspect(pngData, "image/png", images.Limits{MaxBytes: 100})
	assert.ErrorIs(t, err, images.ErrTooLarge)
	_, err = images.Inspect(pngData, "image/png", images.Limits{MaxPixels: 64*48 - 1})
	assert.Error(t, err)
}

func TestRender(t *testing.T) {
	vs, err := images.Render(imagestest.JPEG(t, imagestest.Photo(2000, 1000, false)), images.Limits{})
	require.NoError(t, err)
	got := map[string][2]int{}
	for _, v := range vs {
		got[v.Size+"."+v.Format] = [2]int{v.Width, v.Height}
		m, format, err := image.Decode(bytes.NewReader(v.Data))
		require.NoError(t, err, v.Key)
		assert.Equal(t, v.Format, format)
		assert.Equal(t, v.Width, m.Bounds().Dx())
		assert.Equal(t, v.Height, m.Bounds().Dy())
		assert.Equal(t, len(v.Data), v.Bytes)
		assert.Regexp(t, `^[0-9a-f]{64}\.(webp|jpg)$`, v.Key)
	}
	assert.Equal(t, map[string][2]int{
		"thumbnail.webp": {160, 80}, "thumbnail.jpeg": {160, 80},
		"card.webp": {480, 240}, "card.jpeg": {480, 240},
		"full.webp": {1200, 600}, "full.jpeg": {1200, 600},
	}, got)

	// Transparency keeps a PNG fallback; a small original is not enlarged.
	vs, err = images.Render(imagestest.PNG(t, imagestest.Photo(300, 400, true)), images.Limits{})
	require.NoError(t, err)
	got = map[string][2]int{}
	for _, v := range vs {
		got[v.Size+"."+v.Format] = [2]int{v.Width, v.Height}
	}
	assert.Equal(t, map[string][2]int{
		"thumbnail.webp": {120, 160}, "thumbnail.png": {120, 160},
		"card.webp": {300, 400}, "card.png": {300, 400},
		"full.webp": {300, 400}, "full.png": {300, 400},
	}, got)

	// A file whose header reads but whose data does not is corrupt.
	whole := imagestest.PNG(t, imagestest.Photo(64, 64, false))
	_, err = images.Render(whole[:len(whole)/2], images.Limits{})
	assert.ErrorIs(t, err, images.ErrCorrupt)
	_, err = images.Render(imagestest.BombPNG(100000, 100000), images.Limits{})
	assert.ErrorIs(t, err, images.ErrCorrupt)
}
