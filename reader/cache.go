package reader

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/metadata"
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
	// raw holds a primed chunk's stored bytes until its first read decodes them; nil
	// once decoded (recs is then set).
	raw  []byte
	size int64
}

// ChunkCache keeps decoded chunks in memory, bounded by bytes, least recently used out
// first. Concurrent misses of one chunk share a single ranged GET. An ingest role in the
// same process primes it with the chunks it has just written (Prime), kept encoded until
// first read, so fresh messages are served without a GET.
type ChunkCache struct {
	bucket objstore.Bucket
	limit  int64

	mu       sync.Mutex
	used     int64
	lru      *list.List // front = most recent; values *cacheEntry
	items    map[chunkRef]*list.Element
	inflight map[chunkRef]*fetch
	// windows are the ranged GETs in flight, by object key.
	windows map[string][]*window
	// readAhead is how many bytes a miss reads from the chunk on (0: the chunk alone).
	readAhead int64

	hits, misses    prometheus.Counter
	primed          prometheus.Counter
	readAheadChunks prometheus.Counter
	evictions       prometheus.Counter
	bytes           prometheus.Gauge
}

type fetch struct {
	done chan struct{}
	recs []segment.Record
	err  error
}

// NewChunkCache returns a cache of at most limit bytes over bucket, whose misses read
// readAhead bytes of the object from the missing chunk on (see Get; 0 reads the chunk alone).
func NewChunkCache(bucket objstore.Bucket, limit, readAhead int64, reg prometheus.Registerer) (*ChunkCache, error) {
	c := &ChunkCache{
		bucket:    bucket,
		limit:     limit,
		readAhead: readAhead,
		lru:       list.New(),
		items:     map[chunkRef]*list.Element{},
		inflight:  map[chunkRef]*fetch{},
		windows:   map[string][]*window{},
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_hits_total", Help: "Chunk reads served from the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_misses_total", Help: "Chunk reads that needed a ranged GET.",
		}),
		primed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_primed_total", Help: "Chunks put in the cache by this process's ingest role as it wrote them.",
		}),
		readAheadChunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_read_ahead_total", Help: "Chunks put in the cache, encoded, by the ranged GET of a neighbouring chunk that missed.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_cache_evictions_total", Help: "Chunks dropped from the cache to make room.",
		}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_reader_cache_bytes", Help: "Bytes of decoded chunks held in the cache.",
		}),
	}
	if reg != nil {
		for _, m := range []prometheus.Collector{c.hits, c.misses, c.primed, c.readAheadChunks, c.evictions, c.bytes} {
			if err := reg.Register(m); err != nil {
				return nil, fmt.Errorf("registering cache metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Get returns the records of an index row's chunk, from the cache or from the bucket. A
// miss reads the chunk together with the chunks after it in the same object, up to the
// read-ahead bytes (the whole object when it is no larger), in one ranged GET, and keeps
// those neighbours encoded until their first read: the queues of one flush are read
// together when a group catches up, and so by every reader node tailing the topic. The
// returned slice is shared: callers must not modify it.
func (c *ChunkCache) Get(ctx context.Context, ch metadata.Chunk) ([]segment.Record, error) {
	ref := chunkRef{ch.ObjectKey, ch.ByteOffset, ch.ByteLength}
	waited := false
	for {
		c.mu.Lock()
		var raw []byte
		if el, ok := c.items[ref]; ok {
			e := el.Value.(*cacheEntry)
			if e.raw == nil {
				c.lru.MoveToFront(el)
				c.mu.Unlock()
				c.hits.Inc()
				return e.recs, nil
			}
			// Primed or read ahead, and not read yet: decode it as a fetch that
			// concurrent reads share.
			raw = e.raw
			c.removeLocked(el)
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
		if w := c.windowLocked(ref); raw == nil && w != nil && !waited {
			// A read of this chunk's neighbourhood is on its way: wait for it, then
			// look again (once; a chunk gone by then is read on its own).
			c.mu.Unlock()
			select {
			case <-w.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			waited = true
			continue
		}
		f := &fetch{done: make(chan struct{})}
		c.inflight[ref] = f
		var w *window
		if raw == nil {
			w = c.planLocked(ref, ch.ObjectSize)
		}
		c.mu.Unlock()

		if raw != nil {
			// The cache's own copy, out of the cache now: the records may keep it.
			f.recs, f.err = decodeChunk(ref, raw, true)
		}
		if raw != nil && f.err == nil {
			c.hits.Inc()
		} else {
			// Not cached, or primed bytes that do not decode: the bucket has the truth.
			c.misses.Inc()
			f.recs, f.err = c.load(ctx, ref, w)
		}
		c.mu.Lock()
		delete(c.inflight, ref)
		if f.err == nil {
			c.addLocked(ref, f.recs)
		}
		if w != nil {
			c.endWindowLocked(w)
		}
		c.mu.Unlock()
		close(f.done)
		return f.recs, f.err
	}
}

// window is a ranged GET of [start, end) of an object in flight, covering the chunk that
// missed and its neighbours.
type window struct {
	key        string
	start, end int64
	done       chan struct{}
}

// windowLocked returns an in-flight read that covers ref, if any.
func (c *ChunkCache) windowLocked(ref chunkRef) *window {
	for _, w := range c.windows[ref.key] {
		if w.start <= ref.offset && ref.offset+ref.length <= w.end {
			return w
		}
	}
	return nil
}

// planLocked chooses the range to read for a miss of ref in an object of size bytes (0:
// unknown) and registers it as in flight.
//
// Only the whole chunks of a range are kept, and where the chunks after ref end is not
// known here, so a range cut at the read-ahead ends inside a chunk whose read part is
// wasted. Next to a chunk of half the read-ahead or more (a merged chunk: 4 MiB or more,
// against the default 8 MiB) that part is most of the range, so such a chunk is read
// alone unless the whole object fits in the read-ahead. Small chunks (a flush segment
// holds one per queue) are read with their neighbours.
func (c *ChunkCache) planLocked(ref chunkRef, size int64) *window {
	start, end := ref.offset, ref.offset+ref.length
	switch {
	case size <= end || c.readAhead <= ref.length:
		// Unknown size, or no room for neighbours: the chunk alone.
	case size > c.readAhead && 2*ref.length >= c.readAhead:
		// Room for a part of the next chunk only.
	case size <= c.readAhead:
		start, end = 0, size
	default:
		end = min(size, start+c.readAhead)
	}
	w := &window{key: ref.key, start: start, end: end, done: make(chan struct{})}
	c.windows[ref.key] = append(c.windows[ref.key], w)
	return w
}

func (c *ChunkCache) endWindowLocked(w *window) {
	ws := c.windows[w.key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.windows, w.key)
	} else {
		c.windows[w.key] = ws
	}
	close(w.done)
}

// Prime offers the stored bytes of a chunk this process has just written (object key,
// byte offset, the chunk's bytes). A copy is kept encoded, counted by its length, and
// decoded by the first Get: a copy, because chunk usually points into the whole segment
// object, which one unread chunk (a trace chunk, say) would otherwise keep alive. A chunk
// already cached or being read is left alone.
func (c *ChunkCache) Prime(key string, offset int64, chunk []byte) {
	ref := chunkRef{key, offset, int64(len(chunk))}
	c.mu.Lock()
	_, cached := c.items[ref]
	_, reading := c.inflight[ref]
	c.mu.Unlock()
	if cached || reading {
		return
	}
	raw := bytes.Clone(chunk)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[ref]; ok {
		return
	}
	if _, ok := c.inflight[ref]; ok {
		return
	}
	if c.insertLocked(&cacheEntry{ref: ref, raw: raw, size: int64(len(raw)) + 128}) {
		c.primed.Inc()
	}
}

// Cached returns the records of a stored chunk (object key, byte offset, length) when the
// cache holds it, decoded or still encoded, without reading the bucket and without
// changing what the cache keeps or in which order: a compactor in the same process reads
// the chunks it merges from here, and its reads must not keep alive chunks that consumers
// are done with. The returned slice is shared: callers must not modify it.
func (c *ChunkCache) Cached(key string, offset, length int64) ([]segment.Record, bool) {
	ref := chunkRef{key, offset, length}
	c.mu.Lock()
	el, ok := c.items[ref]
	var recs []segment.Record
	var raw []byte
	if ok {
		e := el.Value.(*cacheEntry)
		recs, raw = e.recs, e.raw
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	if raw == nil {
		return recs, true
	}
	// The cache's private copy never changes, so the records may point into it; the
	// entry stays encoded for the consumers' first read.
	recs, err := decodeChunk(ref, raw, true)
	if err != nil {
		return nil, false
	}
	return recs, true
}

// load reads w (which covers ref; nil: ref alone) with one ranged GET, keeps the other whole chunks in it
// encoded, and decodes ref.
func (c *ChunkCache) load(ctx context.Context, ref chunkRef, w *window) ([]segment.Record, error) {
	if w == nil {
		w = &window{key: ref.key, start: ref.offset, end: ref.offset + ref.length}
	}
	b, err := c.bucket.GetRange(ctx, ref.key, w.start, w.end-w.start)
	if err != nil {
		return nil, fmt.Errorf("reading chunk %s@%d+%d: %w", ref.key, ref.offset, ref.length, err)
	}
	at := ref.offset - w.start
	// A copy of the chunk's bytes: records pointing into b would keep the whole range
	// in memory.
	recs, err := decodeChunk(ref, b[at:at+ref.length:at+ref.length], false)
	if err != nil {
		return nil, err
	}
	if w.end-w.start > ref.length {
		c.keepNeighbours(ref, w, b)
	}
	return recs, nil
}

// keepNeighbours caches, encoded, the whole chunks of b (the bytes of w) other than ref,
// each as a copy so that one unread neighbour does not keep the whole range alive.
func (c *ChunkCache) keepNeighbours(ref chunkRef, w *window, b []byte) {
	for _, sp := range segment.SplitChunks(b) {
		n := chunkRef{ref.key, w.start + sp.Offset, sp.Length}
		if n == ref {
			continue
		}
		raw := bytes.Clone(b[sp.Offset : sp.Offset+sp.Length])
		c.mu.Lock()
		_, cached := c.items[n]
		_, reading := c.inflight[n]
		if !cached && !reading && c.insertLocked(&cacheEntry{ref: n, raw: raw, size: int64(len(raw)) + 128}) {
			c.readAheadChunks.Inc()
		}
		c.mu.Unlock()
	}
}

// decodeChunk decodes the bytes of ref; owned: b is the cache's private copy of the chunk
// alone, which the records may point into.
func decodeChunk(ref chunkRef, b []byte, owned bool) ([]segment.Record, error) {
	decode := segment.DecodeChunk
	if owned {
		decode = segment.DecodeOwnedChunk
	}
	recs, err := decode(b)
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
	c.insertLocked(&cacheEntry{ref: ref, recs: recs, size: size})
}

// insertLocked adds e at the front, evicting the least recently used entries to make room;
// an entry larger than the whole cache is not kept (false).
func (c *ChunkCache) insertLocked(e *cacheEntry) bool {
	if e.size > c.limit {
		return false
	}
	for c.used+e.size > c.limit {
		c.removeLocked(c.lru.Back())
		c.evictions.Inc()
	}
	c.items[e.ref] = c.lru.PushFront(e)
	c.used += e.size
	c.bytes.Set(float64(c.used))
	return true
}

func (c *ChunkCache) removeLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.items, e.ref)
	c.used -= e.size
	c.bytes.Set(float64(c.used))
}
