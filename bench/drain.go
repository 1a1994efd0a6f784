package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/client"
)

// DrainConfig describes a drain run: a backlog produced with no consumer running, then
// drained by consumers that receive in batches and ack each batch in one call. Zero fields
// take the documented defaults.
type DrainConfig struct {
	// Produce is the producing side: Topic, TopicType (NORMAL only), Queues, MessageSize
	// (at least 16: the first 8 bytes carry the send time, the next 8 the sequence number),
	// BatchSize, Producers and NoTrace are used; producers send as fast as they can, so
	// Rate, Duration, Warmup and StopOnTime are ignored.
	Produce ProduceConfig
	// Messages is the backlog to produce. Default 2,000,000.
	Messages int64
	// Group is the consumer group, created (CONCURRENT) and subscribed before producing.
	// Default "floe-bench-drain".
	Group string
	// Consumers is the number of goroutines receiving and acking. Default 8.
	Consumers int
	// ReceiveBatch is the most messages per receive call. Default 32.
	ReceiveBatch int
	// AsyncAcks lets each consumer receive its next batch while the ack of the last one
	// is in flight, at most one ack in flight per consumer, as a RocketMQ client's
	// ackAsync does. Off: a consumer acks a batch and waits for the answer before it
	// receives again.
	AsyncAcks bool
	// InvisibleSeconds is how long a received message stays hidden before it is delivered
	// again if not acked. Default 30.
	InvisibleSeconds int
	// WaitSeconds is how long a receive waits on the server when nothing is ready.
	// Default 1.
	WaitSeconds int
	// Timeout bounds each phase, producing and draining. Default 30 minutes.
	Timeout time.Duration
	// Readers are the nodes the consumers receive from, one per consumer in turn; empty
	// means the node producing. Every distinct node, the producing one included, has its
	// /metrics summed into the drain's cost.
	Readers []*client.Client `json:"-"`
}

// Drain defaults.
const (
	defaultDrainMessages  = 2_000_000
	defaultDrainGroup     = "floe-bench-drain"
	defaultDrainConsumers = 8
	defaultDrainTimeout   = 30 * time.Minute
	// drainResetSlack moves the group's reset time back, so that a server clock slightly
	// behind the benchmark's cannot leave the first messages of the backlog before it.
	// Older messages it lets in are counted as foreign, not as part of the backlog.
	drainResetSlack = 2 * time.Second
	// minDrainMessageSize is the send time and the sequence number.
	minDrainMessageSize = 16
)

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg DrainConfig) withDefaults() DrainConfig {
	cfg.Produce = cfg.Produce.withDefaults()
	cfg.Produce.Rate, cfg.Produce.Warmup, cfg.Produce.StopOnTime = 0, 0, false
	cfg.Messages = cmp.Or(cfg.Messages, defaultDrainMessages)
	cfg.Group = cmp.Or(cfg.Group, defaultDrainGroup)
	cfg.Consumers = cmp.Or(cfg.Consumers, defaultDrainConsumers)
	cfg.ReceiveBatch = cmp.Or(cfg.ReceiveBatch, defaultReceiveBatch)
	cfg.InvisibleSeconds = cmp.Or(cfg.InvisibleSeconds, 30)
	cfg.WaitSeconds = cmp.Or(cfg.WaitSeconds, 1)
	cfg.Timeout = cmp.Or(cfg.Timeout, defaultDrainTimeout)
	cfg.Produce.Duration = cfg.Timeout
	return cfg
}

// validate reports the first setting that cannot run.
func (cfg DrainConfig) validate() error {
	if err := cfg.Produce.validate(); err != nil {
		return err
	}
	switch {
	case cfg.Produce.TopicType != client.TopicNormal:
		return fmt.Errorf("a drain runs on a NORMAL topic, not %s", cfg.Produce.TopicType)
	case cfg.Produce.MessageSize < minDrainMessageSize:
		return fmt.Errorf("message size must be at least %d bytes in a drain (send time and sequence number), got %d",
			minDrainMessageSize, cfg.Produce.MessageSize)
	case cfg.Messages < 1:
		return fmt.Errorf("messages must be at least 1, got %d", cfg.Messages)
	case cfg.Consumers < 1:
		return fmt.Errorf("consumers must be at least 1, got %d", cfg.Consumers)
	case cfg.ReceiveBatch < 1 || cfg.ReceiveBatch > 1024:
		return fmt.Errorf("receive batch must be 1 to 1024, got %d", cfg.ReceiveBatch)
	case cfg.InvisibleSeconds < 1:
		return fmt.Errorf("invisible seconds must be at least 1, got %d", cfg.InvisibleSeconds)
	case cfg.WaitSeconds < 0:
		return fmt.Errorf("wait seconds must not be negative, got %d", cfg.WaitSeconds)
	case cfg.Timeout < 0:
		return fmt.Errorf("timeout must not be negative, got %s", cfg.Timeout)
	}
	return nil
}

