package compactor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

// retentionRows is how many index rows of a queue one pass reads at a time.
const retentionRows = 256

// Retain removes, per queue, the messages past its topic's retention: the longest prefix
// of the queue stored before the cutoff. Queues are leased, so compactors split the work.
func (s *Service) Retain(ctx context.Context) (Report, error) {
	var rep Report
	qs, err := s.store.RetentionCandidates(ctx, s.cfg.Now(), candidateLimit)
	if err != nil {
		return rep, err
	}
	for len(qs) > 0 {
		n := min(leaseBatch, len(qs))
		batch := qs[:n]
		qs = qs[n:]
		want := make([]int64, n)
		for i, q := range batch {
			want[i] = q.QueueRef
		}
		got, err := s.store.LeaseAcquire(ctx, metadata.LeaseParams{Holder: s.holder, QueueRefs: want, Now: s.cfg.Now(), TTL: s.cfg.LeaseTTL})
		if err != nil {
			return rep, err
		}
		leased := map[int64]bool{}
		for _, ref := range got {
			leased[ref] = true
		}
		for _, q := range batch {
			if !leased[q.QueueRef] {
				continue
			}
			msgs, err := s.retainQueue(ctx, q)
			rep.RetentionMessages += msgs
			if err != nil {
				_ = s.store.LeaseRelease(context.WithoutCancel(ctx), s.holder, got)
				return rep, fmt.Errorf("retention of queue %d of %s: %w", q.QueueRef, q.Topic, err)
			}
		}
		if err := s.store.LeaseRelease(ctx, s.holder, got); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// retainQueue removes one queue's messages stored before q.Cutoff, up to the first one
// stored at or after it.
func (s *Service) retainQueue(ctx context.Context, q metadata.RetentionQueue) (int64, error) {
	below, removable := q.MinOffset, false
	from := int64(0)
scan:
	for {
		rows, err := s.store.ChunksFrom(ctx, q.QueueRef, from, retentionRows)
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			end := r.FirstOffset + int64(r.Count)
			switch {
			case end <= q.MinOffset:
				// Already hidden by min_offset: the row goes.
				removable = true
			case r.MaxStoreTime.Before(q.Cutoff):
				below, removable = max(below, end), true
			case r.MinStoreTime.Before(q.Cutoff):
				// The row straddles the cutoff: find its first message stored at or after it.
				k, err := s.expiredPrefix(ctx, r, q.Cutoff)
				if err != nil {
					return 0, err
				}
				if at := r.FirstOffset + int64(k); at > below {
					below, removable = at, true
				}
				break scan
			default:
				break scan
			}
		}
		if len(rows) < retentionRows {
			break
		}
		from = rows[len(rows)-1].FirstOffset + int64(rows[len(rows)-1].Count)
	}
	if !removable {
		return 0, nil
	}
	nrows, msgs, err := s.store.RetentionApply(ctx, metadata.RetentionApplyParams{QueueRef: q.QueueRef, Below: below, Now: s.cfg.Now()})
	if err != nil {
		return 0, err
	}
	s.m.retained.Add(float64(msgs))
	s.m.retainedRows.Add(float64(nrows))
	if msgs > 0 {
		s.cfg.Logger.Debug("retention", "topic", q.Topic, "queue", q.QueueRef, "minOffset", below, "messages", msgs, "rows", nrows)
	}
	return msgs, nil
}

// expiredPrefix counts the leading messages of row r stored before cutoff. A message's
// store time is taken within the row's bounds, so the answer agrees with the row's times.
func (s *Service) expiredPrefix(ctx context.Context, r metadata.Chunk, cutoff time.Time) (int, error) {
	times, err := s.storeTimes(ctx, r)
	if err != nil {
		return 0, err
	}
	if r.Skip < 0 || r.Skip+r.Count > len(times) {
		return 0, fmt.Errorf("chunk %s@%d holds %d records, index row wants %d from %d", r.ObjectKey, r.ByteOffset, len(times), r.Count, r.Skip)
	}
	n := 0
	for _, t := range times[r.Skip : r.Skip+r.Count] {
		if t.Before(r.MinStoreTime) {
			t = r.MinStoreTime
		} else if t.After(r.MaxStoreTime) {
			t = r.MaxStoreTime
		}
		if !t.Before(cutoff) {
			break
		}
		n++
	}
	return n, nil
}

// storeTimes returns the store times of a stored chunk's records: one GET the first time,
// then from memory (a straddling row is looked at on every retention pass).
func (s *Service) storeTimes(ctx context.Context, r metadata.Chunk) ([]time.Time, error) {
	sc := storedChunk{r.ObjectKey, r.ByteOffset, r.ByteLength}
	if ts, ok := s.times.get(sc); ok {
		return ts, nil
	}
	b, err := s.bucket.GetRange(ctx, sc.key, sc.offset, sc.length)
	if err != nil {
		return nil, fmt.Errorf("reading %s@%d+%d for retention: %w", sc.key, sc.offset, sc.length, err)
	}
	recs, err := segment.DecodeChunk(b)
	if err != nil {
		return nil, fmt.Errorf("decoding %s@%d+%d for retention: %w", sc.key, sc.offset, sc.length, err)
	}
	ts := make([]time.Time, len(recs))
	for i := range recs {
		ts[i] = recs[i].StoreTime
	}
	s.times.put(sc, ts)
	return ts, nil
}

// timeCache keeps the record store times of a few stored chunks.
type timeCache struct {
	mu    sync.Mutex
	limit int
	m     map[storedChunk][]time.Time
}

func newTimeCache(limit int) *timeCache {
	return &timeCache{limit: limit, m: map[storedChunk][]time.Time{}}
}

func (c *timeCache) get(sc storedChunk) ([]time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts, ok := c.m[sc]
	return ts, ok
}

func (c *timeCache) put(sc storedChunk, ts []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.limit {
		// Straddling rows are few (about one per queue); start over rather than track use.
		clear(c.m)
	}
	c.m[sc] = ts
}
