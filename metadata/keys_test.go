package metadata_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/metadata"
)

func TestKeyLifecycle(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	h1 := sha256.Sum256([]byte("secret-1"))
	perms := []metadata.KeyPermission{{Action: "produce", Resource: "topic:orders"}, {Action: "admin", Resource: "topic:*"}}
	k, err := s.KeyCreate(ctx, metadata.KeyCreateParams{ID: "key_a", Name: "billing", SecretHash: h1[:], Permissions: perms})
	require.NoError(t, err)
	require.Equal(t, perms, k.Permissions)
	require.False(t, k.CreatedAt.IsZero())
	require.True(t, k.RotatedAt.IsZero())

	_, err = s.KeyCreate(ctx, metadata.KeyCreateParams{ID: "key_a", Name: "x", SecretHash: []byte("other"), Permissions: perms})
	require.ErrorIs(t, err, metadata.ErrConflict, "same id")
	_, err = s.KeyCreate(ctx, metadata.KeyCreateParams{ID: "key_b", Name: "x", SecretHash: h1[:], Permissions: perms})
	require.ErrorIs(t, err, metadata.ErrConflict, "same secret hash")

	got, err := s.KeyByHash(ctx, h1[:])
	require.NoError(t, err)
	require.Equal(t, "key_a", got.ID)
	require.Equal(t, "billing", got.Name)

	h2 := sha256.Sum256([]byte("secret-2"))
	rotated, err := s.KeyRotate(ctx, "key_a", h2[:])
	require.NoError(t, err)
	require.False(t, rotated.RotatedAt.IsZero())
	_, err = s.KeyByHash(ctx, h1[:])
	require.ErrorIs(t, err, metadata.ErrNotFound, "the old secret stops matching")
	_, err = s.KeyByHash(ctx, h2[:])
	require.NoError(t, err)

	list, err := s.KeyList(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)

	require.NoError(t, s.KeyRevoke(ctx, "key_a"))
	require.ErrorIs(t, s.KeyRevoke(ctx, "key_a"), metadata.ErrNotFound)
	_, err = s.KeyByHash(ctx, h2[:])
	require.ErrorIs(t, err, metadata.ErrNotFound)
	_, err = s.KeyRotate(ctx, "key_a", []byte("h3"))
	require.ErrorIs(t, err, metadata.ErrNotFound, "a revoked key cannot be brought back by rotation")
	list, err = s.KeyList(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestKeyNamespace(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	h := sha256.Sum256([]byte("secret-ns"))
	perms := []metadata.KeyPermission{{Action: "admin", Resource: "*"}}
	k, err := s.KeyCreate(ctx, metadata.KeyCreateParams{ID: "key_ns", Name: "acme-admin", Namespace: "acme", SecretHash: h[:], Permissions: perms})
	require.NoError(t, err)
	require.Equal(t, "acme", k.Namespace)
	got, err := s.KeyByHash(ctx, h[:])
	require.NoError(t, err)
	require.Equal(t, "acme", got.Namespace)
	got, err = s.KeyGet(ctx, "key_ns")
	require.NoError(t, err)
	require.Equal(t, "acme", got.Namespace)
	_, err = s.KeyGet(ctx, "key_none")
	require.ErrorIs(t, err, metadata.ErrNotFound)
	require.NoError(t, s.KeyRevoke(ctx, "key_ns"))
	_, err = s.KeyGet(ctx, "key_ns")
	require.ErrorIs(t, err, metadata.ErrNotFound, "a revoked key is not live")
}