// DrainResult is what a drain run measured.
type DrainResult struct {
	// Config is the run as configured, defaults applied.
	Config DrainConfig
	// ReaderURLs are the nodes the consumers received from.
	ReaderURLs []string
	// MetricsURLs are the nodes whose /metrics were summed.
	MetricsURLs []string
	// Produce is the producing phase, as RunProduce reports it; its cost figures are
	// summed over every node.
	Produce Result
	// Backlog counts the messages the server acknowledged: the backlog to drain.
	Backlog int64
	// DrainDuration is from the start of the consumers to the last ack of the backlog, or
	// to the timeout.
	DrainDuration time.Duration
	// DrainMsgsPerSec is the backlog messages acked over DrainDuration.
	DrainMsgsPerSec float64
	// Completed reports whether every backlog message was acked.
	Completed bool
	// Delivered counts messages received, redeliveries included.
	Delivered int64
	// Acked counts backlog messages acked with status OK, each once.
	Acked int64
	// Duplicates counts deliveries of a backlog message already delivered before.
	Duplicates int64
	// Missing counts backlog messages never acked by the end.
	Missing int64
	// Foreign counts messages received that are not of this run's backlog (older messages
	// of the topic, or of a produce request that failed on the benchmark's side); they are
	// acked too.
	Foreign int64
	// Receives and Acks count the calls; ReceiveErrors and AckErrors the failed ones.
	Receives, Acks, ReceiveErrors, AckErrors int64
	// AckFailures counts handles acked with a status other than OK (EXPIRED, INVALID).
	AckFailures int64
	// ReceiveLatency and AckLatency are the successful calls' durations as the consumers
	// saw them: a consumer's cycle is one of each.
	ReceiveLatency, AckLatency Percentiles
	// FirstError is the text of the first failed receive or ack call.
	FirstError string
	// Cost is the servers' cost over the drain phase, summed over every node.
	Cost DrainCost
	// Notes are remarks about the run worth printing next to the numbers.
	Notes []string
}

// DrainCost is the server side of the drain phase: the change of the counters of every
// node, per message acked. Background work during the phase (compaction, the producing
// node's upkeep) counts in.
type DrainCost struct {
	// PgTxPerMessage is Postgres transactions of every operation per message acked.
	PgTxPerMessage float64
	// PgTxReceivePerMessage and PgTxAckPerMessage are the receive and ack transactions
	// per message acked.
	PgTxReceivePerMessage, PgTxAckPerMessage float64
	// Gets counts object GETs, whole and ranged; GetBytes the bytes they returned.
	Gets, GetBytes float64
	// GetsPerGiB is Gets per GiB of message bodies acked.
	GetsPerGiB float64
	// ReaderGetsPerGiB is the readers' share of GetsPerGiB: their chunk cache misses (one
	// ranged GET each) per GiB acked, summed over the reader nodes; the rest is the
	// compactor's merging and the other roles.
	ReaderGetsPerGiB float64
	// CacheHits and CacheMisses are the readers' chunk cache outcomes.
	CacheHits, CacheMisses float64
	// ServerCPUPer1000 is CPU seconds of every node per 1000 messages acked.
	ServerCPUPer1000 float64
	// Counters maps each counter read to its increase.
	Counters map[string]float64
	// Missing lists the counters no node had.
	Missing []string
}

// The counters a drain reads, on every node.
var (
	metricGetBytes      = counter{Name: "floe_objstore_bytes_total", Labels: map[string]string{"operation": "get"}}
	metricGetRangeBytes = counter{Name: "floe_objstore_bytes_total", Labels: map[string]string{"operation": "get_range"}}
	metricCacheHits     = counter{Name: "floe_reader_cache_hits_total"}
	metricCacheMisses   = counter{Name: "floe_reader_cache_misses_total"}
	drainCounters       = []counter{metricPgTx, metricPgTxRecv, metricPgTxAck, metricGets, metricGetRanges,
		metricGetBytes, metricGetRangeBytes, metricCacheHits, metricCacheMisses, metricServerCPU}
)

