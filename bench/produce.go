package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/floemq/floe/client"
)

// ProduceConfig describes a produce workload. Zero fields take the documented defaults.
type ProduceConfig struct {
	// Topic is the topic to produce to; it is created with TopicType if missing.
	// Default "bench".
	Topic string
	// TopicType is the type of the topic and of the messages sent: NORMAL, FIFO (each
	// message carries one of MessageGroups message groups) or DELAY (each message is due
	// Delay after its intended send). Default NORMAL.
	TopicType client.TopicType
	// MessageGroups is, on a FIFO topic, how many message groups the messages are spread
	// over, round robin. Default 1024 on a FIFO topic.
	MessageGroups int
	// Priorities is, on a PRIORITY topic, how many priority levels the messages cycle
	// over (the topic is made with as many). Default 4 on a PRIORITY topic.
	Priorities int
	// Delay is, on a DELAY topic, how long after its intended send a message is due. The
	// body then carries the due time, so end-to-end latency counts from it.
	Delay time.Duration
	// Queues is the number of queues of the topic when the benchmark creates it. An
	// existing topic is used as it is. Default 8.
	Queues int
	// MessageSize is the body size in bytes, at least 8 (the first 8 carry the send time).
	// Bodies are random, hence incompressible: the worst case for storage. Default 1024.
	MessageSize int
	// BatchSize is the number of messages per HTTP request. Default 32.
	BatchSize int
	// Producers is the number of goroutines producing concurrently. Default 64.
	Producers int
	// Rate is the target in messages per second over all producers; 0 sends as fast as
	// the producers can.
	Rate int
	// Duration is how long the measured part of the run lasts. Default 30 s.
	Duration time.Duration
	// Warmup is how long to produce before measuring; its numbers are discarded.
	Warmup time.Duration
	// NoTrace creates the topic with message tracing off.
	NoTrace bool
	// StopOnTime stops producing at the end of the run even when a fixed-rate schedule is
	// behind; the messages of the slots left unsent are reported in Result.Behind. The
	// measured part then holds the requests answered in it, whenever they were scheduled,
	// and the latencies of those answered after it too. Without StopOnTime every slot
	// before the end is sent, however late, a run that falls behind lasts longer than
	// Warmup plus Duration, and the measured part holds the requests scheduled in it.
	StopOnTime bool
}

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg ProduceConfig) withDefaults() ProduceConfig {
	cfg.Topic = cmp.Or(cfg.Topic, "bench")
	cfg.TopicType = cmp.Or(cfg.TopicType, client.TopicNormal)
	if cfg.TopicType == client.TopicFIFO {
		cfg.MessageGroups = cmp.Or(cfg.MessageGroups, defaultMessageGroups)
	}
	if cfg.TopicType == client.TopicPriority {
		cfg.Priorities = cmp.Or(cfg.Priorities, defaultPriorities)
	}
	cfg.Queues = cmp.Or(cfg.Queues, 8)
	cfg.MessageSize = cmp.Or(cfg.MessageSize, 1024)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 32)
	cfg.Producers = cmp.Or(cfg.Producers, 64)
	cfg.Duration = cmp.Or(cfg.Duration, 30*time.Second)
	return cfg
}

