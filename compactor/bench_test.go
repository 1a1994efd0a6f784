package compactor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/metadata"
)

// BenchmarkCompaction measures what compaction buys and costs, against a real Postgres and
// a folder bucket (go test -run '^$' -bench Compaction -benchtime 1x ./compactor/). The
// timed part is the compaction; the custom metrics are what docs/compactor.md quotes:
//
//   - GETs/4MiB: GETs a cold reader makes to read a queue from offset 0, per 4 MiB of
//     stored bytes it fetches (the worst queue);
//   - rows/queue-h: index rows (so GETs and chunk objects touched) per queue-hour;
//   - write-amp: bytes compaction wrote / bytes ingested;
//   - objects: objects in the bucket after compaction, per 100 flush segments written.
func BenchmarkCompaction(b *testing.B) {
	// backlog: 640 flushes (100 ms linger) mixing 4 equally busy queues (48 × 1 KiB each
	// per flush), compacted once they are all past MergeAge.
	b.Run("backlog", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			e := newEnv(b)
			qs := e.topic(b, "orders", 4, 72)
			start := time.Now()
			flushes := 640
			for i := range flushes {
				e.flush(b, qs, 48, 1024, start.Add(time.Duration(i)*100*time.Millisecond), nil)
			}
			c := e.compactor(b, Config{})
			e.clock.Advance(11 * time.Minute)
			b.StartTimer()
			written := compactAll(b, c)
			b.StopTimer()
			e.report(b, c, qs, flushes, time.Duration(flushes)*100*time.Millisecond, written)
			b.SetBytes(e.flushedBytes)
		}
	})
	// hour: an hour of flushes (one per 10 s) of queues of very different rates, compacted
	// every 10 simulated minutes, then once more after SettleAge (the level-2 merges).
	b.Run("hour", func(b *testing.B) {
		// Messages per flush per queue (1 KiB each): about 36, 6, 1.5 and 0.2 MiB an hour.
		rates := []int{100, 16, 4, 1}
		for range b.N {
			b.StopTimer()
			e := newEnv(b)
			qs := e.topic(b, "orders", len(rates), 72)
			c := e.compactor(b, Config{})
			var elapsed time.Duration
			var written int64
			flushes := 0
			for step := range 6 {
				for i := range 60 {
					counts := make([]int, len(rates))
					for q, r := range rates {
						counts[q] = r
						if r == 1 && i%2 == 1 {
							counts[q] = 0
						}
					}
					e.flushCounts(b, qs, counts, 1024, time.Now().Add(time.Duration(step*60+i)*10*time.Second), nil)
					flushes++
				}
				e.clock.Advance(10 * time.Minute)
				b.StartTimer()
				start := time.Now()
				written += compactAll(b, c)
				elapsed += time.Since(start)
				b.StopTimer()
			}
			e.clock.Advance(13 * time.Hour)
			b.StartTimer()
			written += compactAll(b, c)
			b.StopTimer()
			e.report(b, c, qs, flushes, time.Hour, written)
			b.SetBytes(e.flushedBytes)
		}
	})
}

// compactAll runs the compactor until a run merges nothing, and returns the bytes written.
func compactAll(b *testing.B, c *Service) int64 {
	var written int64
	for {
		rep, err := c.RunOnce(context.Background())
		require.NoError(b, err)
		written += rep.BytesWritten
		if rep.Merges == 0 {
			return written
		}
	}
}

// report reads every queue cold and reports the metrics named on BenchmarkCompaction; span
// is the time the flushes stand for.
func (e *env) report(b *testing.B, c *Service, qs []metadata.Queue, flushes int, span time.Duration, written int64) {
	var worst float64
	var rows int
	for _, q := range qs {
		_, gets, fetched := e.readCost(b, q)
		rows += gets
		per4 := float64(gets) / max(float64(fetched)/(4<<20), 1)
		worst = max(worst, per4)
		b.Logf("queue %d: %d rows, %.1f MiB stored, %.2f GETs per 4 MiB", q.QueueID, gets, float64(fetched)/(1<<20), per4)
	}
	// Past the read grace period the flush segments go.
	e.clock.Advance(time.Hour)
	_, err := c.RunOnce(context.Background())
	require.NoError(b, err)
	objects := len(e.objects(b))
	b.ReportMetric(worst, "GETs/4MiB")
	b.ReportMetric(float64(rows)/float64(len(qs))/span.Hours(), "rows/queue-h")
	b.ReportMetric(float64(written)/float64(e.flushedBytes), "write-amp")
	b.ReportMetric(float64(objects)*100/float64(flushes), "objects/100flushes")
	b.Logf("%d flushes (%.1f MiB) → %d objects; compaction wrote %.1f MiB", flushes, float64(e.flushedBytes)/(1<<20), objects,
		float64(written)/(1<<20))
}
