package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"
)

// folderTempPrefix starts the name of every temporary file Folder.Put
// creates. List skips such files and keys may not use the prefix, so a temp
// file left behind by a crash is never seen as an object.
const folderTempPrefix = ".floe-tmp-"

// Folder is a Bucket that keeps each object as a file under a root directory
// on the local file system; key "a/b/c" is the file ROOT/a/b/c. It backs
// `floe dev` and fast unit tests.
//
// Put writes a temporary file next to the target, fsyncs it, renames it over
// the target and fsyncs the directory, so a crash leaves either the old or
// the new object, never part of one. Keys that would escape the root
// (absolute, "..", empty segments, backslashes) are rejected. Delete does not
// remove directories that become empty.
type Folder struct {
	root string
}

// NewFolder returns a Folder rooted at dir, creating dir if needed.
func NewFolder(dir string) (*Folder, error) {
	if dir == "" {
		return nil, errors.New("opening folder bucket: empty directory name")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening folder bucket %s: %w", dir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("opening folder bucket %s: %w", root, err)
	}
	return &Folder{root: root}, nil
}

// Put implements Bucket.
func (f *Folder) Put(ctx context.Context, key string, data []byte) error {
	path, err := f.path(key)
	if err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	if err := f.writeAtomic(path, data); err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	return nil
}

// writeAtomic writes data to a temporary file in path's directory, makes it
// durable and renames it to path.
func (f *Folder) writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := f.mkdirAll(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, folderTempPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirAll creates dir, which lies inside the root, and any missing parents.
// It fsyncs the parent of every directory it creates so that the new
// directory entries survive a crash.
func (f *Folder) mkdirAll(dir string) error {
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return nil
	}
	rel, err := filepath.Rel(f.root, dir)
	if err != nil {
		return err
	}
	cur := f.root
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, name)
		err := os.Mkdir(cur, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := syncDir(parent); err != nil {
			return err
		}
	}
	return nil
}

// Get implements Bucket.
func (f *Folder) Get(ctx context.Context, key string) ([]byte, error) {
	path, err := f.path(key)
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("getting %s: %w", key, err)
	}
	file, size, err := openObject(path)
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", key, err)
	}
	defer file.Close()
	// Objects are only ever replaced by rename, never modified in place,
	// so the open file keeps the size it had when opened.
	data := make([]byte, size)
	if n, err := file.ReadAt(data, 0); n != len(data) {
		return nil, fmt.Errorf("getting %s: %w", key, err)
	}
	return data, nil
}

// GetRange implements Bucket.
func (f *Folder) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := checkRange(key, offset, length); err != nil {
		return nil, err
	}
	path, err := f.path(key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	file, size, err := openObject(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer file.Close()
	if offset > size || length > size-offset {
		return nil, fmt.Errorf("reading %s: range [%d, %d) is outside the object of %d bytes", key, offset, offset+length, size)
	}
	data := make([]byte, length)
	if n, err := file.ReadAt(data, offset); n != len(data) {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return data, nil
}

// openObject opens the object file at path and returns it with its size. A
// missing file, or a directory, is reported as ErrNotFound.
func openObject(path string) (*os.File, int64, error) {
	file, err := os.Open(path)
	if isNotExist(err) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	info, err := file.Stat()
	if err != nil {
		_ = file.Close()
		return nil, 0, err
	}
	if !info.Mode().IsRegular() {
		_ = file.Close()
		return nil, 0, ErrNotFound
	}
	return file, info.Size(), nil
}

// Delete implements Bucket.
func (f *Folder) Delete(ctx context.Context, key string) error {
	path, err := f.path(key)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	info, err := os.Lstat(path)
	if isNotExist(err) || (err == nil && info.IsDir()) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	// The directory is not fsynced: a delete lost in a crash is simply
	// repeated by whoever deletes the object again.
	if err := os.Remove(path); err != nil && !isNotExist(err) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// List implements Bucket.
func (f *Folder) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if err := f.walk(ctx, f.root, "", prefix, fn); err != nil {
		return fmt.Errorf("listing %q: %w", prefix, err)
	}
	return nil
}

// walk reports the objects under dir, whose keys all start with dirKey
// (either "" or a string ending in "/"), in lexical key order.
func (f *Folder) walk(ctx context.Context, dir, dirKey, prefix string, fn func(ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	// A directory "a" holds keys "a/...", which sort after a file "a-b"
	// because '-' < '/'. Comparing names with "/" appended to directories
	// therefore orders entries exactly as the keys they lead to.
	slices.SortFunc(entries, func(a, b fs.DirEntry) int {
		return strings.Compare(sortName(a), sortName(b))
	})
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), folderTempPrefix) {
			continue
		}
		key := dirKey + e.Name()
		if e.IsDir() {
			sub := key + "/"
			if !strings.HasPrefix(sub, prefix) && !strings.HasPrefix(prefix, sub) {
				continue
			}
			if err := f.walk(ctx, filepath.Join(dir, e.Name()), sub, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			continue
		}
		info, err := e.Info()
		if isNotExist(err) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return err
		}
		if err := fn(ObjectInfo{Key: key, Size: info.Size(), LastModified: info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// sortName is the name a directory entry sorts by in walk.
func sortName(e fs.DirEntry) string {
	if e.IsDir() {
		return e.Name() + "/"
	}
	return e.Name()
}

// Check implements Bucket.
func (f *Folder) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checking folder bucket %s: %w", f.root, err)
	}
	info, err := os.Stat(f.root)
	if err != nil {
		return fmt.Errorf("checking folder bucket: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("checking folder bucket: %s is not a directory", f.root)
	}
	return nil
}

// path returns the file path for key, or an error if key is not valid.
func (f *Folder) path(key string) (string, error) {
	if err := checkFolderKey(key); err != nil {
		return "", fmt.Errorf("invalid key: %w", err)
	}
	return filepath.Join(f.root, filepath.FromSlash(key)), nil
}

// checkFolderKey rejects keys that are empty, could escape the root
// directory, or could collide with Folder's temporary files.
func checkFolderKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case !utf8.ValidString(key):
		return errors.New("key is not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return errors.New("key is absolute")
	case strings.ContainsAny(key, "\\\x00"):
		return errors.New("key contains a backslash or NUL byte")
	}
	for _, name := range strings.Split(key, "/") {
		switch {
		case name == "":
			return errors.New("key has an empty segment")
		case name == "." || name == "..":
			return fmt.Errorf("key has a %q segment", name)
		case strings.HasPrefix(name, folderTempPrefix):
			return fmt.Errorf("key segment starts with the reserved %q", folderTempPrefix)
		}
	}
	return nil
}

// isNotExist reports whether err means a path does not exist. ENOTDIR
// counts: it means a parent of the path is a file.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// syncDir fsyncs the directory dir so that entries added to it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
