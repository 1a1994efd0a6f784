// Package reader is Floe's read path: it serves messages by (queue, offset), by message id
// and by key, from decoded chunks kept in a bytes-bounded cache, fetching a chunk from the
// bucket with one ranged GET on a miss.
//
// Lookups by id or key use the Bloom filter stored with each chunk's index row: Postgres
// returns only the chunks whose filter may hold the item (about 1% false positives), and
// the reader scans those. There is no Postgres row per message.
//
// Consumption (Consumer) keeps its state in Postgres as ranges: a cursor per (group,
// queue) and delivery rows with an ack bitmap. A receive is a "look", one transaction that
// claims messages for the receives waiting on the node together; for a busy concurrent
// group a look also claims what the next quarter second of receives will want, which they
// then take from memory (prefetch.go), and the acks of a group that arrive together share
// one transaction (ackbatch.go). Every message a node hands out is hidden in Postgres for at
// least the invisible time its receive asked for, so two nodes never serve the same
// message within that time, and an ack answered OK was committed.
package reader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/internal/view"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

// Config tunes the read path.
type Config struct {
	// CacheBytes bounds the chunk cache; default 256 MiB.
	CacheBytes int64
	// ReadAheadBytes is how much of a segment object one cache miss reads from the missing
	// chunk on, keeping the neighbouring chunks for the reads that follow; default 8 MiB,
	// negative for the chunk alone.
	ReadAheadBytes int64
	// MaxReadMessages bounds one offset read; default 1024.
	MaxReadMessages int
	// MaxLookupChunks bounds how many candidate chunks one id or key lookup reads; default 64.
	MaxLookupChunks int
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Service is the reader role's query side.
type Service struct {
	cfg   Config
	store *metadata.Store
	cache *ChunkCache
}

// New builds the read path over a store and a bucket.
func New(cfg Config, store *metadata.Store, bucket objstore.Bucket, reg prometheus.Registerer) (*Service, error) {
	cfg.CacheBytes = cmp.Or(cfg.CacheBytes, 256<<20)
	cfg.ReadAheadBytes = max(0, cmp.Or(cfg.ReadAheadBytes, 8<<20))
	cfg.MaxReadMessages = cmp.Or(cfg.MaxReadMessages, 1024)
	cfg.MaxLookupChunks = cmp.Or(cfg.MaxLookupChunks, 64)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cache, err := NewChunkCache(bucket, cfg.CacheBytes, cfg.ReadAheadBytes, reg)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: store, cache: cache}, nil
}

// Cache returns the chunk cache (shared with consumption).
func (s *Service) Cache() *ChunkCache { return s.cache }

// ReadQueue returns up to limit messages of one queue from offset on (of a LITE topic: the
// queue of lite topic lite). An offset below the queue's minimum starts at the minimum; one
// at or past its end returns nothing.
func (s *Service) ReadQueue(ctx context.Context, topic string, queueID int, lite string, offset int64, limit int) ([]domain.MessageView, error) {
	if limit <= 0 || limit > s.cfg.MaxReadMessages {
		return nil, domain.Errorf(domain.ErrBadRequest, "limit must be 1-%d", s.cfg.MaxReadMessages)
	}
	if offset < 0 {
		return nil, domain.Errorf(domain.ErrBadRequest, "offset must be >= 0")
	}
	var q metadata.Queue
	var err error
	if lite != "" {
		q, err = s.store.LiteQueueGet(ctx, topic, lite)
		if errors.Is(err, metadata.ErrNotFound) {
			return nil, domain.Errorf(domain.ErrQueueNotFound, "topic %s has no lite topic %s", topic, lite)
		} else if err != nil {
			return nil, unavailable(err)
		}
	} else if q, err = s.queue(ctx, topic, queueID); err != nil {
		return nil, err
	}
	offset = max(offset, q.MinOffset)
	out := []domain.MessageView{}
	for len(out) < limit && offset < q.NextOffset {
		chunks, err := s.store.ChunksFrom(ctx, q.Ref, offset, 16)
		if err != nil {
			return nil, unavailable(err)
		}
		if len(chunks) == 0 {
			break
		}
		for _, ch := range chunks {
			if len(out) >= limit {
				break
			}
			recs, err := s.cache.Get(ctx, ch)
			if err != nil {
				return nil, unavailable(err)
			}
			recs, err = indexed(ch, recs)
			if err != nil {
				return nil, err
			}
			// Offsets missing from the index (removed by retention meanwhile) are skipped.
			for i := max(int(offset-ch.FirstOffset), 0); i < len(recs) && len(out) < limit; i++ {
				out = append(out, view.Of(topic, q.QueueID, ch.FirstOffset+int64(i), &recs[i]))
			}
			offset = ch.FirstOffset + int64(ch.Count)
		}
	}
	return s.withPriorities(ctx, topic, out), nil
}

