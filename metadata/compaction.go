package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file is the compactor's side of the store: merge candidates, leases, the index swap
// of a merge, retention, and the bookkeeping of segments that no index row references.
//
// A segment is referenced while a row of chunks, timers or transaction_chunks points at it.
// Nothing here deletes a segment row that is referenced: the foreign keys of those tables
// would refuse it, and SegmentsCollect locks and re-checks before it deletes.

// MaxSegmentLevel is the level of a segment written by the last merge a byte may go
// through: compaction rewrites each byte at most this many times.
const MaxSegmentLevel = 2

// segmentReferenced is true for a segment row s that some index row points at.
const segmentReferenced = `(EXISTS (SELECT 1 FROM chunks c WHERE c.segment_id = s.id)
	OR EXISTS (SELECT 1 FROM timers t WHERE t.segment_id = s.id)
	OR EXISTS (SELECT 1 FROM transaction_chunks x WHERE x.segment_id = s.id))`

// CompactionCandidatesParams says which queues have rows worth merging.
type CompactionCandidatesParams struct {
	// TargetBytes: rows at least this long are left alone; a queue's small rows of one
	// level adding up to this much are worth merging now.
	TargetBytes int64
	// Level0Before: level-0 rows of segments created before this are merged even if small.
	Level0Before time.Time
	// MaxLevel0Segments: when more level-0 segments holding small rows exist, the oldest
	// ones are merged as if past Level0Before.
	MaxLevel0Segments int
	// Level1Before: small level-1 rows of segments created before this are merged once more
	// (into level 2), if there are at least two in a queue.
	Level1Before time.Time
	// Limit bounds the queues returned, oldest work first.
	Limit int
}

// CompactionCandidate is a queue with small rows to merge.
type CompactionCandidate struct {
	QueueRef int64
	// SmallBytes is the byte length of the queue's small rows below MaxSegmentLevel.
	SmallBytes int64
}

// CompactionCandidates returns queues whose small rows qualify for a merge, and the
// effective Level0Before (moved later by MaxLevel0Segments) that the caller's planning must
// use too. First it clears mergeable on segments that can hold no more work: those past
// Level0Before without small rows (nor timers or transaction rows that may add some).
func (s *Store) CompactionCandidates(ctx context.Context, p CompactionCandidatesParams) ([]CompactionCandidate, time.Time, error) {
	var out []CompactionCandidate
	level0Before := p.Level0Before
	err := s.observe("compaction_candidates", func() error {
		_, err := s.pool.Exec(ctx, `UPDATE segments s SET mergeable = false
			WHERE s.mergeable AND (s.level >= $1
			   OR (s.created_at < $2
			       AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.segment_id = s.id AND c.byte_length < $3)
			       AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.segment_id = s.id)
			       AND NOT EXISTS (SELECT 1 FROM transaction_chunks x WHERE x.segment_id = s.id)))`,
			MaxSegmentLevel, p.Level0Before, p.TargetBytes)
		if err != nil {
			return fmt.Errorf("settling merged segments: %w", err)
		}
		// The (MaxLevel0Segments+1)-th newest level-0 segment that still holds a small row:
		// it and everything older are merged now.
		var excess *time.Time
		err = s.pool.QueryRow(ctx, `SELECT s.created_at FROM segments s
			WHERE s.mergeable AND s.level = 0 AND EXISTS (SELECT 1 FROM chunks c WHERE c.segment_id = s.id AND c.byte_length < $1)
			ORDER BY s.created_at DESC OFFSET $2 LIMIT 1`, p.TargetBytes, p.MaxLevel0Segments).Scan(&excess)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("counting level-0 segments: %w", err)
		}
		if excess != nil && !excess.Before(level0Before) {
			level0Before = excess.Add(time.Microsecond)
		}
		rows, err := s.pool.Query(ctx, `SELECT c.queue_ref, sum(c.byte_length)
			FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE s.mergeable AND s.level < $1 AND c.byte_length < $2
			GROUP BY c.queue_ref
			HAVING coalesce(sum(c.byte_length) FILTER (WHERE s.level = 0), 0) >= $2
			    OR min(s.created_at) FILTER (WHERE s.level = 0) < $3
			    OR coalesce(sum(c.byte_length) FILTER (WHERE s.level = 1), 0) >= $2
			    OR (min(s.created_at) FILTER (WHERE s.level = 1) < $4 AND count(*) FILTER (WHERE s.level = 1) >= 2)
			ORDER BY min(s.created_at), c.queue_ref
			LIMIT $5`, MaxSegmentLevel, p.TargetBytes, level0Before, p.Level1Before, p.Limit)
		if err != nil {
			return fmt.Errorf("finding merge candidates: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CompactionCandidate, error) {
			var c CompactionCandidate
			err := r.Scan(&c.QueueRef, &c.SmallBytes)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("finding merge candidates: %w", err)
		}
		return nil
	})
	return out, level0Before, err
}

