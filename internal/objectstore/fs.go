package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
)

// FS keeps objects as files under a directory. The content type is not
// stored: it follows from the key's extension.
type FS struct{ root *os.Root }

// NewFS opens (creating it when missing) the directory dir. os.Root keeps
// every access inside it, whatever a key says.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	return &FS{root: root}, nil
}

// Put implements Store: write to a temporary file, then rename, so a reader
// never sees half an object.
func (s *FS) Put(_ context.Context, key, _ string, body []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if dir := path.Dir(key); dir != "." {
		if err := s.root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("objectstore: %w", err)
		}
	}
	tmp := key + ".tmp-" + randomSuffix()
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("objectstore: %w", err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, key)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return fmt.Errorf("objectstore: put %s: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *FS) Get(_ context.Context, key string) (io.ReadCloser, Object, error) {
	if err := CheckKey(key); err != nil {
		return nil, Object{}, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, Object{}, fsErr(key, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return f, fileObject(key, st), nil
}

// Stat implements Store.
func (s *FS) Stat(_ context.Context, key string) (Object, error) {
	if err := CheckKey(key); err != nil {
		return Object{}, err
	}
	st, err := s.root.Stat(key)
	if err != nil {
		return Object{}, fsErr(key, err)
	}
	if !st.Mode().IsRegular() {
		return Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fileObject(key, st), nil
}

// Delete implements Store.
func (s *FS) Delete(_ context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("objectstore: delete %s: %w", key, err)
	}
	return nil
}

// Ping implements Store.
func (s *FS) Ping(context.Context) error {
	_, err := s.root.Stat(".")
	return err
}

// Close releases the directory.
func (s *FS) Close() error { return s.root.Close() }

func fsErr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("objectstore: %s: %w", key, err)
}

func fileObject(key string, st fs.FileInfo) Object {
	return Object{Key: key, Size: st.Size(), ContentType: ContentTypeOf(key), ModTime: st.ModTime()}
}

// ContentTypeOf is the media type of a key's extension.
func ContentTypeOf(key string) string {
	if t := mime.TypeByExtension(filepath.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}
