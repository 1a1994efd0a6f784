package reader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/filter"
	"github.com/floemq/floe/internal/ttlcache"
	"github.com/floemq/floe/internal/view"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
	"github.com/floemq/floe/segment"
	"github.com/floemq/floe/trace"
)

// Limits of a receive.
const (
	DefaultMaxMessages = 32
	MaxMaxMessages     = 1024
	DefaultInvisible   = 30 * time.Second
	MinInvisible       = 10 * time.Second
	MaxInvisible       = 12 * time.Hour
	MaxWait            = 30 * time.Second
)

// ConsumerConfig tunes consumption.
type ConsumerConfig struct {
	// MaxQueuesPerReceive bounds the queues one receive locks. It locks them one at a time,
	// at random among those with work, and stops as soon as it has enough messages, so
	// concurrent consumers of a topic mostly work on different queues; default 16.
	MaxQueuesPerReceive int
	// ScanLimit bounds how many new messages one receive reads per queue looking for ones
	// that pass the filter; default 4096.
	ScanLimit int
	// MaxPendingOrderly stops an orderly queue from reading further while this many of its
	// messages wait behind their message groups; default 4096.
	MaxPendingOrderly int
	// MinInvisible is the shortest invisible time a receive may ask for; default 10 s.
	// Tests lower it to watch redeliveries without waiting.
	MinInvisible time.Duration
	// TargetTTL is how long a group's settings, subscription and queues are cached;
	// default 2 s.
	TargetTTL time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Consumer serves receive, ack, nack, change-invisible, reset and lag for consumer groups.
// It keeps no state of its own: everything lives in Postgres.
type Consumer struct {
	targets  *ttlcache.Cache[[2]string, *target]
	gatesMu  sync.Mutex
	gates    map[[2]string]*receiveGate
	ackers   map[string]*ackBatcher // under gatesMu
	tracer   *trace.Recorder
	cfg      ConsumerConfig
	store    *metadata.Store
	cache    *ChunkCache
	signer   *Signer
	waker    *Waker
	metrics  *consumeMetrics
	prefetch prefetcher
	renew    renewer // see autorenew.go
	stop     chan struct{}
	stopOnce sync.Once
	loopDone chan struct{}
}

type consumeMetrics struct {
	receives    *prometheus.CounterVec
	looks       *prometheus.CounterVec
	delivered   prometheus.Counter
	redelivered prometheus.Counter
	acks        *prometheus.CounterVec
	nacks       prometheus.Counter
	deadLetters prometheus.Counter
	prefetched  prometheus.Counter
	released    prometheus.Counter
	autoRenew   *prometheus.CounterVec
}

// NewConsumer builds the consumption service.
func NewConsumer(cfg ConsumerConfig, store *metadata.Store, cache *ChunkCache, signer *Signer, waker *Waker, reg prometheus.Registerer) (*Consumer, error) {
	cfg.MaxQueuesPerReceive = cmp.Or(cfg.MaxQueuesPerReceive, 16)
	cfg.ScanLimit = cmp.Or(cfg.ScanLimit, 4096)
	cfg.MaxPendingOrderly = cmp.Or(cfg.MaxPendingOrderly, 4096)
	cfg.MinInvisible = cmp.Or(cfg.MinInvisible, MinInvisible)
	cfg.TargetTTL = cmp.Or(cfg.TargetTTL, 2*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &consumeMetrics{
		receives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_reader_receives_total", Help: "Receive calls, by outcome (messages, empty).",
		}, []string{"outcome"}),
		looks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_reader_receive_attempts_total",
			Help: "Receive transactions (looks in Postgres), by outcome (messages, empty, contended, failed).",
		}, []string{"outcome"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_delivered_messages_total", Help: "Messages handed to consumers (first deliveries and redeliveries).",
		}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_redelivered_messages_total", Help: "Messages handed out again after a nack or a lapsed invisible time.",
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_reader_acks_total", Help: "Acknowledged receipt handles, by status.",
		}, []string{"status"}),
		nacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_nacks_total", Help: "Negative acknowledgements.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_dead_letters_total", Help: "Messages moved to a dead-letter topic after their last attempt.",
		}),
		prefetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_prefetched_messages_total",
			Help: "Messages claimed ahead of demand by background looks, for the receives of busy groups to take from memory.",
		}),
		released: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_reader_released_messages_total",
			Help: "Messages claimed ahead that no receive took in time, made visible again with their attempt unchanged.",
		}),
		autoRenew: newAutoRenewMetric(),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.receives, m.looks, m.delivered, m.redelivered, m.acks, m.nacks, m.deadLetters, m.prefetched, m.released, m.autoRenew} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering consumer metrics: %w", err)
			}
		}
	}
	c := &Consumer{cfg: cfg, store: store, cache: cache, signer: signer, waker: waker, metrics: m, targets: ttlcache.New[[2]string, *target](ttlcache.Config{TTL: cfg.TargetTTL}),
		gates: map[[2]string]*receiveGate{}, ackers: map[string]*ackBatcher{}, prefetch: prefetcher{pools: map[prefetchKey]*prefetchPool{}},
		stop: make(chan struct{}), loopDone: make(chan struct{})}
	go func() {
		defer close(c.loopDone)
		c.prefetchLoop(c.stop)
	}()
	return c, nil
}

