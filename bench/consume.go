package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/client"
)

// ConsumeConfig describes the consuming side of RunProduceConsume. Zero fields take the
// documented defaults.
type ConsumeConfig struct {
	// Group is the consumer group; it is created (CONCURRENT) if missing, subscribed to
	// the topic with filter "*", and reset to the start of the run so older messages are
	// not consumed. Default "floe-bench".
	Group string
	// Topic must be empty or equal to the produce topic, which is the one consumed.
	Topic string
	// Groups is the number of consumer groups, each receiving every message (fan-out):
	// Group itself when 1, else Group-1 to Group-N. Default 1.
	Groups int
	// Consumers is the number of goroutines receiving concurrently, per group. Default 16.
	Consumers int
	// BatchSize is the most messages per receive call. Default 32.
	BatchSize int
	// InvisibleSeconds is how long received messages stay hidden before being delivered
	// again if not acked. Default 30.
	InvisibleSeconds int
	// WaitSeconds is how long a receive waits on the server when nothing is ready.
	// Default 1.
	WaitSeconds int
	// Duration is how long the measured part of consumption lasts, from the same start as
	// production. Default: the produce Duration.
	Duration time.Duration
}

// withDefaults returns cfg with zero fields set to their defaults, given the produce
// workload it runs with.
func (cfg ConsumeConfig) withDefaults(p ProduceConfig) ConsumeConfig {
	cfg.Group = cmp.Or(cfg.Group, "floe-bench")
	cfg.Topic = cmp.Or(cfg.Topic, p.Topic)
	cfg.Groups = cmp.Or(cfg.Groups, 1)
	cfg.Consumers = cmp.Or(cfg.Consumers, 16)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 32)
	cfg.InvisibleSeconds = cmp.Or(cfg.InvisibleSeconds, 30)
	cfg.WaitSeconds = cmp.Or(cfg.WaitSeconds, 1)
	cfg.Duration = cmp.Or(cfg.Duration, p.Duration)
	return cfg
}

// validate reports the first setting that cannot run with produce workload p.
func (cfg ConsumeConfig) validate(p ProduceConfig) error {
	switch {
	case cfg.Topic != p.Topic:
		return fmt.Errorf("consume topic %s differs from produce topic %s", cfg.Topic, p.Topic)
	case cfg.Groups < 1:
		return fmt.Errorf("groups must be at least 1, got %d", cfg.Groups)
	case cfg.Consumers < 1:
		return fmt.Errorf("consumers must be at least 1, got %d", cfg.Consumers)
	case cfg.BatchSize < 1:
		return fmt.Errorf("consume batch size must be at least 1, got %d", cfg.BatchSize)
	case cfg.InvisibleSeconds < 1:
		return fmt.Errorf("invisible seconds must be at least 1, got %d", cfg.InvisibleSeconds)
	case cfg.WaitSeconds < 0:
		return fmt.Errorf("wait seconds must not be negative, got %d", cfg.WaitSeconds)
	case cfg.Duration < 0:
		return fmt.Errorf("consume duration must not be negative, got %s", cfg.Duration)
	}
	return nil
}

// groupNames returns the names of the cfg.Groups groups.
func (cfg ConsumeConfig) groupNames() []string {
	if cfg.Groups <= 1 {
		return []string{cfg.Group}
	}
	names := make([]string, cfg.Groups)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", cfg.Group, i+1)
	}
	return names
}

// PriorityResult is what the consumers measured of one priority's messages.
type PriorityResult struct {
	Priority int
	// Messages counts the priority's messages whose latency was measured.
	Messages int64
	EndToEnd Percentiles
}

// GroupResult is what the consumers of one group measured, over the measured part.
type GroupResult struct {
	// Group is the group's name.
	Group string
	// Messages counts messages received and acked with status OK.
	Messages int64
	// MsgsPerSec is Messages over the measured duration.
	MsgsPerSec float64
	// Errors counts failed receive and ack calls; AckFailures handles not acked OK.
	Errors, AckFailures int64
	// EndToEnd is the end-to-end latency of the group's messages.
	EndToEnd Percentiles
}

