// Package ttlcache is the one cache of settings Floe's nodes keep in memory: a map whose
// entries expire a fixed time after they were loaded, bounded in size, where concurrent
// misses of one key share one load (so a burst of calls on a cold key costs one Postgres
// read, not one each).
//
// Invalidation: an entry lives at most TTL, which bounds how long a change made on
// another node goes unseen. A node that changes a setting itself drops the entries it
// changed at once with Delete or DeleteFunc (see docs/architecture.md, "Caches").
package ttlcache

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Config configures a cache.
type Config struct {
	// TTL is how long a loaded value is served; required.
	TTL time.Duration
	// MaxEntries bounds the entries; past it the cache starts over (settings are few and
	// cheap to reload, so no eviction order is kept). Default 10 000.
	MaxEntries int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache maps keys to values loaded on a miss and served until they expire. The zero
// value is not usable; call New.
type Cache[K comparable, V any] struct {
	cfg Config

	mu      sync.Mutex
	entries map[K]entry[V]
	loads   map[K]*load[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// load is one load in flight; the callers that missed the same key wait on done.
type load[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// New returns an empty cache.
func New[K comparable, V any](cfg Config) *Cache[K, V] {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache[K, V]{cfg: cfg, entries: map[K]entry[V]{}, loads: map[K]*load[V]{}}
}

// Get returns the value of key: the cached one while it is fresh, else the one fn loads,
// which is cached unless fn fails (errors are never cached). Callers that miss the same
// key while a load runs wait for it and share its result, unless the load failed because
// its caller's context ended (they load again); a waiter whose ctx ends stops waiting.
func (c *Cache[K, V]) Get(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.cfg.Now().Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	if l, ok := c.loads[key]; ok {
		c.mu.Unlock()
		select {
		case <-l.done:
			if l.err != nil && ctx.Err() == nil && (errors.Is(l.err, context.Canceled) || errors.Is(l.err, context.DeadlineExceeded)) {
				// The load ended with its caller's context, not for want of the value: try
				// again, as this caller.
				return c.Get(ctx, key, fn)
			}
			return l.v, l.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	l := &load[V]{done: make(chan struct{})}
	c.loads[key] = l
	c.mu.Unlock()

	l.v, l.err = fn(ctx)
	c.mu.Lock()
	delete(c.loads, key)
	if l.err == nil {
		c.putLocked(key, l.v)
	}
	c.mu.Unlock()
	close(l.done)
	return l.v, l.err
}

// Lookup returns the value cached for key while it is fresh, without loading.
func (c *Cache[K, V]) Lookup(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.cfg.Now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Peek returns the value cached for key, fresh or expired, without loading.
func (c *Cache[K, V]) Peek(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.v, ok
}

// Put caches v for key for TTL.
func (c *Cache[K, V]) Put(key K, v V) {
	c.mu.Lock()
	c.putLocked(key, v)
	c.mu.Unlock()
}

func (c *Cache[K, V]) putLocked(key K, v V) {
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.cfg.MaxEntries {
		clear(c.entries)
	}
	c.entries[key] = entry[V]{v: v, expires: c.cfg.Now().Add(c.cfg.TTL)}
}

// Delete drops key's entry: the next Get loads it again. A load of key in flight is not
// stopped, and may cache what it read before the change.
func (c *Cache[K, V]) Delete(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// DeleteFunc drops every entry for which drop returns true.
func (c *Cache[K, V]) DeleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	for k, e := range c.entries {
		if drop(k, e.v) {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

// Len returns the number of entries, fresh or expired.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
