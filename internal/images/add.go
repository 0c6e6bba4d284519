package images

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopkit/shop/internal/objectstore"
)

// ErrUnavailable means the image store or the processing (Temporal) could
// not be reached: nothing is wrong with the upload, it may be sent again.
var ErrUnavailable = errors.New("images cannot be stored or processed right now; try again shortly")

// ReasonNotStarted is the failure recorded for an image whose processing
// could not be started; uploading the file again starts it.
const ReasonNotStarted = "processing could not start; upload the image again"

// Processor starts the processing of a recorded image (the
// ProcessProductImage workflow; workflows/images.Client).
type Processor interface {
	ProcessImage(ctx context.Context, im Image) error
}

// Service adds product images: the one path an upload and the demo seed
// take, so both are checked, stored and processed the same way.
type Service struct {
	Store   *Store
	Objects objectstore.Store
	Flows   Processor // nil: images are recorded but not processed
	Limits  Limits
}

// Add checks an original (Inspect), stores it under its content-hashed
// key, records it as the product's last image and starts its processing.
// The same file added to the product again is the image already recorded
// (created is false); one still processing has its workflow started again
// (an idempotent start), and a failed one is processed again. Every input
// is checked before anything is stored. When the processing cannot be
// started the image is marked failed (ReasonNotStarted), never left
// processing, and the error is ErrUnavailable, like a store outage.
func (s Service) Add(ctx context.Context, productID int64, data []byte, declared, alt string, uploadedBy int64) (im Image, created bool, err error) {
	up, err := Inspect(data, declared, s.Limits)
	if err != nil {
		return Image{}, false, err
	}
	if alt, err = CheckAlt(alt); err != nil {
		return Image{}, false, err
	}
	if err := s.Objects.Put(ctx, up.Key(), up.Format.ContentType, up.Data); err != nil {
		if errors.Is(err, objectstore.ErrBadKey) {
			return Image{}, false, err
		}
		return Image{}, false, fmt.Errorf("%w: store: %v", ErrUnavailable, err)
	}
	im, created, err = s.Store.Create(ctx, productID, up, alt, uploadedBy)
	if err != nil {
		return Image{}, false, err
	}
	if im.Status == StatusFailed && !created && s.Flows != nil {
		if im, err = s.Store.Retry(ctx, im.ID); err != nil {
			return Image{}, false, err
		}
	}
	if im.Status == StatusProcessing && s.Flows != nil {
		if err := s.Flows.ProcessImage(ctx, im); err != nil {
			// The record exists but nothing will process it: say so on the
			// image (a later upload of the file starts it again).
			if merr := s.Store.MarkFailed(context.WithoutCancel(ctx), im.ID, ReasonNotStarted); merr != nil {
				err = errors.Join(err, merr)
			}
			return Image{}, false, fmt.Errorf("%w: processing: %v", ErrUnavailable, err)
		}
	}
	return im, created, nil
}
