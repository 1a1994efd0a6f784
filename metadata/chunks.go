package metadata

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/bloom"
)

// ChunkCommit describes one chunk of a segment being committed.
type ChunkCommit struct {
	QueueRef     int64
	Count        int
	ByteOffset   int64
	ByteLength   int64
	MinStoreTime time.Time
	MaxStoreTime time.Time
	Bloom        []byte
}

// SegmentCommitParams is one flush: a segment object already in the bucket and its chunks.
type SegmentCommitParams struct {
	ObjectKey string
	SizeBytes int64
	Chunks    []ChunkCommit
	// Topics are the topics the chunks belong to, for the commit notification.
	Topics []string
}

// ErrUnknownQueue is returned by SegmentCommit when a queue no longer exists (its topic was
// deleted): nothing is committed.
var ErrUnknownQueue = fmt.Errorf("queue no longer exists: %w", ErrConflict)

// SegmentCommit indexes a flushed segment in ONE transaction: it takes each queue's next
// offsets (locking queue rows in id order, so concurrent ingest nodes cannot deadlock),
// inserts the segment row and one index row per chunk. It returns each chunk's first offset,
// in the order of p.Chunks. Chunks of the same queue get consecutive ranges in order.
func (s *Store) SegmentCommit(ctx context.Context, p SegmentCommitParams) ([]int64, error) {
	if len(p.Chunks) == 0 {
		return nil, fmt.Errorf("segment %s has no chunks", p.ObjectKey)
	}
	// Per queue, the total count; chunks of one queue take ranges in slice order.
	totals := map[int64]int64{}
	for _, c := range p.Chunks {
		totals[c.QueueRef] += int64(c.Count)
	}
	refs := make([]int64, 0, len(totals))
	for r := range totals {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i] < refs[j] })
	counts := make([]int64, len(refs))
	for i, r := range refs {
		counts[i] = totals[r]
	}

	firsts := make([]int64, len(p.Chunks))
	err := s.inTx(ctx, "segment_commit", func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		// A retried commit of an object already committed must not assign offsets again.
		batch.Queue(`INSERT INTO segments (object_key, size_bytes, chunk_count) VALUES ($1, $2, $3)
			ON CONFLICT (object_key) DO NOTHING RETURNING id`, p.ObjectKey, p.SizeBytes, len(p.Chunks))
		// Lock in id order; the UPDATE below then finds them locked by us.
		batch.Queue(`SELECT id FROM queues WHERE id = ANY($1) ORDER BY id FOR UPDATE`, refs)
		batch.Queue(`UPDATE queues q SET next_offset = q.next_offset + v.n, last_write_at = now()
			FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n)
			WHERE q.id = v.id
			RETURNING q.id, q.next_offset - v.n`, refs, counts)
		br := tx.SendBatch(ctx, batch)
		defer br.Close()
		var segID int64
		if err := br.QueryRow().Scan(&segID); errors.Is(err, pgx.ErrNoRows) {
			return errAlreadyCommitted
		} else if err != nil {
			return fmt.Errorf("inserting segment %s: %w", p.ObjectKey, err)
		}
		locked, err := br.Exec()
		if err != nil {
			return fmt.Errorf("locking queues: %w", err)
		}
		if int(locked.RowsAffected()) != len(refs) {
			return ErrUnknownQueue
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("advancing offsets: %w", err)
		}
		start := map[int64]int64{}
		for rows.Next() {
			var id, first int64
			if err := rows.Scan(&id, &first); err != nil {
				rows.Close()
				return fmt.Errorf("reading offsets: %w", err)
			}
			start[id] = first
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("advancing offsets: %w", err)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("committing segment %s: %w", p.ObjectKey, err)
		}

		n := len(p.Chunks)
		qrefs, offs, cnts := make([]int64, n), make([]int64, n), make([]int32, n)
		boffs, blens := make([]int64, n), make([]int64, n)
		mins, maxs := make([]time.Time, n), make([]time.Time, n)
		blooms := make([][]byte, n)
		for i, c := range p.Chunks {
			firsts[i] = start[c.QueueRef]
			start[c.QueueRef] += int64(c.Count)
			qrefs[i], offs[i], cnts[i] = c.QueueRef, firsts[i], int32(c.Count)
			boffs[i], blens[i], mins[i], maxs[i], blooms[i] = c.ByteOffset, c.ByteLength, c.MinStoreTime, c.MaxStoreTime, c.Bloom
		}
		_, err = tx.Exec(ctx, `INSERT INTO chunks (queue_ref, first_offset, record_count, segment_id, byte_offset,
				byte_length, min_store_time, max_store_time, bloom)
			SELECT q, o, c, $9, bo, bl, mn, mx, b
			FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::timestamptz[],
				$7::timestamptz[], $8::bytea[]) AS v(q, o, c, bo, bl, mn, mx, b)`,
			qrefs, offs, cnts, boffs, blens, mins, maxs, blooms, segID)
		if err != nil {
			return fmt.Errorf("inserting chunk index of %s: %w", p.ObjectKey, err)
		}
		// One notification per commit wakes the receives waiting on these topics.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelCommits, commitPayload(p.Topics)); err != nil {
			return fmt.Errorf("notifying commit of %s: %w", p.ObjectKey, err)
		}
		return nil
	})
	if errors.Is(err, errAlreadyCommitted) {
		return s.committedOffsets(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	return firsts, nil
}

var errAlreadyCommitted = errors.New("segment already committed")

// committedOffsets returns the first offsets that an earlier commit of the same object gave
// its chunks, matched by queue and byte range.
func (s *Store) committedOffsets(ctx context.Context, p SegmentCommitParams) ([]int64, error) {
	type key struct{ ref, off int64 }
	got := map[key]int64{}
	err := s.observe("segment_commit_lookup", func() error {
		rows, err := s.pool.Query(ctx, `SELECT c.queue_ref, c.byte_offset, c.first_offset FROM chunks c
			JOIN segments s ON s.id = c.segment_id WHERE s.object_key = $1`, p.ObjectKey)
		if err != nil {
			return fmt.Errorf("reading earlier commit of %s: %w", p.ObjectKey, err)
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var first int64
			if err := rows.Scan(&k.ref, &k.off, &first); err != nil {
				return err
			}
			got[k] = first
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	firsts := make([]int64, len(p.Chunks))
	for i, c := range p.Chunks {
		f, ok := got[key{c.QueueRef, c.ByteOffset}]
		if !ok {
			return nil, fmt.Errorf("segment %s was committed with other chunks: %w", p.ObjectKey, ErrConflict)
		}
		firsts[i] = f
	}
	return firsts, nil
}

// Chunk is one index row joined with its segment's object key.
type Chunk struct {
	QueueRef    int64
	FirstOffset int64
	Count       int
	SegmentID   int64
	// Skip is how many records of the stored chunk come before this row's first offset.
	Skip         int
	ObjectKey    string
	ByteOffset   int64
	ByteLength   int64
	MinStoreTime time.Time
	MaxStoreTime time.Time
}

const chunkColumns = `c.queue_ref, c.first_offset, c.record_count, c.segment_id, c.record_skip, s.object_key, c.byte_offset, c.byte_length,
	c.min_store_time, c.max_store_time`

func scanChunk(r pgx.CollectableRow) (Chunk, error) {
	var c Chunk
	err := r.Scan(&c.QueueRef, &c.FirstOffset, &c.Count, &c.SegmentID, &c.Skip, &c.ObjectKey, &c.ByteOffset, &c.ByteLength, &c.MinStoreTime, &c.MaxStoreTime)
	return c, err
}

// ChunksFrom returns up to max chunks of a queue in offset order, starting with the chunk
// that holds offset (or the first one after it).
func (s *Store) ChunksFrom(ctx context.Context, queueRef, offset int64, max int) ([]Chunk, error) {
	var out []Chunk
	err := s.observe("chunks_from", func() error {
		var err error
		out, err = chunksFrom(ctx, s.pool, queueRef, offset, max)
		return err
	})
	return out, err
}

func chunksFrom(ctx context.Context, q querier, queueRef, offset int64, max int) ([]Chunk, error) {
	rows, err := q.Query(ctx, `(SELECT `+chunkColumns+` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.first_offset <= $2 ORDER BY c.first_offset DESC LIMIT 1)
		UNION ALL
		(SELECT `+chunkColumns+` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.first_offset > $2 ORDER BY c.first_offset LIMIT $3)`,
		queueRef, offset, max)
	if err != nil {
		return nil, fmt.Errorf("reading chunk index of queue %d: %w", queueRef, err)
	}
	out, err := pgx.CollectRows(rows, scanChunk)
	if err != nil {
		return nil, fmt.Errorf("reading chunk index of queue %d: %w", queueRef, err)
	}
	// Drop a leading chunk that ends before offset.
	if len(out) > 0 && out[0].FirstOffset+int64(out[0].Count) <= offset {
		out = out[1:]
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// ChunksMayContain returns the chunks of the given queues whose Bloom filter may hold the
// item (see package bloom), newest first, at most max.
func (s *Store) ChunksMayContain(ctx context.Context, queueRefs []int64, item string, max int) ([]Chunk, error) {
	h1, h2 := bloom.Hashes(item)
	var out []Chunk
	err := s.observe("chunks_may_contain", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+chunkColumns+` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = ANY($1) AND floe_bloom_has(c.bloom, $2, $3)
			ORDER BY c.max_store_time DESC LIMIT $4`, queueRefs, h1, h2, max)
		if err != nil {
			return fmt.Errorf("searching chunk filters: %w", err)
		}
		out, err = pgx.CollectRows(rows, scanChunk)
		return err
	})
	return out, err
}