// SegmentsSettle clears mergeable on level-1 segments created before before: the small
// rows they still hold are lone ones between large rows, which no merge will take. Call it
// only after a search for work found none left, so none is skipped for being late.
func (s *Store) SegmentsSettle(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.observe("segments_settle", func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE segments SET mergeable = false WHERE mergeable AND level = 1 AND created_at < $1`, before)
		if err != nil {
			return fmt.Errorf("settling level-1 segments: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

// LeaseParams names queues a compactor wants for a while.
type LeaseParams struct {
	Holder    string
	QueueRefs []int64
	Now       time.Time
	TTL       time.Duration
}

// LeaseAcquire takes the leases of the given queues that are free, expired or already the
// holder's, until Now+TTL, and returns the queues it got, in id order.
func (s *Store) LeaseAcquire(ctx context.Context, p LeaseParams) ([]int64, error) {
	refs := slices.Clone(p.QueueRefs)
	slices.Sort(refs)
	refs = slices.Compact(refs)
	var got []int64
	err := s.observe("lease_acquire", func() error {
		// One statement, rows in id order: two compactors taking overlapping sets cannot
		// deadlock.
		rows, err := s.pool.Query(ctx, `INSERT INTO compactor_leases (queue_ref, holder, expires_at)
			SELECT q.id, $2, $3 FROM queues q WHERE q.id = ANY($1) ORDER BY q.id
			ON CONFLICT (queue_ref) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
			WHERE compactor_leases.expires_at <= $4 OR compactor_leases.holder = EXCLUDED.holder
			RETURNING queue_ref`, refs, p.Holder, p.Now.Add(p.TTL), p.Now)
		if err != nil {
			return fmt.Errorf("taking leases: %w", err)
		}
		got, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("taking leases: %w", err)
		}
		slices.Sort(got)
		return nil
	})
	return got, err
}

// LeaseRelease gives up the holder's leases of the given queues.
func (s *Store) LeaseRelease(ctx context.Context, holder string, queueRefs []int64) error {
	if len(queueRefs) == 0 {
		return nil
	}
	return s.observe("lease_release", func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM compactor_leases WHERE holder = $1 AND queue_ref = ANY($2)`, holder, queueRefs)
		if err != nil {
			return fmt.Errorf("releasing leases: %w", err)
		}
		return nil
	})
}

// CompactionRow is one index row as a merge reads it: where its records are stored, how
// old its segment is, and which queue it belongs to.
type CompactionRow struct {
	QueueRef    int64
	Topic       string
	QueueID     int
	LiteTopic   string
	FirstOffset int64
	Count       int
	Skip        int
	SegmentID   int64
	ObjectKey   string
	Level       int
	// SegmentCreatedAt is when the row's segment was committed.
	SegmentCreatedAt time.Time
	ByteOffset       int64
	ByteLength       int64
	MinStoreTime     time.Time
	MaxStoreTime     time.Time
}

