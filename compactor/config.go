package compactor

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/floemq/floe/segment"
)

// ChunkSource offers the chunks this process already holds in memory (a reader role's
// cache, primed by an ingest role with what it has just written), so that a merge need not
// read them from the bucket again.
type ChunkSource interface {
	// Cached returns the records of the stored chunk at key, offset and length when they
	// are in memory; it never reads the bucket. The records are shared: the caller must
	// not modify them.
	Cached(key string, offset, length int64) ([]segment.Record, bool)
}

// Config tunes the compactor. Zero values take the defaults named on each field.
type Config struct {
	// Interval is the time between two runs (merge, retention, garbage collection);
	// default 10 s.
	Interval time.Duration

	// TargetChunkBytes is the stored size a merged chunk aims at: rows at least this long
	// are never rewritten, and a queue's small rows are merged as soon as they add up to it,
	// so after compaction reading a queue costs about one GET per TargetChunkBytes.
	// Default 4 MiB.
	TargetChunkBytes int64
	// MaxMergeBytes bounds the stored bytes one merge reads, and so the size of a merged
	// object and the memory of a merge (about three times this); default 64 MiB.
	MaxMergeBytes int64
	// MergeAge is how long a queue's small rows in flush segments (level 0) may wait to
	// add up to TargetChunkBytes: older ones are merged anyway, so a flush segment lives
	// about this long plus ReadGrace. Default 10 min.
	MergeAge time.Duration
	// MaxSmallSegments bounds the flush segments holding small rows: past it, the oldest
	// are merged before MergeAge. Default 2000.
	MaxSmallSegments int
	// SettleAge is how long small merged rows (level 1: a slow queue's MergeAge worth) wait
	// before they are merged once more into level 2, the last level; default 6 h. Each
	// byte is rewritten at most twice.
	SettleAge time.Duration
	// MergesPerRun bounds the merges of one run; default 16.
	MergesPerRun int
	// LeaseTTL is how long a compactor owns the queues it merges or trims; a merge that
	// takes longer is abandoned. Default 5 min.
	LeaseTTL time.Duration

	// ReadGrace is how long an object stays after the last index row pointing at it went,
	// so a reader that just looked the row up can still fetch it; default 10 min.
	ReadGrace time.Duration
	// OrphanGrace is how old an object that no index row knows must be before it is
	// deleted (an ingest node killed between PUT and commit leaves one); default 1 h. It
	// must exceed the ingest commit timeout by far.
	OrphanGrace time.Duration
	// OrphanScanInterval is how often one compactor of the cluster lists the bucket for
	// orphans (a LIST costs as much as a PUT per 1000 objects); default 1 h.
	OrphanScanInterval time.Duration
	// RetentionInterval is how often retention runs; default 1 min.
	RetentionInterval time.Duration
	// TransactionTTL is how long a committed or rolled back transaction is kept; default
	// 24 h.
	TransactionTTL time.Duration

	// KeyPrefix is where segment objects live (merged ones too); default "segments/".
	KeyPrefix string
	// NodeID names this compactor in leases and object keys; default random.
	NodeID string
	// Chunks, when set, is asked for a merge's source chunks before the bucket: in a
	// process that also ingests and reads, most chunks a merge rewrites were written
	// seconds ago and are still cached. Nil: every source chunk is read from the bucket.
	Chunks ChunkSource
	// Concurrency bounds this compactor's object requests in flight; default 8.
	Concurrency int
	// SwapDelay pauses a merge between its PUT and its index swap. For tests only: it
	// leaves time to kill a compactor mid-merge.
	SwapDelay time.Duration
	// Logger receives the compactor's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now. Every age and grace period is measured on it,
	// so tests drive time through it.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, 10*time.Second)
	c.TargetChunkBytes = cmp.Or(c.TargetChunkBytes, 4<<20)
	c.MaxMergeBytes = cmp.Or(c.MaxMergeBytes, 64<<20)
	c.MergeAge = cmp.Or(c.MergeAge, 10*time.Minute)
	c.MaxSmallSegments = cmp.Or(c.MaxSmallSegments, 2000)
	c.SettleAge = cmp.Or(c.SettleAge, 6*time.Hour)
	c.MergesPerRun = cmp.Or(c.MergesPerRun, 16)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, 5*time.Minute)
	c.ReadGrace = cmp.Or(c.ReadGrace, 10*time.Minute)
	c.OrphanGrace = cmp.Or(c.OrphanGrace, time.Hour)
	c.OrphanScanInterval = cmp.Or(c.OrphanScanInterval, time.Hour)
	c.RetentionInterval = cmp.Or(c.RetentionInterval, time.Minute)
	c.TransactionTTL = cmp.Or(c.TransactionTTL, 24*time.Hour)
	c.KeyPrefix = cmp.Or(c.KeyPrefix, "segments/")
	if c.NodeID == "" {
		c.NodeID = randomHex(4)
	}
	c.Concurrency = cmp.Or(c.Concurrency, 8)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
