// Package objstoretest checks that an objstore.Bucket implementation honours
// the objstore.Bucket contract.
package objstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/objstore"
)

// AcceptanceTest runs subtests that exercise the whole objstore.Bucket
// contract against b. All keys live under a prefix unique to this call, so
// several runs may share one bucket; the objects are deleted at the end.
func AcceptanceTest(t *testing.T, b objstore.Bucket) {
	t.Helper()
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	base := fmt.Sprintf("acceptance-%d-%s/", time.Now().UnixNano(), hex.EncodeToString(suffix[:]))
	t.Cleanup(func() { deleteAll(t, b, base) })

	t.Run("Check", func(t *testing.T) {
		require.NoError(t, b.Check(t.Context()))
	})

	t.Run("PutGet", func(t *testing.T) {
		ctx := t.Context()
		key := base + "putget/hello"
		require.NoError(t, b.Put(ctx, key, []byte("hello, floe")))
		got, err := b.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "hello, floe", string(got))
	})

	t.Run("PutDoesNotKeepData", func(t *testing.T) {
		ctx := t.Context()
		key := base + "putcopy/obj"
		data := []byte("original")
		require.NoError(t, b.Put(ctx, key, data))
		copy(data, "XXXXXXXX")
		got, err := b.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "original", string(got))
	})

	t.Run("NestedKeys", func(t *testing.T) {
		ctx := t.Context()
		keys := []string{
			base + "nested/a",
			base + "nested/b/c",
			base + "nested/b/d/e/f/g",
		}
		for _, k := range keys {
			require.NoError(t, b.Put(ctx, k, []byte(k)))
		}
		for _, k := range keys {
			got, err := b.Get(ctx, k)
			require.NoError(t, err)
			require.Equal(t, k, string(got))
		}
	})

	t.Run("UnusualKeyCharacters", func(t *testing.T) {
		ctx := t.Context()
		for _, name := range []string{"with space", "plus+sign", "eq=1,comma", "unicode-ü-日本", "percent%20", "tilde~", "dot.seg", ".hidden"} {
			key := base + "chars/" + name
			require.NoError(t, b.Put(ctx, key, []byte(name)), key)
			got, err := b.Get(ctx, key)
			require.NoError(t, err, key)
			require.Equal(t, name, string(got))
		}
		var listed []string
		require.NoError(t, b.List(ctx, base+"chars/", func(info objstore.ObjectInfo) error {
			listed = append(listed, info.Key)
			return nil
		}))
		require.Len(t, listed, 8)
	})

	t.Run("Overwrite", func(t *testing.T) {
		ctx := t.Context()
		key := base + "overwrite/obj"
		for _, v := range []string{"first version", "a longer second version of the object", "3rd", "3rd"} {
			require.NoError(t, b.Put(ctx, key, []byte(v)))
			got, err := b.Get(ctx, key)
			require.NoError(t, err)
			require.Equal(t, v, string(got))
		}
	})

	t.Run("EmptyObject", func(t *testing.T) {
		ctx := t.Context()
		key := base + "empty/obj"
		require.NoError(t, b.Put(ctx, key, nil))
		got, err := b.Get(ctx, key)
		require.NoError(t, err)
		require.Empty(t, got)
		infos := list(t, b, base+"empty/")
		require.Len(t, infos, 1)
		require.Equal(t, int64(0), infos[0].Size)
		_, err = b.GetRange(ctx, key, 0, 1)
		require.Error(t, err)
		require.False(t, objstore.IsNotFound(err), "out of range must not be not-found: %v", err)
	})

	t.Run("GetRange", func(t *testing.T) {
		ctx := t.Context()
		key := base + "range/obj"
		data := pattern(1000, 1)
		require.NoError(t, b.Put(ctx, key, data))
		for _, c := range []struct {
			name           string
			offset, length int64
		}{
			{"start", 0, 10},
			{"middle", 100, 50},
			{"end", 990, 10},
			{"last byte", 999, 1},
			{"whole", 0, 1000},
		} {
			got, err := b.GetRange(ctx, key, c.offset, c.length)
			require.NoError(t, err, c.name)
			require.Equal(t, data[c.offset:c.offset+c.length], got, c.name)
		}
		for _, c := range []struct {
			name           string
			offset, length int64
		}{
			{"starts at end", 1000, 1},
			{"starts past end", 5000, 10},
			{"runs past end", 995, 10},
			{"huge length", 0, 1 << 50},
			{"negative offset", -1, 10},
			{"zero length", 0, 0},
			{"negative length", 0, -5},
		} {
			got, err := b.GetRange(ctx, key, c.offset, c.length)
			require.Error(t, err, "%s: got %d bytes", c.name, len(got))
			require.False(t, objstore.IsNotFound(err), "%s: out of range must not be not-found: %v", c.name, err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		ctx := t.Context()
		for _, key := range []string{base + "missing/obj", base + "missing/deeper/obj"} {
			_, err := b.Get(ctx, key)
			require.Error(t, err)
			require.True(t, objstore.IsNotFound(err), "Get %s: %v", key, err)
			_, err = b.GetRange(ctx, key, 0, 1)
			require.Error(t, err)
			require.True(t, objstore.IsNotFound(err), "GetRange %s: %v", key, err)
		}
		// A "directory" of other keys is not itself an object.
		require.NoError(t, b.Put(ctx, base+"missing/dir/child", []byte("x")))
		_, err := b.Get(ctx, base+"missing/dir")
		require.True(t, objstore.IsNotFound(err), "Get of a key prefix: %v", err)
	})

	t.Run("Delete", func(t *testing.T) {
		ctx := t.Context()
		key := base + "delete/obj"
		require.NoError(t, b.Put(ctx, key, []byte("doomed")))
		require.NoError(t, b.Delete(ctx, key))
		_, err := b.Get(ctx, key)
		require.True(t, objstore.IsNotFound(err), "Get after Delete: %v", err)
		require.NoError(t, b.Delete(ctx, key), "second delete")
		require.NoError(t, b.Delete(ctx, base+"delete/never-existed"))
		require.NoError(t, b.Delete(ctx, base+"delete/no/such/dir"))
		require.Empty(t, list(t, b, base+"delete/"))

		// Deleting a key prefix deletes nothing.
		require.NoError(t, b.Put(ctx, base+"delete/dir/child", []byte("x")))
		require.NoError(t, b.Delete(ctx, base+"delete/dir"))
		_, err = b.Get(ctx, base+"delete/dir/child")
		require.NoError(t, err)
	})

	t.Run("List", func(t *testing.T) {
		ctx := t.Context()
		p := base + "list/"
		// '-' sorts before '/', so "b-c" comes before "b/1" whatever the
		// store's directory structure.
		keys := []string{"a", "b/1", "b/2", "b-c", "b0", "c/d/e", "c/d/f", "z"}
		before := time.Now()
		for i, k := range keys {
			require.NoError(t, b.Put(ctx, p+k, bytes.Repeat([]byte("x"), i+1)))
		}
		require.NoError(t, b.Put(ctx, base+"listx", []byte("outside the prefix")))

		infos := list(t, b, p)
		want := slices.Sorted(slices.Values(keys))
		require.Equal(t, prefixed(p, want), keysOf(infos))
		for _, info := range infos {
			i := slices.Index(keys, strings.TrimPrefix(info.Key, p))
			require.Equal(t, int64(i+1), info.Size, info.Key)
			// Allow for clock skew between test and store.
			require.WithinRange(t, info.LastModified, before.Add(-5*time.Minute), time.Now().Add(5*time.Minute), info.Key)
		}

		require.Equal(t, prefixed(p, []string{"b-c", "b/1", "b/2", "b0"}), keysOf(list(t, b, p+"b")))
		require.Equal(t, prefixed(p, []string{"b/1", "b/2"}), keysOf(list(t, b, p+"b/")))
		require.Equal(t, prefixed(p, []string{"c/d/e", "c/d/f"}), keysOf(list(t, b, p+"c/d")))
		require.Equal(t, prefixed(p, []string{"c/d/e"}), keysOf(list(t, b, p+"c/d/e")))
		require.Empty(t, list(t, b, p+"nothing"))
		require.Empty(t, list(t, b, base+"no-such-dir/"))
		require.Equal(t, []string{p + "z"}, keysOf(list(t, b, p+"z")))

		// An error from fn stops the listing and is returned.
		stop := errors.New("stop")
		calls := 0
		err := b.List(ctx, p, func(objstore.ObjectInfo) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, 3, calls)
	})

	t.Run("ListMany", func(t *testing.T) {
		// More than 1000 keys, so S3 must page.
		ctx := t.Context()
		p := base + "many/"
		const n = 1100
		var keys []string
		for i := range n {
			keys = append(keys, fmt.Sprintf("%s%04d", p, i))
		}
		parallel(t, 32, keys, func(key string) error {
			return b.Put(ctx, key, []byte(key[len(key)-4:]))
		})
		infos := list(t, b, p)
		require.Equal(t, keys, keysOf(infos))
		for _, info := range infos {
			require.Equal(t, int64(4), info.Size)
		}
	})

	t.Run("LargeObject", func(t *testing.T) {
		ctx := t.Context()
		key := base + "large/obj"
		data := pattern(20<<20, 2)
		require.NoError(t, b.Put(ctx, key, data))
		got, err := b.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), "large object differs (got %d bytes, want %d)", len(got), len(data))
		part, err := b.GetRange(ctx, key, 7<<20+13, 3<<20)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data[7<<20+13:10<<20+13], part), "range of large object differs")
		infos := list(t, b, base+"large/")
		require.Len(t, infos, 1)
		require.Equal(t, int64(len(data)), infos[0].Size)
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		ctx := t.Context()
		var keys []string
		for i := range 64 {
			keys = append(keys, fmt.Sprintf("%sconcurrent/%02d/obj", base, i))
		}
		parallel(t, len(keys), keys, func(key string) error {
			return b.Put(ctx, key, []byte("data of "+key))
		})
		parallel(t, 16, keys, func(key string) error {
			got, err := b.Get(ctx, key)
			if err != nil {
				return err
			}
			if string(got) != "data of "+key {
				return fmt.Errorf("%s: got %q", key, got)
			}
			return nil
		})
	})

	t.Run("AtomicOverwrite", func(t *testing.T) {
		// Readers racing with writers of one key see only whole versions.
		ctx := t.Context()
		key := base + "atomic/obj"
		versions := [][]byte{pattern(1<<10, 3), pattern(256<<10, 4), pattern(64<<10, 5)}
		require.NoError(t, b.Put(ctx, key, versions[0]))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		done := make(chan struct{})
		for w := range 2 {
			wg.Go(func() {
				for i := range 10 {
					if err := b.Put(ctx, key, versions[(w+i)%len(versions)]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					got, err := b.Get(ctx, key)
					if err != nil {
						errs <- err
						return
					}
					if !slices.ContainsFunc(versions, func(v []byte) bool { return bytes.Equal(v, got) }) {
						errs <- fmt.Errorf("read a torn object of %d bytes", len(got))
						return
					}
				}
			})
		}
		wg.Wait()
		close(done)
		readers.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		key := base + "cancel/obj"
		require.NoError(t, b.Put(t.Context(), key, []byte("present")))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		check := func(op string, err error) {
			t.Helper()
			require.Error(t, err, op)
			require.ErrorIs(t, err, context.Canceled, op)
			require.False(t, objstore.IsNotFound(err), op)
		}
		check("Put", b.Put(ctx, base+"cancel/new", []byte("x")))
		_, err := b.Get(ctx, key)
		check("Get", err)
		_, err = b.Get(ctx, base+"cancel/missing")
		check("Get missing", err)
		_, err = b.GetRange(ctx, key, 0, 1)
		check("GetRange", err)
		check("Delete", b.Delete(ctx, key))
		check("List", b.List(ctx, base, func(objstore.ObjectInfo) error { return nil }))
		check("Check", b.Check(ctx))

		got, err := b.Get(t.Context(), key)
		require.NoError(t, err, "object must survive a cancelled delete")
		require.Equal(t, "present", string(got))
	})
}