// End is the offset after the row's last message.
func (r CompactionRow) End() int64 { return r.FirstOffset + int64(r.Count) }

// CompactionRows returns the small rows (shorter than targetBytes, in mergeable segments
// below MaxSegmentLevel) of the given queues, by queue and offset, at most limit.
func (s *Store) CompactionRows(ctx context.Context, queueRefs []int64, targetBytes int64, limit int) ([]CompactionRow, error) {
	var out []CompactionRow
	err := s.observe("compaction_rows", func() error {
		rows, err := s.pool.Query(ctx, `SELECT c.queue_ref, q.topic, q.queue_id, q.lite_topic, c.first_offset, c.record_count,
				c.record_skip, c.segment_id, s.object_key, s.level, s.created_at, c.byte_offset, c.byte_length,
				c.min_store_time, c.max_store_time
			FROM chunks c JOIN segments s ON s.id = c.segment_id JOIN queues q ON q.id = c.queue_ref
			WHERE c.queue_ref = ANY($1) AND c.byte_length < $2 AND s.mergeable AND s.level < $3
			ORDER BY c.queue_ref, c.first_offset LIMIT $4`, queueRefs, targetBytes, MaxSegmentLevel, limit)
		if err != nil {
			return fmt.Errorf("reading rows to merge: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CompactionRow, error) {
			var c CompactionRow
			err := r.Scan(&c.QueueRef, &c.Topic, &c.QueueID, &c.LiteTopic, &c.FirstOffset, &c.Count, &c.Skip, &c.SegmentID,
				&c.ObjectKey, &c.Level, &c.SegmentCreatedAt, &c.ByteOffset, &c.ByteLength, &c.MinStoreTime, &c.MaxStoreTime)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("reading rows to merge: %w", err)
		}
		return nil
	})
	return out, err
}

// UploadRegister records that holder is about to PUT a merged object under key, so the
// orphan collector leaves it alone until the registration is older than its grace period.
func (s *Store) UploadRegister(ctx context.Context, key, holder string, now time.Time) error {
	return s.observe("upload_register", func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO compactor_uploads (object_key, holder, started_at) VALUES ($1, $2, $3)`, key, holder, now)
		if err != nil {
			return fmt.Errorf("registering upload %s: %w", key, err)
		}
		return nil
	})
}

// UploadForget drops the registration of an upload that will not be indexed (its object
// was deleted, or will be as an orphan).
func (s *Store) UploadForget(ctx context.Context, key string) error {
	return s.observe("upload_forget", func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM compactor_uploads WHERE object_key = $1`, key)
		if err != nil {
			return fmt.Errorf("forgetting upload %s: %w", key, err)
		}
		return nil
	})
}

// UploadsExpire deletes registrations of uploads started before before (their compactor
// died or gave up) and returns their keys: objects that are orphans unless indexed.
func (s *Store) UploadsExpire(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var keys []string
	err := s.observe("uploads_expire", func() error {
		rows, err := s.pool.Query(ctx, `DELETE FROM compactor_uploads WHERE object_key IN (
				SELECT object_key FROM compactor_uploads WHERE started_at < $1 ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING object_key`, before, limit)
		if err != nil {
			return fmt.Errorf("expiring uploads: %w", err)
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("expiring uploads: %w", err)
		}
		return nil
	})
	return keys, err
}

// ChunkRef names one existing index row exactly: a swap replaces it only if it is still
// there unchanged.
type ChunkRef struct {
	QueueRef    int64
	FirstOffset int64
	Count       int
	Skip        int
	SegmentID   int64
	ByteOffset  int64
}

// ChunkIndex is one index row a swap inserts into the new segment.
type ChunkIndex struct {
	QueueRef     int64
	FirstOffset  int64
	Count        int
	ByteOffset   int64
	ByteLength   int64
	MinStoreTime time.Time
	MaxStoreTime time.Time
	Bloom        []byte
}

