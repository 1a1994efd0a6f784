package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/floemq/floe/client"
)

// defaultInterval is how often RunWorkload takes a point of its time series and prints a
// progress line.
const defaultInterval = 2 * time.Second

// RunOptions are the settings of RunWorkload that are not part of the workload.
type RunOptions struct {
	// Progress receives a line per interval (nil for none).
	Progress io.Writer
	// Interval is the time between two points of the time series and two progress lines.
	// Default 2 s.
	Interval time.Duration
	// Command is the command line, recorded in the report.
	Command string
	// OnInterval, if set, is called with each point of the time series as it is taken,
	// on the sampling goroutine: a long run adds its own readings there (RunSoak).
	OnInterval func(IntervalStats)
}

// RunWorkload runs workload w against the server behind c and returns its report: totals,
// latency percentiles, cost figures and a time series of one point per interval.
//
// At a fixed rate (w.Rate.PerSecond) the producers follow a shared schedule and latency
// is counted from each request's place in it, so a slow server cannot hide behind the
// requests it delayed (no coordinated omission); producers that fall behind stop at the
// end anyway, and the messages never sent are reported as behind schedule.
//
// At rate max the producers are closed-loop: each sends its next request when the previous
// one is answered, so at most w.Producers requests are in flight and the rate is what
// the server sustains for that many. With consumers, producers also wait while more than
// w.MaxBacklog messages are produced but not consumed, so the rate found is one the whole
// path sustains, not one that only grows a backlog.
//
// When ctx ends early the report so far is returned with ctx's error.
func RunWorkload(ctx context.Context, c *client.Client, w Workload, opts RunOptions) (Report, error) {
	w = w.WithDefaults()
	if err := w.Validate(); err != nil {
		return Report{}, fmt.Errorf("checking workload: %w", err)
	}
	interval := cmp.Or(opts.Interval, defaultInterval)
	pcfg := w.produceConfig().withDefaults()
	if err := pcfg.validate(); err != nil {
		return Report{}, fmt.Errorf("checking produce config: %w", err)
	}
	notes, err := ensureTopic(ctx, c, pcfg)
	if err != nil {
		return Report{}, err
	}
	var ccfg ConsumeConfig
	if w.Consumers > 0 {
		ccfg = w.consumeConfig().withDefaults(pcfg)
		if err := ccfg.validate(pcfg); err != nil {
			return Report{}, fmt.Errorf("checking consume config: %w", err)
		}
		groupNotes, err := ensureGroups(ctx, c, ccfg, time.Now())
		if err != nil {
			return Report{}, err
		}
		notes = append(notes, groupNotes...)
	}

	rep := Report{Workload: w, Command: opts.Command, Machine: DescribeMachine()}
	start := time.Now()
	rep.Started = start.UTC()
	win := newWindow(start, pcfg.Warmup, pcfg.Duration)
	var cs *consumerSet
	var gate *backlogGate
	if w.Consumers > 0 {
		cs = startConsumers(ctx, c, ccfg, win)
		if w.Rate.Max {
			gate = &backlogGate{max: int64(w.MaxBacklog), consumed: cs.slowestConsumed}
		}
	}
	ps := startProducers(ctx, c, pcfg, win, gate)

	sm := &sampler{win: win, ps: ps, cs: cs, out: opts.Progress, onPoint: opts.OnInterval}
	stopSampling := startTicker(interval, sm.sample)
	before := scrapeAt(ctx, c, win.measureStart, workloadCounters)
	ps.wait()
	if cs != nil {
		cs.wait()
	}
	after := scrapeFinal(ctx, c, workloadCounters)
	stopSampling()
	rep.Machine.LoadAvgEnd = loadAverage()

	stopped := win.stoppedAt(ctx)
	pres := ps.result(stopped)
	rep.Series = sm.series
	rep.fillProduce(pres)
	d := deltas(before, after, workloadCounters)
	rep.Cost = costOf(d, pres.Bytes)
	if cs != nil {
		cres := cs.result(stopped)
		cres.addCost(d, pcfg.MessageSize)
		rep.fillConsume(cres, ps.live.messages.Load()-cs.slowestConsumed())
	}
	rep.Notes = append(notes, rep.Notes...)
	rep.Notes = append(rep.Notes, d.notes...)
	if len(d.missing) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("not found on /metrics, counted as 0: %v", d.missing))
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("workload %s stopped early: %w", w.Name, err)
	}
	return rep, nil
}

