// Package objectstore keeps immutable blobs (product images) under flat keys,
// on the local filesystem or in an S3-compatible bucket.
package objectstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// ErrNotFound means no object has the key.
var ErrNotFound = errors.New("objectstore: not found")

// ErrBadKey means the key is not one this package accepts.
var ErrBadKey = errors.New("objectstore: invalid key")

// Object describes a stored blob.
type Object struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
}

// Store keeps objects. Keys are written once (content-addressed by the
// callers): Put of an existing key replaces it with the same bytes.
type Store interface {
	// Put stores body under key.
	Put(ctx context.Context, key, contentType string, body []byte) error
	// Get opens an object; the caller closes it. ErrNotFound when missing.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes an object without reading it. ErrNotFound when missing.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
}

// keyRE admits flat, lower-case keys with one optional directory level
// ("originals/<hash>.png", "<hash>.webp"): nothing that could climb out of
// a directory or mean something special to S3.
var keyRE = regexp.MustCompile(`^([a-z0-9][a-z0-9-]{0,62}/)?[a-z0-9][a-z0-9._-]{0,199}$`)

// CheckKey refuses keys outside the accepted form (see keyRE).
func CheckKey(key string) error {
	if !keyRE.MatchString(key) || containsDotDot(key) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return nil
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return true
		}
	}
	return false
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Unavailable is a store that cannot be opened (a directory that cannot be
// created, say): every call answers its error, so the process still serves
// everything else and uploads fail with the reason.
type Unavailable struct{ Err error }

// Put implements Store.
func (u Unavailable) Put(context.Context, string, string, []byte) error { return u.Err }

// Get implements Store.
func (u Unavailable) Get(context.Context, string) (io.ReadCloser, Object, error) {
	return nil, Object{}, u.Err
}

// Stat implements Store.
func (u Unavailable) Stat(context.Context, string) (Object, error) { return Object{}, u.Err }

// Delete implements Store.
func (u Unavailable) Delete(context.Context, string) error { return u.Err }

// Ping implements Store.
func (u Unavailable) Ping(context.Context) error { return u.Err }
