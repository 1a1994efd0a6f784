package objstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/objstore/objstoretest"
)

func newFolder(t *testing.T) (*objstore.Folder, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bucket")
	f, err := objstore.NewFolder(dir)
	require.NoError(t, err)
	return f, dir
}

func TestFolderAcceptance(t *testing.T) {
	f, _ := newFolder(t)
	objstoretest.AcceptanceTest(t, f)
}

func TestFolderRejectsBadKeys(t *testing.T) {
	f, dir := newFolder(t)
	ctx := t.Context()
	bad := []string{
		"",
		"/etc/passwd",
		"..",
		"../escape",
		"a/../../escape",
		"a/..",
		"./a",
		"a/./b",
		"a//b",
		"a/",
		`a\..\..\b`,
		"a\x00b",
		"\xff",
		".floe-tmp-123",
		"dir/.floe-tmp-x",
	}
	for _, key := range bad {
		require.Error(t, f.Put(ctx, key, []byte("x")), "Put %q", key)
		_, err := f.Get(ctx, key)
		require.Error(t, err, "Get %q", key)
		require.False(t, objstore.IsNotFound(err), "Get %q must fail as invalid, not missing", key)
		_, err = f.GetRange(ctx, key, 0, 1)
		require.Error(t, err, "GetRange %q", key)
		require.Error(t, f.Delete(ctx, key), "Delete %q", key)
	}
	// Nothing was written anywhere: neither in the bucket nor next to it.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
	siblings, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	require.Len(t, siblings, 1)
}

func TestFolderIgnoresLeftoverTempFiles(t *testing.T) {
	f, dir := newFolder(t)
	ctx := t.Context()
	require.NoError(t, f.Put(ctx, "seg/a", []byte("a")))
	// A crash during Put leaves a temp file behind.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seg", ".floe-tmp-12345"), []byte("half an obj"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".floe-tmp-999"), []byte("half"), 0o644))

	var keys []string
	require.NoError(t, f.List(ctx, "", func(info objstore.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	}))
	require.Equal(t, []string{"seg/a"}, keys)

	// Put leaves no temp files behind on success.
	require.NoError(t, f.Put(ctx, "seg/b", []byte("b")))
	entries, err := os.ReadDir(filepath.Join(dir, "seg"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{".floe-tmp-12345", "a", "b"}, names)
}

func TestFolderFailedPutLeavesNoTempFile(t *testing.T) {
	f, dir := newFolder(t)
	ctx := t.Context()
	require.NoError(t, f.Put(ctx, "a/b", []byte("x")))
	// "a/b" is a directory-like prefix now: putting an object at "a" works
	// on S3 but cannot on a file system. The failure must be clean.
	require.NoError(t, f.Put(ctx, "c", []byte("file")))
	require.Error(t, f.Put(ctx, "c/d", []byte("x")))
	require.Error(t, f.Put(ctx, "a", []byte("x")))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"a", "c"}, names)
	entries, err = os.ReadDir(filepath.Join(dir, "a"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestFolderFilePermissionsAndLayout(t *testing.T) {
	f, dir := newFolder(t)
	require.NoError(t, f.Put(t.Context(), "x/y/z.seg", []byte("data")))
	info, err := os.Stat(filepath.Join(dir, "x", "y", "z.seg"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	require.Equal(t, int64(4), info.Size())
}

func TestFolderCheck(t *testing.T) {
	f, dir := newFolder(t)
	require.NoError(t, f.Check(t.Context()))
	require.NoError(t, os.RemoveAll(dir))
	require.Error(t, f.Check(t.Context()))
}

func TestNewFolderErrors(t *testing.T) {
	_, err := objstore.NewFolder("")
	require.Error(t, err)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = objstore.NewFolder(file)
	require.Error(t, err)
}