// validate reports the first setting that cannot run.
func (cfg ProduceConfig) validate() error {
	switch {
	case cfg.TopicType != client.TopicNormal && cfg.TopicType != client.TopicFIFO && cfg.TopicType != client.TopicDelay && cfg.TopicType != client.TopicPriority:
		return fmt.Errorf("topic type must be NORMAL, FIFO, DELAY or PRIORITY, got %q", cfg.TopicType)
	case cfg.TopicType == client.TopicPriority && (cfg.Priorities < 2 || cfg.Priorities > 100 || cfg.Queues%cfg.Priorities != 0):
		return fmt.Errorf("a PRIORITY topic needs 2 to 100 priorities and queues a multiple of them, got %d priorities and %d queues", cfg.Priorities, cfg.Queues)
	case cfg.TopicType == client.TopicFIFO && cfg.MessageGroups < 1:
		return fmt.Errorf("a FIFO topic needs at least 1 message group, got %d", cfg.MessageGroups)
	case cfg.TopicType == client.TopicDelay && cfg.Delay <= 0:
		return fmt.Errorf("a DELAY topic needs a positive delay, got %s", cfg.Delay)
	case cfg.Queues < 1:
		return fmt.Errorf("queues must be at least 1, got %d", cfg.Queues)
	case cfg.MessageSize < 8:
		return fmt.Errorf("message size must be at least 8 bytes (they carry the send time), got %d", cfg.MessageSize)
	case cfg.BatchSize < 1:
		return fmt.Errorf("batch size must be at least 1, got %d", cfg.BatchSize)
	case cfg.Producers < 1:
		return fmt.Errorf("producers must be at least 1, got %d", cfg.Producers)
	case cfg.Rate < 0:
		return fmt.Errorf("rate must not be negative, got %d", cfg.Rate)
	case cfg.Duration < 0:
		return fmt.Errorf("duration must not be negative, got %s", cfg.Duration)
	case cfg.Warmup < 0:
		return fmt.Errorf("warmup must not be negative, got %s", cfg.Warmup)
	}
	return nil
}

// Result is what a produce run measured, over the measured part of the run only.
type Result struct {
	// Config is the workload as run, defaults applied.
	Config ProduceConfig
	// Messages counts messages acknowledged by the server.
	Messages int64
	// Bytes counts the body bytes of those messages (not the JSON on the wire).
	Bytes int64
	// Errors counts failed produce requests.
	Errors int64
	// FirstError is the text of the first failure of the run, warmup included.
	FirstError string
	// Behind counts, at a fixed rate with StopOnTime, the messages of the schedule due
	// before the end of the run that were never sent: how far the producers fell behind.
	Behind int64
	// BacklogPauses counts the times a producer waited because consumers were more than
	// the allowed backlog behind (RunWorkload at rate max with consumers).
	BacklogPauses int64
	// Duration is from the start of measuring to the last measured answer.
	Duration time.Duration
	// MsgsPerSec is Messages over Duration.
	MsgsPerSec float64
	// MiBPerSec is Bytes in MiB over Duration.
	MiBPerSec float64
	// Latency is the time from a request's intended start to its answer (which requests:
	// see ProduceConfig.StopOnTime).
	Latency Percentiles
	// PutsPerMiB is object PUTs per MiB of body produced.
	PutsPerMiB float64
	// PutBytesPerByte is bytes PUT to object storage per body byte produced: compression
	// and framing, plus compaction if it ran.
	PutBytesPerByte float64
	// PgTxPerSec is Postgres transactions per second, over the time between the two
	// readings of /metrics.
	PgTxPerSec float64
	// FlushesPerSec is ingest flushes per second, over the same time.
	FlushesPerSec float64
	// Metrics maps each counter read from /metrics (a selector such as
	// floe_objstore_requests_total{operation="put"}) to its increase during the run.
	Metrics map[string]float64
	// MissingMetrics lists the counters /metrics did not have; they count as 0.
	MissingMetrics []string
	// Notes are remarks about the run worth printing next to the numbers.
	Notes []string
}

// RunProduce produces to cfg.Topic for cfg.Warmup plus cfg.Duration and returns what the
// measured part achieved. Progress lines go to progress once a second (nil for none). The
// server's counters are read from /metrics, so the cost numbers cover every client of that
// server node, not only this run. When ctx ends early, the result so far is returned with
// ctx's error.
func RunProduce(ctx context.Context, c *client.Client, cfg ProduceConfig, progress io.Writer) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, fmt.Errorf("checking produce config: %w", err)
	}
	notes, err := ensureTopic(ctx, c, cfg)
	if err != nil {
		return Result{}, err
	}

	win := newWindow(time.Now(), cfg.Warmup, cfg.Duration)
	pr := startProducers(ctx, c, cfg, win, nil)
	stopProgress := startProgress(progress, progressInterval, func(now time.Time, dt time.Duration) string {
		return fmt.Sprintf("%6.0fs %-6s produce %s", now.Sub(win.start).Seconds(), win.phase(now), pr.progress(dt))
	})

	before := scrapeAt(ctx, c, win.measureStart, produceCounters)
	pr.wait()
	after := scrapeFinal(ctx, c, produceCounters)
	stopProgress()

	res := pr.result(win.stoppedAt(ctx))
	res.addCost(deltas(before, after, produceCounters))
	res.Notes = append(notes, res.Notes...)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("produce run stopped early: %w", err)
	}
	return res, nil
}