// CompactionSwapParams is one merge: a merged object already in the bucket, the rows it
// replaces and the rows that point into it.
type CompactionSwapParams struct {
	ObjectKey string
	SizeBytes int64
	Level     int
	Old       []ChunkRef
	New       []ChunkIndex
	// Now starts the grace period of the segments the old rows pointed at.
	Now time.Time
}

// ErrSwapConflict is returned by CompactionSwap when the rows to replace changed since they
// were read (retention removed some, or another compactor merged them) or the upload's
// registration expired: nothing is changed, and the merged object is garbage.
var ErrSwapConflict = fmt.Errorf("merge raced with another change: %w", ErrConflict)

// CompactionSwap points the merged rows at the new object in ONE transaction: it inserts
// the segment row, deletes exactly the old rows (all of them, unchanged, or nothing
// happens), inserts the new ones and starts the grace period of the old segments. The new
// rows must cover exactly the old rows' offsets.
func (s *Store) CompactionSwap(ctx context.Context, p CompactionSwapParams) error {
	if err := checkSwapCoverage(p.Old, p.New); err != nil {
		return err
	}
	n := len(p.Old)
	oq, oo, oc, os_, osg, ob := make([]int64, n), make([]int64, n), make([]int32, n), make([]int32, n), make([]int64, n), make([]int64, n)
	for i, r := range p.Old {
		oq[i], oo[i], oc[i], os_[i], osg[i], ob[i] = r.QueueRef, r.FirstOffset, int32(r.Count), int32(r.Skip), r.SegmentID, r.ByteOffset
	}
	m := len(p.New)
	nq, no, nc, nbo, nbl := make([]int64, m), make([]int64, m), make([]int32, m), make([]int64, m), make([]int64, m)
	nmin, nmax, nbloom := make([]time.Time, m), make([]time.Time, m), make([][]byte, m)
	for i, r := range p.New {
		nq[i], no[i], nc[i], nbo[i], nbl[i], nmin[i], nmax[i], nbloom[i] = r.QueueRef, r.FirstOffset, int32(r.Count), r.ByteOffset, r.ByteLength, r.MinStoreTime, r.MaxStoreTime, r.Bloom
	}
	return s.inTx(ctx, "compaction_swap", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM compactor_uploads WHERE object_key = $1`, p.ObjectKey)
		if err != nil {
			return fmt.Errorf("claiming upload %s: %w", p.ObjectKey, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("upload %s is no longer registered: %w", p.ObjectKey, ErrSwapConflict)
		}
		var segID int64
		if err := tx.QueryRow(ctx, `INSERT INTO segments (object_key, size_bytes, chunk_count, level, mergeable)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			p.ObjectKey, p.SizeBytes, m, p.Level, p.Level < MaxSegmentLevel).Scan(&segID); err != nil {
			return fmt.Errorf("inserting segment %s: %w", p.ObjectKey, err)
		}
		rows, err := tx.Query(ctx, `DELETE FROM chunks c
			USING unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::bigint[], $6::bigint[]) AS v(q, o, n, k, seg, b)
			WHERE c.queue_ref = v.q AND c.first_offset = v.o AND c.record_count = v.n AND c.record_skip = v.k
			  AND c.segment_id = v.seg AND c.byte_offset = v.b
			RETURNING c.segment_id`, oq, oo, oc, os_, osg, ob)
		if err != nil {
			return fmt.Errorf("removing merged rows: %w", err)
		}
		oldSegs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("removing merged rows: %w", err)
		}
		if len(oldSegs) != n {
			return fmt.Errorf("%d of %d rows to merge are gone or changed: %w", n-len(oldSegs), n, ErrSwapConflict)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO chunks (queue_ref, first_offset, record_count, segment_id, byte_offset,
				byte_length, min_store_time, max_store_time, bloom)
			SELECT q, o, n, $9, bo, bl, mn, mx, b
			FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::timestamptz[],
				$7::timestamptz[], $8::bytea[]) AS v(q, o, n, bo, bl, mn, mx, b)`,
			nq, no, nc, nbo, nbl, nmin, nmax, nbloom, segID); err != nil {
			return fmt.Errorf("indexing merged rows: %w", err)
		}
		slices.Sort(oldSegs)
		oldSegs = slices.Compact(oldSegs)
		if _, err := tx.Exec(ctx, `UPDATE segments SET unreferenced_at = $2 WHERE id = ANY($1)`, oldSegs, p.Now); err != nil {
			return fmt.Errorf("starting grace of merged segments: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE compactor_totals SET value = value + $1 WHERE name = 'compacted_bytes'`, p.SizeBytes); err != nil {
			return fmt.Errorf("counting compacted bytes: %w", err)
		}
		return nil
	})
}