// Close releases the messages this node claimed ahead, so that other nodes deliver them
// at once rather than after their hidden time. Receives must have ended.
func (c *Consumer) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.loopDone
	c.releaseAll()
}

// SetTracer makes the consumer record deliveries, acks, nacks and dead letters of traced
// topics.
func (c *Consumer) SetTracer(r *trace.Recorder) { c.tracer = r }

// ReceiveOptions are a receive's parameters.
type ReceiveOptions struct {
	MaxMessages int
	Invisible   time.Duration
	Wait        time.Duration
	// Consumer names the caller in traces (its address).
	Consumer string
}

// target is what a receive or ack call names, checked.
type target struct {
	group   metadata.Group
	topic   metadata.Topic
	filter  filter.Filter
	orderly bool
}

// resolve returns what a call on (group, topic) needs, from a short-lived cache so that a
// receive or an ack costs one Postgres transaction, not five. Settings changed by admin
// calls take effect within TargetTTL.
func (c *Consumer) resolve(ctx context.Context, group, topic string) (*target, error) {
	return c.targets.Get(ctx, [2]string{group, topic}, func(ctx context.Context) (*target, error) {
		return c.load(ctx, group, topic)
	})
}

func (c *Consumer) load(ctx context.Context, group, topic string) (*target, error) {
	if err := domain.CheckName("group", namespace.Local(group)); err != nil {
		return nil, err
	}
	if err := domain.CheckReadableTopic(namespace.Local(topic)); err != nil {
		return nil, err
	}
	g, err := c.store.GroupGet(ctx, group)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, domain.Errorf(domain.ErrGroupNotFound, "consumer group %s does not exist", group)
	} else if err != nil {
		return nil, unavailable(err)
	}
	t, err := c.store.TopicGet(ctx, topic)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, domain.Errorf(domain.ErrTopicNotFound, "topic %s does not exist", topic)
	} else if err != nil {
		return nil, unavailable(err)
	}
	sub, err := c.store.SubscriptionGet(ctx, group, topic)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, domain.Errorf(domain.ErrSubscriptionNotFound, "group %s does not subscribe to topic %s", group, topic)
	} else if err != nil {
		return nil, unavailable(err)
	}
	f, _, err := filter.Parse(sub.FilterType, sub.Filter)
	if err != nil {
		return nil, fmt.Errorf("stored filter of %s/%s: %w", group, topic, err)
	}
	return &target{group: g, topic: t, filter: f,
		orderly: g.DeliveryOrder == metadata.OrderOrderly && t.Type == metadata.TopicFIFO}, nil
}

