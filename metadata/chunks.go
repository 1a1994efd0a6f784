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

// ChunkKind says what a committed chunk becomes.
type ChunkKind int

// Chunk kinds.
const (
	// ChunkVisible chunks are appended to their queue at once.
	ChunkVisible ChunkKind = iota
	// ChunkDelayed chunks wait in timers until their messages fall due.
	ChunkDelayed
	// ChunkHalf chunks are a transaction's half messages, appended on commit.
	ChunkHalf
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
	Kind         ChunkKind
	// Timers group a delayed chunk's records (sorted by delivery time) into runs that fall
	// due together.
	Timers []TimerGroup
	// TransactionID names the transaction of a half chunk.
	TransactionID string
}

// TimerGroup is a run of a delayed chunk's records that becomes visible at DueAt.
type TimerGroup struct {
	Skip  int
	Count int
	DueAt time.Time
}

// TransactionCreate is a transaction begun by a flush.
type TransactionCreate struct {
	ID            string
	Topic         string
	ProducerGroup string
	FirstCheckAt  time.Time
}

// SegmentCommitParams is one flush: a segment object already in the bucket and its chunks.
type SegmentCommitParams struct {
	ObjectKey string
	SizeBytes int64
	Chunks    []ChunkCommit
	// Transactions are created with their half chunks.
	Transactions []TransactionCreate
	// Topics are the topics the chunks belong to, for the commit notification.
	Topics []string
	// Dedups are the flush's messages sent with deduplication ids, whose claims the
	// commit completes (see DedupClaim).
	Dedups []DedupSent
}

// ErrUnknownQueue is returned by SegmentCommit when a queue no longer exists (its topic was
// deleted): nothing is committed.
var ErrUnknownQueue = fmt.Errorf("queue no longer exists: %w", ErrConflict)

