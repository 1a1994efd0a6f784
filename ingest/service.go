package ingest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
	"github.com/floemq/floe/trace"
)

// Limits on message fields beyond the body.
const (
	maxKeys          = 32
	maxKeyLen        = 128
	maxProperties    = 64
	maxPropertyBytes = 16 << 10
)

// ErrStopped is returned for sends that arrive after Stop.
var ErrStopped = errors.New("ingest stopped")

// Service is the ingest role: it accepts sends and makes them durable.
type Service struct {
	cfg     Config
	store   *metadata.Store
	bucket  objstore.Bucket
	topics  *topicCache
	metrics *metrics
	buffer  *byteSemaphore

	idPrefix    string
	idSeq       atomic.Uint64
	incarnation string

	tracer *trace.Recorder
	recall *RecallSigner

	mu      sync.Mutex
	cur     *batch
	seq     uint64
	stopped bool
	flushQ  chan *batch
	commitQ chan *batch
	uploads chan struct{}
	done    chan struct{}
}

// New builds the ingest service; Start launches its flush pipeline.
func New(cfg Config, store *metadata.Store, bucket objstore.Bucket, reg prometheus.Registerer) (*Service, error) {
	cfg = cfg.withDefaults()
	recall, err := NewRecallSigner(cfg.RecallSecret)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering ingest metrics: %w", err)
	}
	s := &Service{
		cfg:         cfg,
		store:       store,
		bucket:      bucket,
		topics:      newTopicCache(store, cfg.TopicCacheTTL, cfg.Now),
		metrics:     m,
		recall:      recall,
		buffer:      newByteSemaphore(cfg.MaxBufferedBytes),
		incarnation: randomHex(6),
		flushQ:      make(chan *batch, 4096),
		commitQ:     make(chan *batch, 4096),
		uploads:     make(chan struct{}, cfg.MaxUploads),
		done:        make(chan struct{}),
	}
	s.idPrefix = fmt.Sprintf("%08X", fnvHash(cfg.NodeID+"/"+s.incarnation))
	s.cur = s.newBatch()
	return s, nil
}

// SetTracer makes the service record the path of messages of traced topics.
func (s *Service) SetTracer(r *trace.Recorder) { s.tracer = r }

// ProduceInternal stores system messages (traces) on a system topic, without the checks
// that apply to producers' messages.
func (s *Service) ProduceInternal(ctx context.Context, topic string, msgs []domain.Message) error {
	_, err := s.produce(ctx, topic, msgs, "", "", true)
	return err
}

// Start launches the flush pipeline.
func (s *Service) Start() {
	go s.dispatch()
	go s.commitLoop()
}

// Stop flushes what is buffered, waits for it to be committed (or ctx to end), and refuses
// new sends.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		if s.cur.messages > 0 {
			s.cutLocked("shutdown")
		}
		close(s.flushQ)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the last flushes: %w", ctx.Err())
	}
}

// Produce validates and stores messages on a topic (its stored name, see
// namespace.Wrap), returning once every one is durable (in the bucket and indexed).
// Errors are *domain.Error.
func (s *Service) Produce(ctx context.Context, topic string, msgs []domain.Message) ([]domain.SendResult, error) {
	return s.observe(func() ([]domain.SendResult, error) { return s.produce(ctx, topic, msgs, "", "", false) })
}

// ProduceTransaction stores a transaction's half messages: durable but invisible until
// the transaction is committed. It returns the transaction id.
func (s *Service) ProduceTransaction(ctx context.Context, topic, producerGroup string, msgs []domain.Message) (string, []domain.SendResult, error) {
	if err := domain.CheckName("producerGroup", namespace.Local(producerGroup)); err != nil {
		return "", nil, err
	}
	return s.ProduceTransactionChecked(ctx, topic, producerGroup, msgs)
}

// ProduceTransactionChecked is ProduceTransaction for a checker name the caller has
// validated, such as the system names the gRPC front end gives its producers' topics.
func (s *Service) ProduceTransactionChecked(ctx context.Context, topic, producerGroup string, msgs []domain.Message) (string, []domain.SendResult, error) {
	txID := s.newTransactionID()
	res, err := s.observe(func() ([]domain.SendResult, error) { return s.produce(ctx, topic, msgs, txID, producerGroup, false) })
	if err != nil {
		return "", nil, err
	}
	return txID, res, nil
}

func (s *Service) observe(fn func() ([]domain.SendResult, error)) ([]domain.SendResult, error) {
	start := time.Now()
	res, err := fn()
	if err != nil {
		if de := domain.AsError(err); de != nil {
			s.metrics.rejected.WithLabelValues(de.Kind.String()).Inc()
		}
		return nil, err
	}
	s.metrics.produceSeconds.Observe(time.Since(start).Seconds())
	return res, nil
}