// startTicker calls tick(now, dt) every interval until stop is called, dt being the time
// since the previous call.
func startTicker(interval time.Duration, tick func(now time.Time, dt time.Duration)) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		prev := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				tick(now, now.Sub(prev))
				prev = now
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}

// sampler turns the live counters of a run into the points of its time series and the
// progress lines. Only the ticker goroutine touches it until the ticker is stopped.
type sampler struct {
	win    window
	ps     *producerSet
	cs     *consumerSet // nil when producing only
	out    io.Writer
	series []IntervalStats
	// onPoint, if set, gets each point after its progress line.
	onPoint func(IntervalStats)

	prevProduceErrs, prevConsumeErrs int64
}

// sample records the interval that ended at now, dt long, and prints its line.
func (s *sampler) sample(now time.Time, dt time.Duration) {
	rate, lat, errs := s.ps.meter.next(dt)
	p := IntervalStats{
		Seconds:       now.Sub(s.win.start).Seconds(),
		Warmup:        now.Before(s.win.measureStart),
		ProduceRate:   rate,
		Publish:       millis(lat),
		ProduceErrors: errs - s.prevProduceErrs,
	}
	s.prevProduceErrs = errs
	if s.cs != nil {
		crate, clat, cerrs := s.cs.meter.next(dt)
		p.ConsumeRate = crate
		p.EndToEnd = millis(clat)
		p.ConsumeErrors = cerrs - s.prevConsumeErrs
		s.prevConsumeErrs = cerrs
		p.Backlog = s.ps.live.messages.Load() - s.cs.slowestConsumed()
	}
	s.series = append(s.series, p)
	if s.out != nil {
		fmt.Fprintln(s.out, p.progressLine(s.cs != nil))
	}
	if s.onPoint != nil {
		s.onPoint(p)
	}
}

// progressLine renders the point as one terminal line.
func (p IntervalStats) progressLine(consuming bool) string {
	phase := "run"
	if p.Warmup {
		phase = "warmup"
	}
	line := fmt.Sprintf("%5.0fs %-6s produce %7.0f msg/s p50 %8.1f ms p99 %8.1f ms", p.Seconds, phase,
		p.ProduceRate, p.Publish.P50, p.Publish.P99)
	if consuming {
		line += fmt.Sprintf(" | consume %7.0f msg/s e2e p50 %8.1f ms p99 %8.1f ms | backlog %d",
			p.ConsumeRate, p.EndToEnd.P50, p.EndToEnd.P99, p.Backlog)
	}
	return line + fmt.Sprintf(" | errors %d", p.ProduceErrors+p.ConsumeErrors)
}

// costOf computes the cost figures from the counters' change during the measured part,
// producedBytes being the body bytes the benchmark produced then.
func costOf(d counterDeltas, producedBytes int64) Cost {
	gib := float64(producedBytes) / (1 << 30)
	segBytes := d.get(metricSegBytes)
	return Cost{
		PutsPerGiB:                 ratio(d.get(metricPuts), gib),
		GetsPerGiB:                 ratio(d.get(metricGets)+d.get(metricGetRanges), gib),
		PgTxPerSec:                 perSecond(d.get(metricPgTx), d.elapsed),
		PgTxPerGiB:                 ratio(d.get(metricPgTx), gib),
		FlushesPerSec:              perSecond(d.get(metricFlushes), d.elapsed),
		StoredBytesPerProducedByte: ratio(segBytes, d.get(metricBodyBytes)),
		CompressionRatio:           ratio(d.get(metricBodyBytes), segBytes),
		PutBytesPerProducedByte:    ratio(d.get(metricPutBytes), float64(producedBytes)),
		Counters:                   d.values,
		Missing:                    d.missing,
	}
}