// scrapeAt waits until t, then reads the counters. If ctx ends first the scrape carries
// ctx's error.
func scrapeAt(ctx context.Context, c *client.Client, t time.Time, counters []counter) scrape {
	if !sleepUntil(ctx, t) {
		return scrape{at: time.Now(), values: counterValues{}, err: ctx.Err()}
	}
	return scrapeCounters(ctx, c, counters)
}

// scrapeFinal reads the counters at the end of a run, even one whose ctx has ended, so a
// run cut short still reports its cost.
func scrapeFinal(ctx context.Context, c *client.Client, counters []counter) scrape {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalScrapeTimeout)
	defer cancel()
	return scrapeCounters(ctx, c, counters)
}

// ensureTopic creates the topic if it does not exist, and checks an existing one can take
// the benchmark's messages (of cfg.TopicType). It returns remarks for the report.
func ensureTopic(ctx context.Context, c *client.Client, cfg ProduceConfig) ([]string, error) {
	topic, err := c.GetTopic(ctx, cfg.Topic)
	switch {
	case err == nil:
		if topic.Type != cfg.TopicType {
			return nil, fmt.Errorf("topic %s exists with type %s; the benchmark sends %s messages", cfg.Topic, topic.Type, cfg.TopicType)
		}
		if topic.Queues != cfg.Queues {
			return []string{fmt.Sprintf("topic %s already existed with %d queues; used as it is", cfg.Topic, topic.Queues)}, nil
		}
		return nil, nil
	case client.IsStatus(err, http.StatusNotFound):
		spec := client.TopicSpec{Name: cfg.Topic, Type: cfg.TopicType, Queues: cfg.Queues}
		if cfg.TopicType == client.TopicPriority {
			spec.MaxPriority = cfg.Priorities - 1
		}
		if cfg.NoTrace {
			off := false
			spec.Trace = &off
		}
		if _, _, err := c.CreateTopic(ctx, spec); err != nil {
			return nil, fmt.Errorf("creating topic %s: %w", cfg.Topic, err)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("looking up topic %s: %w", cfg.Topic, err)
	}
}

// producerSet is the producers of one run.
type producerSet struct {
	cfg       ProduceConfig
	win       window
	live      *liveStats
	meter     meter
	pace      *pacer       // nil at max rate
	gate      *backlogGate // nil when unbounded
	producers []*producer
	wg        sync.WaitGroup
}

// startProducers starts cfg.Producers goroutines producing until win.end or ctx's end.
// A non-nil gate holds them while consumers are too far behind.
func startProducers(ctx context.Context, c *client.Client, cfg ProduceConfig, win window, gate *backlogGate) *producerSet {
	ps := &producerSet{cfg: cfg, win: win, live: &liveStats{}, gate: gate}
	ps.meter.stats = ps.live
	if cfg.Rate > 0 {
		ps.pace = newPacer(win.start, cfg.Rate, cfg.BatchSize)
	}
	if gate != nil {
		gate.produced = &ps.live.messages
	}
	for i := range cfg.Producers {
		p := newProducer(c, cfg, win, ps.pace, ps.live, uint64(i))
		p.gate = gate
		ps.producers = append(ps.producers, p)
		ps.wg.Go(func() { p.run(ctx) })
	}
	return ps
}

// wait blocks until every producer has returned.
func (ps *producerSet) wait() {
	ps.wg.Wait()
}

// progress renders the producers' last interval, dt long.
func (ps *producerSet) progress(dt time.Duration) string {
	rate, p99, errs := ps.meter.sample(dt)
	return fmt.Sprintf("%9.0f msg/s %8.2f MiB/s  p99 %10s  errors %d",
		rate, rate*float64(ps.cfg.MessageSize)/mib, formatLatency(p99), errs)
}

// result merges the producers' numbers once they have returned; stopped is when the run
// stopped (window.stoppedAt).
func (ps *producerSet) result(stopped time.Time) Result {
	res := Result{Config: ps.cfg}
	var hist Histogram
	var lastDone time.Time
	var attempts int64
	for _, p := range ps.producers {
		attempts += p.attempts
		hist.Merge(&p.hist)
		res.Messages += p.messages
		res.Bytes += p.bytes
		res.Errors += p.errors
		if p.firstErr != nil && res.FirstError == "" {
			res.FirstError = p.firstErr.Error()
		}
		if p.lastDone.After(lastDone) {
			lastDone = p.lastDone
		}
	}
	// The measured part lasts until the run stopped, or until the last measured request
	// was answered if that is later.
	end := stopped
	if lastDone.After(end) {
		end = lastDone
	}
	res.Duration = max(end.Sub(ps.win.measureStart), 0)
	if ps.pace != nil && ps.cfg.StopOnTime {
		res.Behind = max(ps.pace.slotsBefore(stopped)-attempts, 0) * int64(ps.cfg.BatchSize)
	}
	if ps.gate != nil {
		res.BacklogPauses = ps.gate.pauses.Load()
	}
	res.MsgsPerSec = perSecond(float64(res.Messages), res.Duration)
	res.MiBPerSec = perSecond(float64(res.Bytes)/mib, res.Duration)
	res.Latency = hist.Percentiles()
	return res
}

// addCost fills the cost numbers from the counters' change during the run.
func (r *Result) addCost(d counterDeltas) {
	mibProduced := float64(r.Bytes) / mib
	r.PutsPerMiB = ratio(d.get(metricPuts), mibProduced)
	r.PutBytesPerByte = ratio(d.get(metricPutBytes), float64(r.Bytes))
	r.PgTxPerSec = perSecond(d.get(metricPgTx), d.elapsed)
	r.FlushesPerSec = perSecond(d.get(metricFlushes), d.elapsed)
	r.Metrics = d.values
	r.MissingMetrics = d.missing
	r.Notes = append(r.Notes, d.notes...)
	if len(d.missing) > 0 {
		r.Notes = append(r.Notes, "not found on /metrics, reported as 0: "+strings.Join(d.missing, ", "))
	}
}

// producer is one producing goroutine. Its counters are its own until run returns.
type producer struct {
	c     *client.Client
	cfg   ProduceConfig
	win   window
	pace  *pacer // nil: as fast as possible
	gate  *backlogGate
	quota *quota // nil: no limit on the messages sent
	clock clock
	live  *liveStats
	rng   *rand.PCG
	id    uint64
	seq   uint64 // messages built so far, for FIFO message groups

	batch  []client.Message
	bodies []byte

	hist     Histogram
	messages int64
	bytes    int64
	errors   int64
	attempts int64 // requests sent, answered or failed, warmup included
	firstErr error
	lastDone time.Time
}

// newProducer returns producer number id.
func newProducer(c *client.Client, cfg ProduceConfig, win window, pace *pacer, live *liveStats, id uint64) *producer {
	p := &producer{
		c: c, cfg: cfg, win: win, pace: pace, live: live, clock: realClock{}, id: id,
		rng:    rand.NewPCG(id, 0x9e3779b97f4a7c15),
		batch:  make([]client.Message, cfg.BatchSize),
		bodies: make([]byte, cfg.BatchSize*cfg.MessageSize),
	}
	for i := range p.batch {
		p.batch[i].Body = p.bodies[i*cfg.MessageSize : (i+1)*cfg.MessageSize]
	}
	return p
}

// run sends batches until the window ends or ctx is done.
//
// At a fixed rate each request has an intended start, its slot in the shared schedule,
// and its latency is counted from there: a request sent late because earlier ones were
// slow to answer carries that wait in its latency, so a stall shows in every request it
// delayed (no coordinated omission). At max rate a request's intended start is its
// actual start.
func (p *producer) run(ctx context.Context) {
	for {
		if p.gate != nil && !p.gate.wait(ctx, p.clock, p.win.end) {
			return
		}
		var intended time.Time
		if p.pace != nil {
			intended = p.pace.slot()
			if !intended.Before(p.win.end) {
				return
			}
			if p.cfg.StopOnTime && !p.clock.Now().Before(p.win.end) {
				return // out of time with slots left: counted in Result.Behind
			}
			if !p.clock.SleepUntil(ctx, intended) {
				return
			}
		} else {
			intended = p.clock.Now()
			if !intended.Before(p.win.end) || ctx.Err() != nil {
				return
			}
		}
		err := p.send(ctx, intended)
		if errors.Is(err, errQuotaSpent) {
			return
		}
		if err != nil && ctx.Err() != nil {
			return // cut short: neither a result nor an error
		}
		if err != nil && p.pace == nil && !p.clock.SleepUntil(ctx, p.clock.Now().Add(errorPause)) {
			return
		}
	}
}

// priorityLevels holds each priority a benchmark message may carry, for messages to
// point at without an allocation each.
var priorityLevels = func() (l [100]int) {
	for i := range l {
		l[i] = i
	}
	return l
}()

// send sends one batch whose intended start is intended and records the outcome.
func (p *producer) send(ctx context.Context, intended time.Time) error {
	// Fresh random bytes each time: repeated bodies would compress away and flatter the
	// storage numbers.
	fillRandom(p.rng, p.bodies)
	stamp := intended
	if p.cfg.TopicType == client.TopicDelay {
		stamp = intended.Add(p.cfg.Delay)
	}
	batch := p.batch
	var firstSeq uint64
	if p.quota != nil {
		n := p.quota.claim(ctx, len(p.batch))
		if n == 0 {
			return errQuotaSpent
		}
		batch = p.batch[:n]
		firstSeq = p.quota.sequences(n)
	}
	for i := range batch {
		putSendTime(batch[i].Body, stamp)
		if p.quota != nil {
			putSequence(batch[i].Body, firstSeq+uint64(i))
		}
		switch p.cfg.TopicType {
		case client.TopicFIFO:
			// Producers interleave over the groups so that each group gets messages
			// from several producers, as independent clients would send them.
			g := (p.seq*uint64(p.cfg.Producers) + p.id) % uint64(p.cfg.MessageGroups)
			batch[i].MessageGroup = "g" + strconv.FormatUint(g, 10)
		case client.TopicDelay:
			batch[i].DeliveryTime = &stamp
		case client.TopicPriority:
			// Producers interleave over the levels as over FIFO's message groups.
			batch[i].Priority = &priorityLevels[(p.seq*uint64(p.cfg.Producers)+p.id)%uint64(p.cfg.Priorities)]
		}
		p.seq++
	}
	p.attempts++
	results, err := p.c.Send(ctx, p.cfg.Topic, batch)
	done := p.clock.Now()
	if err == nil && len(results) != len(batch) {
		err = fmt.Errorf("sent %d messages, got %d results", len(batch), len(results))
	}
	if p.quota != nil {
		p.quota.settle(firstSeq, len(batch), err == nil)
	}
	// Which requests the measured part holds: by default those whose intended start falls
	// in it. With StopOnTime, those answered in it (counted, latency recorded) and those
	// answered after it (latency recorded): a schedule far behind would otherwise leave
	// the measured part with only the few requests scheduled in it, and the throughput
	// with the wrong numerator. Latency still counts from the intended start.
	measured, counted := p.win.measuring(intended), p.win.measuring(intended)
	if p.cfg.StopOnTime {
		measured, counted = !done.Before(p.win.measureStart), p.win.measuring(done)
	}
	if err != nil {
		if ctx.Err() != nil {
			return err // cut short, not a failure of the server
		}
		p.live.errors.Add(1)
		if p.firstErr == nil {
			p.firstErr = err
		}
		if counted {
			p.errors++
		}
		return err
	}
	n := int64(len(batch))
	latency := done.Sub(intended)
	p.live.latency.record(latency)
	p.live.messages.Add(n)
	if measured {
		p.hist.Record(latency)
	}
	if counted {
		p.messages += n
		p.bytes += n * int64(p.cfg.MessageSize)
		p.lastDone = done
	}
	return nil
}

// fillRandom fills b with pseudo-random bytes from rng. PCG writes them twice as fast as
// ChaCha8 (11 µs rather than 25 µs for a batch of 32 KiB, CPU the server shares), and they
// are as incompressible; nothing here needs a cryptographic generator.
func fillRandom(rng *rand.PCG, b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rng.Uint64())
		b = b[8:]
	}
	if len(b) > 0 {
		var last [8]byte
		binary.LittleEndian.PutUint64(last[:], rng.Uint64())
		copy(b, last[:])
	}
}