// RunDrain produces cfg.Messages messages to cfg.Produce.Topic as fast as the producers
// can, with no consumer running, then drains them with cfg.Consumers consumers of group
// cfg.Group until every one is acked or cfg.Timeout passes. The group is subscribed and
// reset before producing, so it sees the whole backlog. It returns an error, with the
// result, when some of the backlog was never acked; a zero result means nothing ran.
func RunDrain(ctx context.Context, c *client.Client, cfg DrainConfig, progress io.Writer) (DrainResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return DrainResult{}, fmt.Errorf("checking drain config: %w", err)
	}
	pcfg := cfg.Produce
	readers := cfg.Readers
	if len(readers) == 0 {
		readers = []*client.Client{c}
	}
	nodes := distinctNodes(append([]*client.Client{c}, readers...))
	res := DrainResult{Config: cfg}
	for _, r := range readers {
		res.ReaderURLs = append(res.ReaderURLs, r.BaseURL())
	}
	for _, n := range nodes {
		res.MetricsURLs = append(res.MetricsURLs, n.BaseURL())
	}

	notes, err := ensureTopic(ctx, c, pcfg)
	if err != nil {
		return DrainResult{}, err
	}
	// The group is prepared on a node the consumers use: resetting needs the reader role,
	// which the producing node may not have.
	groupNotes, err := ensureGroup(ctx, readers[0], ConsumeConfig{Group: cfg.Group, Topic: pcfg.Topic}, time.Now().Add(-drainResetSlack))
	if err != nil {
		return DrainResult{}, fmt.Errorf("preparing group %s: %w", cfg.Group, err)
	}
	res.Notes = append(notes, groupNotes...)

	// Producing: the quota stops the producers once the backlog is acknowledged.
	q := &quota{}
	q.remaining.Store(cfg.Messages)
	start := time.Now()
	win := newWindow(start, 0, cfg.Timeout)
	ps := startProducersWithQuota(ctx, c, pcfg, win, q)
	stopProgress := startProgress(progress, progressInterval, func(now time.Time, dt time.Duration) string {
		return fmt.Sprintf("%6.0fs produce %s  backlog %d/%d", now.Sub(start).Seconds(), ps.progress(dt),
			ps.live.messages.Load(), cfg.Messages)
	})
	before := scrapeNodes(ctx, nodes, produceCounters)
	ps.wait()
	producedAt := time.Now()
	after := scrapeNodesFinal(ctx, nodes, produceCounters)
	stopProgress()
	res.Produce = ps.result(producedAt)
	res.Produce.Duration = producedAt.Sub(start)
	res.Produce.MsgsPerSec = perSecond(float64(res.Produce.Messages), res.Produce.Duration)
	res.Produce.MiBPerSec = perSecond(float64(res.Produce.Bytes)/mib, res.Produce.Duration)
	res.Produce.addCost(nodeDeltas(before, after, produceCounters))
	backlog := q.backlog()
	res.Backlog = backlog.count
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("drain run stopped while producing: %w", err)
	}
	if res.Backlog < cfg.Messages {
		res.Notes = append(res.Notes, fmt.Sprintf("the producers stopped at the timeout with %d of %d messages produced", res.Backlog, cfg.Messages))
	}

	// Draining.
	ds := newDrainSet(cfg, backlog)
	before = scrapeNodes(ctx, nodes, drainCounters)
	drainStart := time.Now()
	drainCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	stopProgress = startProgress(progress, progressInterval, func(now time.Time, dt time.Duration) string {
		rate, _, errs := ds.meter.sample(dt)
		return fmt.Sprintf("%6.0fs drain %9.0f msg/s  acked %d/%d  errors %d",
			now.Sub(drainStart).Seconds(), rate, ds.ackedCount.Load(), res.Backlog, errs)
	})
	ds.run(ctx, drainCtx, cancel, pcfg.Topic, readers)
	res.DrainDuration = ds.lastAckTime(drainStart).Sub(drainStart)
	after = scrapeNodesFinal(ctx, nodes, drainCounters)
	stopProgress()
	ds.fill(&res)
	res.DrainMsgsPerSec = perSecond(float64(res.Acked), res.DrainDuration)
	d := nodeDeltas(before, after, drainCounters)
	res.Cost = drainCostOf(d, res.Acked, int64(pcfg.MessageSize))
	res.Notes = append(res.Notes, d.notes...)
	if len(d.missing) > 0 {
		res.Notes = append(res.Notes, "not found on any node's /metrics, reported as 0: "+strings.Join(d.missing, ", "))
	}
	if res.Missing > 0 {
		return res, fmt.Errorf("%d of %d backlog messages were never acked", res.Missing, res.Backlog)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("drain run stopped early: %w", err)
	}
	return res, nil
}