// SegmentCommit indexes a flushed segment in ONE transaction: it takes each queue's next
// offsets for the visible chunks (locking queue rows in id order, so concurrent ingest
// nodes cannot deadlock), inserts the segment row, one index row per visible chunk, the
// timers of delayed chunks and the transactions and references of half chunks. It returns
// each chunk's first offset, in the order of p.Chunks (0 for chunks not yet visible).
// Chunks of the same queue get consecutive ranges in order.
func (s *Store) SegmentCommit(ctx context.Context, p SegmentCommitParams) ([]int64, error) {
	if len(p.Chunks) == 0 {
		return nil, fmt.Errorf("segment %s has no chunks", p.ObjectKey)
	}
	// Per queue, the total count of visible records; chunks of one queue take ranges in
	// slice order.
	totals := map[int64]int64{}
	for _, c := range p.Chunks {
		if c.Kind == ChunkVisible {
			totals[c.QueueRef] += int64(c.Count)
		}
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
		if len(refs) > 0 {
			// Lock in id order; the UPDATE below then finds them locked by us.
			batch.Queue(`SELECT id FROM queues WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, refs)
			batch.Queue(`UPDATE queues q SET next_offset = q.next_offset + v.n, last_write_at = now()
				FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n)
				WHERE q.id = v.id
				RETURNING q.id, q.next_offset - v.n`, refs, counts)
		}
		br := tx.SendBatch(ctx, batch)
		defer br.Close()
		var segID int64
		if err := br.QueryRow().Scan(&segID); errors.Is(err, pgx.ErrNoRows) {
			return errAlreadyCommitted
		} else if err != nil {
			return fmt.Errorf("inserting segment %s: %w", p.ObjectKey, err)
		}
		start := map[int64]int64{}
		if len(refs) > 0 {
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
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("committing segment %s: %w", p.ObjectKey, err)
		}

		var ix chunkRows
		for i, c := range p.Chunks {
			if c.Kind != ChunkVisible {
				continue
			}
			firsts[i] = start[c.QueueRef]
			start[c.QueueRef] += int64(c.Count)
			ix.add(c.QueueRef, firsts[i], 0, c)
		}
		if err := ix.insert(ctx, tx, segID); err != nil {
			return fmt.Errorf("inserting chunk index of %s: %w", p.ObjectKey, err)
		}
		if err := completeDedup(ctx, tx, p.Dedups, firsts); err != nil {
			return err
		}
		if err := insertPending(ctx, tx, segID, p); err != nil {
			if isForeignKeyViolation(err) {
				return ErrUnknownQueue
			}
			return fmt.Errorf("inserting delayed and half messages of %s: %w", p.ObjectKey, err)
		}
		if len(refs) > 0 {
			if err := markReady(ctx, tx, refs); err != nil {
				return err
			}
			// One notification per commit wakes the receives waiting on these topics.
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelCommits, commitPayload(p.Topics)); err != nil {
				return fmt.Errorf("notifying commit of %s: %w", p.ObjectKey, err)
			}
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

// chunkRows collects index rows for one multi-row insert.
type chunkRows struct {
	qrefs, offs, boffs, blens []int64
	cnts, skips               []int32
	mins, maxs                []time.Time
	blooms                    [][]byte
}

func (r *chunkRows) add(queueRef, first int64, skip int, c ChunkCommit) {
	r.qrefs = append(r.qrefs, queueRef)
	r.offs = append(r.offs, first)
	r.cnts = append(r.cnts, int32(c.Count))
	r.skips = append(r.skips, int32(skip))
	r.boffs = append(r.boffs, c.ByteOffset)
	r.blens = append(r.blens, c.ByteLength)
	r.mins = append(r.mins, c.MinStoreTime)
	r.maxs = append(r.maxs, c.MaxStoreTime)
	r.blooms = append(r.blooms, c.Bloom)
}

func (r *chunkRows) insert(ctx context.Context, tx pgx.Tx, segID int64) error {
	if len(r.qrefs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO chunks (queue_ref, first_offset, record_count, record_skip, segment_id, byte_offset,
			byte_length, min_store_time, max_store_time, bloom)
		SELECT q, o, c, sk, $10, bo, bl, mn, mx, b
		FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], $7::timestamptz[],
			$8::timestamptz[], $9::bytea[]) AS v(q, o, c, sk, bo, bl, mn, mx, b)`,
		r.qrefs, r.offs, r.cnts, r.skips, r.boffs, r.blens, r.mins, r.maxs, r.blooms, segID)
	return err
}

// insertPending writes the timers of delayed chunks and the transactions and references of
// half chunks.
func insertPending(ctx context.Context, tx pgx.Tx, segID int64, p SegmentCommitParams) error {
	batch := &pgx.Batch{}
	for _, t := range p.Transactions {
		batch.Queue(`INSERT INTO transactions (id, topic, producer_group, state, next_check_at) VALUES ($1, $2, $3, 'PENDING', $4)`,
			t.ID, t.Topic, t.ProducerGroup, t.FirstCheckAt)
	}
	for _, c := range p.Chunks {
		switch c.Kind {
		case ChunkDelayed:
			for _, g := range c.Timers {
				batch.Queue(`INSERT INTO timers (queue_ref, segment_id, byte_offset, byte_length, record_skip, record_count,
						min_store_time, max_store_time, bloom, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
					c.QueueRef, segID, c.ByteOffset, c.ByteLength, g.Skip, g.Count, c.MinStoreTime, c.MaxStoreTime, c.Bloom, g.DueAt)
			}
		case ChunkHalf:
			batch.Queue(`INSERT INTO transaction_chunks (transaction_id, queue_ref, segment_id, byte_offset, byte_length,
					record_skip, record_count, min_store_time, max_store_time, bloom) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)`,
				c.TransactionID, c.QueueRef, segID, c.ByteOffset, c.ByteLength, c.Count, c.MinStoreTime, c.MaxStoreTime, c.Bloom)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
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
		if c.Kind != ChunkVisible {
			continue
		}
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
	Skip       int
	ObjectKey  string
	ByteOffset int64
	ByteLength int64
	// ObjectSize is the length of the whole segment object, so that a reader may fetch
	// the chunk's neighbours with it.
	ObjectSize   int64
	MinStoreTime time.Time
	MaxStoreTime time.Time
}

const chunkColumns = `c.queue_ref, c.first_offset, c.record_count, c.segment_id, c.record_skip, s.object_key, c.byte_offset, c.byte_length,
	s.size_bytes, c.min_store_time, c.max_store_time`

func scanChunk(r pgx.CollectableRow) (Chunk, error) {
	var c Chunk
	err := r.Scan(&c.QueueRef, &c.FirstOffset, &c.Count, &c.SegmentID, &c.Skip, &c.ObjectKey, &c.ByteOffset, &c.ByteLength, &c.ObjectSize, &c.MinStoreTime, &c.MaxStoreTime)
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

// chunksFromSQL reads the chunks from an offset on: the one holding the offset and up to
// $3 after it. collectChunksFrom turns its rows into chunksFrom's answer.
const chunksFromSQL = `(SELECT ` + chunkColumns + ` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.first_offset <= $2 ORDER BY c.first_offset DESC LIMIT 1)
		UNION ALL
		(SELECT ` + chunkColumns + ` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.first_offset > $2 ORDER BY c.first_offset LIMIT $3)`

func chunksFrom(ctx context.Context, q querier, queueRef, offset int64, max int) ([]Chunk, error) {
	rows, err := q.Query(ctx, chunksFromSQL, queueRef, offset, max)
	if err != nil {
		return nil, fmt.Errorf("reading chunk index of queue %d: %w", queueRef, err)
	}
	return collectChunksFrom(rows, queueRef, offset, max)
}

func collectChunksFrom(rows pgx.Rows, queueRef, offset int64, max int) ([]Chunk, error) {
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
