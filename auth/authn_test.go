package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/metadata"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc": "abc", "Bearer floe_sk_x-y_z": "floe_sk_x-y_z",
	} {
		got, ok := auth.ParseAuthorization(h)
		require.True(t, ok, h)
		require.Equal(t, want, got, h)
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic abc", "Bearerabc", "Bearer a b", "Bearer a\tb",
		"Bearer \x00", "Bearer é", "Bearer " + strings.Repeat("a", 257), " Bearer abc"} {
		_, ok := auth.ParseAuthorization(h)
		require.False(t, ok, "%q", h)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  x", "Basic a", "", "Bearer", "Bearer a b", "Bearer \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		secret, ok := auth.ParseAuthorization(h)
		if !ok {
			require.Empty(t, secret)
			return
		}
		require.NotEmpty(t, secret)
		require.LessOrEqual(t, len(secret), 256)
		for _, c := range []byte(secret) {
			require.True(t, c > ' ' && c < 0x7f, "secret %q has byte %#x", secret, c)
		}
		require.True(t, strings.HasSuffix(h, secret))
		again, ok := auth.ParseAuthorization("Bearer " + secret)
		require.True(t, ok)
		require.Equal(t, secret, again)
	})
}

func TestSecretsAreRandomAndPrefixed(t *testing.T) {
	t.Parallel()
	a, err := auth.NewSecret()
	require.NoError(t, err)
	b, err := auth.NewSecret()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, auth.SecretPrefix))
	require.Len(t, a, len(auth.SecretPrefix)+43) // 32 bytes, base64url without padding
	_, ok := auth.ParseAuthorization("Bearer " + a)
	require.True(t, ok)
}

// fakeKeys is a KeyStore in memory that counts lookups.
type fakeKeys struct {
	mu      sync.Mutex
	keys    map[string]metadata.APIKey // by hash
	lookups int
}

func (f *fakeKeys) KeyByHash(_ context.Context, hash []byte) (metadata.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	k, ok := f.keys[string(hash)]
	if !ok {
		return metadata.APIKey{}, metadata.ErrNotFound
	}
	return k, nil
}

func (f *fakeKeys) put(secret string, k metadata.APIKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := auth.HashSecret(secret)
	f.keys[string(h[:])] = k
}

func (f *fakeKeys) drop(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := auth.HashSecret(secret)
	delete(f.keys, string(h[:]))
}

func TestAuthenticatorCachesAndExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &fakeKeys{keys: map[string]metadata.APIKey{}}
	store.put("s1", metadata.APIKey{ID: "key_1", Permissions: []metadata.KeyPermission{{Action: "read", Resource: "topic:a"}}})
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	a := auth.NewAuthenticator(store, 2*time.Second, "boot", clock)

	p, err := a.Authenticate(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, "key_1", p.KeyID)
	require.Equal(t, []auth.Permission{{Action: "read", Resource: "topic:a"}}, p.Permissions)
	for range 10 {
		_, err = a.Authenticate(ctx, "s1")
		require.NoError(t, err)
	}
	require.Equal(t, 1, store.lookups, "hits come from the cache")

	_, err = a.Authenticate(ctx, "bad")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	_, err = a.Authenticate(ctx, "bad")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.Equal(t, 2, store.lookups, "misses are cached too")

	store.drop("s1") // revoked elsewhere
	_, err = a.Authenticate(ctx, "s1")
	require.NoError(t, err, "still cached")
	now = now.Add(2 * time.Second)
	_, err = a.Authenticate(ctx, "s1")
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "gone once the entry expires")

	store.put("s2", metadata.APIKey{ID: "key_2"})
	_, err = a.Authenticate(ctx, "s2")
	require.NoError(t, err)
	store.drop("s2")
	a.Forget("key_2")
	_, err = a.Authenticate(ctx, "s2")
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "Forget drops it at once")

	before := store.lookups
	p, err = a.Authenticate(ctx, "boot")
	require.NoError(t, err)
	require.Equal(t, auth.BootstrapKeyID, p.KeyID)
	require.True(t, auth.Allowed(p.Permissions, "admin", "key:anything"))
	require.Equal(t, before, store.lookups, "the bootstrap key needs no lookup")
	_, err = a.Authenticate(ctx, "boo")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)

	noBoot := auth.NewAuthenticator(store, time.Second, "", clock)
	_, err = noBoot.Authenticate(ctx, "")
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "an empty bootstrap key is no key")
}
