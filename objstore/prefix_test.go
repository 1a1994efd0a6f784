package objstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/objstore/objstoretest"
)

func TestPrefixAcceptance(t *testing.T) {
	f, _ := newFolder(t)
	objstoretest.AcceptanceTest(t, objstore.WithPrefix(f, "tenant-a"))
}

func TestPrefixPlacesKeysUnderPrefix(t *testing.T) {
	f, _ := newFolder(t)
	ctx := t.Context()
	a := objstore.WithPrefix(f, "/tenants/a/")
	b := objstore.WithPrefix(f, "tenants/b")
	require.NoError(t, a.Put(ctx, "seg/1", []byte("a1")))
	require.NoError(t, b.Put(ctx, "seg/1", []byte("b1")))

	got, err := f.Get(ctx, "tenants/a/seg/1")
	require.NoError(t, err)
	require.Equal(t, "a1", string(got))
	got, err = b.Get(ctx, "seg/1")
	require.NoError(t, err)
	require.Equal(t, "b1", string(got))
	got, err = a.GetRange(ctx, "seg/1", 1, 1)
	require.NoError(t, err)
	require.Equal(t, "1", string(got))

	var keys []string
	require.NoError(t, a.List(ctx, "", func(info objstore.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	}))
	require.Equal(t, []string{"seg/1"}, keys)

	require.NoError(t, a.Delete(ctx, "seg/1"))
	_, err = f.Get(ctx, "tenants/a/seg/1")
	require.True(t, objstore.IsNotFound(err))
	_, err = f.Get(ctx, "tenants/b/seg/1")
	require.NoError(t, err)
	require.NoError(t, a.Check(ctx))

	require.Same(t, f, objstore.WithPrefix(f, "/").(*objstore.Folder), "an empty prefix returns the bucket itself")
}
