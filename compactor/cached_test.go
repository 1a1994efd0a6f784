package compactor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

// heldChunks is a ChunkSource holding the decoded chunks of some objects, as a reader's
// cache holds what the ingest role of its process has just written.
type heldChunks struct {
	recs map[storedChunk][]segment.Record
}

func (h *heldChunks) Cached(key string, offset, length int64) ([]segment.Record, bool) {
	recs, ok := h.recs[storedChunk{key, offset, length}]
	return recs, ok
}

// rangeCounter counts the ranged GETs of each object.
type rangeCounter struct {
	objstore.Bucket
	mu   sync.Mutex
	gets map[string]int
}

func (b *rangeCounter) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	b.mu.Lock()
	b.gets[key]++
	b.mu.Unlock()
	return b.Bucket.GetRange(ctx, key, offset, length)
}

// A merge takes the chunks its process holds in memory from there and reads only the
// others from the bucket; every message stays at its offset, and the held records, shared
// with consumers, are left as they were.
func TestMergeTakesHeldChunksFromMemory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 4, 72)
	want := stored{}
	start := time.Now().Add(-time.Hour)
	var keys []string
	for i := range 20 {
		keys = append(keys, e.flush(t, qs, 6, 200, start.Add(time.Duration(i)*time.Second), want))
	}
	// The newer half is held, as a cache holds what was written last.
	held := &heldChunks{recs: map[storedChunk][]segment.Record{}}
	conn, err := pgx.Connect(ctx, e.url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT s.object_key, c.byte_offset, c.byte_length FROM chunks c
		JOIN segments s ON s.id = c.segment_id WHERE s.object_key = ANY($1)`, keys[10:])
	require.NoError(t, err)
	for rows.Next() {
		var sc storedChunk
		require.NoError(t, rows.Scan(&sc.key, &sc.offset, &sc.length))
		b, err := e.bucket.GetRange(ctx, sc.key, sc.offset, sc.length)
		require.NoError(t, err)
		held.recs[sc], err = segment.DecodeChunk(b)
		require.NoError(t, err)
	}
	require.NoError(t, rows.Err())
	require.Len(t, held.recs, 10*len(qs))

	counter := &rangeCounter{Bucket: e.bucket, gets: map[string]int{}}
	e.bucket = counter
	c := e.compactor(t, Config{TargetChunkBytes: 8 << 10, MergeAge: time.Minute, ReadGrace: time.Minute, Chunks: held})
	e.clock.Advance(2 * time.Minute) // every flush segment is past MergeAge
	rep, err := c.RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, rep.Merges)
	counter.mu.Lock()
	for _, k := range keys[10:] {
		require.Zero(t, counter.gets[k], "%s is held: a merge must not read it", k)
	}
	for _, k := range keys[:10] {
		require.Positive(t, counter.gets[k], "%s is not held: a merge reads it", k)
	}
	counter.mu.Unlock()
	require.Equal(t, float64(len(held.recs)), testutil.ToFloat64(c.m.cachedChunks))
	e.requireSame(t, qs, want)
	for sc, recs := range held.recs {
		b, err := e.bucket.GetRange(ctx, sc.key, sc.offset, sc.length)
		require.NoError(t, err)
		fresh, err := segment.DecodeChunk(b)
		require.NoError(t, err)
		require.Equal(t, fresh, recs, "held records of %s@%d changed", sc.key, sc.offset)
	}
}
