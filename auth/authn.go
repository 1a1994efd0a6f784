package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/internal/ttlcache"
	"github.com/floemq/floe/metadata"
)

// SecretPrefix starts every key secret, so a leaked one is easy to spot in logs and scans.
const SecretPrefix = "floe_sk_"

// maxSecretLen bounds the credential a request may present.
const maxSecretLen = 256

// ParseAuthorization returns the credential of an `Authorization: Bearer <secret>` header.
// The scheme is case-insensitive (RFC 9110); the secret is one token of visible ASCII.
func ParseAuthorization(header string) (secret string, ok bool) {
	scheme, rest, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimLeft(rest, " ")
	if secret == "" || len(secret) > maxSecretLen {
		return "", false
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c <= ' ' || c >= 0x7f {
			return "", false
		}
	}
	return secret, true
}

// NewSecret returns a new key secret: the prefix and 32 random bytes, base64url.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating key secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// NewKeyID returns a new key id. Ids are not secret.
func NewKeyID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating key id: %w", err)
	}
	return "key_" + hex.EncodeToString(b), nil
}

// HashSecret is what the store keeps of a secret. SHA-256 without salt or stretching is
// enough: a secret holds 256 random bits, so no dictionary or brute force applies, and a
// fast deterministic hash lets a request find its key with one index lookup.
func HashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// Principal is the caller a request authenticated as.
type Principal struct {
	KeyID string
	Name  string
	// Namespace is the tenant the key belongs to; "" is the default namespace.
	Namespace   string
	Permissions []Permission
}

// Tenant is the namespace the principal's requests resolve names in. A key of the default
// namespace that is admin on "*" (the bootstrap key is one) sees every namespace's
// resources in lists.
func (p *Principal) Tenant() httpapi.Tenant {
	return httpapi.Tenant{Namespace: p.Namespace,
		SeesAll: p.Namespace == "" && Allowed(p.Permissions, ActionAdmin, "*")}
}

// BootstrapKeyID names the bootstrap admin key in quotas, logs and metrics.
const BootstrapKeyID = "bootstrap"

// KeyStore is what authentication reads: the live key of a secret hash, or
// metadata.ErrNotFound.
type KeyStore interface {
	KeyByHash(ctx context.Context, hash []byte) (metadata.APIKey, error)
}

// ErrUnauthenticated is returned for a secret that matches no live key.
var ErrUnauthenticated = errors.New("unknown or revoked API key")

// maxCacheEntries bounds the cache; past it the cache is emptied (bad secrets sent in
// bulk must not grow memory).
const maxCacheEntries = 100_000

// Authenticator finds the principal of a secret: the bootstrap key, compared in constant
// time, or a stored key, cached for TTL (hits and misses) so a request costs no Postgres
// round trip; a key revoked on another node stops working within TTL.
type Authenticator struct {
	store     KeyStore
	bootstrap [32]byte
	hasBoot   bool

	// cache maps a secret's hash to its principal, nil for no live key.
	cache *ttlcache.Cache[[32]byte, *Principal]
}

// NewAuthenticator returns an Authenticator over store. bootstrapKey, when not empty, is
// accepted as admin on every resource. now may be nil (time.Now).
func NewAuthenticator(store KeyStore, ttl time.Duration, bootstrapKey string, now func() time.Time) *Authenticator {
	a := &Authenticator{store: store,
		cache: ttlcache.New[[32]byte, *Principal](ttlcache.Config{TTL: ttl, MaxEntries: maxCacheEntries, Now: now})}
	if bootstrapKey != "" {
		a.bootstrap, a.hasBoot = HashSecret(bootstrapKey), true
	}
	return a
}

var bootstrapPrincipal = &Principal{KeyID: BootstrapKeyID, Name: "bootstrap admin key",
	Permissions: []Permission{{Action: ActionAdmin, Resource: "*"}}}

// Authenticate returns the principal of secret, ErrUnauthenticated, or a store error.
func (a *Authenticator) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	h := HashSecret(secret)
	// Compare hashes, not secrets: equal lengths, and constant time over them.
	if a.hasBoot && subtle.ConstantTimeCompare(h[:], a.bootstrap[:]) == 1 {
		return bootstrapPrincipal, nil
	}
	// The lookup is by hash: how long it takes can tell at most something about a hash,
	// from which no secret can be found.
	p, err := a.cache.Get(ctx, h, func(ctx context.Context) (*Principal, error) {
		k, err := a.store.KeyByHash(ctx, h[:])
		switch {
		case errors.Is(err, metadata.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return &Principal{KeyID: k.ID, Name: k.Name, Namespace: k.Namespace, Permissions: fromStored(k.Permissions)}, nil
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrUnauthenticated
	}
	return p, nil
}

// Forget drops a key from the cache at once (after this node revoked or rotated it).
func (a *Authenticator) Forget(keyID string) {
	a.cache.DeleteFunc(func(_ [32]byte, p *Principal) bool { return p != nil && p.KeyID == keyID })
}

func fromStored(in []metadata.KeyPermission) []Permission {
	out := make([]Permission, len(in))
	for i, p := range in {
		out[i] = Permission{Action: p.Action, Resource: p.Resource}
	}
	return out
}

func toStored(in []Permission) []metadata.KeyPermission {
	out := make([]metadata.KeyPermission, len(in))
	for i, p := range in {
		out[i] = metadata.KeyPermission{Action: p.Action, Resource: p.Resource}
	}
	return out
}
