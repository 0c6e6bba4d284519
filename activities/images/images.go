// Package images holds the activities of the ProcessProductImage workflow.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/objectstore"
)

// ErrTypeCorrupt is the error type of an original that cannot be decoded:
// retrying cannot fix it, the workflow marks the image failed.
const ErrTypeCorrupt = "CorruptImage"

// Activities render and record product images.
type Activities struct {
	Images  *images.Store
	Objects objectstore.Store
	Limits  images.Limits
	// slots bounds the renders running at once in this process (resizing
	// and WebP encoding hold a CPU each); nil: one at a time.
	slots chan struct{}
}

// NewActivities returns the activities, rendering at most concurrency
// images at once (at least one).
func NewActivities(store *images.Store, objects objectstore.Store, limits images.Limits, concurrency int) *Activities {
	return &Activities{Images: store, Objects: objects, Limits: limits, slots: make(chan struct{}, max(1, concurrency))}
}

// RenderInput names the original to render.
type RenderInput struct {
	ImageID     int64
	OriginalKey string
}

// RenderResult lists the stored variants (their bytes are not carried).
type RenderResult struct {
	Variants []images.Variant
}

// RenderVariants makes and stores the variants of an original. The keys
// are content hashes, so a retry after a crash writes the same objects.
func (a *Activities) RenderVariants(ctx context.Context, in RenderInput) (RenderResult, error) {
	if a.slots != nil {
		select {
		case a.slots <- struct{}{}:
			defer func() { <-a.slots }()
		case <-ctx.Done():
			return RenderResult{}, ctx.Err()
		}
	}
	r, _, err := a.Objects.Get(ctx, in.OriginalKey)
	if errors.Is(err, objectstore.ErrNotFound) {
		return RenderResult{}, temporal.NewNonRetryableApplicationError("the original is missing: "+in.OriginalKey, ErrTypeCorrupt, err)
	}
	if err != nil {
		return RenderResult{}, err
	}
	limits := a.Limits
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = images.DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, limits.MaxBytes+1))
	_ = r.Close()
	if err != nil {
		return RenderResult{}, fmt.Errorf("read %s: %w", in.OriginalKey, err)
	}
	if int64(len(data)) > limits.MaxBytes {
		return RenderResult{}, temporal.NewNonRetryableApplicationError("the original is over the byte limit", ErrTypeCorrupt, nil)
	}
	variants, err := images.Render(data, limits)
	if errors.Is(err, images.ErrCorrupt) {
		return RenderResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCorrupt, err)
	}
	if err != nil {
		return RenderResult{}, err
	}
	for i, v := range variants {
		if err := a.Objects.Put(ctx, v.Key, v.ContentType, v.Data); err != nil {
			return RenderResult{}, err
		}
		variants[i].Data = nil
	}
	return RenderResult{Variants: variants}, nil
}

// MarkReadyInput records the variants of an image.
type MarkReadyInput struct {
	ImageID  int64
	Variants []images.Variant
}

// MarkImageReady shows the image on the storefront (the product's change
// reaches the cache and the search index through the outbox).
func (a *Activities) MarkImageReady(ctx context.Context, in MarkReadyInput) error {
	return failure.ForActivity(a.Images.MarkReady(ctx, in.ImageID, in.Variants))
}

// MarkFailedInput records why an image failed.
type MarkFailedInput struct {
	ImageID int64
	Reason  string
}

// MarkImageFailed records that an image could not be processed.
func (a *Activities) MarkImageFailed(ctx context.Context, in MarkFailedInput) error {
	return failure.ForActivity(a.Images.MarkFailed(ctx, in.ImageID, in.Reason))
}