// checkSwapCoverage verifies that, per queue, the new rows cover exactly the offsets of the
// old ones: a merge never changes which message sits at (queue, offset).
func checkSwapCoverage(old []ChunkRef, new []ChunkIndex) error {
	if len(old) == 0 || len(new) == 0 {
		return errors.New("compaction swap: no rows")
	}
	type span struct{ first, end int64 }
	spans := func(n int, at func(int) (int64, span)) map[int64][]span {
		out := map[int64][]span{}
		for i := 0; i < n; i++ {
			q, s := at(i)
			out[q] = append(out[q], s)
		}
		for q, ss := range out {
			slices.SortFunc(ss, func(a, b span) int { return int(a.first - b.first) })
			// Merge adjacent spans so equal coverage compares equal.
			merged := ss[:1]
			for _, s := range ss[1:] {
				last := &merged[len(merged)-1]
				if s.first < last.end {
					return nil
				}
				if s.first == last.end {
					last.end = s.end
				} else {
					merged = append(merged, s)
				}
			}
			out[q] = merged
		}
		return out
	}
	a := spans(len(old), func(i int) (int64, span) {
		return old[i].QueueRef, span{old[i].FirstOffset, old[i].FirstOffset + int64(old[i].Count)}
	})
	b := spans(len(new), func(i int) (int64, span) {
		return new[i].QueueRef, span{new[i].FirstOffset, new[i].FirstOffset + int64(new[i].Count)}
	})
	if a == nil || b == nil {
		return errors.New("compaction swap: overlapping rows")
	}
	if len(a) != len(b) {
		return errors.New("compaction swap: old and new rows cover different queues")
	}
	for q, sa := range a {
		if !slices.Equal(sa, b[q]) {
			return fmt.Errorf("compaction swap: queue %d: new rows cover %v, old rows %v", q, b[q], sa)
		}
	}
	return nil
}

// RetentionQueue is a queue whose oldest rows may be past its topic's retention.
type RetentionQueue struct {
	QueueRef  int64
	Topic     string
	MinOffset int64
	// Cutoff: messages stored before it are past retention.
	Cutoff time.Time
}

// RetentionCandidates returns the queues whose first index row holds a message stored
// before now minus the topic's retention, or lies wholly below the queue's minimum offset.
func (s *Store) RetentionCandidates(ctx context.Context, now time.Time, limit int) ([]RetentionQueue, error) {
	var out []RetentionQueue
	err := s.observe("retention_candidates", func() error {
		rows, err := s.pool.Query(ctx, `SELECT q.id, q.topic, q.min_offset, $1::timestamptz - make_interval(hours => t.retention_hours)
			FROM queues q JOIN topics t ON t.name = q.topic
			CROSS JOIN LATERAL (SELECT c.first_offset, c.record_count, c.min_store_time FROM chunks c
				WHERE c.queue_ref = q.id ORDER BY c.first_offset LIMIT 1) f
			WHERE f.min_store_time < $1::timestamptz - make_interval(hours => t.retention_hours)
			   OR f.first_offset + f.record_count <= q.min_offset
			ORDER BY q.id LIMIT $2`, now, limit)
		if err != nil {
			return fmt.Errorf("finding queues past retention: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RetentionQueue, error) {
			var q RetentionQueue
			err := r.Scan(&q.QueueRef, &q.Topic, &q.MinOffset, &q.Cutoff)
			return q, err
		})
		if err != nil {
			return fmt.Errorf("finding queues past retention: %w", err)
		}
		return nil
	})
	return out, err
}

