package compactor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

func row(q int64, first int64, count int, level int, bytes int64, age time.Duration, now time.Time) metadata.CompactionRow {
	return metadata.CompactionRow{QueueRef: q, FirstOffset: first, Count: count, Level: level, ByteLength: bytes, SegmentCreatedAt: now.Add(-age)}
}

func TestPlanMerge(t *testing.T) {
	now := time.Now()
	p := planParams{target: 100, level0Before: now.Add(-10 * time.Minute), level1Before: now.Add(-6 * time.Hour), budget: 1000}
	sizes := func(gs []group) [][]int64 {
		var out [][]int64
		for _, g := range gs {
			var firsts []int64
			for _, r := range g.rows {
				firsts = append(firsts, r.FirstOffset)
			}
			out = append(out, append([]int64{int64(g.level)}, firsts...))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rows []metadata.CompactionRow
		want [][]int64 // per group: output level, then the first offsets of its rows
	}{
		{"fresh small rows wait", []metadata.CompactionRow{row(1, 0, 10, 0, 30, time.Minute, now), row(1, 10, 10, 0, 30, time.Minute, now)}, nil},
		{"rows adding up to the target merge at once, the fresh rest waits", []metadata.CompactionRow{
			row(1, 0, 1, 0, 60, time.Second, now), row(1, 1, 1, 0, 60, time.Second, now), row(1, 2, 1, 0, 10, time.Second, now),
		}, [][]int64{{1, 0, 1}}},
		{"an old row makes the rest due", []metadata.CompactionRow{
			row(1, 0, 1, 0, 60, time.Hour, now), row(1, 1, 1, 0, 60, time.Hour, now), row(1, 2, 1, 0, 10, time.Hour, now),
		}, [][]int64{{1, 0, 1, 2}}},
		{"a gap (a large row) splits runs", []metadata.CompactionRow{
			row(1, 0, 1, 0, 60, time.Hour, now), row(1, 5, 1, 0, 60, time.Hour, now),
		}, [][]int64{{1, 0}, {1, 5}}},
		{"levels do not mix; a lone level-1 row stays", []metadata.CompactionRow{
			row(1, 0, 1, 1, 60, 7*time.Hour, now), row(1, 1, 1, 0, 60, time.Hour, now), row(2, 0, 1, 1, 60, 7*time.Hour, now), row(2, 1, 1, 1, 60, 7*time.Hour, now),
		}, [][]int64{{1, 1}, {2, 0, 1}}},
		{"young level-1 rows wait unless they fill a chunk", []metadata.CompactionRow{
			row(1, 0, 1, 1, 40, time.Hour, now), row(1, 1, 1, 1, 40, time.Hour, now), row(1, 2, 1, 1, 40, time.Hour, now),
		}, [][]int64{{2, 0, 1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs, complete := planMerge(tc.rows, p)
			require.True(t, complete)
			require.Equal(t, tc.want, sizes(gs))
		})
	}
	// The budget bounds a merge, but one group always fits.
	var many []metadata.CompactionRow
	for i := range 40 {
		many = append(many, row(int64(i/4), int64(i%4), 1, 0, 60, time.Hour, now))
	}
	gs, complete := planMerge(many, planParams{target: 100, level0Before: p.level0Before, level1Before: p.level1Before, budget: 500})
	require.False(t, complete)
	var total int64
	for _, g := range gs {
		total += g.bytes
	}
	require.LessOrEqual(t, total, int64(500))
	require.Len(t, gs, 4)
	gs, _ = planMerge(many, planParams{target: 100, level0Before: p.level0Before, level1Before: p.level1Before, budget: 1})
	require.Len(t, gs, 1)
}

// Merging while nothing else runs: every message stays at its (queue, offset) with its
// body; old objects go only after the read grace period; rows referring to part of a
// stored chunk (as dead letters do) are merged too.
func TestMergeKeepsEveryMessageAtItsOffset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 4, 72)
	want := stored{}
	start := time.Now().Add(-time.Hour)
	var keys []string
	for i := range 30 {
		keys = append(keys, e.flush(t, qs, 5+i%3, 200, start.Add(time.Duration(i)*time.Second), want))
	}
	// A queue whose rows point into other queues' chunks, like a dead-letter queue.
	dlq := e.topic(t, "dlq", 1, 72)
	e.deadLetters(t, qs[0], dlq[0], want, 3)

	c := e.compactor(t, Config{TargetChunkBytes: 8 << 10, MergeAge: time.Minute, ReadGrace: time.Minute})
	rowsBefore := e.rowCount(t, qs[0])
	e.clock.Advance(2 * time.Minute) // every flush segment is now past MergeAge
	rep, err := c.RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, rep.Merges)
	require.Zero(t, rep.SegmentsDeleted, "old objects stay through the read grace period")
	e.requireSame(t, append(qs, dlq...), want)
	rowsAfter := e.rowCount(t, qs[0])
	require.Less(t, rowsAfter, rowsBefore/3, "merging must cut the rows a reader walks")
	require.Equal(t, 1, e.rowCount(t, dlq[0]), "dead letters merged into one chunk of their own")
	for _, k := range keys {
		require.Contains(t, e.objects(t), k, "old objects stay until the grace period passes")
	}

	// Past the grace period the flush segments go; everything still reads the same.
	e.clock.Advance(2 * time.Minute)
	rep, err = c.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, len(keys), rep.SegmentsDeleted)
	e.requireSame(t, append(qs, dlq...), want)
	require.Equal(t, e.indexedKeys(t), e.objects(t), "the bucket holds exactly the indexed objects")

	// Merged chunks are not merged again while they are large enough, and each byte is
	// rewritten at most twice.
	e.clock.Advance(7 * time.Hour)
	_, err = c.RunOnce(ctx)
	require.NoError(t, err)
	e.clock.Advance(7 * time.Hour)
	_, err = c.RunOnce(ctx)
	require.NoError(t, err)
	e.requireSame(t, append(qs, dlq...), want)
	st, err := e.store.StorageGet(ctx)
	require.NoError(t, err)
	for _, l := range st.Levels {
		require.LessOrEqual(t, l.Level, metadata.MaxSegmentLevel)
	}
	t.Logf("flushed %d bytes, compaction wrote %d", e.flushedBytes, st.CompactedBytes)
	require.LessOrEqual(t, float64(st.CompactedBytes), 2*float64(e.flushedBytes), "write amplification above 2")
}

