package metadata_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
)

// compactionFixture is a store with one topic of one queue and a raw connection for
// checks the store does not offer.
type compactionFixture struct {
	s    *metadata.Store
	conn *pgx.Conn
	q    metadata.Queue
}

func newCompactionFixture(t *testing.T) compactionFixture {
	t.Helper()
	ctx := context.Background()
	url := testenv.Database(t)
	s := testenv.Store(t, metadata.Config{URL: url}, nil)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, _, err = s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	q, err := s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	return compactionFixture{s: s, conn: conn, q: q}
}

// commit indexes a segment with one chunk of n messages stored at st.
func (f compactionFixture) commit(t *testing.T, key string, n int, st time.Time) {
	t.Helper()
	_, err := f.s.SegmentCommit(context.Background(), metadata.SegmentCommitParams{ObjectKey: key, SizeBytes: 100,
		Chunks: []metadata.ChunkCommit{{QueueRef: f.q.Ref, Count: n, ByteOffset: 0, ByteLength: 90, MinStoreTime: st, MaxStoreTime: st, Bloom: []byte{0}}}})
	require.NoError(t, err)
}

func (f compactionFixture) segmentID(t *testing.T, key string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, f.conn.QueryRow(context.Background(), `SELECT id FROM segments WHERE object_key = $1`, key).Scan(&id))
	return id
}

func (f compactionFixture) segmentKeys(t *testing.T) []string {
	t.Helper()
	rows, err := f.conn.Query(context.Background(), `SELECT object_key FROM segments ORDER BY object_key`)
	require.NoError(t, err)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return keys
}

func (f compactionFixture) rows(t *testing.T) []metadata.CompactionRow {
	t.Helper()
	rows, err := f.s.CompactionRows(context.Background(), []int64{f.q.Ref}, 1<<40, 1000)
	require.NoError(t, err)
	return rows
}

func refsOf(rows []metadata.CompactionRow) []metadata.ChunkRef {
	var out []metadata.ChunkRef
	for _, r := range rows {
		out = append(out, metadata.ChunkRef{QueueRef: r.QueueRef, FirstOffset: r.FirstOffset, Count: r.Count, Skip: r.Skip,
			SegmentID: r.SegmentID, ByteOffset: r.ByteOffset})
	}
	return out
}

// A swap replaces exactly the rows it read, in one transaction; if any of them changed,
// nothing changes at all.
func TestCompactionSwapReplacesRowsOrNothing(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 3; i++ {
		f.commit(t, fmt.Sprint("seg/", i), 10, now)
	}
	rows := f.rows(t)
	require.Len(t, rows, 3)
	merged := []metadata.ChunkIndex{{QueueRef: f.q.Ref, FirstOffset: 0, Count: 30, ByteOffset: 0, ByteLength: 200,
		MinStoreTime: now, MaxStoreTime: now, Bloom: []byte{1}}}

	// New rows must cover the old offsets exactly.
	require.NoError(t, f.s.UploadRegister(ctx, "seg/m1", "me", now))
	bad := []metadata.ChunkIndex{merged[0]}
	bad[0].Count = 29
	err := f.s.CompactionSwap(ctx, metadata.CompactionSwapParams{ObjectKey: "seg/m1", SizeBytes: 300, Level: 1, Old: refsOf(rows), New: bad, Now: now})
	require.Error(t, err)

	// A row that changed meanwhile (here: removed by retention) voids the swap.
	_, _, err = f.s.RetentionApply(ctx, metadata.RetentionApplyParams{QueueRef: f.q.Ref, Below: 10, Now: now})
	require.NoError(t, err)
	err = f.s.CompactionSwap(ctx, metadata.CompactionSwapParams{ObjectKey: "seg/m1", SizeBytes: 300, Level: 1, Old: refsOf(rows), New: merged, Now: now})
	require.ErrorIs(t, err, metadata.ErrSwapConflict)
	require.Len(t, f.rows(t), 2, "a failed swap changes nothing")
	require.NotContains(t, f.segmentKeys(t), "seg/m1")

	// Without a registered upload (expired: the orphan collector may have taken the
	// object), a swap is refused.
	rows = f.rows(t)
	merged[0].FirstOffset, merged[0].Count = 10, 20
	err = f.s.CompactionSwap(ctx, metadata.CompactionSwapParams{ObjectKey: "seg/m2", SizeBytes: 300, Level: 1, Old: refsOf(rows), New: merged, Now: now})
	require.ErrorIs(t, err, metadata.ErrSwapConflict)

	require.NoError(t, f.s.UploadRegister(ctx, "seg/m2", "me", now))
	require.NoError(t, f.s.CompactionSwap(ctx, metadata.CompactionSwapParams{ObjectKey: "seg/m2", SizeBytes: 300, Level: 1, Old: refsOf(rows), New: merged, Now: now}))
	after := f.rows(t)
	require.Len(t, after, 1)
	require.Equal(t, "seg/m2", after[0].ObjectKey)
	require.Equal(t, 1, after[0].Level)
	require.Equal(t, int64(10), after[0].FirstOffset)
	require.Equal(t, 20, after[0].Count)
	// The swap started the grace period of the replaced segments.
	var marked int
	require.NoError(t, f.conn.QueryRow(ctx, `SELECT count(*) FROM segments WHERE unreferenced_at IS NOT NULL`).Scan(&marked))
	require.Equal(t, 3, marked, "seg/0 by retention, seg/1 and seg/2 by the swap")
	st, err := f.s.StorageGet(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(300), st.CompactedBytes)
}