// ConsumeResult is what the consuming side of a run measured, over its measured part.
type ConsumeResult struct {
	// Config is the workload as run, defaults applied.
	Config ConsumeConfig
	// Messages counts messages received and acked with status OK, over every group.
	Messages int64
	// Receives counts receive calls, empty ones included.
	Receives int64
	// Acks counts ack calls.
	Acks int64
	// Errors counts failed receive and ack calls.
	Errors int64
	// AckFailures counts receipt handles acked with status EXPIRED or INVALID.
	AckFailures int64
	// FirstError is the text of the first failure of the run, warmup included.
	FirstError string
	// Duration is the measured part of consumption.
	Duration time.Duration
	// MsgsPerSec is Messages over Duration.
	MsgsPerSec float64
	// Groups has each group's numbers, in the order of their names.
	Groups []GroupResult
	// Priorities has, on a PRIORITY topic, the end-to-end latency of each priority's
	// measured messages, highest priority first.
	Priorities []PriorityResult
	// EndToEnd is the time from a message's intended send (written in its first 8 body
	// bytes) to the return of the receive call that got it, for messages sent while
	// measuring.
	EndToEnd Percentiles
	// PgTxPerReceive is Postgres transactions per receive call, read from
	// floe_metadata_transactions_total{operation="receive"}; 0 if the server has no such
	// series.
	PgTxPerReceive float64
	// PgTxPerAck is Postgres transactions per ack call, read from
	// floe_metadata_transactions_total{operation="ack"}; 0 if the server has no such
	// series.
	PgTxPerAck float64
	// PgTxPerConsumeCall estimates Postgres transactions per receive or ack call when the
	// server does not label them: all transactions less one per ingest flush, over all
	// receive and ack calls. Background work (timers, compaction) is counted in.
	PgTxPerConsumeCall float64
	// PgTxPerMessage is Postgres transactions of every operation (producing included) per
	// message consumed; PgTxConsumePerMessage only the receive and ack ones. 0 if the
	// server has no such series.
	PgTxPerMessage, PgTxConsumePerMessage float64
	// GetsPerGiB is object GETs, whole and ranged, per GiB of message bodies consumed.
	GetsPerGiB float64
	// ServerCPUPer1000 is the server process's CPU seconds (process_cpu_seconds_total, its
	// producing work included) per 1000 messages consumed; 0 if the server has no such
	// series.
	ServerCPUPer1000 float64
	// LooksPerReceive is the server's receive transactions per receive call by outcome
	// (floe_reader_receive_attempts_total: messages, empty, contended, failed); nil if
	// the server has no such series.
	LooksPerReceive map[string]float64
	// Metrics maps each consumption counter read from /metrics to its increase.
	Metrics map[string]float64
	// MissingMetrics lists the consumption counters /metrics did not have.
	MissingMetrics []string
	// Notes are remarks about the run worth printing next to the numbers.
	Notes []string
}

// ProduceConsumeResult is what RunProduceConsume measured on each side.
type ProduceConsumeResult struct {
	// Produce is the producing side, as RunProduce reports it.
	Produce Result
	// Consume is the consuming side.
	Consume ConsumeResult
}