// A compactor that dies between its PUT and its index swap leaves every message readable
// where it was; the next run (by another compactor, once the lease expired) merges, and
// the dead one's object is collected as an orphan.
func TestKilledMergeLeavesConsistentState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 2, 72)
	want := stored{}
	start := time.Now().Add(-time.Hour)
	for i := range 20 {
		e.flush(t, qs, 4, 100, start.Add(time.Duration(i)*time.Second), want)
	}
	cfg := Config{TargetChunkBytes: 1 << 20, MergeAge: time.Minute, ReadGrace: time.Minute, OrphanGrace: time.Hour, LeaseTTL: 5 * time.Minute}
	dying := e.compactor(t, cfg)
	e.clock.Advance(2 * time.Minute)
	// The compactor "dies" right after its PUT: it never swaps, never releases its leases.
	uploaded := make(chan string, 1)
	dead := make(chan struct{})
	dying.afterPut = func(key string) error {
		uploaded <- key
		<-dead
		return errors.New("killed")
	}
	mergeDone := make(chan error, 1)
	go func() { _, err := dying.Merge(ctx); mergeDone <- err }()
	t.Cleanup(func() { close(dead); <-mergeDone })
	abandoned := <-uploaded
	require.Contains(t, e.objects(t), abandoned, "the merged object was uploaded")
	require.NotContains(t, e.indexedKeys(t), abandoned, "but never indexed")
	e.requireSame(t, qs, want)

	// The dead compactor still holds its leases; another one waits for them.
	next := e.compactor(t, cfg)
	rep, err := next.Merge(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Merges, "leases keep a second compactor off the queues")
	e.clock.Advance(6 * time.Minute)
	rep, err = next.Merge(ctx)
	require.NoError(t, err)
	require.Positive(t, rep.Merges)
	e.requireSame(t, qs, want)

	// The orphan survives its grace period, then goes; nothing indexed is touched.
	rep, err = next.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.OrphansDeleted)
	require.Contains(t, e.objects(t), abandoned)
	e.clock.Advance(2 * time.Hour)
	rep, err = next.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.OrphansDeleted)
	require.Equal(t, e.indexedKeys(t), e.objects(t))
	e.requireSame(t, qs, want)
}

