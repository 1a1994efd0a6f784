package metadata_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
)

func openStore(t *testing.T) *metadata.Store {
	t.Helper()
	s := testenv.Store(t, metadata.Config{}, prometheus.NewRegistry())
	require.NoError(t, s.Migrate(context.Background()), "migrating twice is a no-op")
	return s
}

func TestTopicCreateIsIdempotentAndConflicts(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	spec := metadata.Topic{Name: "orders", Type: metadata.TopicNormal, Queues: 4, RetentionHours: 72}
	got, created, err := s.TopicCreate(ctx, spec)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, 4, got.Queues)

	_, created, err = s.TopicCreate(ctx, spec)
	require.NoError(t, err)
	require.False(t, created)

	spec.Queues = 8
	_, _, err = s.TopicCreate(ctx, spec)
	require.ErrorIs(t, err, metadata.ErrConflict)

	qs, err := s.QueueList(ctx, "orders")
	require.NoError(t, err)
	require.Len(t, qs, 4)
	for i, q := range qs {
		require.Equal(t, i, q.QueueID)
		require.Zero(t, q.NextOffset)
	}

	require.NoError(t, s.TopicDelete(ctx, "orders"))
	require.ErrorIs(t, s.TopicDelete(ctx, "orders"), metadata.ErrNotFound)
	_, err = s.TopicGet(ctx, "orders")
	require.ErrorIs(t, err, metadata.ErrNotFound)
}

// Invariant 2: per queue, offsets are dense, start at 0 and strictly increase, even when
// several ingest nodes commit into the same queues at once.
func TestSegmentCommitOffsetsDenseUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 3, RetentionHours: 1})
	require.NoError(t, err)
	qs, err := s.QueueList(ctx, "t")
	require.NoError(t, err)

	type got struct {
		ref, first int64
		n          int
	}
	var mu sync.Mutex
	var all []got
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				// Queues in a different order per worker, one queue twice.
				order := []metadata.Queue{qs[(w+i)%3], qs[(w+i+1)%3], qs[(w+i)%3]}
				var chunks []metadata.ChunkCommit
				for j, q := range order {
					chunks = append(chunks, metadata.ChunkCommit{QueueRef: q.Ref, Count: 1 + j + i%3, ByteLength: 10,
						MinStoreTime: time.Now(), MaxStoreTime: time.Now(), Bloom: bloom.New(1).Bytes()})
				}
				firsts, err := s.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: fmt.Sprintf("seg/%d-%d", w, i), SizeBytes: 30, Chunks: chunks})
				if !assertNoErr(t, err) {
					return
				}
				mu.Lock()
				for j, c := range chunks {
					all = append(all, got{c.QueueRef, firsts[j], c.Count})
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()

	for _, q := range qs {
		covered := map[int64]bool{}
		var total int64
		for _, g := range all {
			if g.ref != q.Ref {
				continue
			}
			for o := g.first; o < g.first+int64(g.n); o++ {
				require.False(t, covered[o], "offset %d of queue %d assigned twice", o, q.QueueID)
				covered[o] = true
			}
			total += int64(g.n)
		}
		for o := int64(0); o < total; o++ {
			require.True(t, covered[o], "offset %d of queue %d missing", o, q.QueueID)
		}
		cur, err := s.QueueGet(ctx, "t", q.QueueID)
		require.NoError(t, err)
		require.Equal(t, total, cur.NextOffset)

		chunks, err := s.ChunksFrom(ctx, q.Ref, 0, 1000)
		require.NoError(t, err)
		next := int64(0)
		for _, c := range chunks {
			require.Equal(t, next, c.FirstOffset, "index rows of queue %d are not contiguous", q.QueueID)
			next += int64(c.Count)
		}
		require.Equal(t, total, next)
	}
}

