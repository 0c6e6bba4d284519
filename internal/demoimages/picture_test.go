package demoimages_test

import (
	"bytes"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/demoimages"
	"github.com/shopkit/shop/internal/images"
)

// TestPicture: a product's picture is an upload the shop accepts, the same
// bytes every time, and another product's differs.
func TestPicture(t *testing.T) {
	a, err := demoimages.Picture("Nordvik Titan 16 Gaming Laptop", "Laptops")
	require.NoError(t, err)
	again, err := demoimages.Picture("Nordvik Titan 16 Gaming Laptop", "Laptops")
	require.NoError(t, err)
	assert.Equal(t, a, again, "deterministic")
	b, err := demoimages.Picture("Aurora Noise-Cancelling Over-Ear Headphones with an overly long name", "Audio")
	require.NoError(t, err)
	assert.NotEqual(t, a, b)

	up, err := images.Inspect(a, "image/png", images.Limits{})
	require.NoError(t, err)
	assert.Equal(t, [2]int{demoimages.Width, demoimages.Height}, [2]int{up.Width, up.Height})
	m, _, err := image.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.True(t, m.(interface{ Opaque() bool }).Opaque(), "opaque, so its fallbacks are JPEG")
}

func TestProducts(t *testing.T) {
	ps, err := demoimages.Products()
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		assert.NotEmpty(t, p.SKU)
		assert.NotEmpty(t, p.Name)
	}
}

func BenchmarkPicture(b *testing.B) {
	for b.Loop() {
		if _, err := demoimages.Picture("Nordvik Titan 16 Gaming Laptop", "Laptops"); err != nil {
			b.Fatal(err)
		}
	}
}