// Receive hands out up to opts.MaxMessages ready messages of a topic to a group, hiding
// them for opts.Invisible. With nothing ready it waits up to opts.Wait for new messages,
// waking on commits to the topic rather than polling Postgres.
func (c *Consumer) Receive(ctx context.Context, group, topic string, opts ReceiveOptions) ([]domain.ReceivedMessage, error) {
	if opts.MaxMessages < 1 || opts.MaxMessages > MaxMaxMessages {
		return nil, domain.FieldErrorf(domain.ErrBadRequest, "maxMessages", "maxMessages must be 1-%d", MaxMaxMessages)
	}
	if err := c.checkInvisible(opts.Invisible); err != nil {
		return nil, err
	}
	if opts.Wait < 0 || opts.Wait > MaxWait {
		return nil, domain.FieldErrorf(domain.ErrBadRequest, "waitSeconds", "waitSeconds must be 0-%d", int(MaxWait.Seconds()))
	}
	tg, err := c.resolve(ctx, group, topic)
	if err != nil {
		return nil, err
	}
	key := prefetchKey{group: group, topic: topic, invisible: opts.Invisible}
	deadline := time.Now().Add(opts.Wait)
	// Watch before looking, so a commit between the look and the wait is not missed.
	w := c.waker.Watch(topic, group)
	defer w.Close()
	g := c.gate(group, topic, tg.orderly)
	defer c.releaseGate(group, topic, g)
	me := newGateWaiter(opts)
	for {
		if tg.claimsAhead() {
			// Messages claimed ahead on this node (a background look wakes waiting
			// receives when it adds some).
			if cms := c.takePrefetched(tg, key, opts.MaxMessages); len(cms) > 0 {
				if g.leave(me) {
					msgs := messagesOf(cms)
					c.handedOut(tg, opts, msgs, true)
					return msgs, nil
				}
				// A look is serving this receive meanwhile: take its share, and put
				// these back for the next receive.
				c.putBack(key, cms)
			}
		}
		// The generation is read before the look, so that a wake-up during it makes an
		// empty result stale for the gate.
		gen := c.waker.Gen(topic, group)
		now := time.Now()
		a, served, changed, idleUntil := g.admit(me, gen, now)
		switch a {
		case admitTaken:
			// Another receive's look serves this one: its answer is short in coming.
			select {
			case sh := <-me.share:
				g.received(me)
				if done, msgs, err := c.takeShare(tg, opts, sh, deadline); done {
					return msgs, err
				}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		case admitWait:
			// Nothing new since a look found nothing, or a look is running.
			wake := deadline
			if !idleUntil.IsZero() {
				wake = minTime(wake, idleUntil)
			}
			if !now.Before(wake) && !now.Before(deadline) {
				if g.leave(me) {
					c.metrics.receives.WithLabelValues("empty").Inc()
					return []domain.ReceivedMessage{}, nil
				}
				continue // taken meanwhile
			}
			select {
			case sh := <-me.share:
				g.received(me)
				if done, msgs, err := c.takeShare(tg, opts, sh, deadline); done {
					return msgs, err
				}
			default:
				if err := waitFor(ctx, wake, w.C, changed, me.share); err != nil {
					// If a look serves this receive meanwhile, what it hands out stays
					// hidden until its invisible time lapses, as for a client gone
					// mid-receive.
					g.leave(me)
					return nil, err
				}
			}
			continue
		}
		budget := opts.MaxMessages
		for _, o := range served {
			budget += o.max
		}
		hidden := opts.Invisible
		extra := 0
		if tg.claimsAhead() {
			// Claim what the next receives will want, so that they take it from memory.
			extra, hidden = c.extraFor(key)
			budget += extra
		}
		claimed := time.Now()
		lookCtx, cancel := ctx, context.CancelFunc(func() {})
		if len(served) > 0 {
			// The look answers other receives too: it does not end with this caller.
			lookCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), MaxWait)
		}
		r, err := c.receiveOnce(lookCtx, tg, hidden, budget)
		cancel()
		now = time.Now()
		c.metrics.looks.WithLabelValues(lookOutcome(len(r.msgs), r.contended, err)).Inc()
		g.done(lookResult{gen: gen, got: len(r.msgs) > 0, failed: err != nil, contended: r.contended, exhausted: r.exhausted, ready: r.ready, next: r.next}, now)
		// The look's messages go to the receives it served in turn, this one first.
		msgs := r.msgs
		mine := msgs[:min(len(msgs), opts.MaxMessages)]
		msgs = msgs[len(mine):]
		for _, o := range served {
			part := msgs[:min(len(msgs), o.max)]
			msgs = msgs[len(part):]
			o.share <- lookShare{msgs: part, err: err}
		}
		if extra > 0 {
			c.metrics.prefetched.Add(float64(len(msgs)))
			c.keep(key, claimed, msgs)
		}
		if done, out, err := c.takeShare(tg, opts, lookShare{msgs: mine, err: err}, deadline); done {
			return out, err
		}
		if r.contended {
			// Queues with work are held by receives elsewhere: try again shortly.
			if err := waitFor(ctx, minTime(deadline, now.Add(20*time.Millisecond)), w.C, nil, nil); err != nil {
				return nil, err
			}
		}
	}
}