// RunProduceConsume produces as RunProduce does while consumers receive and ack the same
// topic through group ccfg.Group, and reports both sides with the end-to-end latency.
// Progress lines go to progress once a second (nil for none). When ctx ends early, the
// results so far are returned with ctx's error.
func RunProduceConsume(ctx context.Context, c *client.Client, pcfg ProduceConfig, ccfg ConsumeConfig, progress io.Writer) (ProduceConsumeResult, error) {
	pcfg = pcfg.withDefaults()
	if err := pcfg.validate(); err != nil {
		return ProduceConsumeResult{}, fmt.Errorf("checking produce config: %w", err)
	}
	ccfg = ccfg.withDefaults(pcfg)
	if err := ccfg.validate(pcfg); err != nil {
		return ProduceConsumeResult{}, fmt.Errorf("checking consume config: %w", err)
	}
	produceNotes, err := ensureTopic(ctx, c, pcfg)
	if err != nil {
		return ProduceConsumeResult{}, err
	}
	consumeNotes, err := ensureGroups(ctx, c, ccfg, time.Now())
	if err != nil {
		return ProduceConsumeResult{}, err
	}
	start := time.Now()

	pwin := newWindow(start, pcfg.Warmup, pcfg.Duration)
	cwin := newWindow(start, pcfg.Warmup, ccfg.Duration)
	cs := startConsumers(ctx, c, ccfg, cwin)
	ps := startProducers(ctx, c, pcfg, pwin, nil)
	stopProgress := startProgress(progress, progressInterval, func(now time.Time, dt time.Duration) string {
		return fmt.Sprintf("%6.0fs %-6s produce %s | consume %s",
			now.Sub(start).Seconds(), pwin.phase(now), ps.progress(dt), cs.progress(dt))
	})

	before := scrapeAt(ctx, c, pwin.measureStart, workloadCounters)
	ps.wait()
	cs.wait()
	after := scrapeFinal(ctx, c, workloadCounters)
	stopProgress()

	d := deltas(before, after, workloadCounters)
	res := ProduceConsumeResult{Produce: ps.result(pwin.stoppedAt(ctx)), Consume: cs.result(cwin.stoppedAt(ctx))}
	res.Produce.addCost(d.subset(produceCounters))
	res.Produce.Notes = append(produceNotes, res.Produce.Notes...)
	res.Consume.addCost(d, pcfg.MessageSize)
	res.Consume.Notes = append(consumeNotes, res.Consume.Notes...)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("produce-consume run stopped early: %w", err)
	}
	return res, nil
}

// ensureGroups prepares every group of cfg as ensureGroup does.
func ensureGroups(ctx context.Context, c *client.Client, cfg ConsumeConfig, from time.Time) ([]string, error) {
	var notes []string
	for _, g := range cfg.groupNames() {
		one := cfg
		one.Group = g
		n, err := ensureGroup(ctx, c, one, from)
		if err != nil {
			return nil, fmt.Errorf("preparing group %s: %w", g, err)
		}
		notes = append(notes, n...)
	}
	return notes, nil
}

// ensureGroup creates the group if needed, subscribes it to the topic and resets it to
// from, so that messages older than the run are not consumed. A failed reset only earns a
// note: older messages are then consumed too, but left out of the end-to-end latency.
func ensureGroup(ctx context.Context, c *client.Client, cfg ConsumeConfig, from time.Time) ([]string, error) {
	var notes []string
	spec := client.GroupSpec{Name: cfg.Group, DeliveryOrder: client.Concurrent}
	if _, _, err := c.CreateGroup(ctx, spec); err != nil {
		if !client.IsStatus(err, http.StatusConflict) {
			return nil, err
		}
		notes = append(notes, fmt.Sprintf("group %s already existed with other settings; used as it is", cfg.Group))
	}
	if err := c.Subscribe(ctx, cfg.Group, cfg.Topic, client.SubscriptionSpec{Filter: "*"}); err != nil {
		return nil, err
	}
	if err := c.Reset(ctx, cfg.Group, cfg.Topic, from); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		notes = append(notes, fmt.Sprintf("could not reset the group to the start of the run (%v); older messages were consumed too", err))
	}
	return notes, nil
}

// consumerSet is the consumers of one run, of every group.
type consumerSet struct {
	cfg    ConsumeConfig
	win    window
	groups []string
	// live counts over every group; groupAcked counts each group's messages acked.
	live       *liveStats
	groupAcked []atomic.Int64
	meter      meter
	consumers  []*consumer
	wg         sync.WaitGroup
}

// startConsumers starts cfg.Consumers goroutines per group receiving and acking until
// win.end or ctx's end.
func startConsumers(ctx context.Context, c *client.Client, cfg ConsumeConfig, win window) *consumerSet {
	cs := &consumerSet{cfg: cfg, win: win, groups: cfg.groupNames(), live: &liveStats{}}
	cs.groupAcked = make([]atomic.Int64, len(cs.groups))
	cs.meter.stats = cs.live
	for gi, g := range cs.groups {
		for range cfg.Consumers {
			cn := &consumer{c: c, cfg: cfg, group: g, groupIndex: gi, win: win, live: cs.live, acked: &cs.groupAcked[gi]}
			cs.consumers = append(cs.consumers, cn)
			cs.wg.Go(func() { cn.run(ctx) })
		}
	}
	return cs
}