// drainCostOf computes the drain's cost from the counters' change over every node.
func drainCostOf(d counterDeltas, acked, messageSize int64) DrainCost {
	gib := float64(acked*messageSize) / (1 << 30)
	c := DrainCost{
		PgTxPerMessage:        ratio(d.get(metricPgTx), float64(acked)),
		PgTxReceivePerMessage: ratio(d.get(metricPgTxRecv), float64(acked)),
		PgTxAckPerMessage:     ratio(d.get(metricPgTxAck), float64(acked)),
		Gets:                  d.get(metricGets) + d.get(metricGetRanges),
		GetBytes:              d.get(metricGetBytes) + d.get(metricGetRangeBytes),
		CacheHits:             d.get(metricCacheHits),
		CacheMisses:           d.get(metricCacheMisses),
		ServerCPUPer1000:      ratio(d.get(metricServerCPU), float64(acked)/1000),
		Counters:              d.values,
		Missing:               d.missing,
	}
	c.GetsPerGiB = ratio(c.Gets, gib)
	c.ReaderGetsPerGiB = ratio(c.CacheMisses, gib)
	return c
}

// distinctNodes returns the clients with distinct addresses, in order.
func distinctNodes(cs []*client.Client) []*client.Client {
	var out []*client.Client
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.BaseURL()] {
			seen[c.BaseURL()] = true
			out = append(out, c)
		}
	}
	return out
}

// errQuotaSpent tells a producer that its run's quota of messages is all sent.
var errQuotaSpent = errors.New("message quota spent")

// quota bounds the messages the producers of a run send, and numbers them. A failed
// request gives its messages back, so the quota counts messages the server acknowledged;
// their sequence numbers are not reused, so a message a failed request stored anyway is
// told apart from the backlog.
type quota struct {
	remaining atomic.Int64 // messages not yet claimed
	inFlight  atomic.Int64 // claims not yet settled
	nextSeq   atomic.Uint64

	mu     sync.Mutex
	ranges [][2]uint64 // first sequence number and count of each acknowledged batch
	count  int64
}

// quotaPoll is how often a producer finding the quota claimed looks again, while requests
// in flight may still fail and give theirs back.
const quotaPoll = 5 * time.Millisecond

// claim reserves up to n messages and returns how many; 0 once every message is
// acknowledged, or ctx has ended.
func (q *quota) claim(ctx context.Context, n int) int {
	for ctx.Err() == nil {
		r := q.remaining.Load()
		if r == 0 {
			if q.inFlight.Load() == 0 {
				return 0
			}
			if !sleepUntil(ctx, time.Now().Add(quotaPoll)) {
				return 0
			}
			continue
		}
		k := min(int64(n), r)
		q.inFlight.Add(1)
		if q.remaining.CompareAndSwap(r, r-k) {
			return int(k)
		}
		q.inFlight.Add(-1)
	}
	return 0
}

// sequences returns the first of n fresh sequence numbers.
func (q *quota) sequences(n int) uint64 {
	return q.nextSeq.Add(uint64(n)) - uint64(n)
}

// settle ends a claim of n messages numbered from first: kept if the server acknowledged
// them, given back if not.
func (q *quota) settle(first uint64, n int, ok bool) {
	if ok {
		q.mu.Lock()
		q.ranges = append(q.ranges, [2]uint64{first, uint64(n)})
		q.count += int64(n)
		q.mu.Unlock()
	} else {
		q.remaining.Add(int64(n))
	}
	q.inFlight.Add(-1)
}

// backlog returns the acknowledged messages as a set of sequence numbers; call it once
// the producers have returned.
func (q *quota) backlog() backlogSet {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := backlogSet{produced: newBitmap(q.nextSeq.Load()), count: q.count}
	for _, r := range q.ranges {
		for s := r[0]; s < r[0]+r[1]; s++ {
			b.produced.add(s)
		}
	}
	return b
}