// takeShare ends a receive with its part of a look, unless the part is empty and the
// receive may wait longer.
func (c *Consumer) takeShare(tg *target, opts ReceiveOptions, sh lookShare, deadline time.Time) (done bool, msgs []domain.ReceivedMessage, err error) {
	if sh.err != nil {
		return true, nil, sh.err
	}
	if len(sh.msgs) > 0 {
		c.handedOut(tg, opts, sh.msgs, false)
		return true, sh.msgs, nil
	}
	if !time.Now().Before(deadline) {
		c.metrics.receives.WithLabelValues("empty").Inc()
		return true, []domain.ReceivedMessage{}, nil
	}
	return false, nil, nil
}

// handedOut counts and traces the messages a receive returns; the demand of messages a
// look handed out (not the prefetch pool, which counts its own) sizes what is claimed ahead.
func (c *Consumer) handedOut(tg *target, opts ReceiveOptions, msgs []domain.ReceivedMessage, fromPool bool) {
	if !fromPool && tg.claimsAhead() {
		p := c.pool(prefetchKey{group: tg.group.Name, topic: tg.topic.Name, invisible: opts.Invisible})
		p.mu.Lock()
		p.noteTaken(len(msgs), time.Now())
		p.mu.Unlock()
	}
	if tg.topic.Trace {
		c.traceReceive(tg, opts, msgs)
	}
	c.metrics.receives.WithLabelValues("messages").Inc()
	c.metrics.delivered.Add(float64(len(msgs)))
	for _, m := range msgs {
		if m.DeliveryAttempt > 1 {
			c.metrics.redelivered.Inc()
		}
	}
}

// Outcomes of a look (floe_reader_receive_attempts_total).
const (
	lookMessages  = "messages"  // handed out at least one message
	lookEmpty     = "empty"     // found nothing to hand out
	lookContended = "contended" // found nothing, while queues with work were held by other receives
	lookFailed    = "failed"    // ended in an error
)

func lookOutcome(n int, contended bool, err error) string {
	switch {
	case err != nil:
		return lookFailed
	case n > 0:
		return lookMessages
	case contended:
		return lookContended
	}
	return lookEmpty
}

