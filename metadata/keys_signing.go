package metadata

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/jackc/pgx/v5"
)

// KeySecretHash returns a live key by id with the SHA-256 of its secret (what the gRPC
// front end verifies RocketMQ signatures against), or ErrNotFound.
func (s *Store) KeySecretHash(ctx context.Context, id string) (APIKey, []byte, error) {
	var k APIKey
	var hash []byte
	err := s.observe("key_secret_hash", func() error {
		row := s.pool.QueryRow(ctx, `SELECT `+keyColumns+`, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL`, id)
		var rotated *time.Time
		err := row.Scan(&k.ID, &k.Name, &k.Namespace, &k.Permissions, &k.CreatedAt, &rotated, &hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading key %s: %w", id, err)
		}
		if rotated != nil {
			k.RotatedAt = *rotated
		}
		return nil
	})
	return k, hash, err
}