// Markdown renders the result as a table for docs/benchmarks.md, with notes below it.
func (r Result) Markdown() string {
	var b strings.Builder
	cfg := r.Config
	rate := "max"
	if cfg.Rate > 0 {
		rate = fmt.Sprintf("%d msg/s", cfg.Rate)
	}
	missing := func(c counter) string {
		if slices.Contains(r.MissingMetrics, c.String()) {
			return " (metric missing)"
		}
		return ""
	}
	rows := [][2]string{
		{"topic", fmt.Sprintf("%s (%d queues)", cfg.Topic, cfg.Queues)},
		{"message size", fmt.Sprintf("%d B", cfg.MessageSize)},
		{"batch", fmt.Sprintf("%d messages/request", cfg.BatchSize)},
		{"producers", fmt.Sprintf("%d", cfg.Producers)},
		{"target rate", rate},
		{"duration", fmt.Sprintf("%s (warmup %s)", r.Duration.Round(time.Millisecond), cfg.Warmup)},
		{"messages", fmt.Sprintf("%d", r.Messages)},
		{"failed requests", fmt.Sprintf("%d", r.Errors)},
		{"throughput", fmt.Sprintf("%.0f msg/s, %.2f MiB/s", r.MsgsPerSec, r.MiBPerSec)},
		{"latency p50 / p90 / p99 / p99.9 / max", fmt.Sprintf("%s / %s / %s / %s / %s",
			formatLatency(r.Latency.P50), formatLatency(r.Latency.P90), formatLatency(r.Latency.P99),
			formatLatency(r.Latency.P999), formatLatency(r.Latency.Max))},
		{"object PUTs per MiB", fmt.Sprintf("%.3f%s", r.PutsPerMiB, missing(metricPuts))},
		{"bytes PUT per byte produced", fmt.Sprintf("%.3f%s", r.PutBytesPerByte, missing(metricPutBytes))},
		{"Postgres transactions/s", fmt.Sprintf("%.1f%s", r.PgTxPerSec, missing(metricPgTx))},
		{"ingest flushes/s", fmt.Sprintf("%.1f%s", r.FlushesPerSec, missing(metricFlushes))},
	}
	writeTable(&b, "produce", rows)
	writeNotes(&b, r.firstErrorNote(), r.Notes)
	return b.String()
}

// firstErrorNote is the note naming the first failure, or "" when there was none.
func (r Result) firstErrorNote() string {
	if r.FirstError == "" {
		return ""
	}
	return "first produce error: " + r.FirstError
}

// writeTable writes a two-column Markdown table headed by title.
func writeTable(b *strings.Builder, title string, rows [][2]string) {
	fmt.Fprintf(b, "| %s | |\n|---|---|\n", title)
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", row[0], escapeCell(row[1]))
	}
}

// writeNotes writes the non-empty notes as a list after a blank line.
func writeNotes(b *strings.Builder, first string, notes []string) {
	all := notes
	if first != "" {
		all = append([]string{first}, notes...)
	}
	if len(all) == 0 {
		return
	}
	b.WriteString("\n")
	for _, n := range all {
		fmt.Fprintf(b, "- %s\n", n)
	}
}

// escapeCell keeps a table cell in its column.
func escapeCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