// produce stores msgs on topic; with a txID they are a transaction's half messages;
// internal ones are system messages that skip the producer checks.
func (s *Service) produce(ctx context.Context, topic string, msgs []domain.Message, txID, producerGroup string, internal bool) ([]domain.SendResult, error) {
	if !internal {
		if err := domain.CheckName("topic", namespace.Local(topic)); err != nil {
			return nil, err
		}
	}
	if len(msgs) == 0 {
		return nil, domain.Errorf(domain.ErrBadRequest, "messages must not be empty")
	}
	if len(msgs) > s.cfg.MaxMessagesPerRequest {
		return nil, domain.Errorf(domain.ErrBadRequest, "at most %d messages per request, got %d", s.cfg.MaxMessagesPerRequest, len(msgs))
	}
	ti, err := s.topics.get(ctx, topic)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, domain.Errorf(domain.ErrTopicNotFound, "topic %s does not exist", topic)
	}
	if err != nil {
		return nil, unavailable("reading topic %s: %v", topic, err)
	}
	now := s.cfg.Now()
	var size int64
	for i := range msgs {
		if !internal {
			if err := s.validate(ti.topic, i, &msgs[i], txID != "", now); err != nil {
				return nil, err
			}
		}
		size += int64(len(msgs[i].Body))
	}
	var dd *dedupSend
	if !internal && txID == "" {
		if dd, err = s.claimDedup(ctx, ti.topic, msgs); err != nil {
			return nil, err
		}
	}
	if dd != nil {
		defer s.releaseDedup(dd)
		if len(dd.store) == 0 {
			return dd.results(nil), nil
		}
		msgs, size = dd.store, 0
		for i := range msgs {
			size += int64(len(msgs[i].Body))
		}
	}
	var liteQueues map[string]metadata.Queue
	if ti.topic.Type == metadata.TopicLite {
		// A lite topic is created by its first message.
		seen := map[string]bool{}
		var lites []string
		for i := range msgs {
			if lt := msgs[i].LiteTopic; !seen[lt] {
				seen[lt] = true
				lites = append(lites, lt)
			}
		}
		var err error
		if liteQueues, err = s.topics.liteQueues(ctx, topic, lites); err != nil {
			var qe *metadata.QuotaError
			if errors.As(err, &qe) {
				return nil, domain.QuotaExceeded(qe.Resource, qe.Limit)
			}
			return nil, unavailable("creating lite topics of %s: %v", topic, err)
		}
	} else if len(ti.queues) == 0 {
		return nil, unavailable("topic %s has no queues", topic)
	}

	if err := s.buffer.acquire(ctx, size, s.cfg.BufferWait); err != nil {
		if errors.Is(err, errBufferFull) {
			return nil, domain.Errorf(domain.ErrThrottled, "this node's buffer is full; retry later")
		}
		return nil, err
	}
	s.metrics.buffered.Set(float64(s.buffer.used()))

	req := &request{n: len(msgs), bytes: size, offsets: make([]int64, len(msgs)), done: make(chan struct{})}
	results := make([]domain.SendResult, len(msgs))
	kinds := make([]metadata.ChunkKind, len(msgs))
	queues := make([]metadata.Queue, len(msgs))
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.buffer.release(size)
		return nil, unavailable("%v", ErrStopped)
	}
	b := s.cur
	if txID != "" {
		b.txs = append(b.txs, metadata.TransactionCreate{ID: txID, Topic: topic, ProducerGroup: producerGroup,
			FirstCheckAt: now.Add(s.cfg.TransactionFirstCheck)})
	}
	for i := range msgs {
		m := &msgs[i]
		var q metadata.Queue
		if liteQueues != nil {
			q = liteQueues[m.LiteTopic]
		} else {
			q = s.route(ti, m)
		}
		queues[i] = q
		id := m.ID
		if id == "" {
			id = s.newMessageID(now)
		}
		results[i].MessageID = id
		rec := segment.Record{
			MessageID:    id,
			Tag:          m.Tag,
			Keys:         m.Keys,
			Properties:   m.Properties,
			MessageGroup: m.MessageGroup,
			LiteTopic:    m.LiteTopic,
			BornTime:     now,
			Body:         m.Body,
		}
		switch {
		case txID != "":
			kinds[i] = metadata.ChunkHalf
		case m.DeliveryTime != nil && m.DeliveryTime.After(now):
			kinds[i] = metadata.ChunkDelayed
			rec.DeliveryTime = *m.DeliveryTime
			t := m.DeliveryTime.UTC()
			results[i].DeliveryTime = &t
		default:
			qid := q.QueueID
			results[i].QueueID = &qid
			if m.DeliveryTime != nil {
				// Due already: delivered at once, and says so.
				rec.DeliveryTime = *m.DeliveryTime
			}
		}
		qc := b.add(q, kinds[i], txID, rec, req, i)
		if dd != nil && m.DeduplicationID != "" {
			b.dedups = append(b.dedups, pendingDedup{qc: qc, pos: len(qc.recs) - 1, ds: metadata.DedupSent{
				ClaimID: dd.claim.ClaimID, Ordinal: dd.ordinal[m.DeduplicationID], MessageID: id, QueueID: q.QueueID}})
		}
	}
	if dd != nil {
		dd.handedOff = true
	}
	b.reqs = append(b.reqs, req)
	b.bytes += size
	b.messages += len(msgs)
	if b.bytes >= s.cfg.FlushBytes {
		s.cutLocked("size")
	} else if b.timer == nil {
		b.timer = time.AfterFunc(s.cfg.Linger, func() { s.lingerExpired(b) })
	}
	s.mu.Unlock()

	// The batch goes on whether or not this caller waits: it cannot be taken back.
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if req.err != nil {
		if dd != nil {
			dd.batchFailed = true
		}
		return nil, req.err
	}
	for i := range results {
		switch kinds[i] {
		case metadata.ChunkVisible:
			off := req.offsets[i]
			results[i].Offset = &off
		case metadata.ChunkDelayed:
			// A delayed message's "offset" is its index in its queue's delayed chunk.
			results[i].RecallHandle = s.recall.Encode(topic, RecallHandle{QueueRef: queues[i].Ref, QueueID: queues[i].QueueID,
				ObjectKey: req.object, Record: int(req.offsets[i]), DeliveryTime: *results[i].DeliveryTime, MessageID: results[i].MessageID})
		}
	}
	s.metrics.messages.Add(float64(len(msgs)))
	s.metrics.bodyBytes.Add(float64(size))
	if ti.topic.Trace && s.tracer != nil {
		s.tracer.Record(traceEvents(topic, now, s.cfg.Now(), txID, req.object, kinds, results))
	}
	if dd != nil {
		return dd.results(results), nil
	}
	return results, nil
}