// slowestConsumed returns the messages acked so far by the group that acked fewest: the
// backlog is what that group has left.
func (cs *consumerSet) slowestConsumed() int64 {
	low := cs.groupAcked[0].Load()
	for i := range cs.groupAcked[1:] {
		low = min(low, cs.groupAcked[i+1].Load())
	}
	return low
}

// wait blocks until every consumer has returned.
func (cs *consumerSet) wait() {
	cs.wg.Wait()
}

// progress renders the consumers' last interval, dt long.
func (cs *consumerSet) progress(dt time.Duration) string {
	rate, p99, errs := cs.meter.sample(dt)
	return fmt.Sprintf("%9.0f msg/s  e2e p99 %10s  errors %d", rate, formatLatency(p99), errs)
}

// result merges the consumers' numbers once they have returned; stopped is when the run
// stopped (window.stoppedAt).
func (cs *consumerSet) result(stopped time.Time) ConsumeResult {
	res := ConsumeResult{Config: cs.cfg}
	res.Duration = max(stopped.Sub(cs.win.measureStart), 0)
	var hist Histogram
	groupHist := make([]Histogram, len(cs.groups))
	prioHist := map[int]*Histogram{}
	res.Groups = make([]GroupResult, len(cs.groups))
	for i, g := range cs.groups {
		res.Groups[i].Group = g
	}
	for _, cn := range cs.consumers {
		hist.Merge(&cn.hist)
		groupHist[cn.groupIndex].Merge(&cn.hist)
		for p, h := range cn.byPriority {
			if prioHist[p] == nil {
				prioHist[p] = new(Histogram)
			}
			prioHist[p].Merge(h)
		}
		gr := &res.Groups[cn.groupIndex]
		gr.Messages += cn.messages
		gr.Errors += cn.errors
		gr.AckFailures += cn.ackFailures
		res.Messages += cn.messages
		res.Receives += cn.receives
		res.Acks += cn.acks
		res.Errors += cn.errors
		res.AckFailures += cn.ackFailures
		if cn.firstErr != nil && res.FirstError == "" {
			res.FirstError = cn.firstErr.Error()
		}
	}
	for i := range res.Groups {
		res.Groups[i].MsgsPerSec = perSecond(float64(res.Groups[i].Messages), res.Duration)
		res.Groups[i].EndToEnd = groupHist[i].Percentiles()
	}
	res.MsgsPerSec = perSecond(float64(res.Messages), res.Duration)
	res.EndToEnd = hist.Percentiles()
	for _, p := range slices.Sorted(maps.Keys(prioHist)) {
		res.Priorities = append(res.Priorities, PriorityResult{Priority: p, Messages: int64(prioHist[p].Count()), EndToEnd: prioHist[p].Percentiles()})
	}
	slices.Reverse(res.Priorities) // highest first, as they are delivered
	return res
}

// addCost fills the cost numbers from the counters' change during the run; d holds both
// the produce and the consume counters, and messageSize is the body size in bytes.
func (r *ConsumeResult) addCost(d counterDeltas, messageSize int) {
	own := d.subset(consumeCounters)
	r.Metrics = own.values
	r.MissingMetrics = own.missing
	r.PgTxPerReceive = ratio(d.get(metricPgTxRecv), float64(r.Receives))
	r.PgTxPerAck = ratio(d.get(metricPgTxAck), float64(r.Acks))
	for _, c := range lookCounters {
		if d.has(c) {
			if r.LooksPerReceive == nil {
				r.LooksPerReceive = map[string]float64{}
			}
			r.LooksPerReceive[c.Labels["outcome"]] = ratio(d.get(c), float64(r.Receives))
		}
	}
	if d.has(metricServerCPU) {
		r.ServerCPUPer1000 = ratio(d.get(metricServerCPU), float64(r.Messages)/1000)
	}
	r.PgTxPerMessage = ratio(d.get(metricPgTx), float64(r.Messages))
	r.PgTxConsumePerMessage = ratio(d.get(metricPgTxRecv)+d.get(metricPgTxAck), float64(r.Messages))
	gib := float64(r.Messages) * float64(messageSize) / (1 << 30)
	r.GetsPerGiB = ratio(d.get(metricGets)+d.get(metricGetRanges), gib)
	if !d.has(metricPgTxRecv) || !d.has(metricPgTxAck) {
		if d.has(metricPgTx) && d.has(metricFlushes) {
			consumeTx := d.get(metricPgTx) - d.get(metricFlushes)
			r.PgTxPerConsumeCall = ratio(max(consumeTx, 0), float64(r.Receives+r.Acks))
		}
		r.Notes = append(r.Notes, "Postgres transactions are not labelled operation=\"receive\"/\"ack\" on /metrics; "+
			"per-call numbers are an estimate over receive and ack calls together")
	}
}

