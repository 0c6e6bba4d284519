package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Config names a bucket of an S3-compatible service.
type S3Config struct {
	Endpoint        string // e.g. http://127.0.0.1:9000; empty: AWS itself
	Region          string
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	// ForcePathStyle addresses the bucket in the path (endpoint/bucket/key),
	// as most self-hosted servers need, not as a host name.
	ForcePathStyle bool
}

// S3 keeps objects in a bucket.
type S3 struct {
	client *s3.Client
	bucket string
}

// NewS3 returns a store over cfg's bucket (it is not contacted here).
func NewS3(cfg S3Config) *S3 {
	client := s3.New(s3.Options{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		BaseEndpoint: nonEmpty(cfg.Endpoint),
		UsePathStyle: cfg.ForcePathStyle,
		HTTPClient:   &http.Client{Timeout: 60 * time.Second},
		// Checksums only where the API requires them: S3-compatible
		// servers differ in what else they accept.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return &S3{client: client, bucket: cfg.Bucket}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EnsureBucket creates the bucket when it does not exist yet.
func (s *S3) EnsureBucket(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err == nil {
		return nil
	}
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("objectstore: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key, contentType string, body []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = ContentTypeOf(key)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: &contentType})
	if err != nil {
		return fmt.Errorf("objectstore: put %s: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := CheckKey(key); err != nil {
		return nil, Object{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, Object{}, s3Err(key, err)
	}
	return out.Body, Object{Key: key, Size: aws.ToInt64(out.ContentLength), ContentType: s3ContentType(key, out.ContentType),
		ModTime: aws.ToTime(out.LastModified)}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := CheckKey(key); err != nil {
		return Object{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Object{}, s3Err(key, err)
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength), ContentType: s3ContentType(key, out.ContentType),
		ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		if errors.Is(s3Err(key, err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("objectstore: delete %s: %w", key, err)
	}
	return nil
}

// Ping implements Store.
func (s *S3) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("objectstore: bucket %s: %w", s.bucket, err)
	}
	return nil
}

func s3ContentType(key string, t *string) string {
	if v := aws.ToString(t); v != "" {
		return v
	}
	return ContentTypeOf(key)
}

func s3Err(key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("objectstore: %s: %w", key, err)
}