// Retention removes exactly the messages stored before now - retention, also inside
// merged chunks that straddle the cutoff, and their bytes once unreferenced.
func TestRetentionRemovesExactlyWhatIsPast(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 2, 1)
	want := stored{}
	start := time.Now().Add(-30 * time.Minute).Truncate(time.Millisecond)
	for i := range 20 {
		e.flush(t, qs, 3, 100, start.Add(time.Duration(i)*time.Minute), want)
	}
	c := e.compactor(t, Config{TargetChunkBytes: 1 << 20, MergeAge: time.Minute, ReadGrace: time.Minute})
	e.clock.Advance(2 * time.Minute)
	_, err := c.Merge(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, e.rowCount(t, qs[0]), "one merged row spans all twenty minutes")

	// Cutoff between the 9th and 10th flush: one hour after 8.5 minutes past start.
	e.clock.Advance(start.Add(time.Hour + 8*time.Minute + 30*time.Second).Sub(e.clock.Now()))
	rep, err := c.Retain(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2*9*3), rep.RetentionMessages)
	for _, q := range qs {
		cur, err := e.store.QueueGet(ctx, q.Topic, q.QueueID)
		require.NoError(t, err)
		require.Equal(t, int64(9*3), cur.MinOffset)
		got, _ := e.read(t, q)
		require.Len(t, got, 11*3)
		for off, r := range got {
			require.GreaterOrEqual(t, off, int64(27))
			require.False(t, r.StoreTime.Before(start.Add(9*time.Minute)))
		}
	}
	e.requireSame(t, qs, want)

	// Past everything: rows go, and with them, after the grace period, every object.
	e.clock.Advance(time.Hour)
	_, err = c.RunOnce(ctx)
	require.NoError(t, err)
	for _, q := range qs {
		cur, err := e.store.QueueGet(ctx, q.Topic, q.QueueID)
		require.NoError(t, err)
		require.Equal(t, cur.NextOffset, cur.MinOffset)
		require.Zero(t, e.rowCount(t, q))
	}
	e.clock.Advance(2 * time.Minute)
	_, err = c.RunOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, e.objects(t))
}