// traceEvents describes a finished send: each message produced, then stored (with its
// place), scheduled or stored as half of a transaction.
func traceEvents(topic string, born, acked time.Time, txID, object string, kinds []metadata.ChunkKind, results []domain.SendResult) []trace.Event {
	latency := float64(acked.Sub(born).Microseconds()) / 1000
	evs := make([]trace.Event, 0, 2*len(results))
	for i, r := range results {
		evs = append(evs, trace.Event{MessageID: r.MessageID, Topic: topic, Type: trace.Produced, Time: born})
		e := trace.Event{MessageID: r.MessageID, Topic: topic, Time: acked, Object: object, LatencyMs: latency}
		switch kinds[i] {
		case metadata.ChunkDelayed:
			e.Type, e.DeliveryTime = trace.Scheduled, r.DeliveryTime
		case metadata.ChunkHalf:
			e.Type, e.Transaction = trace.HalfStored, txID
		default:
			e.Type, e.QueueID, e.Offset = trace.Stored, r.QueueID, r.Offset
		}
		evs = append(evs, e)
	}
	return evs
}

func (s *Service) validate(t metadata.Topic, i int, m *domain.Message, half bool, now time.Time) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.ErrBadRequest, "message %d: %s", i, fmt.Sprintf(format, args...))
	}
	mismatch := func(format string, args ...any) error {
		return domain.Errorf(domain.ErrMessageTypeMismatch, "message %d: %s", i, fmt.Sprintf(format, args...))
	}
	if m.ID != "" && !domain.ValidID(m.ID) {
		return bad("message id must be 1-%d characters of [A-Za-z0-9_-]", domain.MaxIDLen)
	}
	if len(m.Body) == 0 {
		return domain.Errorf(domain.ErrBodyEmpty, "message %d: body must not be empty", i)
	}
	if len(m.Body) > s.cfg.MaxBodyBytes {
		return domain.Errorf(domain.ErrBodyTooLarge, "message %d: body of %d bytes exceeds the limit of %d", i, len(m.Body), s.cfg.MaxBodyBytes)
	}
	if m.Tag != "" && !domain.ValidName(m.Tag) {
		return domain.Errorf(domain.ErrInvalidName, "message %d: tag %q must be 1-127 characters of [A-Za-z0-9_-]", i, m.Tag)
	}
	if len(m.Keys) > maxKeys {
		return bad("at most %d keys", maxKeys)
	}
	for _, k := range m.Keys {
		if k == "" || len(k) > maxKeyLen || !utf8.ValidString(k) {
			return bad("keys must be 1-%d bytes of UTF-8", maxKeyLen)
		}
	}
	if len(m.Properties) > maxProperties {
		return bad("at most %d properties", maxProperties)
	}
	propBytes := 0
	for k, v := range m.Properties {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return bad("property names must be non-empty UTF-8, values UTF-8")
		}
		propBytes += len(k) + len(v)
	}
	if propBytes > maxPropertyBytes {
		return bad("properties take %d bytes, more than %d", propBytes, maxPropertyBytes)
	}
	if m.MessageGroup != "" && (len(m.MessageGroup) > 127 || !utf8.ValidString(m.MessageGroup)) {
		return bad("messageGroup must be 1-127 bytes of UTF-8")
	}
	if m.LiteTopic != "" && !domain.ValidName(m.LiteTopic) {
		return domain.Errorf(domain.ErrInvalidName, "message %d: liteTopic %q must be 1-127 characters of [A-Za-z0-9_-]", i, m.LiteTopic)
	}
	if err := checkPriority(t, i, m); err != nil {
		return err
	}
	if err := checkDedupID(i, m, half, m.DeliveryTime != nil && m.DeliveryTime.After(now)); err != nil {
		return err
	}
	// The message's fields must fit the topic's type.
	isFIFO, isDelay, isLite := m.MessageGroup != "", m.DeliveryTime != nil, m.LiteTopic != ""
	switch t.Type {
	case metadata.TopicNormal:
		if isFIFO || isDelay || isLite {
			return mismatch("a NORMAL topic takes no messageGroup, deliveryTime or liteTopic")
		}
	case metadata.TopicFIFO:
		if !isFIFO || isDelay || isLite {
			return mismatch("a FIFO topic needs a messageGroup and takes no deliveryTime or liteTopic")
		}
	case metadata.TopicDelay:
		if !isDelay || isFIFO || isLite {
			return mismatch("a DELAY topic needs a deliveryTime and takes no messageGroup or liteTopic")
		}
	case metadata.TopicLite:
		if !isLite || isFIFO || isDelay {
			return mismatch("a LITE topic needs a liteTopic and takes no messageGroup or deliveryTime")
		}
	case metadata.TopicTransaction:
		if !half {
			return mismatch("a TRANSACTION topic takes messages only through POST /v1/topics/%s/transactions", t.Name)
		}
		if isFIFO || isDelay || isLite {
			return mismatch("transactional messages take no messageGroup, deliveryTime or liteTopic")
		}
	}
	if half && t.Type != metadata.TopicTransaction {
		return mismatch("transactions go to TRANSACTION topics; %s is %s", t.Name, t.Type)
	}
	if isDelay && m.DeliveryTime.After(now.Add(s.cfg.MaxDelay)) {
		return domain.Errorf(domain.ErrDelayTooLong, "message %d: deliveryTime is more than %s ahead", i, s.cfg.MaxDelay)
	}
	return nil
}

