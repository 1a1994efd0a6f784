package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

// request is one send waiting for its batch.
type request struct {
	n       int
	bytes   int64
	offsets []int64
	object  string
	err     error
	done    chan struct{}
}

// slot says where a record sits: which request and which of its messages.
type slot struct {
	req *request
	idx int
}

// chunkKey separates a batch's chunks: per queue, and per kind (visible, delayed, half of
// one transaction).
type chunkKey struct {
	ref  int64
	kind metadata.ChunkKind
	txID string
}

// queueChunk gathers one queue's records of a batch that share a kind.
type queueChunk struct {
	queue metadata.Queue
	kind  metadata.ChunkKind
	txID  string
	recs  []segment.Record
	slots []slot
}

// batch is the set of sends that one flush makes durable.
type batch struct {
	seq      uint64
	chunks   map[chunkKey]*queueChunk
	order    []*queueChunk
	txs      []metadata.TransactionCreate
	reqs     []*request
	bytes    int64
	messages int
	timer    *time.Timer
	reason   string

	uploaded  chan struct{}
	uploadErr error
	objectKey string
	size      int64
	commits   []metadata.ChunkCommit
	// dedups are the batch's messages sent with deduplication ids.
	dedups []pendingDedup
}

func (s *Service) newBatch() *batch {
	s.seq++
	return &batch{seq: s.seq, chunks: map[chunkKey]*queueChunk{}, uploaded: make(chan struct{})}
}

// topics lists the batch's topics once each.
func (b *batch) topics() []string {
	seen := map[string]bool{}
	var out []string
	for _, qc := range b.order {
		if !seen[qc.queue.Topic] {
			seen[qc.queue.Topic] = true
			out = append(out, qc.queue.Topic)
		}
	}
	return out
}

func (b *batch) add(q metadata.Queue, kind metadata.ChunkKind, txID string, rec segment.Record, req *request, idx int) *queueChunk {
	k := chunkKey{ref: q.Ref, kind: kind, txID: txID}
	qc, ok := b.chunks[k]
	if !ok {
		qc = &queueChunk{queue: q, kind: kind, txID: txID}
		b.chunks[k] = qc
		b.order = append(b.order, qc)
	}
	qc.recs = append(qc.recs, rec)
	qc.slots = append(qc.slots, slot{req: req, idx: idx})
	return qc
}

// cutLocked closes the open batch and hands it to the flush pipeline. s.mu is held.
func (s *Service) cutLocked(reason string) {
	b := s.cur
	if b.timer != nil {
		b.timer.Stop()
	}
	b.reason = reason
	s.cur = s.newBatch()
	s.metrics.flushes.WithLabelValues(reason).Inc()
	s.flushQ <- b
}

func (s *Service) lingerExpired(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == b && !s.stopped && b.messages > 0 {
		s.cutLocked("linger")
	}
}

// dispatch starts uploads in flush order, at most MaxUploads at once, and passes each batch
// on to the committer in the same order.
func (s *Service) dispatch() {
	defer close(s.commitQ)
	for b := range s.flushQ {
		s.uploads <- struct{}{}
		go func(b *batch) {
			defer func() { <-s.uploads }()
			b.uploadErr = s.upload(b)
			close(b.uploaded)
		}(b)
		s.commitQ <- b
	}
}

// upload encodes the batch as one segment object and PUTs it, retrying until PutTimeout.
func (s *Service) upload(b *batch) error {
	start := time.Now()
	defer func() { s.metrics.uploadSeconds.Observe(time.Since(start).Seconds()) }()
	storeTime := s.cfg.Now()
	inputs := make([]segment.ChunkInput, len(b.order))
	for i, qc := range b.order {
		for j := range qc.recs {
			qc.recs[j].StoreTime = storeTime
		}
		if qc.kind == metadata.ChunkDelayed {
			// Sorted by delivery time, the messages that fall due together are one run.
			sort.Sort(byDeliveryTime{qc})
		}
		inputs[i] = segment.ChunkInput{Topic: qc.queue.Topic, QueueID: int32(qc.queue.QueueID), LiteTopic: qc.queue.LiteTopic, Records: qc.recs}
	}
	obj, infos, err := segment.Encode(inputs)
	if err != nil {
		s.metrics.flushFailures.WithLabelValues("encode").Inc()
		return fmt.Errorf("encoding segment: %w", err)
	}
	b.commits = make([]metadata.ChunkCommit, len(b.order))
	for i, qc := range b.order {
		b.commits[i] = metadata.ChunkCommit{
			QueueRef: qc.queue.Ref, Count: len(qc.recs), ByteOffset: infos[i].Offset, ByteLength: infos[i].Length,
			MinStoreTime: storeTime, MaxStoreTime: storeTime, Bloom: bloom.OfChunk(len(qc.recs), func(i int) (string, []string) { return qc.recs[i].MessageID, qc.recs[i].Keys }), Kind: qc.kind, TransactionID: qc.txID,
		}
		if qc.kind == metadata.ChunkDelayed {
			b.commits[i].Timers = timerGroups(qc.recs, s.cfg.TimerBucket)
		}
	}
	b.size = int64(len(obj))
	// The process's random incarnation makes keys unique even when a restarted node keeps
	// its NodeID and starts counting flushes from 1 again: a reused key would overwrite an
	// acknowledged segment (and a retried commit would match the old one).
	b.objectKey = fmt.Sprintf("%s%s/%s-%s-%08d.seg", s.cfg.KeyPrefix, storeTime.UTC().Format("2006/01/02/15"), s.cfg.NodeID, s.incarnation, b.seq)
	s.metrics.flushBytes.Observe(float64(len(obj)))
	s.metrics.flushMessages.Observe(float64(b.messages))

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PutTimeout)
	defer cancel()
	err = retry(ctx, func(ctx context.Context) error { return s.bucket.Put(ctx, b.objectKey, obj) })
	if err != nil {
		s.metrics.flushFailures.WithLabelValues("upload").Inc()
		s.cfg.Logger.Error("segment upload failed", "key", b.objectKey, "messages", b.messages, "err", err)
		return fmt.Errorf("uploading segment %s: %w", b.objectKey, err)
	}
	if s.cfg.Chunks != nil {
		// Only committed index rows lead a reader to these bytes, and they are exactly what
		// the bucket now holds under the key, so priming before the commit is safe and
		// readers woken by the commit find them.
		for _, info := range infos {
			s.cfg.Chunks.Prime(b.objectKey, info.Offset, obj[info.Offset:info.Offset+info.Length:info.Offset+info.Length])
		}
	}
	return nil
}