func assertNoErr(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

func TestSegmentCommitUnknownQueueCommitsNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	qs, err := s.QueueList(ctx, "t")
	require.NoError(t, err)
	now := time.Now()
	_, err = s.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: "k", SizeBytes: 1, Chunks: []metadata.ChunkCommit{
		{QueueRef: qs[0].Ref, Count: 2, MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{0}},
		{QueueRef: 999999, Count: 2, MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{0}},
	}})
	require.ErrorIs(t, err, metadata.ErrUnknownQueue)
	q, err := s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	require.Zero(t, q.NextOffset, "a failed commit must not advance offsets")
}

func TestChunksFromFindsTheChunkHoldingAnOffset(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	q, err := s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	now := time.Now()
	for i := 0; i < 5; i++ { // chunks [0,10) [10,20) ... [40,50)
		_, err := s.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: fmt.Sprint("k", i), SizeBytes: 1,
			Chunks: []metadata.ChunkCommit{{QueueRef: q.Ref, Count: 10, MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{0}}}})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		offset    int64
		max       int
		wantFirst []int64
	}{
		{0, 2, []int64{0, 10}},
		{9, 2, []int64{0, 10}},
		{10, 2, []int64{10, 20}},
		{45, 5, []int64{40}},
		{50, 5, nil},
	} {
		cs, err := s.ChunksFrom(ctx, q.Ref, tc.offset, tc.max)
		require.NoError(t, err)
		var firsts []int64
		for _, c := range cs {
			firsts = append(firsts, c.FirstOffset)
		}
		require.Equal(t, tc.wantFirst, firsts, "offset %d", tc.offset)
	}
}

// The SQL filter and the Go filter must agree, or lookups miss messages.
func TestBloomSQLMatchesGo(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	q, err := s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	now := time.Now()
	const perChunk = 50
	for c := 0; c < 20; c++ {
		f := bloom.New(perChunk)
		for i := 0; i < perChunk; i++ {
			f.Add(bloom.KeyItem(fmt.Sprintf("key-%d-%d", c, i)))
		}
		_, err := s.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: fmt.Sprint("k", c), SizeBytes: 1,
			Chunks: []metadata.ChunkCommit{{QueueRef: q.Ref, Count: perChunk, MinStoreTime: now, MaxStoreTime: now, Bloom: f.Bytes()}}})
		require.NoError(t, err)
	}
	for c := 0; c < 20; c++ {
		for i := 0; i < perChunk; i += 7 {
			cs, err := s.ChunksMayContain(ctx, []int64{q.Ref}, bloom.KeyItem(fmt.Sprintf("key-%d-%d", c, i)), 100)
			require.NoError(t, err)
			found := false
			for _, ch := range cs {
				found = found || ch.FirstOffset == int64(c*perChunk)
			}
			require.True(t, found, "key-%d-%d not found by its chunk's filter", c, i)
			require.Less(t, len(cs), 5, "too many false positives")
		}
	}
	cs, err := s.ChunksMayContain(ctx, []int64{q.Ref}, bloom.KeyItem("absent"), 100)
	require.NoError(t, err)
	require.Less(t, len(cs), 3)
}

// A commit retried after a lost reply returns the same offsets and assigns none again.
func TestSegmentCommitIsIdempotentPerObject(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 2, RetentionHours: 1})
	require.NoError(t, err)
	qs, err := s.QueueList(ctx, "t")
	require.NoError(t, err)
	now := time.Now()
	p := metadata.SegmentCommitParams{ObjectKey: "seg/a", SizeBytes: 10, Chunks: []metadata.ChunkCommit{
		{QueueRef: qs[0].Ref, Count: 3, ByteOffset: 0, ByteLength: 5, MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{0}},
		{QueueRef: qs[1].Ref, Count: 2, ByteOffset: 5, ByteLength: 5, MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{0}},
	}}
	first, err := s.SegmentCommit(ctx, p)
	require.NoError(t, err)
	p2 := p
	p2.ObjectKey = "seg/b"
	_, err = s.SegmentCommit(ctx, p2)
	require.NoError(t, err)
	again, err := s.SegmentCommit(ctx, p)
	require.NoError(t, err)
	require.Equal(t, first, again)
	q0, err := s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(6), q0.NextOffset, "the retried commit must not advance offsets")
}