// Orphans (uploaded, never committed) go after their grace period; indexed objects, and
// objects only a timer or a pending transaction refers to, never.
func TestOrphansRemovedReferencedNever(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 2, 72)
	want := stored{}
	now := time.Now()
	indexed := e.flush(t, qs, 3, 100, now, want)
	delayed := e.topic(t, "delayed", 1, 72)
	timerOnly := e.flush(t, delayed, 3, 100, now, nil)
	obj, _, err := segment.Encode([]segment.ChunkInput{{Topic: "orders", Records: []segment.Record{{MessageID: "x", Body: []byte("x")}}}})
	require.NoError(t, err)
	orphan := "segments/2020/01/01/00/dead-00000001.seg"
	require.NoError(t, e.bucket.Put(ctx, orphan, obj))
	// Keep timerOnly referenced by a timer alone: its queue rows go by retention.
	e.exec(t, `INSERT INTO timers (queue_ref, segment_id, byte_offset, byte_length, record_skip, record_count,
		min_store_time, max_store_time, bloom, due_at)
		SELECT c.queue_ref, c.segment_id, c.byte_offset, c.byte_length, 0, c.record_count, now(), now(), '\x00', now() + interval '1 day'
		FROM chunks c JOIN segments s ON s.id = c.segment_id WHERE s.object_key = $1 LIMIT 1`, timerOnly)
	e.exec(t, `DELETE FROM chunks c USING segments s WHERE s.id = c.segment_id AND s.object_key = $1`, timerOnly)
	e.exec(t, `UPDATE queues SET min_offset = next_offset WHERE topic = 'delayed'`)

	c := e.compactor(t, Config{MergeAge: 24 * time.Hour, ReadGrace: time.Minute, OrphanGrace: time.Hour})
	rep, err := c.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.OrphansDeleted, "a fresh orphan may still be committed")

	e.clock.Advance(2 * time.Hour)
	c2 := e.compactor(t, Config{MergeAge: 24 * time.Hour, ReadGrace: time.Minute, OrphanGrace: time.Hour})
	rep, err = c2.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.OrphansDeleted)
	require.Zero(t, rep.SegmentsDeleted)
	require.ElementsMatch(t, []string{indexed, timerOnly}, e.objects(t))
	e.requireSame(t, qs, want)

	// Once the timer goes, so does its object: the next sweep (once a minute) starts its
	// grace period.
	e.exec(t, `DELETE FROM timers`)
	e.clock.Advance(2 * time.Minute)
	_, err = c2.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Contains(t, e.objects(t), timerOnly)
	e.clock.Advance(2 * time.Minute)
	rep, err = c2.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.SegmentsDeleted)
	require.Equal(t, []string{indexed}, e.objects(t))
}

// Two compactors at once, while flushes keep arriving: no message moves or is lost, no
// indexed object is deleted, and in the end the bucket holds exactly the indexed objects.
func TestTwoCompactorsInParallel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 6, 72)
	want := stored{}
	// ReadGrace outlasts one read of the test's: objects vanish under readers otherwise.
	cfg := Config{TargetChunkBytes: 4 << 10, MergeAge: time.Millisecond, ReadGrace: 5 * time.Second, OrphanGrace: time.Hour,
		OrphanScanInterval: time.Millisecond, MaxMergeBytes: 16 << 10}
	a, b := e.compactor(t, cfg), e.compactor(t, cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	t.Cleanup(halt)
	var merges [2]int
	for i, c := range []*Service{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rep, err := c.RunOnce(ctx)
				if err != nil {
					t.Errorf("compactor %d: %v", i, err)
					return
				}
				merges[i] += rep.Merges
			}
		}()
	}
	start := time.Now()
	for i := range 60 {
		e.flush(t, qs, 2+i%4, 150, start.Add(time.Duration(i)*time.Millisecond), want)
		if i%10 == 0 {
			e.requireSame(t, qs, want)
		}
	}
	halt()
	require.Positive(t, merges[0]+merges[1])
	t.Logf("merges: %v", merges)
	conflicts := testutil.ToFloat64(a.m.merges.WithLabelValues("conflict")) + testutil.ToFloat64(b.m.merges.WithLabelValues("conflict"))
	require.Zero(t, conflicts, "leases keep two compactors off the same rows")
	// Settle: merge the rest, collect.
	e.clock.Advance(time.Minute)
	for range 3 {
		_, err := a.RunOnce(ctx)
		require.NoError(t, err)
	}
	e.requireSame(t, qs, want)
	require.Equal(t, e.indexedKeys(t), e.objects(t))
}