// GetMessage returns one message by id, or a 404 error.
func (s *Service) GetMessage(ctx context.Context, topic, id string) (domain.MessageView, error) {
	views, err := s.lookup(ctx, topic, bloom.IDItem(id), func(r *segment.Record) bool { return r.MessageID == id }, 1)
	if err != nil {
		return domain.MessageView{}, err
	}
	if len(views) == 0 {
		return domain.MessageView{}, domain.Errorf(domain.ErrMessageNotFound, "no message %s in topic %s", id, topic)
	}
	return views[0], nil
}

// MessagesByKey returns the messages of a topic carrying a key, oldest first (at most 100).
func (s *Service) MessagesByKey(ctx context.Context, topic, key string) ([]domain.MessageView, error) {
	return s.lookup(ctx, topic, bloom.KeyItem(key), func(r *segment.Record) bool {
		for _, k := range r.Keys {
			if k == key {
				return true
			}
		}
		return false
	}, 100)
}

func (s *Service) lookup(ctx context.Context, topic, item string, match func(*segment.Record) bool, limit int) ([]domain.MessageView, error) {
	qs, err := s.queues(ctx, topic)
	if err != nil {
		return nil, err
	}
	refs := make([]int64, len(qs))
	byRef := map[int64]metadata.Queue{}
	for i, q := range qs {
		refs[i] = q.Ref
		byRef[q.Ref] = q
	}
	chunks, err := s.store.ChunksMayContain(ctx, refs, item, s.cfg.MaxLookupChunks)
	if err != nil {
		return nil, unavailable(err)
	}
	out := []domain.MessageView{}
	for _, ch := range chunks {
		recs, err := s.cache.Get(ctx, ch)
		if err != nil {
			return nil, unavailable(err)
		}
		recs, err = indexed(ch, recs)
		if err != nil {
			return nil, err
		}
		q := byRef[ch.QueueRef]
		for i := range recs {
			off := ch.FirstOffset + int64(i)
			if off < q.MinOffset || !match(&recs[i]) {
				continue
			}
			out = append(out, view.Of(topic, q.QueueID, off, &recs[i]))
		}
		if len(out) >= limit {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StoreTime.Equal(out[j].StoreTime) {
			return out[i].StoreTime.Before(out[j].StoreTime)
		}
		return out[i].Offset < out[j].Offset
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return s.withPriorities(ctx, topic, out), nil
}

func (s *Service) queue(ctx context.Context, topic string, queueID int) (metadata.Queue, error) {
	q, err := s.store.QueueGet(ctx, topic, queueID)
	if errors.Is(err, metadata.ErrNotFound) {
		if _, terr := s.store.TopicGet(ctx, topic); errors.Is(terr, metadata.ErrNotFound) {
			return q, domain.Errorf(domain.ErrTopicNotFound, "topic %s does not exist", topic)
		}
		return q, domain.Errorf(domain.ErrQueueNotFound, "topic %s has no queue %d", topic, queueID)
	}
	if err != nil {
		return q, unavailable(err)
	}
	return q, nil
}

func (s *Service) queues(ctx context.Context, topic string) ([]metadata.Queue, error) {
	if _, err := s.store.TopicGet(ctx, topic); errors.Is(err, metadata.ErrNotFound) {
		return nil, domain.Errorf(domain.ErrTopicNotFound, "topic %s does not exist", topic)
	} else if err != nil {
		return nil, unavailable(err)
	}
	qs, err := s.store.QueueList(ctx, topic)
	if err != nil {
		return nil, unavailable(err)
	}
	return qs, nil
}

// indexed returns the records an index row covers: Count records from Skip on.
func indexed(ch metadata.Chunk, recs []segment.Record) ([]segment.Record, error) {
	if ch.Skip < 0 || ch.Skip+ch.Count > len(recs) {
		return nil, fmt.Errorf("chunk %s@%d holds %d records, index row wants %d from %d", ch.ObjectKey, ch.ByteOffset, len(recs), ch.Count, ch.Skip)
	}
	return recs[ch.Skip : ch.Skip+ch.Count], nil
}

func unavailable(err error) error {
	if de := domain.AsError(err); de != nil {
		return de
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Errorf(domain.ErrUnavailable, "timed out: %v", err)
	}
	return domain.Errorf(domain.ErrUnavailable, "storage unavailable: %v", err)
}
