// Package objstore stores Floe's segment objects in an object store.
//
// Bucket is the small interface the rest of Floe uses. Two providers
// implement it: Folder (a local directory, used by `floe dev` and unit tests)
// and S3 (any S3-compatible service). Callers check for missing objects with
// IsNotFound and never import provider error types. Cross-cutting concerns
// are wrappers: WithMetrics adds Prometheus metrics and WithPrefix places all
// keys under a prefix.
//
// Keys are slash-separated strings such as "segments/orders/000001.seg".
// Portable keys are valid UTF-8, do not start or end with "/", and contain no
// empty, "." or ".." segments and no backslash or NUL. Folder rejects other
// keys with an error; S3 accepts whatever S3 accepts. Because Folder maps
// keys to files, a key cannot also be a "directory" of other keys there
// (storing both "a" and "a/b" fails); Floe's key layout never does this.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNotFound is returned (wrapped) by Get and GetRange when the key does not
// exist. Test for it with IsNotFound.
var ErrNotFound = errors.New("object not found")

// IsNotFound reports whether err means that the requested object does not
// exist. It is false for every other failure, including a missing bucket.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound)
}

// ObjectInfo describes one stored object, as reported by List.
type ObjectInfo struct {
	// Key is the object's full key (relative to any WithPrefix prefix).
	Key string
	// Size is the object's length in bytes.
	Size int64
	// LastModified is when the object was last written, as reported by the
	// store.
	LastModified time.Time
}

// Bucket is a flat key/value object store. Implementations are safe for
// concurrent use. Every method returns an error when ctx is cancelled
// before it completes.
type Bucket interface {
	// Put stores data under key, replacing any existing object. The write is
	// atomic: readers see either the whole previous object (or none) or the
	// whole new one, never a mix or a prefix, even after a crash. Putting the
	// same data twice is harmless (Put is idempotent). Put may keep a
	// reference to data only until it returns.
	Put(ctx context.Context, key string, data []byte) error

	// Get returns the whole object stored under key. If the key does not
	// exist the error satisfies IsNotFound.
	Get(ctx context.Context, key string) ([]byte, error)

	// GetRange returns exactly length bytes of the object stored under key,
	// starting at byte offset. It requires offset >= 0 and length > 0, and
	// returns an error (not satisfying IsNotFound) if the range does not lie
	// wholly inside the object. If the key does not exist the error satisfies
	// IsNotFound.
	GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error)

	// Delete removes the object stored under key. Deleting a key that does
	// not exist is not an error.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix (a plain
	// string prefix, not necessarily ending in "/"), in lexical byte order
	// of keys, across all pages. Listing is not a snapshot: objects put or
	// deleted during the call may or may not be reported. If fn returns an
	// error, List stops and returns that error (wrapped).
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error

	// Check returns nil if the store is reachable and the bucket exists. It
	// backs the /readyz endpoint.
	Check(ctx context.Context) error
}

// checkRange validates GetRange arguments.
func checkRange(key string, offset, length int64) error {
	if offset < 0 {
		return fmt.Errorf("reading %s: negative offset %d", key, offset)
	}
	if length <= 0 {
		return fmt.Errorf("reading %s: length %d is not positive", key, length)
	}
	if length > math.MaxInt64-offset {
		return fmt.Errorf("reading %s: range [%d, +%d) overflows", key, offset, length)
	}
	return nil
}