func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// deadLetters indexes n messages of src's first row into dst by reference, as the
// dead-letter path does: one row each, pointing at part of a stored chunk.
func (e *env) deadLetters(t testing.TB, src, dst metadata.Queue, want stored, n int) {
	t.Helper()
	for i := range n {
		e.exec(t, `WITH c AS (SELECT * FROM chunks WHERE queue_ref = $1 ORDER BY first_offset LIMIT 1 OFFSET $3),
			q AS (UPDATE queues SET next_offset = next_offset + 1 WHERE id = $2 RETURNING next_offset - 1 AS o)
			INSERT INTO chunks (queue_ref, first_offset, record_count, record_skip, segment_id, byte_offset, byte_length,
				min_store_time, max_store_time, bloom)
			SELECT $2, q.o, 1, 1, c.segment_id, c.byte_offset, c.byte_length, c.min_store_time, c.max_store_time, c.bloom FROM c, q`,
			src.Ref, dst.Ref, i)
		if want[dst.Ref] == nil {
			want[dst.Ref] = map[int64]segment.Record{}
		}
		// Record 1 of src's i-th row.
		chunks, err := e.store.ChunksFrom(context.Background(), src.Ref, 0, i+1)
		require.NoError(t, err)
		want[dst.Ref][int64(i)] = want[src.Ref][chunks[i].FirstOffset+1]
	}
}

// The backlog gauges count the flush segments whose rows wait for a merge and give the
// age of the oldest, the compaction lag; both fall to zero once merged.
func TestBacklogGauges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 2, 72)
	for range 5 {
		e.flush(t, qs, 3, 200, time.Now(), nil)
	}
	c := e.compactor(t, Config{TargetChunkBytes: 8 << 10, MergeAge: 10 * time.Minute, ReadGrace: time.Minute})

	_, err := c.CollectGarbage(ctx)
	require.NoError(t, err)
	require.Equal(t, 5.0, testutil.ToFloat64(c.m.backlogSegs))
	require.Less(t, testutil.ToFloat64(c.m.backlogAge), 60.0, "the segments were just written")

	// Before the merge age, nothing is merged and the lag grows with the clock.
	e.clock.Advance(3 * time.Minute)
	rep, err := c.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Merges)
	require.Equal(t, 5.0, testutil.ToFloat64(c.m.backlogSegs))
	require.InDelta(t, 180, testutil.ToFloat64(c.m.backlogAge), 60)

	e.clock.Advance(10 * time.Minute)
	rep, err = c.RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, rep.Merges)
	require.Zero(t, testutil.ToFloat64(c.m.backlogSegs), "merged rows leave no backlog")
	require.Zero(t, testutil.ToFloat64(c.m.backlogAge))
}

// A run whose byte budget holds part of the due rows still merges every queue:
// the leased queues are merged again until their due work is done, oldest work first. (On a
// busy node the budget went to the first queues in ref order on every run, and the last
// queues, and so every flush segment, were never merged.)
func TestMergeReachesEveryQueueWhenTheBudgetHoldsOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	qs := e.topic(t, "orders", 4, 72)
	want := stored{}
	start := time.Now().Add(-time.Hour)
	var keys []string
	for i := range 20 {
		keys = append(keys, e.flush(t, qs, 5, 200, start.Add(time.Duration(i)*time.Second), want))
	}
	// Each queue holds 20 × 5 × ~200 bytes of due rows; the budget holds about two queues.
	c := e.compactor(t, Config{TargetChunkBytes: 8 << 10, MaxMergeBytes: 24 << 10, MergeAge: time.Minute, ReadGrace: time.Minute})
	e.clock.Advance(2 * time.Minute)
	rep, err := c.RunOnce(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, rep.Merges, 2, "the budget holds part of the work: more than one merge")
	for _, q := range qs {
		require.LessOrEqual(t, e.rowCount(t, q), 3, "queue %d merged", q.QueueID)
	}
	e.requireSame(t, qs, want)
	// Every flush segment lost all its rows: past the grace period, all of them go.
	e.clock.Advance(2 * time.Minute)
	rep, err = c.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, len(keys), rep.SegmentsDeleted)
}