// backlogSet is the messages a drain must consume.
type backlogSet struct {
	produced *bitmap
	count    int64
}

// putSequence writes a message's sequence number into body bytes 8 to 16 (after the send
// time), so a consumer can tell which message it got.
func putSequence(body []byte, seq uint64) {
	binary.BigEndian.PutUint64(body[8:16], seq)
}

// sequence reads what putSequence wrote; ok is false if body is too short.
func sequence(body []byte) (seq uint64, ok bool) {
	if len(body) < 16 {
		return 0, false
	}
	return binary.BigEndian.Uint64(body[8:16]), true
}

// bitmap is a fixed-size set of small integers, safe for concurrent use: one bit each, so
// millions of messages take a few hundred KiB.
type bitmap struct {
	words []atomic.Uint64
	size  uint64
}

func newBitmap(size uint64) *bitmap {
	return &bitmap{words: make([]atomic.Uint64, (size+63)/64), size: size}
}

// add puts i in the set and reports whether it was absent; i beyond the size is ignored
// (false).
func (b *bitmap) add(i uint64) bool {
	if i >= b.size {
		return false
	}
	mask := uint64(1) << (i % 64)
	return b.words[i/64].Or(mask)&mask == 0
}

// has reports whether i is in the set.
func (b *bitmap) has(i uint64) bool {
	return i < b.size && b.words[i/64].Load()&(uint64(1)<<(i%64)) != 0
}

// startProducersWithQuota starts cfg.Producers producers that stop once q is spent.
func startProducersWithQuota(ctx context.Context, c *client.Client, cfg ProduceConfig, win window, q *quota) *producerSet {
	ps := &producerSet{cfg: cfg, win: win, live: &liveStats{}}
	ps.meter.stats = ps.live
	for i := range cfg.Producers {
		p := newProducer(c, cfg, win, nil, ps.live, uint64(i))
		p.quota = q
		ps.producers = append(ps.producers, p)
		ps.wg.Go(func() { p.run(ctx) })
	}
	return ps
}

// drainSet is the consumers of a drain, and what they have seen.
type drainSet struct {
	cfg       DrainConfig
	backlog   backlogSet
	delivered *bitmap
	acked     *bitmap
	live      *liveStats
	meter     meter

	ackedCount atomic.Int64 // backlog messages acked, each once
	lastAck    atomic.Int64 // Unix nanoseconds of the ack that completed the drain

	mu                                   sync.Mutex
	deliveries, duplicates, foreign      int64
	receives, acks, receiveErrs, ackErrs int64
	ackFailures                          int64
	firstErr                             error
	receiveLatency, ackLatency           Histogram // successful calls
}

func newDrainSet(cfg DrainConfig, backlog backlogSet) *drainSet {
	ds := &drainSet{cfg: cfg, backlog: backlog, live: &liveStats{},
		delivered: newBitmap(backlog.produced.size), acked: newBitmap(backlog.produced.size)}
	ds.meter.stats = ds.live
	return ds
}

// run drains with cfg.Consumers consumers, consumer i on readers[i % len(readers)], until
// the backlog is acked (then it calls done) or drainCtx ends. Acks use ctx, so that what
// was received is settled even when drainCtx ends.
func (ds *drainSet) run(ctx, drainCtx context.Context, done func(), topic string, readers []*client.Client) {
	if ds.backlog.count == 0 {
		return
	}
	var wg sync.WaitGroup
	for i := range ds.cfg.Consumers {
		c := readers[i%len(readers)]
		wg.Go(func() {
			var acking chan error // the consumer's ack in flight, if any
			for drainCtx.Err() == nil {
				err := ds.receiveOnce(ctx, drainCtx, c, topic, done, &acking)
				if err != nil && drainCtx.Err() == nil {
					sleepUntil(drainCtx, time.Now().Add(errorPause))
				}
			}
			if acking != nil {
				<-acking
			}
		})
	}
	wg.Wait()
}

