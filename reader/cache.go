package reader

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

// chunkRef names a chunk's bytes. Segments are immutable, so cached bytes never go stale.
type chunkRef struct {
	key    string
	offset int64
	length int64
}

type cacheEntry struct {
	ref  chunkRef
	recs []segment.Record
	size int64
}

// ChunkCache keeps decoded chunks in memory, bounded by bytes, least recently used out
// first. Concurrent misses of one chunk share a single ranged GET.
type ChunkCache struct {
	bucket objstore.Bucket
	limit  int64

	mu       sync.Mutex
	used     int64
	lru      *list.List // front = most recent; values *cacheEntry
	items    map[chunkRef]*list.Element
	inflight map[chunkRef]*fetch

	hits, misses prometheus.Counter
	evictions    prometheus.Counter
	bytes        prometheus.Gauge
}

type fetch struct {
	done chan struct{}
	recs []segment.Record
	err  error
}

// NewChunkCache returns a cache of at most limit bytes over bucket.
func NewChunkCache(bucket objstore.Bucket, limit int64, reg prometheus.Registerer) (*ChunkCache, error) {
	c := &ChunkCache{
		bucket:   bucket,
		limit:    limit,
		lru:      list.New(),
		items:    map[chunkRef]*list.Element{},
		inflight: map[chunkRef]*fetch{},
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_hits_total", Help: "Chunk reads served from the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_misses_total", Help: "Chunk reads that needed a ranged GET.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_evictions_total", Help: "Chunks dropped from the cache to make room.",
		}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_reader_cache_bytes", Help: "Bytes of decoded chunks held in the cache.",
		}),
	}
	if reg != nil {
		for _, m := range []prometheus.Collector{c.hits, c.misses, c.evictions, c.bytes} {
			if err := reg.Register(m); err != nil {
				return nil, fmt.Errorf("registering cache metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Get returns a chunk's records, from the cache or by one ranged GET. The returned slice is
// shared: callers must not modify it.
func (c *ChunkCache) Get(ctx context.Context, key string, offset, length int64) ([]segment.Record, error) {
	ref := chunkRef{key, offset, length}
	c.mu.Lock()
	if el, ok := c.items[ref]; ok {
		c.lru.MoveToFront(el)
		recs := el.Value.(*cacheEntry).recs
		c.mu.Unlock()
		c.hits.Inc()
		return recs, nil
	}
	if f, ok := c.inflight[ref]; ok {
		c.mu.Unlock()
		c.hits.Inc()
		select {
		case <-f.done:
			return f.recs, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &fetch{done: make(chan struct{})}
	c.inflight[ref] = f
	c.mu.Unlock()
	c.misses.Inc()

	f.recs, f.err = c.load(ctx, ref)
	c.mu.Lock()
	delete(c.inflight, ref)
	if f.err == nil {
		c.addLocked(ref, f.recs)
	}
	c.mu.Unlock()
	close(f.done)
	return f.recs, f.err
}

func (c *ChunkCache) load(ctx context.Context, ref chunkRef) ([]segment.Record, error) {
	b, err := c.bucket.GetRange(ctx, ref.key, ref.offset, ref.length)
	if err != nil {
		return nil, fmt.Errorf("reading chunk %s@%d+%d: %w", ref.key, ref.offset, ref.length, err)
	}
	recs, err := segment.DecodeChunk(b)
	if err != nil {
		return nil, fmt.Errorf("decoding chunk %s@%d+%d: %w", ref.key, ref.offset, ref.length, err)
	}
	return recs, nil
}

func (c *ChunkCache) addLocked(ref chunkRef, recs []segment.Record) {
	size := int64(0)
	for i := range recs {
		r := &recs[i]
		size += int64(len(r.Body)+len(r.MessageID)+len(r.Tag)+len(r.MessageGroup)+len(r.LiteTopic)) + 128
		for _, k := range r.Keys {
			size += int64(len(k)) + 16
		}
		for k, v := range r.Properties {
			size += int64(len(k)+len(v)) + 32
		}
	}
	if size > c.limit {
		return
	}
	for c.used+size > c.limit {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.items, e.ref)
		c.used -= e.size
		c.evictions.Inc()
	}
	c.items[ref] = c.lru.PushFront(&cacheEntry{ref: ref, recs: recs, size: size})
	c.used += size
	c.bytes.Set(float64(c.used))
}