// consumer is one consuming goroutine. Its counters are its own until run returns.
type consumer struct {
	c          *client.Client
	cfg        ConsumeConfig
	group      string
	groupIndex int
	win        window
	live       *liveStats
	acked      *atomic.Int64 // the group's messages acked, warmup included

	hist        Histogram
	byPriority  map[int]*Histogram // end-to-end latency per priority, on a PRIORITY topic
	messages    int64
	receives    int64
	acks        int64
	errors      int64
	ackFailures int64
	firstErr    error
}

// run receives and acks until the window ends or ctx is done.
func (cn *consumer) run(ctx context.Context) {
	// Receives stop at the end of the window, even mid long-poll; acks use ctx so that
	// what was received is still settled.
	recvCtx, cancel := context.WithDeadline(ctx, cn.win.end)
	defer cancel()
	for recvCtx.Err() == nil {
		if err := cn.receiveOnce(ctx, recvCtx); err != nil {
			if recvCtx.Err() != nil {
				return
			}
			cn.fail(err, cn.win.measuring(time.Now()))
			if !sleepUntil(recvCtx, time.Now().Add(errorPause)) {
				return
			}
		}
	}
}

// receiveOnce makes one receive call and acks what it got.
func (cn *consumer) receiveOnce(ctx, recvCtx context.Context) error {
	started := time.Now()
	measured := cn.win.measuring(started)
	msgs, err := cn.c.Receive(recvCtx, cn.group, cn.cfg.Topic, client.ReceiveRequest{
		MaxMessages:      cn.cfg.BatchSize,
		InvisibleSeconds: cn.cfg.InvisibleSeconds,
		WaitSeconds:      cn.cfg.WaitSeconds,
	})
	received := time.Now()
	if err != nil {
		return err
	}
	if measured {
		cn.receives++
	}
	if len(msgs) == 0 {
		return nil
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
		cn.recordEndToEnd(m.Body, m.Priority, received, measured)
	}
	results, err := cn.c.Ack(ctx, cn.group, cn.cfg.Topic, handles)
	if err != nil {
		return err
	}
	var ok int64
	for _, r := range results {
		if r.Status == client.AckOK {
			ok++
		} else if measured {
			cn.ackFailures++
		}
	}
	cn.live.messages.Add(ok)
	cn.acked.Add(ok)
	if measured {
		cn.acks++
		cn.messages += ok
	}
	return nil
}

// recordEndToEnd records the latency of a message sent during this run; messages from
// before the run, or without a readable send time, are skipped. A message received while
// measuring counts even if it was sent during the warmup: when consumers are behind, the
// messages they get while measuring are old ones, and their age is what a reader sees.
func (cn *consumer) recordEndToEnd(body []byte, priority *int, received time.Time, measured bool) {
	sent, ok := sendTime(body)
	if !ok || sent.Before(cn.win.start) || sent.After(received) {
		return
	}
	latency := received.Sub(sent)
	cn.live.latency.record(latency)
	if !measured {
		return
	}
	cn.hist.Record(latency)
	if priority != nil {
		if cn.byPriority == nil {
			cn.byPriority = map[int]*Histogram{}
		}
		h := cn.byPriority[*priority]
		if h == nil {
			h = new(Histogram)
			cn.byPriority[*priority] = h
		}
		h.Record(latency)
	}
}

// fail counts a failed call.
func (cn *consumer) fail(err error, measured bool) {
	cn.live.errors.Add(1)
	if cn.firstErr == nil {
		cn.firstErr = err
	}
	if measured {
		cn.errors++
	}
}

// Summary is the line printed last: the costs per message consumed.
func (r ConsumeResult) Summary() string {
	return fmt.Sprintf("consume: %.0f msg/s over %d group(s); Postgres transactions per consumed message %.4f (receive+ack %.4f); GETs per GiB consumed %.1f",
		r.MsgsPerSec, len(r.Groups), r.PgTxPerMessage, r.PgTxConsumePerMessage, r.GetsPerGiB)
}