// receiveOnce makes one receive call on c and acks what it got in one ack call. With
// AsyncAcks the ack runs while the consumer goes on: *acking is the ack in flight, waited
// for before the next one starts.
func (ds *drainSet) receiveOnce(ctx, drainCtx context.Context, c *client.Client, topic string, done func(), acking *chan error) error {
	start := time.Now()
	msgs, err := c.Receive(drainCtx, ds.cfg.Group, topic, client.ReceiveRequest{
		MaxMessages:      ds.cfg.ReceiveBatch,
		InvisibleSeconds: ds.cfg.InvisibleSeconds,
		WaitSeconds:      ds.cfg.WaitSeconds,
	})
	if err != nil {
		if drainCtx.Err() == nil {
			ds.fail(err, &ds.receiveErrs)
		}
		return err
	}
	took := time.Since(start)
	ds.count(func() { ds.receives++; ds.receiveLatency.Record(took) })
	if len(msgs) == 0 {
		return nil
	}
	handles := make([]string, len(msgs))
	seqs := make(map[string]uint64, len(msgs))
	var dups, foreign int64
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
		seq, ok := sequence(m.Body)
		if !ok || !ds.backlog.produced.has(seq) {
			foreign++
			continue
		}
		seqs[m.ReceiptHandle] = seq
		if !ds.delivered.add(seq) {
			dups++
		}
	}
	ds.count(func() { ds.deliveries += int64(len(msgs)); ds.duplicates += dups; ds.foreign += foreign })
	var last error // of the ack in flight (already counted)
	if *acking != nil {
		last = <-*acking
		*acking = nil
	}
	if !ds.cfg.AsyncAcks {
		return ds.ack(ctx, c, topic, handles, seqs, done)
	}
	ch := make(chan error, 1)
	*acking = ch
	go func() { ch <- ds.ack(ctx, c, topic, handles, seqs, done) }()
	return last
}

// ack acks handles in one call and counts the backlog messages it settled (seqs: their
// sequence numbers by handle).
func (ds *drainSet) ack(ctx context.Context, c *client.Client, topic string, handles []string, seqs map[string]uint64, done func()) error {
	start := time.Now()
	results, err := c.Ack(ctx, ds.cfg.Group, topic, handles)
	if err != nil {
		ds.fail(err, &ds.ackErrs)
		return err
	}
	took := time.Since(start)
	var ok, failed int64
	for _, r := range results {
		if r.Status != client.AckOK {
			failed++
			continue
		}
		seq, known := seqs[r.ReceiptHandle]
		if !known || !ds.acked.add(seq) {
			continue
		}
		ok++
		if ds.ackedCount.Add(1) == ds.backlog.count {
			ds.lastAck.Store(time.Now().UnixNano())
			done()
		}
	}
	ds.live.messages.Add(ok)
	ds.count(func() { ds.acks++; ds.ackFailures += failed; ds.ackLatency.Record(took) })
	return nil
}

// count runs f under the set's lock.
func (ds *drainSet) count(f func()) {
	ds.mu.Lock()
	f()
	ds.mu.Unlock()
}

// fail counts a failed call in *n.
func (ds *drainSet) fail(err error, n *int64) {
	ds.live.errors.Add(1)
	ds.count(func() {
		*n++
		if ds.firstErr == nil {
			ds.firstErr = err
		}
	})
}

// lastAckTime returns when the backlog was all acked, or now if it was not.
func (ds *drainSet) lastAckTime(start time.Time) time.Time {
	if ns := ds.lastAck.Load(); ns > 0 {
		return time.Unix(0, ns)
	}
	if ds.backlog.count == 0 {
		return start
	}
	return time.Now()
}

// fill copies the consumers' counts into res once they have returned.
func (ds *drainSet) fill(res *DrainResult) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	res.Delivered = ds.deliveries
	res.Duplicates = ds.duplicates
	res.Foreign = ds.foreign
	res.Receives, res.Acks = ds.receives, ds.acks
	res.ReceiveErrors, res.AckErrors = ds.receiveErrs, ds.ackErrs
	res.AckFailures = ds.ackFailures
	res.ReceiveLatency = ds.receiveLatency.Percentiles()
	res.AckLatency = ds.ackLatency.Percentiles()
	if ds.firstErr != nil {
		res.FirstError = ds.firstErr.Error()
	}
	res.Acked = ds.ackedCount.Load()
	res.Missing = ds.backlog.count - res.Acked
	res.Completed = res.Missing == 0
}

