package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"github.com/gen2brain/webp"
	"golang.org/x/image/draw"
)

// Size names a variant's bounding box.
type Size struct {
	Name string
	Max  int // the longer side, in pixels
}

// Sizes are the variants made of every image: a thumbnail for lists and
// the cart, a card for the product grid, the full view for the product page.
var Sizes = []Size{{"thumbnail", 160}, {"card", 480}, {"full", 1200}}

// Variant is one stored rendition of an image.
type Variant struct {
	Size        string `json:"size"`   // thumbnail, card or full
	Format      string `json:"format"` // webp, jpeg or png
	Key         string `json:"key"`    // "<sha256>.<ext>", served at /images/<key>
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Bytes       int    `json:"bytes"`
	Data        []byte `json:"-"`
}

// Quality of the lossy encodings: good for product photos at a fraction of the size.
const (
	webpQuality = 80
	jpegQuality = 85
)

// Render decodes an original and makes every Size in WebP plus a fallback
// (JPEG, or PNG when the image has transparency), never larger than the
// original. The dimensions are checked before decoding (as Inspect does),
// so a stored file cannot become a decompression bomb either. A file that
// does not decode is ErrCorrupt.
func Render(original []byte, l Limits) ([]Variant, error) {
	l = l.withDefaults()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(original))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := checkDimensions(cfg.Width, cfg.Height, l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	src, _, err := image.Decode(bytes.NewReader(original))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	alpha := !opaque(src)
	var out []Variant
	for _, s := range Sizes {
		w, h := fit(src.Bounds().Dx(), src.Bounds().Dy(), s.Max)
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		// CatmullRom is the sharpest of x/image's kernels; Src keeps
		// transparency as it is rather than blending it onto black.
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)

		var wb bytes.Buffer
		if err := webp.Encode(&wb, dst, webp.Options{Quality: webpQuality, Method: 4}); err != nil {
			return nil, fmt.Errorf("images: encode webp: %w", err)
		}
		out = append(out, variant(s.Name, "webp", "image/webp", "webp", w, h, wb.Bytes()))

		var fb bytes.Buffer
		if alpha {
			if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&fb, dst); err != nil {
				return nil, fmt.Errorf("images: encode png: %w", err)
			}
			out = append(out, variant(s.Name, "png", "image/png", "png", w, h, fb.Bytes()))
		} else {
			if err := jpeg.Encode(&fb, dst, &jpeg.Options{Quality: jpegQuality}); err != nil {
				return nil, fmt.Errorf("images: encode jpeg: %w", err)
			}
			out = append(out, variant(s.Name, "jpeg", "image/jpeg", "jpg", w, h, fb.Bytes()))
		}
	}
	return out, nil
}

func variant(size, format, contentType, ext string, w, h int, data []byte) Variant {
	sum := sha256.Sum256(data)
	return Variant{Size: size, Format: format, Key: hex.EncodeToString(sum[:]) + "." + ext, ContentType: contentType,
		Width: w, Height: h, Bytes: len(data), Data: data}
}

// fit scales w×h so that its longer side is at most limit, keeping the
// aspect ratio and never enlarging.
func fit(w, h, limit int) (int, int) {
	if w <= limit && h <= limit {
		return w, h
	}
	if w >= h {
		return limit, max(1, (h*limit+w/2)/w)
	}
	return max(1, (w*limit+h/2)/h), limit
}

// opaque says whether every pixel of m is fully opaque.
func opaque(m image.Image) bool {
	if o, ok := m.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := m.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}
