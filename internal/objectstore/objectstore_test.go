package objectstore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/testenv"
)

// The contract every store keeps, run against the filesystem and a real
// S3-compatible server (versitygw).
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) objectstore.Store{
		"fs": func(t *testing.T) objectstore.Store {
			s, err := objectstore.NewFS(t.TempDir())
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"s3": func(t *testing.T) objectstore.Store { return testenv.S3(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			require.NoError(t, s.Ping(ctx))

			body := []byte("\x89PNG not really, but bytes")
			key := "0123abcd.png"
			_, err := s.Stat(ctx, key)
			assert.ErrorIs(t, err, objectstore.ErrNotFound)
			_, _, err = s.Get(ctx, key)
			assert.ErrorIs(t, err, objectstore.ErrNotFound)

			require.NoError(t, s.Put(ctx, key, "image/png", body))
			require.NoError(t, s.Put(ctx, "originals/0123abcd.png", "image/png", body), "one directory level")
			obj, err := s.Stat(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, int64(len(body)), obj.Size)
			assert.Equal(t, "image/png", obj.ContentType)
			assert.False(t, obj.ModTime.IsZero())

			r, obj, err := s.Get(ctx, key)
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			require.NoError(t, r.Close())
			require.NoError(t, err)
			assert.Equal(t, body, got)
			assert.Equal(t, int64(len(body)), obj.Size)

			// Putting a key again replaces it.
			require.NoError(t, s.Put(ctx, key, "image/png", bytes.Repeat([]byte("x"), 10)))
			obj, err = s.Stat(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, int64(10), obj.Size)

			require.NoError(t, s.Delete(ctx, key))
			require.NoError(t, s.Delete(ctx, key), "deleting a missing key is fine")
			_, err = s.Stat(ctx, key)
			assert.ErrorIs(t, err, objectstore.ErrNotFound)

			for _, bad := range []string{"", "../etc/passwd", "a/../../b", "/abs", "A.png", "a/b/c.png", "a\\b", "a..b", "originals/"} {
				assert.ErrorIs(t, s.Put(ctx, bad, "", body), objectstore.ErrBadKey, bad)
				_, err := s.Stat(ctx, bad)
				assert.ErrorIs(t, err, objectstore.ErrBadKey, bad)
			}
		})
	}
}

// A symlink planted in the directory cannot lead a read outside it.
func TestFSStaysInsideItsDirectory(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link.png")))
	s, err := objectstore.NewFS(dir)
	require.NoError(t, err)
	_, _, err = s.Get(context.Background(), "link.png")
	require.Error(t, err, "os.Root refuses a link that escapes")
}
