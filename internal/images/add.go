package images

import (
	"context"

	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/validation"
)

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
// (an idempotent start), so a start lost after the record was written is
// made good by adding the file again.
func (s Service) Add(ctx context.Context, productID int64, data []byte, declared, alt string, uploadedBy int64) (im Image, created bool, err error) {
	up, err := Inspect(data, declared, s.Limits)
	if err != nil {
		return Image{}, false, err
	}
	if len(alt) > MaxAltText {
		return Image{}, false, validation.New("alt_text", "must be at most %d characters", MaxAltText)
	}
	if err := s.Objects.Put(ctx, up.Key(), up.Format.ContentType, up.Data); err != nil {
		return Image{}, false, err
	}
	im, created, err = s.Store.Create(ctx, productID, up, alt, uploadedBy)
	if err != nil {
		return Image{}, false, err
	}
	if im.Status == StatusProcessing && s.Flows != nil {
		if err := s.Flows.ProcessImage(ctx, im); err != nil {
			return Image{}, false, err
		}
	}
	return im, created, nil
}