// commitLoop commits uploaded batches one at a time, in flush order, then answers their
// producers.
func (s *Service) commitLoop() {
	defer close(s.done)
	for b := range s.commitQ {
		<-b.uploaded
		err := b.uploadErr
		var firsts []int64
		if err == nil {
			firsts, err = s.commit(b)
		}
		s.finish(b, firsts, err)
	}
}

func (s *Service) commit(b *batch) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CommitTimeout)
	defer cancel()
	var firsts []int64
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		firsts, err = s.store.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: b.objectKey, SizeBytes: b.size,
			Chunks: b.commits, Transactions: b.txs, Topics: b.topics(), Dedups: b.dedupCommits()})
		if errors.Is(err, metadata.ErrUnknownQueue) {
			return permanent{err}
		}
		return err
	})
	if err != nil {
		s.metrics.flushFailures.WithLabelValues("commit").Inc()
		s.cfg.Logger.Error("segment commit failed; the object is an orphan", "key", b.objectKey, "messages", b.messages, "err", err)
		if errors.Is(err, metadata.ErrUnknownQueue) {
			for _, qc := range b.order {
				s.topics.forget(qc.queue.Topic)
			}
		}
		return nil, fmt.Errorf("committing segment %s: %w", b.objectKey, err)
	}
	return firsts, nil
}

// byDeliveryTime sorts a chunk's records (and their slots) by delivery time.
type byDeliveryTime struct{ qc *queueChunk }

func (s byDeliveryTime) Len() int { return len(s.qc.recs) }
func (s byDeliveryTime) Less(i, j int) bool {
	return s.qc.recs[i].DeliveryTime.Before(s.qc.recs[j].DeliveryTime)
}
func (s byDeliveryTime) Swap(i, j int) {
	s.qc.recs[i], s.qc.recs[j] = s.qc.recs[j], s.qc.recs[i]
	s.qc.slots[i], s.qc.slots[j] = s.qc.slots[j], s.qc.slots[i]
}

// timerGroups splits records sorted by delivery time into runs whose delivery times share
// a bucket; each run falls due at its latest delivery time, so none is early.
func timerGroups(recs []segment.Record, bucket time.Duration) []metadata.TimerGroup {
	var out []metadata.TimerGroup
	for i := 0; i < len(recs); {
		b := recs[i].DeliveryTime.Truncate(bucket)
		j := i + 1
		for j < len(recs) && recs[j].DeliveryTime.Truncate(bucket).Equal(b) {
			j++
		}
		out = append(out, metadata.TimerGroup{Skip: i, Count: j - i, DueAt: recs[j-1].DeliveryTime})
		i = j
	}
	return out
}

// finish answers every request of a batch and frees its buffer bytes.
func (s *Service) finish(b *batch, firsts []int64, err error) {
	if err == nil {
		for i, qc := range b.order {
			for j, sl := range qc.slots {
				sl.req.offsets[sl.idx] = firsts[i] + int64(j)
			}
		}
	} else {
		var apiErr error
		if errors.Is(err, metadata.ErrUnknownQueue) {
			apiErr = domain.Errorf(domain.ErrTopicChanged, "the topic was deleted or recreated while the send was in flight; nothing was stored")
		} else {
			apiErr = unavailable("messages not stored: %v", err)
		}
		for _, r := range b.reqs {
			r.err = apiErr
		}
	}
	for _, r := range b.reqs {
		r.object = b.objectKey
		close(r.done)
	}
	s.buffer.release(b.bytes)
	s.metrics.buffered.Set(float64(s.buffer.used()))
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry calls fn with backoff (50 ms doubling to 1 s) until it succeeds, fails permanently,
// or ctx ends; it returns the last error.
func retry(ctx context.Context, fn func(context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}