// list returns everything List reports under prefix.
func list(t *testing.T, b objstore.Bucket, prefix string) []objstore.ObjectInfo {
	t.Helper()
	var infos []objstore.ObjectInfo
	require.NoError(t, b.List(t.Context(), prefix, func(info objstore.ObjectInfo) error {
		infos = append(infos, info)
		return nil
	}))
	return infos
}

// keysOf returns the keys of infos.
func keysOf(infos []objstore.ObjectInfo) []string {
	keys := []string{}
	for _, info := range infos {
		keys = append(keys, info.Key)
	}
	return keys
}

// prefixed returns keys with p prepended to each.
func prefixed(p string, keys []string) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, p+k)
	}
	return out
}

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed uint64) []byte {
	r := mathrand.New(mathrand.NewPCG(seed, seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return data
}

// parallel calls fn for every key using up to workers goroutines and fails
// the test on the first error.
func parallel(t *testing.T, workers int, keys []string, fn func(key string) error) {
	t.Helper()
	work := make(chan string)
	errs := make(chan error, len(keys))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for key := range work {
				if err := fn(key); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, key := range keys {
		work <- key
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// deleteAll deletes every object under prefix; failures are logged, since
// the subtests have already reported on the bucket's behaviour.
func deleteAll(t *testing.T, b objstore.Bucket, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var keys []string
	err := b.List(ctx, prefix, func(info objstore.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Logf("cleaning up %s: %v", prefix, err)
		return
	}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 32 {
		wg.Go(func() {
			for key := range work {
				if err := b.Delete(ctx, key); err != nil {
					t.Logf("cleaning up: %v", err)
				}
			}
		})
	}
	for _, key := range keys {
		work <- key
	}
	close(work)
	wg.Wait()
}