// waitFor waits until wake, a value on c1, c2 closing, a share ready on share (left
// there for the caller; nil channels: never), or ctx's end.
func waitFor(ctx context.Context, wake time.Time, c1 <-chan struct{}, c2 <-chan struct{}, share chan lookShare) error {
	timer := time.NewTimer(time.Until(wake))
	defer timer.Stop()
	select {
	case <-c1:
	case <-c2:
	case sh := <-share:
		share <- sh // the channel holds one share and only its look sends: this never blocks
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (c *Consumer) checkInvisible(d time.Duration) error {
	if d < c.cfg.MinInvisible || d > MaxInvisible {
		return domain.FieldErrorf(domain.ErrInvisibleTime, "invisibleSeconds", "invisibleSeconds must be %d-%d",
			int(c.cfg.MinInvisible.Seconds()), int(MaxInvisible.Seconds()))
	}
	return nil
}

func (c *Consumer) traceReceive(tg *target, opts ReceiveOptions, msgs []domain.ReceivedMessage) {
	if len(msgs) == 0 {
		return
	}
	now := time.Now()
	evs := make([]trace.Event, len(msgs))
	// The events point at their queue and offset: one array of each per call, not two
	// allocations per message.
	qids, offs := make([]int, len(msgs)), make([]int64, len(msgs))
	for i, m := range msgs {
		qids[i], offs[i] = m.QueueID, m.Offset
		evs[i] = trace.Event{MessageID: m.MessageID, Topic: tg.topic.Name, Type: trace.Delivered, Time: now, Group: tg.group.Name,
			Consumer: opts.Consumer, Attempt: m.DeliveryAttempt, QueueID: &qids[i], Offset: &offs[i]}
	}
	c.tracer.Record(evs)
}

// traceSettled records acks or nacks of the handles that took effect.
func (c *Consumer) traceSettled(tg *target, typ string, rs []Receipt, results []domain.HandleResult) {
	if !tg.topic.Trace {
		return
	}
	now := time.Now()
	evs := make([]trace.Event, 0, len(results))
	for i, r := range results {
		if r.Status == StatusOK && rs[i].MessageID != "" {
			evs = append(evs, trace.Event{MessageID: rs[i].MessageID, Topic: tg.topic.Name, Type: typ, Time: now, Group: tg.group.Name})
		}
	}
	c.tracer.Record(evs)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// located is a record with where it is stored.
type located struct {
	rec   *segment.Record
	chunk metadata.Chunk
	index int // record index inside the stored chunk
}

// recordsFrom reads the records of offsets [from, to) of a queue (fewer if the index
// ends), through the transaction's view of the index and the chunk cache.
func (c *Consumer) recordsFrom(ctx context.Context, st *metadata.ReceiveState, queueRef, from, to int64) ([]located, error) {
	var out []located
	err := c.scan(ctx, st, queueRef, from, to, func(_ int64, l located) bool {
		out = append(out, l)
		return true
	})
	return out, err
}

// scan calls fn for the records of offsets [from, to) of a queue in order, chunk by chunk,
// until fn returns false or the range (or the index) ends.
func (c *Consumer) scan(ctx context.Context, st *metadata.ReceiveState, queueRef, from, to int64, fn func(off int64, l located) bool) error {
	off := from
	for off < to {
		chunks, err := st.ChunksFrom(ctx, queueRef, off, 4)
		if err != nil {
			return err
		}
		if len(chunks) == 0 {
			return nil
		}
		for _, ch := range chunks {
			if off >= to {
				return nil
			}
			if ch.FirstOffset > off {
				// Removed by retention meanwhile: nothing to deliver there.
				c.cfg.Logger.Warn("offsets missing from the index, skipped", "queue", queueRef, "from", off, "to", ch.FirstOffset)
				off = ch.FirstOffset
			}
			recs, err := c.cache.Get(ctx, ch)
			if err != nil {
				return err
			}
			if ch.Skip+ch.Count > len(recs) {
				return fmt.Errorf("chunk %s@%d holds %d records, index row wants %d from %d", ch.ObjectKey, ch.ByteOffset, len(recs), ch.Count, ch.Skip)
			}
			for i := int(off - ch.FirstOffset); i < ch.Count && off < to; i++ {
				if !fn(off, located{rec: &recs[ch.Skip+i], chunk: ch, index: ch.Skip + i}) {
					return nil
				}
				off++
			}
		}
	}
	return nil
}

// handout is one message chosen for delivery, before the transaction assigns ids.
type handout struct {
	loc      located
	queue    metadata.Queue
	offset   int64
	attempt  int
	update   int // index into plan.Updates when the row is redelivered whole, else -1
	insert   int // index into plan.Inserts otherwise
	updateID int64
}

// look is what one look found.
type look struct {
	msgs []domain.ReceivedMessage
	// next is when the earliest hidden delivery turns visible (zero: none, or not asked).
	next time.Time
	// contended: queues with work were held by other receives.
	contended bool
	// exhausted: the look stopped for want of queues with work, not for a full budget.
	exhausted bool
	// ready counts the queues with new messages when it looked.
	ready int
}

// receiveOnce is one look: one Postgres transaction handing out up to budget messages,
// hidden for invisible.
func (c *Consumer) receiveOnce(ctx context.Context, tg *target, invisible time.Duration, budget int) (look, error) {
	maxQueues := c.cfg.MaxQueuesPerReceive
	if tg.orderly {
		// Orderly receives lock every delivery row of their queue; one queue keeps those
		// locks in one id-ordered statement, as acks take theirs.
		maxQueues = 1
	}
	p := &planner{c: c, tg: tg, budget: budget, invisible: invisible}
	st, res, err := c.store.Receive(ctx, metadata.ReceiveParams{
		Group: tg.group.Name, Topic: tg.topic.Name, MaxQueues: maxQueues, AllDeliveries: tg.orderly,
		Priority: metadata.PriorityOrderOf(tg.topic),
	}, p)
	if err != nil {
		return look{}, unavailable(err)
	}
	outs, dead := p.outs, p.dead
	if tg.topic.Trace && len(dead) > 0 {
		now := time.Now()
		evs := make([]trace.Event, len(dead))
		for i, d := range dead {
			evs[i] = trace.Event{MessageID: d.rec.MessageID, Topic: tg.topic.Name, Type: trace.DeadLettered, Time: now, Group: tg.group.Name}
		}
		c.tracer.Record(evs)
	}
	msgs := make([]domain.ReceivedMessage, 0, len(outs))
	for _, h := range outs {
		var r Receipt
		if h.update >= 0 {
			r = Receipt{DeliveryID: h.updateID, Version: res.Versions[h.updateID]}
		} else {
			r = Receipt{DeliveryID: res.InsertIDs[h.insert], Version: 1}
		}
		r.QueueRef, r.Offset, r.MessageID = h.queue.Ref, h.offset, h.loc.rec.MessageID
		msgs = append(msgs, domain.ReceivedMessage{
			MessageView:     withPriority(tg.topic, view.Of(tg.topic.Name, h.queue.QueueID, h.offset, h.loc.rec)),
			DeliveryAttempt: h.attempt,
			ReceiptHandle:   c.signer.Encode(tg.group.Name, tg.topic.Name, r),
		})
	}
	return look{msgs: msgs, next: st.NextVisible, contended: st.Contended, exhausted: st.Exhausted && !p.leftover, ready: st.ReadyQueues}, nil
}

// planner decides one receive inside its transaction (a metadata.ReceivePlanner).
type planner struct {
	c         *Consumer
	tg        *target
	st        *metadata.ReceiveState
	budget    int
	invisible time.Duration
	visibleAt time.Time
	plan      metadata.ReceivePlan
	outs      []handout
	dead      []located
	// leftover: a locked queue still has new messages this receive did not read.
	leftover bool
}

// openMsg is an unfinished message of a delivery row.
type openMsg struct {
	d   *metadata.Delivery
	pos int
	loc located
}

// Queue plans one locked queue; it wants another while its budget lasts.
func (p *planner) Queue(ctx context.Context, st *metadata.ReceiveState, q *metadata.ConsumeQueue) (bool, error) {
	p.st, p.visibleAt = st, st.Now.Add(p.invisible)
	mq := metadata.Queue{Ref: q.Ref, Topic: p.tg.topic.Name, QueueID: q.QueueID, LiteTopic: q.LiteTopic}
	if err := p.queue(ctx, q, mq); err != nil {
		return false, err
	}
	return p.budget > 0, nil
}

// Plan returns what the receive decided.
func (p *planner) Plan() metadata.ReceivePlan { return p.plan }

func (p *planner) queue(ctx context.Context, q *metadata.ConsumeQueue, mq metadata.Queue) error {
	// Unfinished messages of the queue's deliveries, in offset order.
	var open []openMsg
	for di := range q.Deliveries {
		d := &q.Deliveries[di]
		from := max(d.FirstOffset, q.MinOffset)
		locs, err := p.c.recordsFrom(ctx, p.st, q.Ref, from, d.FirstOffset+int64(d.Count))
		if err != nil {
			return err
		}
		skip := int(from - d.FirstOffset)
		var gone []int32
		for i := 0; i < d.Count; i++ {
			if d.IsDone(i) {
				continue
			}
			if i < skip || i-skip >= len(locs) {
				// Past retention: nothing left to deliver.
				gone = append(gone, int32(i))
				continue
			}
			open = append(open, openMsg{d: d, pos: i, loc: locs[i-skip]})
		}
		if len(gone) > 0 {
			p.addUpdate(d, gone, false, 0)
		}
	}
	sort.SliceStable(open, func(a, b int) bool {
		return open[a].d.FirstOffset+int64(open[a].pos) < open[b].d.FirstOffset+int64(open[b].pos)
	})

	// Which messages of the open ones go out now.
	take := map[*metadata.Delivery][]int{}
	var dead []openMsg
	busyGroups := map[string]bool{} // orderly: message groups with an earlier unfinished message
	for _, m := range open {
		visible := !m.d.VisibleAt.After(p.st.Now)
		if p.tg.orderly {
			g := m.loc.rec.MessageGroup
			if busyGroups[g] {
				continue
			}
			busyGroups[g] = true
		}
		if !visible || p.budget == 0 {
			continue
		}
		if m.d.Attempt+1 > p.tg.group.MaxDeliveryAttempts {
			dead = append(dead, m)
			if p.tg.orderly {
				delete(busyGroups, m.loc.rec.MessageGroup) // dead-lettering unblocks the group
			}
			continue
		}
		take[m.d] = append(take[m.d], m.pos)
		p.budget--
	}
	p.deadLetter(dead)
	for di := range q.Deliveries {
		d := &q.Deliveries[di]
		if ps := take[d]; len(ps) > 0 {
			p.redeliver(d, ps, mq, open)
		}
	}

	// New messages from the cursor.
	cursor := max(q.Cursor, q.MinOffset)
	if cursor < q.NextOffset && p.budget > 0 && !(p.tg.orderly && len(open) >= p.c.cfg.MaxPendingOrderly) {
		end := min(q.NextOffset, cursor+int64(p.c.cfg.ScanLimit))
		var locs []located
		var deliver, pending []int
		scanned := 0
		err := p.c.scan(ctx, p.st, q.Ref, cursor, end, func(_ int64, l located) bool {
			if p.budget == 0 {
				return false
			}
			i := len(locs)
			locs = append(locs, l)
			scanned = i + 1
			switch {
			case !p.tg.filter.Match(l.rec.Tag, l.rec.Properties):
			case p.tg.orderly && busyGroups[l.rec.MessageGroup]:
				pending = append(pending, i)
			default:
				if p.tg.orderly {
					busyGroups[l.rec.MessageGroup] = true
				}
				deliver = append(deliver, i)
				p.budget--
			}
			return true
		})
		if err != nil {
			return err
		}
		if len(deliver) > 0 {
			ins := p.addInsert(q.Ref, cursor, deliver, 1, p.visibleAt)
			for _, i := range deliver {
				p.outs = append(p.outs, handout{loc: locs[i], queue: mq, offset: cursor + int64(i), attempt: 1, update: -1, insert: ins})
			}
		}
		if len(pending) > 0 {
			p.addInsert(q.Ref, cursor, pending, 0, p.st.Now)
		}
		if scanned > 0 {
			p.plan.Cursors = append(p.plan.Cursors, metadata.CursorMove{QueueRef: q.Ref, Cursor: cursor + int64(scanned)})
		} else if cursor != q.Cursor {
			p.plan.Cursors = append(p.plan.Cursors, metadata.CursorMove{QueueRef: q.Ref, Cursor: cursor})
		}
		cursor += int64(scanned)
	}
	if cursor < q.NextOffset {
		p.leftover = true
	}
	if cursor >= q.NextOffset && q.ReadySeq != nil {
		// Nothing new left here: stop looking at this queue until a commit marks it again.
		p.plan.Drained = append(p.plan.Drained, metadata.DrainedQueue{QueueRef: q.Ref, Seq: *q.ReadySeq})
	}
	return nil
}

// redeliver hands out positions ps of delivery d: the whole row again if they are all its
// unfinished messages, else a new row for them, marked done in d.
func (p *planner) redeliver(d *metadata.Delivery, ps []int, mq metadata.Queue, open []openMsg) {
	unfinished := 0
	for i := 0; i < d.Count; i++ {
		if !d.IsDone(i) {
			unfinished++
		}
	}
	locOf := map[int]located{}
	for _, m := range open {
		if m.d == d {
			locOf[m.pos] = m.loc
		}
	}
	attempt := d.Attempt + 1
	if len(ps) == unfinished {
		u := p.addUpdate(d, nil, true, attempt)
		for _, pos := range ps {
			p.outs = append(p.outs, handout{loc: locOf[pos], queue: mq, offset: d.FirstOffset + int64(pos), attempt: attempt, update: u, updateID: d.ID})
		}
		return
	}
	set := make([]int32, len(ps))
	for i, pos := range ps {
		set[i] = int32(pos)
	}
	p.addUpdate(d, set, false, 0)
	ins := p.addInsert(d.QueueRef, d.FirstOffset, ps, attempt, p.visibleAt)
	for _, pos := range ps {
		p.outs = append(p.outs, handout{loc: locOf[pos], queue: mq, offset: d.FirstOffset + int64(pos), attempt: attempt, update: -1, insert: ins})
	}
}

func (p *planner) addUpdate(d *metadata.Delivery, set []int32, redeliver bool, attempt int) int {
	p.plan.Updates = append(p.plan.Updates, metadata.DeliveryUpdate{ID: d.ID, SetDone: set, Redeliver: redeliver, Attempt: attempt, VisibleAt: p.visibleAt})
	return len(p.plan.Updates) - 1
}

// addInsert adds a delivery row covering positions ps (relative to base) and returns its
// index in the plan.
func (p *planner) addInsert(queueRef, base int64, ps []int, attempt int, visibleAt time.Time) int {
	sort.Ints(ps)
	lo, hi := ps[0], ps[len(ps)-1]
	count := hi - lo + 1
	done := metadata.NewDoneBitmap(count)
	for i := 0; i < count; i++ {
		metadata.SetDone(done, i)
	}
	for _, pos := range ps {
		done[(pos-lo)/8] &^= 1 << ((pos - lo) % 8)
	}
	p.plan.Inserts = append(p.plan.Inserts, metadata.DeliveryInsert{
		QueueRef: queueRef, FirstOffset: base + int64(lo), Count: count, Done: done, Attempt: attempt, VisibleAt: visibleAt,
	})
	return len(p.plan.Inserts) - 1
}

// deadLetter moves messages past their last attempt to the group's dead-letter topic.
func (p *planner) deadLetter(ms []openMsg) {
	sets := map[*metadata.Delivery][]int32{}
	for _, m := range ms {
		p.plan.DeadLetters = append(p.plan.DeadLetters, metadata.DeadLetter{
			Source: m.loc.chunk, Index: m.loc.index, StoreTime: m.loc.rec.StoreTime, Bloom: bloom.OfMessage(m.loc.rec.MessageID, m.loc.rec.Keys),
		})
		sets[m.d] = append(sets[m.d], int32(m.pos))
		p.dead = append(p.dead, m.loc)
		p.c.metrics.deadLetters.Inc()
	}
	for d, set := range sets {
		p.addUpdate(d, set, false, 0)
	}
}
