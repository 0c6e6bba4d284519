package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/shopkit/shop/internal/objectstore"
)

// S3Endpoint is the S3-compatible server the tests use (deploy/stack.sh
// service s3: versitygw); the keys are the stack's local ones.
func S3Endpoint() string { return env("TEST_S3_ENDPOINT", "http://127.0.0.1:9000") }

// S3Config returns the server's settings with a fresh bucket name.
func S3Config() objectstore.S3Config {
	return objectstore.S3Config{
		Endpoint:        S3Endpoint(),
		Region:          env("TEST_S3_REGION", "us-east-1"),
		Bucket:          UniqueName("test-"),
		AccessKeyID:     env("TEST_S3_ACCESS_KEY_ID", "shop-local"),
		SecretAccessKey: env("TEST_S3_SECRET_ACCESS_KEY", "shop-local-development-only"),
		ForcePathStyle:  true,
	}
}

// S3 returns a store over a fresh bucket of the test S3 server, failing the
// test when the server does not answer.
func S3(t testing.TB) *objectstore.S3 {
	t.Helper()
	cfg := S3Config()
	s := objectstore.NewS3(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatalf("the S3 server is not usable at TEST_S3_ENDPOINT=%s: %v; %s (service s3)", cfg.Endpoint, err, hint)
	}
	return s
}
