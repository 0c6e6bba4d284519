// Package images checks uploaded product images, renders their variants
// and keeps their records in PostgreSQL; the bytes live in an
// objectstore.Store under content-hashed keys.
package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for image.DecodeConfig and image.Decode
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"strings"

	_ "golang.org/x/image/webp"

	"github.com/shopkit/shop/internal/validation"
)

// Errors the API maps to status codes.
var (
	// ErrNotFound means the product or the image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge means the upload is over the byte limit.
	ErrTooLarge = errors.New("image is too large")
	// ErrCorrupt means the bytes claim to be an image but do not decode.
	ErrCorrupt = errors.New("image data is corrupt")
)

// Limits bound what an upload may be.
type Limits struct {
	MaxBytes  int64 // IMAGE_MAX_BYTES
	MaxPixels int64 // IMAGE_MAX_PIXELS: width × height, checked before decoding
}

// Defaults for Limits fields left zero.
const (
	DefaultMaxBytes  = 10 << 20
	DefaultMaxPixels = 40_000_000
	// maxSide bounds either side whatever the pixel count (a 1×40M strip).
	maxSide = 20000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// Format is an accepted upload format.
type Format struct {
	ContentType string
	Ext         string
}

// formats are the accepted uploads, by the type sniffed from their bytes.
var formats = map[string]Format{
	"image/jpeg": {"image/jpeg", "jpg"},
	"image/png":  {"image/png", "png"},
	"image/gif":  {"image/gif", "gif"},
	"image/webp": {"image/webp", "webp"},
}

// AcceptedTypes lists the content types an upload may declare.
const AcceptedTypes = "image/jpeg, image/png, image/webp or image/gif"

// Upload is a checked original.
type Upload struct {
	Format Format
	Width  int
	Height int
	SHA256 string // hex digest of Data
	Data   []byte
}

// Key is the object key of the original: content-hashed, so the same file
// is stored once and a key never changes meaning.
func (u Upload) Key() string { return "originals/" + u.SHA256 + "." + u.Format.Ext }

// Inspect checks an upload without decoding its pixels: the declared
// content type must be an accepted image type, the bytes must sniff as the
// same type, and the dimensions read from the header (image.DecodeConfig)
// must stay within the limits, so a small file that would inflate to
// gigabytes (a decompression bomb) is refused before it is decoded.
func Inspect(data []byte, declared string, l Limits) (Upload, error) {
	l = l.withDefaults()
	if int64(len(data)) > l.MaxBytes {
		return Upload{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.MaxBytes)
	}
	if len(data) == 0 {
		return Upload{}, validation.New("file", "is empty")
	}
	declared = normalizeType(declared)
	if declared == "" {
		return Upload{}, validation.New("content_type", "is missing; send the file as %s", AcceptedTypes)
	}
	if _, ok := formats[declared]; !ok {
		return Upload{}, validation.New("content_type", "%q is not accepted; send %s", declared, AcceptedTypes)
	}
	sniffed := http.DetectContentType(data)
	f, ok := formats[sniffed]
	if !ok {
		return Upload{}, validation.New("file", "is not an image (its bytes read as %s)", sniffed)
	}
	if sniffed != declared {
		return Upload{}, validation.New("content_type", "says %s but the file is %s", declared, sniffed)
	}
	cfg, name, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+name != sniffed {
		return Upload{}, validation.New("file", "is not a readable %s image", f.Ext)
	}
	if err := checkDimensions(cfg.Width, cfg.Height, l); err != nil {
		return Upload{}, err
	}
	sum := sha256.Sum256(data)
	return Upload{Format: f, Width: cfg.Width, Height: cfg.Height, SHA256: hex.EncodeToString(sum[:]), Data: data}, nil
}

func checkDimensions(w, h int, l Limits) error {
	if w <= 0 || h <= 0 {
		return validation.New("file", "has no pixels")
	}
	if w > maxSide || h > maxSide || int64(w)*int64(h) > l.MaxPixels {
		return validation.New("file", "is %d×%d pixels; at most %d pixels (and %d per side) are accepted", w, h, l.MaxPixels, maxSide)
	}
	return nil
}

// normalizeType drops parameters and case from a content type; image/jpg,
// which some clients send, is image/jpeg.
func normalizeType(t string) string {
	t, _, _ = strings.Cut(t, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	if t == "image/jpg" || t == "image/pjpeg" {
		return "image/jpeg"
	}
	return t
}