// RetentionApplyParams removes a queue's messages below an offset.
type RetentionApplyParams struct {
	QueueRef int64
	// Below: the queue's minimum offset rises to it (never falls), and every index row
	// wholly below it is removed.
	Below int64
	// Now starts the grace period of the segments those rows pointed at.
	Now time.Time
}

// RetentionApply raises a queue's minimum offset and removes the index rows below it in
// ONE transaction, returning how many rows it removed and how far min_offset moved.
func (s *Store) RetentionApply(ctx context.Context, p RetentionApplyParams) (rowsRemoved int, messages int64, err error) {
	err = s.inTx(ctx, "retention_apply", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM chunks WHERE queue_ref = $1 AND first_offset + record_count <= $2 RETURNING segment_id`,
			p.QueueRef, p.Below)
		if err != nil {
			return fmt.Errorf("removing rows of queue %d below %d: %w", p.QueueRef, p.Below, err)
		}
		segs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("removing rows of queue %d below %d: %w", p.QueueRef, p.Below, err)
		}
		rowsRemoved = len(segs)
		var old int64
		if err := tx.QueryRow(ctx, `UPDATE queues q SET min_offset = greatest(q.min_offset, $2)
			FROM (SELECT min_offset FROM queues WHERE id = $1) o
			WHERE q.id = $1 RETURNING o.min_offset`, p.QueueRef, p.Below).Scan(&old); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // the queue was deleted meanwhile
			}
			return fmt.Errorf("raising min offset of queue %d: %w", p.QueueRef, err)
		}
		messages = max(0, p.Below-old)
		slices.Sort(segs)
		segs = slices.Compact(segs)
		if len(segs) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE segments SET unreferenced_at = $2 WHERE id = ANY($1)`, segs, p.Now); err != nil {
				return fmt.Errorf("starting grace of expired segments: %w", err)
			}
		}
		return nil
	})
	return rowsRemoved, messages, err
}

// SegmentsMarkUnreferenced starts the grace period of every segment that no index row
// points at and whose grace period has not started (rows removed by others than the
// compactor: a deleted topic, a rolled back transaction). It returns how many it marked.
func (s *Store) SegmentsMarkUnreferenced(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.observe("segments_mark_unreferenced", func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE segments s SET unreferenced_at = $1
			WHERE s.unreferenced_at IS NULL AND NOT `+segmentReferenced, now)
		if err != nil {
			return fmt.Errorf("marking unreferenced segments: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

// CollectedSegment is a segment row deleted by SegmentsCollect: its object may go.
type CollectedSegment struct {
	ObjectKey string
	SizeBytes int64
}

// SegmentsCollect examines up to limit segment rows whose grace period started before
// before, deletes those that no index row references, and returns them and how many it
// examined (limit means there may be more): the caller deletes their
// objects (an object left behind by a crash is an orphan, collected later). Candidates
// found referenced again get their grace period cleared. Rows are locked with SKIP LOCKED,
// so concurrent collectors split the work, and a row being referenced right now (an insert
// holding its key lock) is skipped.
func (s *Store) SegmentsCollect(ctx context.Context, before time.Time, limit int) ([]CollectedSegment, int, error) {
	var out []CollectedSegment
	examined := 0
	err := s.inTx(ctx, "segments_collect", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM segments WHERE unreferenced_at < $1
			ORDER BY unreferenced_at LIMIT $2 FOR UPDATE SKIP LOCKED`, before, limit)
		if err != nil {
			return fmt.Errorf("locking unreferenced segments: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("locking unreferenced segments: %w", err)
		}
		examined = len(ids)
		if len(ids) == 0 {
			return nil
		}
		// A new statement sees every reference committed before the locks were taken;
		// later ones wait for this transaction and then fail their foreign key check.
		if _, err := tx.Exec(ctx, `UPDATE segments s SET unreferenced_at = NULL WHERE s.id = ANY($1) AND `+segmentReferenced, ids); err != nil {
			return fmt.Errorf("clearing referenced segments: %w", err)
		}
		rows, err = tx.Query(ctx, `DELETE FROM segments s WHERE s.id = ANY($1) AND s.unreferenced_at IS NOT NULL
			RETURNING s.object_key, s.size_bytes`, ids)
		if err != nil {
			return fmt.Errorf("deleting unreferenced segments: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CollectedSegment, error) {
			var c CollectedSegment
			err := r.Scan(&c.ObjectKey, &c.SizeBytes)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("deleting unreferenced segments: %w", err)
		}
		return nil
	})
	return out, examined, err
}

