package metadata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// KeyPermission lets an API key do one action on the resources one pattern names, such as
// {"produce", "topic:orders-*"}. The auth package gives the words their meaning.
type KeyPermission struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// APIKey is a stored API key. The secret itself is never stored, only its SHA-256 hash.
type APIKey struct {
	ID   string
	Name string
	// Namespace is the tenant whose names the key's requests use; "" is the default one.
	Namespace   string
	Permissions []KeyPermission
	CreatedAt   time.Time
	// RotatedAt is when the secret last changed; zero if never.
	RotatedAt time.Time
}

// KeyCreateParams are the columns of a new key.
type KeyCreateParams struct {
	ID          string
	Name        string
	Namespace   string
	SecretHash  []byte
	Permissions []KeyPermission
}

const keyColumns = `id, name, namespace, permissions, created_at, rotated_at`

func scanKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	var rotated *time.Time
	if err := row.Scan(&k.ID, &k.Name, &k.Namespace, &k.Permissions, &k.CreatedAt, &rotated); err != nil {
		return APIKey{}, err
	}
	if rotated != nil {
		k.RotatedAt = *rotated
	}
	return k, nil
}

// KeyCreate stores a new key. A duplicate id or secret hash gives ErrConflict.
func (s *Store) KeyCreate(ctx context.Context, p KeyCreateParams) (APIKey, error) {
	var k APIKey
	err := s.observe("key_create", func() error {
		var err error
		k, err = scanKey(s.pool.QueryRow(ctx, `INSERT INTO api_keys (id, name, namespace, secret_hash, permissions)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+keyColumns, p.ID, p.Name, p.Namespace, p.SecretHash, p.Permissions))
		if isUniqueViolation(err) {
			return fmt.Errorf("key %s: %w", p.ID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("inserting key %s: %w", p.ID, err)
		}
		return nil
	})
	return k, err
}

// KeyList returns the keys not revoked, oldest first.
func (s *Store) KeyList(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.observe("key_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id`)
		if err != nil {
			return fmt.Errorf("listing keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				return fmt.Errorf("reading key: %w", err)
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// KeyByHash returns the live key whose secret hashes to hash, or ErrNotFound (also for a
// revoked key or a secret replaced by a rotation).
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	var k APIKey
	err := s.observe("key_by_hash", func() error {
		var err error
		k, err = scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
			WHERE secret_hash = $1 AND revoked_at IS NULL`, hash))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading key: %w", err)
		}
		return nil
	})
	return k, err
}

// KeyGet returns a live key by id, or ErrNotFound.
func (s *Store) KeyGet(ctx context.Context, id string) (APIKey, error) {
	var k APIKey
	err := s.observe("key_get", func() error {
		var err error
		k, err = scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1 AND revoked_at IS NULL`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading key %s: %w", id, err)
		}
		return nil
	})
	return k, err
}

// KeyRevoke revokes a live key; ErrNotFound if there is none with that id.
func (s *Store) KeyRevoke(ctx context.Context, id string) error {
	return s.observe("key_revoke", func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("revoking key %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("key %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// KeyRotate replaces a live key's secret hash: the old secret stops matching at once.
// ErrNotFound if there is no live key with that id.
func (s *Store) KeyRotate(ctx context.Context, id string, secretHash []byte) (APIKey, error) {
	var k APIKey
	err := s.observe("key_rotate", func() error {
		var err error
		k, err = scanKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET secret_hash = $2, rotated_at = now()
			WHERE id = $1 AND revoked_at IS NULL RETURNING `+keyColumns, id, secretHash))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key %s: %w", id, ErrNotFound)
		}
		if isUniqueViolation(err) {
			return fmt.Errorf("key %s: %w", id, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("rotating key %s: %w", id, err)
		}
		return nil
	})
	return k, err
}