// route picks a message's queue: FIFO by its message group, else by its first key, else
// round-robin.
func (s *Service) route(ti *topicInfo, m *domain.Message) metadata.Queue {
	n := uint64(len(ti.queues))
	switch {
	case ti.topic.Type == metadata.TopicPriority && m.Priority != nil:
		return routePriority(ti, m)
	case m.MessageGroup != "":
		return ti.queues[metadata.QueueForKey(m.MessageGroup, len(ti.queues))]
	case len(m.Keys) > 0:
		return ti.queues[metadata.QueueForKey(m.Keys[0], len(ti.queues))]
	default:
		return ti.queues[ti.rr.Add(1)%n]
	}
}

func fnvHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// newMessageID returns a unique, roughly time-ordered id: 12 hex digits of milliseconds,
// 8 of the node and 12 of a per-process counter.
func (s *Service) newMessageID(now time.Time) string {
	return fmt.Sprintf("%012X%s%012X", now.UnixMilli()&0xffffffffffff, s.idPrefix, s.idSeq.Add(1)&0xffffffffffff)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// newTransactionID returns a unique transaction id.
func (s *Service) newTransactionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("TX%s%X", s.idPrefix, b)
}

func unavailable(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.ErrUnavailable, format, args...)
}

// Ready reports whether the write path can take sends.
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.stopped
}

// Config returns the service's configuration, defaults applied.
func (s *Service) Config() Config { return s.cfg }