// Markdown renders the result as tables for docs/benchmarks.md, with notes below.
func (r DrainResult) Markdown() string {
	var b strings.Builder
	cfg := r.Config
	readers := strings.Join(r.ReaderURLs, ", ")
	rows := [][2]string{
		{"topic", fmt.Sprintf("%s (%d queues)", cfg.Produce.Topic, cfg.Produce.Queues)},
		{"message size", fmt.Sprintf("%d B", cfg.Produce.MessageSize)},
		{"producers", fmt.Sprintf("%d × %d messages/request, as fast as answered", cfg.Produce.Producers, cfg.Produce.BatchSize)},
		{"backlog produced", fmt.Sprintf("%d of %d messages in %s", r.Backlog, cfg.Messages, r.Produce.Duration.Round(time.Millisecond))},
		{"produce rate", fmt.Sprintf("%.0f msg/s, %.2f MiB/s", r.Produce.MsgsPerSec, r.Produce.MiBPerSec)},
		{"produce latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s", formatLatency(r.Produce.Latency.P50),
			formatLatency(r.Produce.Latency.P99), formatLatency(r.Produce.Latency.Max))},
		{"failed produce requests", fmt.Sprintf("%d", r.Produce.Errors)},
	}
	writeTable(&b, "drain: produce", rows)
	writeNotes(&b, r.Produce.firstErrorNote(), nil)
	b.WriteString("\n")

	c := r.Cost
	rows = [][2]string{
		{"consumers", fmt.Sprintf("%d × receive %d + one batch ack%s, group %s", cfg.Consumers, cfg.ReceiveBatch, asyncNote(cfg.AsyncAcks), cfg.Group)},
		{"reader nodes", readers},
		{"drain rate", fmt.Sprintf("%.0f msg/s", r.DrainMsgsPerSec)},
		{"time to drain", r.DrainDuration.Round(time.Millisecond).String() + map[bool]string{true: "", false: " (not drained)"}[r.Completed]},
		{"delivered / acked", fmt.Sprintf("%d / %d", r.Delivered, r.Acked)},
		{"duplicates / missing / foreign", fmt.Sprintf("%d / %d / %d", r.Duplicates, r.Missing, r.Foreign)},
		{"receive / ack calls", fmt.Sprintf("%d / %d", r.Receives, r.Acks)},
		{"failed receives / failed acks / handles not acked", fmt.Sprintf("%d / %d / %d", r.ReceiveErrors, r.AckErrors, r.AckFailures)},
		{"receive call p50 / p99 / max", fmt.Sprintf("%s / %s / %s", formatLatency(r.ReceiveLatency.P50),
			formatLatency(r.ReceiveLatency.P99), formatLatency(r.ReceiveLatency.Max))},
		{"ack call p50 / p99 / max", fmt.Sprintf("%s / %s / %s", formatLatency(r.AckLatency.P50),
			formatLatency(r.AckLatency.P99), formatLatency(r.AckLatency.Max))},
		{"Postgres transactions per message: all / receive / ack", fmt.Sprintf("%.4f / %.4f / %.4f",
			c.PgTxPerMessage, c.PgTxReceivePerMessage, c.PgTxAckPerMessage)},
		{"object GETs (bytes)", fmt.Sprintf("%.0f (%.1f MiB)", c.Gets, c.GetBytes/mib)},
		{"GETs per GiB drained: all / the readers' chunk reads", fmt.Sprintf("%.1f / %.1f", c.GetsPerGiB, c.ReaderGetsPerGiB)},
		{"chunk cache hits / misses", fmt.Sprintf("%.0f / %.0f", c.CacheHits, c.CacheMisses)},
		{"server CPU-seconds per 1000 messages (every node)", fmt.Sprintf("%.3f", c.ServerCPUPer1000)},
	}
	writeTable(&b, "drain: consume", rows)
	first := ""
	if r.FirstError != "" {
		first = "first consume error: " + r.FirstError
	}
	notes := slices.Clone(r.Notes)
	notes = append(notes, fmt.Sprintf("server counters summed over %s", strings.Join(r.MetricsURLs, ", ")))
	writeNotes(&b, first, notes)
	return b.String()
}

// Summary is the line printed last: the costs per message consumed.
func (r DrainResult) Summary() string {
	return fmt.Sprintf("drain: %.0f msg/s; Postgres transactions per consumed message %.4f; GETs per GiB consumed %.1f (readers %.1f)",
		r.DrainMsgsPerSec, r.Cost.PgTxPerMessage, r.Cost.GetsPerGiB, r.Cost.ReaderGetsPerGiB)
}

// asyncNote describes how a drain's consumers wait for their acks.
func asyncNote(async bool) string {
	if async {
		return " (async: the next receive runs while the ack is in flight)"
	}
	return ""
}
