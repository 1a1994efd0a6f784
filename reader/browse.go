package reader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/internal/view"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

// Limits of a browse.
const (
	DefaultBrowseLimit = 50
	MaxBrowseLimit     = 500
	// maxBrowseChunks bounds the index rows one browse call decodes, over all queues.
	maxBrowseChunks = 256
	// DefaultBrowseWindow is the time range of a browse that names no start.
	DefaultBrowseWindow = time.Hour
)

// BrowseOptions select the messages of a browse.
type BrowseOptions struct {
	From, To    time.Time
	NewestFirst bool
	Limit       int
	// After continues a previous page (its NextCursor).
	After *BrowseCursor
	// Tag, Key and Property ("name=value") filter the messages; empty: no filter.
	Tag, Key, Property string
}

// BrowseCursor is the position of the last message of a page: its store time, queue and
// offset, the order of a browse.
type BrowseCursor struct {
	Time    time.Time
	QueueID int
	Offset  int64
}

// String encodes the cursor for a query parameter.
func (c BrowseCursor) String() string {
	return fmt.Sprintf("%d.%d.%d", c.Time.UnixMilli(), c.QueueID, c.Offset)
}

// ParseBrowseCursor decodes BrowseCursor.String.
func ParseBrowseCursor(s string) (BrowseCursor, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return BrowseCursor{}, fmt.Errorf("malformed cursor")
	}
	ms, err1 := strconv.ParseInt(parts[0], 10, 64)
	q, err2 := strconv.Atoi(parts[1])
	off, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return BrowseCursor{}, fmt.Errorf("malformed cursor")
	}
	return BrowseCursor{Time: time.UnixMilli(ms), QueueID: q, Offset: off}, nil
}

func cursorOf(v domain.MessageView) BrowseCursor {
	return BrowseCursor{Time: v.StoreTime, QueueID: v.QueueID, Offset: v.Offset}
}

// compare orders cursors by store time (to the millisecond, as stored), queue, offset.
func (c BrowseCursor) compare(o BrowseCursor) int {
	a, b := c.Time.UnixMilli(), o.Time.UnixMilli()
	switch {
	case a != b:
		return cmpInt(a, b)
	case c.QueueID != o.QueueID:
		return cmpInt(int64(c.QueueID), int64(o.QueueID))
	}
	return cmpInt(c.Offset, o.Offset)
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// Browse returns a page of a topic's messages stored between two times, over every queue,
// ordered by store time (oldest or newest first), and the cursor of the next page (nil on
// the last). It decodes at most maxBrowseChunks index rows per call.
func (s *Service) Browse(ctx context.Context, topic string, o BrowseOptions) ([]domain.MessageView, *BrowseCursor, error) {
	qs, err := s.queues(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	from, to := o.From, o.To
	if o.After != nil {
		// Only the rest of the window after the cursor is left. Records keep their store
		// time to the millisecond and the index to the microsecond: the bound is widened by
		// a millisecond so that rows of the cursor's millisecond are read again.
		if o.NewestFirst {
			to = o.After.Time.Add(time.Millisecond)
		} else {
			from = o.After.Time.Add(-time.Millisecond)
		}
	}
	perQueue := max(2, maxBrowseChunks/max(len(qs), 1))
	var out []domain.MessageView
	// horizon is how far every queue was read: past it, a queue cut short by perQueue may
	// hold messages this call did not see, so the page ends there.
	var horizon *BrowseCursor
	for _, q := range qs {
		chunks, err := s.store.ChunksInTime(ctx, q.Ref, from, to, o.NewestFirst, perQueue)
		if err != nil {
			return nil, nil, unavailable(err)
		}
		for _, ch := range chunks {
			recs, err := s.cache.Get(ctx, ch)
			if err != nil {
				return nil, nil, unavailable(err)
			}
			recs, err = indexed(ch, recs)
			if err != nil {
				return nil, nil, err
			}
			for i := range recs {
				off := ch.FirstOffset + int64(i)
				r := &recs[i]
				if off < q.MinOffset || r.StoreTime.Before(o.From) || r.StoreTime.After(o.To) || !browseMatch(r, o) {
					continue
				}
				v := view.Of(topic, q.QueueID, off, r)
				if o.After != nil {
					c := cursorOf(v).compare(*o.After)
					if (o.NewestFirst && c >= 0) || (!o.NewestFirst && c <= 0) {
						continue
					}
				}
				out = append(out, v)
			}
		}
		if len(chunks) == perQueue {
			last := chunks[len(chunks)-1]
			h := BrowseCursor{Time: last.MinStoreTime, QueueID: -1}
			if o.NewestFirst {
				h = BrowseCursor{Time: last.MaxStoreTime, QueueID: 1 << 30}
			}
			if horizon == nil || (o.NewestFirst && h.compare(*horizon) > 0) || (!o.NewestFirst && h.compare(*horizon) < 0) {
				horizon = &h
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		c := cursorOf(out[i]).compare(cursorOf(out[j]))
		if o.NewestFirst {
			return c > 0
		}
		return c < 0
	})
	truncated := false
	if horizon != nil {
		cut := sort.Search(len(out), func(i int) bool {
			c := cursorOf(out[i]).compare(*horizon)
			return (o.NewestFirst && c <= 0) || (!o.NewestFirst && c >= 0)
		})
		if cut > 0 {
			out = out[:cut]
		}
		truncated = true
	}
	if len(out) > o.Limit {
		out, truncated = out[:o.Limit], true
	}
	if !truncated || len(out) == 0 {
		if out == nil {
			out = []domain.MessageView{}
		}
		return out, nil, nil
	}
	next := cursorOf(out[len(out)-1])
	return out, &next, nil
}

func browseMatch(r *segment.Record, o BrowseOptions) bool {
	if o.Tag != "" && r.Tag != o.Tag {
		return false
	}
	if o.Key != "" && !slices.Contains(r.Keys, o.Key) {
		return false
	}
	if o.Property != "" {
		name, value, _ := strings.Cut(o.Property, "=")
		if v, ok := r.Properties[name]; !ok || v != value {
			return false
		}
	}
	return true
}

// OffsetsForTime returns, per queue of a topic, the first offset stored at or after t (the
// queue's end when every message is older).
func (s *Service) OffsetsForTime(ctx context.Context, topic string, t time.Time) ([]domain.QueueOffset, error) {
	qs, err := s.queues(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make([]domain.QueueOffset, 0, len(qs))
	for _, q := range qs {
		off, err := offsetAt(ctx, s.store, s.cache, q, t)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.QueueOffset{QueueID: q.QueueID, LiteTopic: q.LiteTopic, Offset: off})
	}
	return out, nil
}

// offsetAt finds the first offset of a queue stored at or after t (the queue's end if none).
func offsetAt(ctx context.Context, store *metadata.Store, cache *ChunkCache, q metadata.Queue, t time.Time) (int64, error) {
	ch, err := store.ChunkAtTime(ctx, q.Ref, t)
	if errors.Is(err, metadata.ErrNotFound) {
		return q.NextOffset, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	recs, err := cache.Get(ctx, ch)
	if err != nil {
		return 0, unavailable(err)
	}
	recs, err = indexed(ch, recs)
	if err != nil {
		return 0, err
	}
	i := sort.Search(len(recs), func(i int) bool { return !recs[i].StoreTime.Before(t) })
	return max(ch.FirstOffset+int64(i), q.MinOffset), nil
}