// SegmentsUnknown returns those of keys that name neither a segment row nor an upload
// registered at or after uploadsSince: objects no index can reach.
func (s *Store) SegmentsUnknown(ctx context.Context, keys []string, uploadsSince time.Time) ([]string, error) {
	var out []string
	err := s.observe("segments_unknown", func() error {
		rows, err := s.pool.Query(ctx, `SELECT k FROM unnest($1::text[]) AS k
			WHERE NOT EXISTS (SELECT 1 FROM segments s WHERE s.object_key = k)
			  AND NOT EXISTS (SELECT 1 FROM compactor_uploads u WHERE u.object_key = k AND u.started_at >= $2)
			ORDER BY k`, keys, uploadsSince)
		if err != nil {
			return fmt.Errorf("checking objects against the index: %w", err)
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("checking objects against the index: %w", err)
		}
		return nil
	})
	return out, err
}

// JobClaim claims the next run of a cluster-wide periodic job: it returns true (and moves
// the job's next run to now+every) if the job was due, false if another compactor ran it
// within the period or is claiming it now.
func (s *Store) JobClaim(ctx context.Context, name, holder string, now time.Time, every time.Duration) (bool, error) {
	var claimed bool
	err := s.inTx(ctx, "job_claim", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO compactor_jobs (name) VALUES ($1) ON CONFLICT DO NOTHING`, name); err != nil {
			return fmt.Errorf("creating job %s: %w", name, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE compactor_jobs SET holder = $2, next_run_at = $4 WHERE name = $1 AND next_run_at <= $3
			AND name IN (SELECT name FROM compactor_jobs WHERE name = $1 FOR UPDATE SKIP LOCKED)`, name, holder, now, now.Add(every))
		if err != nil {
			return fmt.Errorf("claiming job %s: %w", name, err)
		}
		claimed = tag.RowsAffected() == 1
		return nil
	})
	return claimed, err
}

