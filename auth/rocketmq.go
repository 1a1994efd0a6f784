package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/floemq/floe/internal/ttlcache"
	"github.com/floemq/floe/metadata"
)

// RocketMQSecret is the secret the RocketMQ 5 clients sign gRPC calls with for a key:
// the hex SHA-256 of the key's secret. The server keeps exactly that hash (an HMAC needs
// its key on both sides), so a leak of the key table exposes gRPC signing, never the
// Bearer secret it was derived from.
func RocketMQSecret(secret string) string {
	h := HashSecret(secret)
	return hex.EncodeToString(h[:])
}

// SignatureStore is what signature checks read: a live key by id with its secret hash.
type SignatureStore interface {
	KeySecretHash(ctx context.Context, id string) (metadata.APIKey, []byte, error)
}

// dateTimeLayout is the x-mq-date-time header's format.
const dateTimeLayout = "20060102T150405Z"

// MaxClockSkew bounds how far a signed x-mq-date-time may be from the server's clock,
// either way: the signature covers only that header, so this is how long a captured
// signature can be replayed. Five minutes covers the drift of hosts that sync their
// clocks, as other request-signing schemes allow (S3's SigV4 allows 15).
const MaxClockSkew = 5 * time.Minute

// SignatureVerifier checks the RocketMQ 5 signature of gRPC calls: HMAC-SHA1 over the
// x-mq-date-time header, keyed with the access key's RocketMQSecret. Keys are cached for
// a TTL, like Authenticator, so a call costs no Postgres round trip.
type SignatureVerifier struct {
	store     SignatureStore
	now       func() time.Time
	bootstrap string // RocketMQSecret of the bootstrap key, "" if none

	cache *ttlcache.Cache[string, sigEntry]
}

type sigEntry struct {
	p      *Principal // nil: no live key
	secret []byte
}

// NewSignatureVerifier returns a verifier over store. A non-empty bootstrapKey is accepted
// as access key "bootstrap" (admin on everything). now may be nil (time.Now).
func NewSignatureVerifier(store SignatureStore, ttl time.Duration, bootstrapKey string, now func() time.Time) *SignatureVerifier {
	if now == nil {
		now = time.Now
	}
	v := &SignatureVerifier{store: store, now: now,
		cache: ttlcache.New[string, sigEntry](ttlcache.Config{TTL: ttl, MaxEntries: maxCacheEntries, Now: now})}
	if bootstrapKey != "" {
		v.bootstrap = RocketMQSecret(bootstrapKey)
	}
	return v
}

// ErrBadSignature is returned for a signature that does not verify.
var ErrBadSignature = errors.New("signature does not match the access key's secret")

// Verify returns the principal of a signed call, or an error saying why it is refused.
func (v *SignatureVerifier) Verify(ctx context.Context, accessKey, dateTime, signature string) (*Principal, error) {
	t, err := time.Parse(dateTimeLayout, dateTime)
	if err != nil {
		return nil, fmt.Errorf("x-mq-date-time %q is not %s", dateTime, dateTimeLayout)
	}
	now := v.now()
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, fmt.Errorf("x-mq-date-time is %s from the server's clock (at most %s)", d.Round(time.Second), MaxClockSkew)
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return nil, ErrBadSignature
	}
	p, secret, err := v.lookup(ctx, accessKey)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(dateTime))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, ErrBadSignature
	}
	return p, nil
}

func (v *SignatureVerifier) lookup(ctx context.Context, id string) (*Principal, []byte, error) {
	if id == BootstrapKeyID && v.bootstrap != "" {
		return bootstrapPrincipal, []byte(v.bootstrap), nil
	}
	e, err := v.cache.Get(ctx, id, func(ctx context.Context) (sigEntry, error) {
		k, hash, err := v.store.KeySecretHash(ctx, id)
		switch {
		case errors.Is(err, metadata.ErrNotFound):
			return sigEntry{}, nil
		case err != nil:
			return sigEntry{}, err
		}
		return sigEntry{p: &Principal{KeyID: k.ID, Name: k.Name, Namespace: k.Namespace, Permissions: fromStored(k.Permissions)},
			secret: []byte(hex.EncodeToString(hash))}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if e.p == nil {
		return nil, nil, ErrUnauthenticated
	}
	return e.p, e.secret, nil
}

// Forget drops a key from the cache at once (after this node revoked or rotated it).
func (v *SignatureVerifier) Forget(keyID string) {
	v.cache.Delete(keyID)
}