// Markdown renders both sides as tables for docs/benchmarks.md, with notes below each.
func (r ProduceConsumeResult) Markdown() string {
	return r.Produce.Markdown() + "\n" + r.Consume.Markdown()
}

// Markdown renders the consuming side as a table for docs/benchmarks.md, with notes below.
func (r ConsumeResult) Markdown() string {
	var b strings.Builder
	cfg := r.Config
	group, consumers := cfg.Group, fmt.Sprintf("%d", cfg.Consumers)
	if cfg.Groups > 1 {
		group = fmt.Sprintf("%d groups: %s", cfg.Groups, strings.Join(cfg.groupNames(), ", "))
		consumers += " per group"
	}
	rows := [][2]string{
		{"group", group},
		{"consumers", consumers},
		{"batch", fmt.Sprintf("%d messages/receive", cfg.BatchSize)},
		{"invisible / wait", fmt.Sprintf("%d s / %d s", cfg.InvisibleSeconds, cfg.WaitSeconds)},
		{"duration", r.Duration.Round(time.Millisecond).String()},
		{"messages acked", fmt.Sprintf("%d", r.Messages)},
		{"receive / ack calls", fmt.Sprintf("%d / %d", r.Receives, r.Acks)},
		{"failed calls / failed acks", fmt.Sprintf("%d / %d", r.Errors, r.AckFailures)},
		{"throughput", fmt.Sprintf("%.0f msg/s", r.MsgsPerSec)},
		{"end-to-end p50 / p99 / max", fmt.Sprintf("%s / %s / %s",
			formatLatency(r.EndToEnd.P50), formatLatency(r.EndToEnd.P99), formatLatency(r.EndToEnd.Max))},
	}
	if len(r.MissingMetrics) == 0 {
		rows = append(rows,
			[2]string{"Postgres transactions per receive", fmt.Sprintf("%.2f", r.PgTxPerReceive)},
			[2]string{"Postgres transactions per ack", fmt.Sprintf("%.2f", r.PgTxPerAck)})
	} else {
		rows = append(rows,
			[2]string{"Postgres transactions per receive or ack (estimate)", fmt.Sprintf("%.2f", r.PgTxPerConsumeCall)})
	}
	if r.LooksPerReceive != nil {
		l := r.LooksPerReceive
		rows = append(rows, [2]string{"receive transactions per call: messages / empty / contended / failed",
			fmt.Sprintf("%.2f / %.2f / %.2f / %.2f", l["messages"], l["empty"], l["contended"], l["failed"])})
	}
	if r.ServerCPUPer1000 > 0 {
		rows = append(rows, [2]string{"server CPU-seconds per 1000 messages consumed (produce work included)",
			fmt.Sprintf("%.3f", r.ServerCPUPer1000)})
	}
	for _, p := range r.Priorities {
		rows = append(rows, [2]string{fmt.Sprintf("priority %d: messages measured, end-to-end p50 / p99", p.Priority),
			fmt.Sprintf("%d, %s / %s", p.Messages, formatLatency(p.EndToEnd.P50), formatLatency(p.EndToEnd.P99))})
	}
	if len(r.Groups) > 1 {
		for _, g := range r.Groups {
			rows = append(rows, [2]string{"group " + g.Group + ": throughput, end-to-end p50 / p99, errors",
				fmt.Sprintf("%.0f msg/s, %s / %s, %d", g.MsgsPerSec, formatLatency(g.EndToEnd.P50), formatLatency(g.EndToEnd.P99), g.Errors+g.AckFailures)})
		}
	}
	rows = append(rows,
		[2]string{"Postgres transactions per consumed message: all (producing included) / receive+ack",
			fmt.Sprintf("%.4f / %.4f", r.PgTxPerMessage, r.PgTxConsumePerMessage)},
		[2]string{"object GETs per GiB consumed", fmt.Sprintf("%.1f", r.GetsPerGiB)})
	writeTable(&b, "consume", rows)
	first := ""
	if r.FirstError != "" {
		first = "first consume error: " + r.FirstError
	}
	writeNotes(&b, first, r.Notes)
	return b.String()
}