// A segment is deleted only when no row of chunks, timers or transaction_chunks points at
// it and its grace period is over.
func TestSegmentsCollectNeverTakesReferencedSegments(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	now := time.Now()
	f.commit(t, "seg/chunks", 5, now)
	f.commit(t, "seg/timer", 5, now)
	f.commit(t, "seg/txn", 5, now)
	f.commit(t, "seg/free", 5, now)
	// Drop every chunk row; give two segments other references.
	_, _, err := f.s.RetentionApply(ctx, metadata.RetentionApplyParams{QueueRef: f.q.Ref, Below: 20, Now: now})
	require.NoError(t, err)
	f.commit(t, "seg/chunks2", 5, now)
	_, err = f.conn.Exec(ctx, `INSERT INTO timers (queue_ref, segment_id, byte_offset, byte_length, record_skip, record_count,
		min_store_time, max_store_time, bloom, due_at) VALUES ($1, $2, 0, 90, 0, 5, now(), now(), '\x00', now() + interval '1 day')`,
		f.q.Ref, f.segmentID(t, "seg/timer"))
	require.NoError(t, err)
	_, err = f.conn.Exec(ctx, `INSERT INTO transactions (id, topic, producer_group, state, next_check_at) VALUES ('tx1', 't', 'g', 'PENDING', now())`)
	require.NoError(t, err)
	_, err = f.conn.Exec(ctx, `INSERT INTO transaction_chunks (transaction_id, queue_ref, segment_id, byte_offset, byte_length,
		record_skip, record_count, min_store_time, max_store_time, bloom) VALUES ('tx1', $1, $2, 0, 90, 0, 5, now(), now(), '\x00')`,
		f.q.Ref, f.segmentID(t, "seg/txn"))
	require.NoError(t, err)
	// Mark everything unreferenced long ago, as a stale mark would be.
	_, err = f.conn.Exec(ctx, `UPDATE segments SET unreferenced_at = $1`, now.Add(-time.Hour))
	require.NoError(t, err)

	// Within the grace period nothing goes.
	got, _, err := f.s.SegmentsCollect(ctx, now.Add(-2*time.Hour), 100)
	require.NoError(t, err)
	require.Empty(t, got)

	got, _, err = f.s.SegmentsCollect(ctx, now, 100)
	require.NoError(t, err)
	require.Len(t, got, 2)
	keys := []string{got[0].ObjectKey, got[1].ObjectKey}
	require.ElementsMatch(t, []string{"seg/chunks", "seg/free"}, keys)
	require.Equal(t, []string{"seg/chunks2", "seg/timer", "seg/txn"}, f.segmentKeys(t))
	var marked int
	require.NoError(t, f.conn.QueryRow(ctx, `SELECT count(*) FROM segments WHERE unreferenced_at IS NOT NULL`).Scan(&marked))
	require.Zero(t, marked, "referenced segments lose their stale mark")

	// Once the references go, the sweep starts their grace period.
	_, err = f.conn.Exec(ctx, `DELETE FROM timers`)
	require.NoError(t, err)
	_, err = f.conn.Exec(ctx, `UPDATE transactions SET state = 'ROLLED_BACK', resolved_at = $1`, now.Add(-48*time.Hour))
	require.NoError(t, err)
	n, err := f.s.TransactionsPurge(ctx, now.Add(-24*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	marked64, err := f.s.SegmentsMarkUnreferenced(ctx, now)
	require.NoError(t, err)
	require.Equal(t, int64(2), marked64)
	got, _, err = f.s.SegmentsCollect(ctx, now, 100)
	require.NoError(t, err)
	require.Empty(t, got, "grace starts at the mark")
	got, _, err = f.s.SegmentsCollect(ctx, now.Add(time.Second), 100)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"seg/chunks2"}, f.segmentKeys(t))
}

