package main

import (
	"context"
	"log/slog"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/objectstore"
)

// openImageStore opens the product images' object store that IMAGE_STORE
// names. An S3 bucket that does not exist yet is created (a warning, not
// a failure, when the service does not answer yet: uploads fail until it
// does); a directory that cannot be created is logged, not fatal.
func openImageStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (objectstore.Store, error) {
	if cfg.ImageStore != "s3" {
		fs, err := objectstore.NewFS(cfg.ImageStoreDir)
		if err != nil {
			// Everything but images still works (a read-only container
			// without IMAGE_STORE=s3, say); uploads answer the reason.
			log.Error("image store unavailable; set IMAGE_STORE_DIR to a writable directory or IMAGE_STORE=s3", "error", err)
			return objectstore.Unavailable{Err: err}, nil
		}
		return fs, nil
	}
	s := objectstore.NewS3(objectstore.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket,
		AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey, ForcePathStyle: cfg.S3ForcePathStyle})
	if err := s.EnsureBucket(ctx); err != nil {
		log.Warn("image bucket not ready yet; image uploads fail until it is", "bucket", cfg.S3Bucket, "error", err)
	}
	return s, nil
}

func imageLimits(cfg *config.Config) images.Limits {
	return images.Limits{MaxBytes: cfg.ImageMaxBytes, MaxPixels: cfg.ImageMaxPixels}
}