// TransactionsPurge deletes up to limit transactions committed or rolled back before
// before, with their half-message references, and returns how many it deleted.
func (s *Store) TransactionsPurge(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.observe("transactions_purge", func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM transactions WHERE id IN (
			SELECT id FROM transactions WHERE state IN ('COMMITTED', 'ROLLED_BACK') AND resolved_at < $1
			LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
		if err != nil {
			return fmt.Errorf("purging finished transactions: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

// CompactionBacklog is the flush work the compactor has not merged yet.
type CompactionBacklog struct {
	// Segments counts flush segments (level 0) that still hold a row shorter than the
	// target size: rows waiting for a merge.
	Segments int64
	// Oldest is when the oldest of them was created; zero when there is none.
	Oldest time.Time
}

// CompactionBacklogGet reads the compaction backlog: level-0 segments holding a row
// shorter than targetBytes. Merged-away segments awaiting deletion hold no row and are
// not counted. Such a row waits at most about the merge age while compaction keeps up,
// so the age of the oldest is the compaction lag.
func (s *Store) CompactionBacklogGet(ctx context.Context, targetBytes int64) (CompactionBacklog, error) {
	var b CompactionBacklog
	err := s.observe("compaction_backlog", func() error {
		var oldest *time.Time
		err := s.pool.QueryRow(ctx, `SELECT count(*), min(s.created_at) FROM segments s
			WHERE s.mergeable AND s.level = 0
			  AND EXISTS (SELECT 1 FROM chunks c WHERE c.segment_id = s.id AND c.byte_length < $1)`,
			targetBytes).Scan(&b.Segments, &oldest)
		if err != nil {
			return fmt.Errorf("reading the compaction backlog: %w", err)
		}
		if oldest != nil {
			b.Oldest = *oldest
		}
		return nil
	})
	return b, err
}

// LevelStorage is what the segments of one level hold.
type LevelStorage struct {
	Level   int
	Objects int64
	Bytes   int64
}

// StorageStats is the bucket's content as the segments table sees it.
type StorageStats struct {
	// Levels are the segments per level (awaiting deletion included).
	Levels []LevelStorage
	// UnreferencedObjects and UnreferencedBytes are segments in their grace period.
	UnreferencedObjects int64
	UnreferencedBytes   int64
	// IngestedBytes sums level-0 segments ever accounted (see StorageAccount);
	// CompactedBytes sums merged objects ever indexed.
	IngestedBytes  int64
	CompactedBytes int64
}

// StorageGet reads the storage statistics.
func (s *Store) StorageGet(ctx context.Context) (StorageStats, error) {
	var st StorageStats
	err := s.observe("storage_get", func() error {
		rows, err := s.pool.Query(ctx, `SELECT level, count(*), coalesce(sum(size_bytes), 0) FROM segments GROUP BY level ORDER BY level`)
		if err != nil {
			return fmt.Errorf("reading storage statistics: %w", err)
		}
		st.Levels, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LevelStorage, error) {
			var l LevelStorage
			err := r.Scan(&l.Level, &l.Objects, &l.Bytes)
			return l, err
		})
		if err != nil {
			return fmt.Errorf("reading storage statistics: %w", err)
		}
		err = s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(size_bytes), 0),
				(SELECT value FROM compactor_totals WHERE name = 'ingested_bytes'),
				(SELECT value FROM compactor_totals WHERE name = 'compacted_bytes')
			FROM segments WHERE unreferenced_at IS NOT NULL`).Scan(&st.UnreferencedObjects, &st.UnreferencedBytes, &st.IngestedBytes, &st.CompactedBytes)
		if err != nil {
			return fmt.Errorf("reading storage statistics: %w", err)
		}
		return nil
	})
	return st, err
}

// StorageAccount adds the level-0 segments created since the last accounting and more
// than settle ago (by when every flush that started earlier has committed, by the
// database's clock) to the ingested bytes total. Concurrent callers skip (SKIP LOCKED).
func (s *Store) StorageAccount(ctx context.Context, settle time.Duration) error {
	return s.inTx(ctx, "storage_account", func(tx pgx.Tx) error {
		var since time.Time
		err := tx.QueryRow(ctx, `SELECT accounted_until FROM compactor_totals WHERE name = 'ingested_bytes' FOR UPDATE SKIP LOCKED`).Scan(&since)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading ingest accounting: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE compactor_totals SET accounted_until = u.until, value = value + (
				SELECT coalesce(sum(size_bytes), 0) FROM segments WHERE level = 0 AND created_at >= $1 AND created_at < u.until)
			FROM (SELECT now() - make_interval(secs => $2) AS until) u
			WHERE name = 'ingested_bytes' AND u.until > $1`, since, settle.Seconds())
		if err != nil {
			return fmt.Errorf("accounting ingested bytes: %w", err)
		}
		return nil
	})
}