func TestLeasesExcludeOtherHoldersUntilTheyExpire(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	now := time.Now()
	_, _, err := f.s.TopicCreate(ctx, metadata.Topic{Name: "u", Type: metadata.TopicNormal, Queues: 3, RetentionHours: 1})
	require.NoError(t, err)
	qs, err := f.s.QueueList(ctx, "u")
	require.NoError(t, err)
	refs := []int64{qs[0].Ref, qs[1].Ref, qs[2].Ref}
	a, err := f.s.LeaseAcquire(ctx, metadata.LeaseParams{Holder: "a", QueueRefs: refs[:2], Now: now, TTL: time.Minute})
	require.NoError(t, err)
	require.Equal(t, refs[:2], a)
	b, err := f.s.LeaseAcquire(ctx, metadata.LeaseParams{Holder: "b", QueueRefs: append(refs, 999999), Now: now, TTL: time.Minute})
	require.NoError(t, err)
	require.Equal(t, refs[2:], b, "b gets only the free queue (and no unknown one)")
	again, err := f.s.LeaseAcquire(ctx, metadata.LeaseParams{Holder: "a", QueueRefs: refs[:1], Now: now, TTL: time.Minute})
	require.NoError(t, err)
	require.Equal(t, refs[:1], again, "a holder renews its own lease")
	later, err := f.s.LeaseAcquire(ctx, metadata.LeaseParams{Holder: "b", QueueRefs: refs, Now: now.Add(2 * time.Minute), TTL: time.Minute})
	require.NoError(t, err)
	require.Equal(t, refs, later, "expired leases are free")
	require.NoError(t, f.s.LeaseRelease(ctx, "b", refs))
	c, err := f.s.LeaseAcquire(ctx, metadata.LeaseParams{Holder: "c", QueueRefs: refs, Now: now, TTL: time.Minute})
	require.NoError(t, err)
	require.Equal(t, refs, c)
}

func TestRetentionApplyRaisesMinOffsetAndDropsRowsBelow(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	old, recent := time.Now().Add(-3*time.Hour), time.Now()
	f.commit(t, "seg/a", 10, old)
	f.commit(t, "seg/b", 10, old)
	f.commit(t, "seg/c", 10, recent)
	cands, err := f.s.RetentionCandidates(ctx, time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 1)
	require.Equal(t, f.q.Ref, cands[0].QueueRef)

	// Below 15: the first row goes, the second stays (its tail is still visible).
	nrows, msgs, err := f.s.RetentionApply(ctx, metadata.RetentionApplyParams{QueueRef: f.q.Ref, Below: 15, Now: time.Now()})
	require.NoError(t, err)
	require.Equal(t, 1, nrows)
	require.Equal(t, int64(15), msgs)
	q, err := f.s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(15), q.MinOffset)
	require.Len(t, f.rows(t), 2)

	// min_offset never falls.
	_, msgs, err = f.s.RetentionApply(ctx, metadata.RetentionApplyParams{QueueRef: f.q.Ref, Below: 5, Now: time.Now()})
	require.NoError(t, err)
	require.Zero(t, msgs)
	q, err = f.s.QueueGet(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(15), q.MinOffset)
}

func TestJobClaimOncePerPeriod(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	now := time.Now()
	ok, err := f.s.JobClaim(ctx, "orphans", "a", now, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = f.s.JobClaim(ctx, "orphans", "b", now.Add(time.Minute), time.Hour)
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = f.s.JobClaim(ctx, "orphans", "b", now.Add(time.Hour), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestSegmentsUnknownSparesIndexedAndUploadingObjects(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	now := time.Now()
	f.commit(t, "seg/indexed", 1, now)
	require.NoError(t, f.s.UploadRegister(ctx, "seg/uploading", "a", now))
	require.NoError(t, f.s.UploadRegister(ctx, "seg/abandoned", "a", now.Add(-2*time.Hour)))
	unknown, err := f.s.SegmentsUnknown(ctx, []string{"seg/indexed", "seg/uploading", "seg/abandoned", "seg/orphan"}, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, []string{"seg/abandoned", "seg/orphan"}, unknown)
	expired, err := f.s.UploadsExpire(ctx, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"seg/abandoned"}, expired)
}

func TestStorageAccountSumsFlushSegmentsOnce(t *testing.T) {
	t.Parallel()
	f := newCompactionFixture(t)
	ctx := context.Background()
	f.commit(t, "seg/a", 1, time.Now())
	f.commit(t, "seg/b", 1, time.Now())
	_, err := f.conn.Exec(ctx, `UPDATE segments SET created_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	f.commit(t, "seg/c", 1, time.Now()) // too recent to account
	require.NoError(t, f.s.StorageAccount(ctx, time.Minute))
	require.NoError(t, f.s.StorageAccount(ctx, time.Minute))
	st, err := f.s.StorageGet(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(200), st.IngestedBytes)
	require.Len(t, st.Levels, 1)
	require.Equal(t, int64(3), st.Levels[0].Objects)
	require.Equal(t, int64(300), st.Levels[0].Bytes)
}
