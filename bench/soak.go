package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/floemq/floe/client"
)

// A soak run holds a produce-and-consume workload for a long time (30 minutes by default)
// and watches what a short benchmark cannot: whether memory, Postgres and the bucket level
// off, whether compaction keeps up, and whether the tail latency stays flat. Every
// SampleInterval it records the interval's end-to-end latency next to readings of the
// node's /metrics and of Postgres; at the end it checks the targets of docs/benchmarks.md
// ("Long runs") and says in one line which held.

// The node metrics a soak sample reads.
var (
	metricRSS           = counter{Name: "process_resident_memory_bytes"}
	metricHeapInuse     = counter{Name: "go_memstats_heap_inuse_bytes"}
	metricGoroutines    = counter{Name: "go_goroutines"}
	metricCacheBytes    = counter{Name: "floe_reader_cache_bytes"}
	metricStoredObjects = counter{Name: "floe_compactor_stored_objects"}
	metricStoredBytes   = counter{Name: "floe_compactor_stored_bytes"}
	metricUnrefObjects  = counter{Name: "floe_compactor_unreferenced_objects"}
	metricBacklogSegs   = counter{Name: "floe_compactor_backlog_segments"}
	metricBacklogAge    = counter{Name: "floe_compactor_backlog_age_seconds"}
	metricDeletes       = counter{Name: "floe_objstore_requests_total", Labels: map[string]string{"operation": "delete"}}
	soakCounters        = []counter{metricRSS, metricHeapInuse, metricGoroutines, metricCacheBytes, metricCacheHits,
		metricCacheMisses, metricPuts, metricGets, metricGetRanges, metricDeletes, metricStoredObjects, metricStoredBytes,
		metricUnrefObjects, metricBacklogSegs, metricBacklogAge}
)

// soakStages are the steps of a message's path whose p99 a soak sample records, so that a
// slow interval shows where its time went: the produce call (linger, PUT, commit), every
// flush's encoding and PUT, the flush's index commit, and the receive and ack
// transactions.
var soakStages = []struct {
	name string
	hist counter
}{
	{"produce", counter{Name: "floe_ingest_produce_duration_seconds"}},
	{"put", counter{Name: "floe_ingest_upload_duration_seconds"}},
	{"commit", txHistogram("segment_commit")},
	{"receive", txHistogram("receive")},
	{"ack", txHistogram("ack")},
}

func txHistogram(operation string) counter {
	return counter{Name: "floe_metadata_transaction_duration_seconds", Labels: map[string]string{"operation": operation}}
}

// soakHistograms are the histograms a sample reads.
var soakHistograms = func() []counter {
	var out []counter
	for _, st := range soakStages {
		out = append(out, st.hist)
	}
	return out
}()

// SoakConfig describes a soak run.
type SoakConfig struct {
	// Workload is what runs: producers and consumers at once (Consumers > 0).
	Workload Workload
	// SampleInterval is the time between two samples. Default 30 s.
	SampleInterval time.Duration
	// Postgres reads database and table sizes; nil leaves them out (and the Postgres
	// target unjudged).
	Postgres PgSampler
	// Targets are what the run is checked against.
	Targets SoakTargets
	// Processes are local processes whose CPU each sample records (Linux /proc), each
	// with its descendants: on a shared machine the object store's or Postgres's CPU can
	// explain an interval that Floe's own readings do not.
	Processes []WatchedProcess
	// Command is the command line, recorded in the report.
	Command string
}

// SoakTargets are the levels a soak run must hold. Zero fields take the defaults named.
type SoakTargets struct {
	// IntervalP99 bounds the end-to-end p99 of every sample interval. Default 350 ms.
	IntervalP99 time.Duration `json:"intervalP99"`
	// RunP99 bounds the end-to-end p99 of the whole measured part. Default 500 ms.
	RunP99 time.Duration `json:"runP99"`
	// CacheBytes is the node's chunk cache bound (--cache-bytes). Default 256 MiB.
	CacheBytes int64 `json:"cacheBytes"`
	// RSSHeadroom is what the node's resident memory may use beyond CacheBytes. Default
	// 512 MiB.
	RSSHeadroom int64 `json:"rssHeadroom"`
	// FlatWindow is the last part of the run over which resident memory must be flat.
	// Default 20 min.
	FlatWindow time.Duration `json:"flatWindow"`
	// MergeAge and ReadGrace are the compactor's (--compactor-merge-age,
	// --compactor-read-grace), default 10 min each. A flush segment is merged after
	// MergeAge and deleted ReadGrace later, so from MergeAge + ReadGrace + a minute of
	// sweeps on Postgres and the object count grow only with the data retained (see
	// PgBytesPerMessage and BytesPerObject), and the compaction lag stays below MergeAge
	// + a minute.
	MergeAge  time.Duration `json:"mergeAge"`
	ReadGrace time.Duration `json:"readGrace"`
	// Tolerance is how much a flat line may rise over its window, as a fraction of its
	// mean. Default 0.1.
	Tolerance float64 `json:"tolerance"`
	// PgBytesPerMessage bounds how much Postgres grows per message stored once storage has
	// settled. The chunk index is kept as long as the data (72 hours by default), so it
	// grows with every message retained: its Bloom filters take 1.25 bytes per item, a
	// message being one item for its id, one per key and about one more per traced call
	// that carries it (%TRACE% messages are keyed by the ids they cover). Default 6.
	PgBytesPerMessage float64 `json:"pgBytesPerMessage"`
	// BytesPerObject is how many bytes stored the object count may grow by one for once
	// storage has settled: merged objects (tens of MiB each) grow with the data retained,
	// flush objects (one per flush, about 1 MiB at 15,000 msg/s) must not. Default 16 MiB.
	BytesPerObject int64 `json:"bytesPerObject"`
}

// withDefaults returns t with zero fields set to their defaults.
func (t SoakTargets) withDefaults() SoakTargets {
	t.IntervalP99 = cmp.Or(t.IntervalP99, 350*time.Millisecond)
	t.RunP99 = cmp.Or(t.RunP99, 500*time.Millisecond)
	t.CacheBytes = cmp.Or(t.CacheBytes, 256<<20)
	t.RSSHeadroom = cmp.Or(t.RSSHeadroom, 512<<20)
	t.FlatWindow = cmp.Or(t.FlatWindow, 20*time.Minute)
	t.MergeAge = cmp.Or(t.MergeAge, 10*time.Minute)
	t.ReadGrace = cmp.Or(t.ReadGrace, 10*time.Minute)
	t.Tolerance = cmp.Or(t.Tolerance, 0.1)
	t.PgBytesPerMessage = cmp.Or(t.PgBytesPerMessage, 6)
	t.BytesPerObject = cmp.Or(t.BytesPerObject, 16<<20)
	return t
}

// storageSettle is when, from the start of the run, storage should stop growing.
func (t SoakTargets) storageSettle() time.Duration {
	return t.MergeAge + t.ReadGrace + time.Minute
}

// Absolute slack of the flat checks, so a small line is not judged by noise.
const (
	flatSlackRSS = 64 << 20
	lagSlack     = time.Minute
)

// SoakSample is one reading of a soak run, at the end of a sample interval.
type SoakSample struct {
	// Interval is the workload's numbers over the interval: rates, latencies (end-to-end
	// p50 and p99 of the messages received in it), errors, backlog.
	Interval IntervalStats `json:"interval"`
	// RSSBytes, HeapInuseBytes and Goroutines are the node process's.
	RSSBytes       float64 `json:"rssBytes"`
	HeapInuseBytes float64 `json:"heapInuseBytes"`
	Goroutines     float64 `json:"goroutines"`
	// CacheBytes is what the chunk cache holds; CacheHitRatio its hits over lookups in the
	// interval (0 with none).
	CacheBytes    float64 `json:"cacheBytes"`
	CacheHitRatio float64 `json:"cacheHitRatio"`
	// PutsPerSec and GetsPerSec are object requests of the node over the interval
	// (compaction included; GETs whole and ranged).
	PutsPerSec float64 `json:"putsPerSec"`
	GetsPerSec float64 `json:"getsPerSec"`
	// DeletesPerSec are the node's object deletes over the interval (the compactor's).
	DeletesPerSec float64 `json:"deletesPerSec"`
	// StageP99Ms is the p99 in milliseconds, over the interval, of each of soakStages
	// observed in it (from the node's histograms, so within a bucket's precision).
	StageP99Ms map[string]float64 `json:"stageP99Ms,omitempty"`
	// Objects and ObjectBytes are the segment objects in the bucket, every level, those
	// awaiting deletion included (the compactor's gauges, from the segments table:
	// orphans are not counted); UnreferencedObjects those awaiting deletion.
	Objects             float64 `json:"objects"`
	ObjectBytes         float64 `json:"objectBytes"`
	UnreferencedObjects float64 `json:"unreferencedObjects"`
	// BacklogSegments are flush segments whose rows wait for a merge; LagSeconds the age
	// of the oldest (the compaction lag).
	BacklogSegments float64 `json:"backlogSegments"`
	LagSeconds      float64 `json:"compactionLagSeconds"`
	// Postgres is the database's size and tables; nil without a database URL.
	Postgres *PgSample `json:"postgres,omitempty"`
	// CPUCores is the CPU each watched process (SoakConfig.Processes) used over the
	// interval, in cores.
	CPUCores map[string]float64 `json:"cpuCores,omitempty"`
	// Missing lists the node metrics /metrics did not have.
	Missing []string `json:"missing,omitempty"`
	// Errors are readings that failed.
	Errors []string `json:"errors,omitempty"`
	// nodeRead is set when /metrics was read; Missing then says what it lacked.
	nodeRead bool
}

// seconds is when the sample was taken, since the run started.
func (s SoakSample) seconds() float64 { return s.Interval.Seconds }

// PgSample is Postgres at one moment.
type PgSample struct {
	// DatabaseBytes is pg_database_size of the database.
	DatabaseBytes int64 `json:"databaseBytes"`
	// DeadTuples and Autovacuums sum the tables' n_dead_tup and autovacuum_count.
	DeadTuples  int64 `json:"deadTuples"`
	Autovacuums int64 `json:"autovacuums"`
	// Tables are the user tables, largest first.
	Tables []PgTable `json:"tables"`
}

// PgTable is one table's size and upkeep, from pg_stat_user_tables.
type PgTable struct {
	Name string `json:"name"`
	// Bytes is pg_total_relation_size: the table with its indexes and TOAST.
	Bytes        int64 `json:"bytes"`
	LiveTuples   int64 `json:"liveTuples"`
	DeadTuples   int64 `json:"deadTuples"`
	Autovacuums  int64 `json:"autovacuums"`
	Autoanalyzes int64 `json:"autoanalyzes"`
}

// table returns the named table's reading, or a zero one.
func (p *PgSample) table(name string) PgTable {
	if p == nil {
		return PgTable{}
	}
	for _, t := range p.Tables {
		if t.Name == name {
			return t
		}
	}
	return PgTable{}
}

// nodeReading is what a sample takes from /metrics.
type nodeReading struct {
	values counterValues
	hists  map[string]histogram
	at     time.Time
}

// soakSampler takes the samples. Only the workload's sampling goroutine uses it until the
// run ends.
type soakSampler struct {
	node    *client.Client
	pg      PgSampler // nil without a database
	samples []SoakSample
	prev    *nodeReading
	out     io.Writer
	// procs are the watched processes, read under procRoot; prevCPU their last reading.
	procs     []WatchedProcess
	procRoot  string
	prevCPU   cpuReading
	prevCPUAt time.Time
}

// readCPU reads the watched processes' CPU and returns their cores since the last read
// (nil the first time).
func (s *soakSampler) readCPU() (map[string]float64, error) {
	now := time.Now()
	r, err := readCPU(s.procRoot, s.procs)
	if err != nil {
		return nil, fmt.Errorf("reading process CPU: %w", err)
	}
	cores := r.coresSince(s.prevCPU, now.Sub(s.prevCPUAt).Seconds())
	s.prevCPU, s.prevCPUAt = r, now
	return cores, nil
}

// take reads the node and Postgres at the end of interval p and keeps the sample.
func (s *soakSampler) take(ctx context.Context, p IntervalStats) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	sample := SoakSample{Interval: p}
	sc := scrapeMetrics(ctx, s.node, soakCounters, soakHistograms)
	if sc.err != nil {
		sample.Errors = append(sample.Errors, fmt.Sprintf("reading /metrics: %v", sc.err))
	} else {
		cur := &nodeReading{values: sc.values, hists: sc.hists, at: sc.at}
		sample.fillNode(cur, s.prev)
		s.prev = cur
	}
	if len(s.procs) > 0 {
		cores, err := s.readCPU()
		if err != nil {
			sample.Errors = append(sample.Errors, err.Error())
		}
		sample.CPUCores = cores
	}
	if s.pg != nil {
		pg, err := s.pg.Sample(ctx)
		if err != nil {
			sample.Errors = append(sample.Errors, err.Error())
		} else {
			sample.Postgres = &pg
		}
	}
	s.samples = append(s.samples, sample)
	if s.out != nil {
		fmt.Fprintln(s.out, sample.progressLine())
	}
}

// fillNode sets the node's readings from cur; rates over the interval need prev (nil for
// the first sample, whose rates stay 0).
func (s *SoakSample) fillNode(cur, prev *nodeReading) {
	s.nodeRead = true
	for _, c := range soakCounters {
		if _, ok := cur.values[c.String()]; !ok {
			s.Missing = append(s.Missing, c.String())
		}
	}
	get := func(c counter) float64 { return cur.values[c.String()] }
	s.RSSBytes = get(metricRSS)
	s.HeapInuseBytes = get(metricHeapInuse)
	s.Goroutines = get(metricGoroutines)
	s.CacheBytes = get(metricCacheBytes)
	s.Objects = get(metricStoredObjects)
	s.ObjectBytes = get(metricStoredBytes)
	s.UnreferencedObjects = get(metricUnrefObjects)
	s.BacklogSegments = get(metricBacklogSegs)
	s.LagSeconds = get(metricBacklogAge)
	if prev == nil {
		return
	}
	// A counter that went down belongs to a restarted node: count the interval as 0.
	delta := func(c counter) float64 { return max(get(c)-prev.values[c.String()], 0) }
	dt := cur.at.Sub(prev.at)
	hits, misses := delta(metricCacheHits), delta(metricCacheMisses)
	s.CacheHitRatio = ratio(hits, hits+misses)
	s.PutsPerSec = perSecond(delta(metricPuts), dt)
	s.GetsPerSec = perSecond(delta(metricGets)+delta(metricGetRanges), dt)
	s.DeletesPerSec = perSecond(delta(metricDeletes), dt)
	for _, st := range soakStages {
		h, ok := cur.hists[st.hist.String()]
		if !ok {
			continue
		}
		if v, ok := h.quantileSince(prev.hists[st.hist.String()], 0.99); ok {
			if s.StageP99Ms == nil {
				s.StageP99Ms = map[string]float64{}
			}
			s.StageP99Ms[st.name] = v * 1000
		}
	}
}

// has reports whether the sample read metric c from the node.
func (s SoakSample) has(c counter) bool {
	return s.nodeRead && !slices.Contains(s.Missing, c.String())
}

// progressLine renders the sample's readings as one terminal line, after the workload's.
func (s SoakSample) progressLine() string {
	line := fmt.Sprintf("%5.0fs soak   rss %s heap %s goroutines %.0f | objects %.0f (%.0f waiting to merge, lag %.0fs) | cache hits %.0f%%",
		s.seconds(), mibString(s.RSSBytes), mibString(s.HeapInuseBytes), s.Goroutines, s.Objects, s.BacklogSegments,
		s.LagSeconds, 100*s.CacheHitRatio)
	if len(s.StageP99Ms) > 0 {
		line += " | p99"
		for _, st := range soakStages {
			if v, ok := s.StageP99Ms[st.name]; ok {
				line += fmt.Sprintf(" %s %.0f ms", st.name, v)
			}
		}
	}
	if len(s.CPUCores) > 0 {
		line += " | cpu"
		for _, name := range slices.Sorted(maps.Keys(s.CPUCores)) {
			line += fmt.Sprintf(" %s %.2f", name, s.CPUCores[name])
		}
	}
	if s.Postgres != nil {
		line += fmt.Sprintf(" | postgres %s, %d dead tuples, %d autovacuums",
			mibString(float64(s.Postgres.DatabaseBytes)), s.Postgres.DeadTuples, s.Postgres.Autovacuums)
	}
	if len(s.Errors) > 0 {
		line += " | " + strings.Join(s.Errors, "; ")
	}
	return line
}

// mibString renders bytes in MiB.
func mibString(b float64) string {
	return fmt.Sprintf("%.0f MiB", b/mib)
}

// PgSampler reads the database's size and its tables' sizes and upkeep counters for a
// soak run; the floe command reads them over the node's Postgres (this package talks to
// Floe through its client only).
type PgSampler interface {
	Sample(ctx context.Context) (PgSample, error)
}

// SoakReport is what RunSoak measured: the workload's report, the samples, and which
// targets held.
type SoakReport struct {
	// Workload is the produce-and-consume run's report, as floe bench --workload gives it.
	Workload Report `json:"workload"`
	// SampleSeconds is the time between samples.
	SampleSeconds float64 `json:"sampleSeconds"`
	// Targets are the levels checked, defaults applied.
	Targets SoakTargets `json:"targets"`
	// Samples has one reading per sample interval, warmup included (marked).
	Samples []SoakSample `json:"samples"`
	// Checks is each target's verdict.
	Checks []TargetCheck `json:"checks"`
	// Summary is the one line printed last.
	Summary string `json:"summary"`
}

// Verdicts of a target check.
const (
	TargetHeld      = "held"
	TargetMissed    = "missed"
	TargetNotJudged = "not judged"
)

// TargetCheck is one target's verdict.
type TargetCheck struct {
	// Target names the target, with its level.
	Target string `json:"target"`
	// Status is TargetHeld, TargetMissed or TargetNotJudged (not enough data).
	Status string `json:"status"`
	// Detail gives the numbers behind the verdict.
	Detail string `json:"detail"`
}

// RunSoak runs cfg.Workload, sampling the node (and Postgres) every SampleInterval, and
// checks the targets. When ctx ends early the report so far is returned, checked, with
// ctx's error.
func RunSoak(ctx context.Context, c *client.Client, cfg SoakConfig, progress io.Writer) (SoakReport, error) {
	if cfg.Workload.Consumers < 1 {
		return SoakReport{}, errors.New("a soak run needs consumers: its latency is end to end")
	}
	interval := cmp.Or(cfg.SampleInterval, 30*time.Second)
	targets := cfg.Targets.withDefaults()
	sm := &soakSampler{node: c, out: progress, procs: cfg.Processes, procRoot: "/proc"}
	sm.pg = cfg.Postgres
	if len(sm.procs) > 0 {
		// The first sample's CPU is counted from here.
		if _, err := sm.readCPU(); err != nil {
			return SoakReport{}, err
		}
	}
	rep, runErr := RunWorkload(ctx, c, cfg.Workload, RunOptions{
		Progress:   progress,
		Interval:   interval,
		Command:    cfg.Command,
		OnInterval: func(p IntervalStats) { sm.take(ctx, p) },
	})
	if runErr != nil && rep.Started.IsZero() {
		return SoakReport{}, runErr
	}
	out := SoakReport{Workload: rep, SampleSeconds: interval.Seconds(), Targets: targets, Samples: sm.samples}
	out.Checks = checkTargets(rep, sm.samples, targets)
	out.Summary = soakSummary(rep, out.Checks)
	return out, runErr
}

// Held reports whether every target held.
func (r SoakReport) Held() bool {
	for _, c := range r.Checks {
		if c.Status != TargetHeld {
			return false
		}
	}
	return len(r.Checks) > 0
}

// checkTargets judges a run against the targets.
func checkTargets(rep Report, samples []SoakSample, t SoakTargets) []TargetCheck {
	var measured []SoakSample
	for _, s := range samples {
		if !s.Interval.Warmup {
			measured = append(measured, s)
		}
	}
	var checks []TargetCheck
	add := func(target, status, detail string) {
		checks = append(checks, TargetCheck{Target: target, Status: status, Detail: detail})
	}

	// End-to-end p99 of every interval.
	name := fmt.Sprintf("end-to-end p99 of every %s interval ≤ %s", sampleLength(samples), fmtDuration(t.IntervalP99))
	worst, worstAt, judged := 0.0, 0.0, 0
	for _, s := range measured {
		if s.Interval.ConsumeRate == 0 && s.Interval.EndToEnd.P99 == 0 {
			continue // nothing received in the interval
		}
		judged++
		if s.Interval.EndToEnd.P99 > worst {
			worst, worstAt = s.Interval.EndToEnd.P99, s.seconds()
		}
	}
	switch {
	case judged == 0:
		add(name, TargetNotJudged, "no measured interval received a message")
	case worst <= ms(t.IntervalP99):
		add(name, TargetHeld, fmt.Sprintf("worst %s ms at %.0f s, over %d intervals", fmtMs(worst), worstAt, judged))
	default:
		over := 0
		for _, s := range measured {
			if s.Interval.EndToEnd.P99 > ms(t.IntervalP99) {
				over++
			}
		}
		add(name, TargetMissed, fmt.Sprintf("worst %s ms at %.0f s; %d of %d intervals over", fmtMs(worst), worstAt, over, judged))
	}

	// End-to-end p99 of the whole run.
	name = fmt.Sprintf("end-to-end p99 of the run ≤ %s", fmtDuration(t.RunP99))
	switch {
	case rep.EndToEnd == nil || rep.Totals.ConsumedMessages == 0:
		add(name, TargetNotJudged, "nothing consumed")
	case rep.EndToEnd.P99 <= ms(t.RunP99):
		add(name, TargetHeld, fmt.Sprintf("%s ms", fmtMs(rep.EndToEnd.P99)))
	default:
		add(name, TargetMissed, fmt.Sprintf("%s ms", fmtMs(rep.EndToEnd.P99)))
	}

	// Resident memory: bounded, and flat at the end.
	bound := float64(t.CacheBytes + t.RSSHeadroom)
	name = fmt.Sprintf("floe RSS ≤ cache %s + %s", mibString(float64(t.CacheBytes)), mibString(float64(t.RSSHeadroom)))
	peak, peakAt, seen := 0.0, 0.0, false
	for _, s := range measured {
		if s.has(metricRSS) {
			seen = true
			if s.RSSBytes > peak {
				peak, peakAt = s.RSSBytes, s.seconds()
			}
		}
	}
	switch {
	case !seen:
		add(name, TargetNotJudged, "process_resident_memory_bytes not read")
	case peak <= bound:
		add(name, TargetHeld, fmt.Sprintf("peak %s at %.0f s", mibString(peak), peakAt))
	default:
		add(name, TargetMissed, fmt.Sprintf("peak %s at %.0f s", mibString(peak), peakAt))
	}
	end := 0.0
	if len(samples) > 0 {
		end = samples[len(samples)-1].seconds()
	}
	name = fmt.Sprintf("floe RSS flat over the last %s", fmtDuration(t.FlatWindow))
	if from := end - t.FlatWindow.Seconds(); from < time.Duration(rep.Workload.Warmup).Seconds() {
		// The window would take in the start, when memory fills up by design.
		add(name, TargetNotJudged, "the run is shorter than the window (--flat-window)")
	} else {
		add(flatCheck(name, measured, from, t.Tolerance, flatSlackRSS,
			func(s SoakSample) (float64, bool) { return s.RSSBytes, s.has(metricRSS) }, mibString))
	}

	// Storage, once merged flush segments could have been deleted: it grows with the data
	// retained and no faster. Rows and objects that compaction leaves behind would make
	// it grow faster.
	settle := t.storageSettle().Seconds()
	produced := producedBy(samples)
	add(growthCheck(fmt.Sprintf("Postgres grows ≤ %s B per message stored after %s", trimFloat(t.PgBytesPerMessage), fmtDuration(t.storageSettle())),
		samples, settle, t.PgBytesPerMessage,
		func(i int) (float64, float64, bool) {
			if samples[i].Postgres == nil {
				return 0, 0, false
			}
			return float64(samples[i].Postgres.DatabaseBytes), produced[i], true
		},
		func(g growth) string {
			return fmt.Sprintf("%s B per message over %s (%s for %s messages; %s → %s)", trimFloat(math.Round(g.slope*100)/100),
				g.window, signedMiB(g.rise), thousands(g.driven), mibString(g.first), mibString(g.last))
		}))
	add(growthCheck(fmt.Sprintf("objects grow ≤ 1 per %s stored after %s", mibString(float64(t.BytesPerObject)), fmtDuration(t.storageSettle())),
		samples, settle, 1/float64(t.BytesPerObject),
		func(i int) (float64, float64, bool) {
			s := samples[i]
			return s.Objects, s.ObjectBytes, s.has(metricStoredObjects) && s.has(metricStoredBytes)
		},
		func(g growth) string {
			per := "no growth"
			if g.slope > 0 {
				per = "1 per " + mibString(1/g.slope)
			}
			return fmt.Sprintf("%s over %s (%+.0f objects for %s stored; %s → %s)", per, g.window, g.rise, signedMiB(g.driven),
				thousands(g.first), thousands(g.last))
		}))

	// Compaction keeps up: no flush row waits much past the merge age.
	limit := t.MergeAge + lagSlack
	name = fmt.Sprintf("compaction lag ≤ merge age %s + %s", fmtDuration(t.MergeAge), fmtDuration(lagSlack))
	lag, lagAt, seen := 0.0, 0.0, false
	for _, s := range measured {
		if s.has(metricBacklogAge) {
			seen = true
			if s.LagSeconds > lag {
				lag, lagAt = s.LagSeconds, s.seconds()
			}
		}
	}
	switch {
	case !seen:
		add(name, TargetNotJudged, "floe_compactor_backlog_age_seconds not read (is the compactor role on?)")
	case lag <= limit.Seconds():
		add(name, TargetHeld, fmt.Sprintf("worst %.0f s at %.0f s", lag, lagAt))
	default:
		add(name, TargetMissed, fmt.Sprintf("worst %.0f s at %.0f s", lag, lagAt))
	}

	// No failed call.
	tot := rep.Totals
	failed := tot.ProduceErrors + tot.ConsumeErrors + tot.AckFailures
	detail := fmt.Sprintf("%d produce, %d consume, %d acks failed", tot.ProduceErrors, tot.ConsumeErrors, tot.AckFailures)
	if failed == 0 {
		add("0 failed calls", TargetHeld, detail)
	} else {
		add("0 failed calls", TargetMissed, detail)
	}
	return checks
}

// flatCheck judges whether the value of the samples from second from on rises by at most
// tol of its mean (or slack, if more) over that window, by a least-squares line. A line
// that falls is flat. It needs three readings in the window.
func flatCheck(name string, samples []SoakSample, from, tol, slack float64, value func(SoakSample) (float64, bool), format func(float64) string) (string, string, string) {
	var ts, vs []float64
	for _, s := range samples {
		if s.seconds() < from {
			continue
		}
		if v, ok := value(s); ok {
			ts, vs = append(ts, s.seconds()), append(vs, v)
		}
	}
	if len(ts) < 3 {
		return name, TargetNotJudged, fmt.Sprintf("%d readings in the window (from %.0f s), 3 needed", len(ts), max(from, 0))
	}
	rise, mean := trend(ts, vs)
	allowed := max(tol*mean, slack)
	sign := "+"
	if rise < 0 {
		sign, rise = "-", -rise
	}
	detail := fmt.Sprintf("%s%s over %.0f–%.0f s (mean %s; allowed +%s)", sign, format(rise), ts[0], ts[len(ts)-1], format(mean), format(allowed))
	if sign == "-" {
		return name, TargetHeld, detail
	}
	if rise <= allowed {
		return name, TargetHeld, detail
	}
	return name, TargetMissed, detail
}

// growthCheck judges whether a reading grows by at most bound per unit of what drives it
// (messages produced, bytes stored) from second from on: the rise of a least-squares
// line of the reading over that window, divided by its driver's. Storage kept as long as
// the data cannot be flat while the run is shorter than the retention; what it must not
// do is grow faster than the data. read returns a sample's reading and driver; describe
// renders the verdict's detail.
func growthCheck(name string, samples []SoakSample, from, bound float64, read func(i int) (value, driver float64, ok bool),
	describe func(growth) string) (string, string, string) {
	var ts, xs, vs []float64
	for i, s := range samples {
		if s.Interval.Warmup || s.seconds() < from {
			continue
		}
		if v, x, ok := read(i); ok {
			ts, xs, vs = append(ts, s.seconds()), append(xs, x), append(vs, v)
		}
	}
	if len(ts) < 3 {
		return name, TargetNotJudged, fmt.Sprintf("%d readings in the window (from %.0f s), 3 needed", len(ts), max(from, 0))
	}
	// Both are fitted against time: a reading and its driver that rise and fall together
	// within the window (flush objects piling up between merges, and their bytes) would
	// otherwise give that cycle's ratio, not the trend's.
	rise, _ := trend(ts, vs)
	driven, _ := trend(ts, xs)
	if driven <= 0 {
		return name, TargetNotJudged, fmt.Sprintf("nothing was stored over %.0f–%.0f s", ts[0], ts[len(ts)-1])
	}
	g := growth{slope: rise / driven, rise: rise, driven: driven, first: vs[0], last: vs[len(vs)-1],
		window: fmt.Sprintf("%.0f–%.0f s", ts[0], ts[len(ts)-1])}
	detail := describe(g)
	if g.slope <= bound {
		return name, TargetHeld, detail
	}
	return name, TargetMissed, detail
}

// growth is what growthCheck measured over its window: the reading's rise per unit of
// driver (slope), the rises of both (least-squares lines over the window), the reading's
// first and last values, and the window's span.
type growth struct {
	slope, rise, driven, first, last float64
	window                           string
}

// producedBy returns, for each sample, the messages produced from the start of the run
// to its end (the interval rates times the interval lengths).
func producedBy(samples []SoakSample) []float64 {
	out := make([]float64, len(samples))
	total, prev := 0.0, 0.0
	for i, s := range samples {
		total += s.Interval.ProduceRate * max(s.seconds()-prev, 0)
		prev = s.seconds()
		out[i] = total
	}
	return out
}

// signedMiB renders a change in bytes as signed MiB.
func signedMiB(b float64) string {
	if b < 0 {
		return "-" + mibString(-b)
	}
	return "+" + mibString(b)
}

// trimFloat renders a bound without trailing zeros.
func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// trend fits a least-squares line to the points (ts[i], vs[i]) and returns its rise from
// the first t to the last, and the mean of vs.
func trend(ts, vs []float64) (rise, mean float64) {
	n := float64(len(ts))
	var st, sv float64
	for i := range ts {
		st += ts[i]
		sv += vs[i]
	}
	mt, mv := st/n, sv/n
	var num, den float64
	for i := range ts {
		num += (ts[i] - mt) * (vs[i] - mv)
		den += (ts[i] - mt) * (ts[i] - mt)
	}
	if den == 0 {
		return 0, mv
	}
	return num / den * (ts[len(ts)-1] - ts[0]), mv
}

// soakSummary is the one line that says which targets held.
func soakSummary(rep Report, checks []TargetCheck) string {
	var held, missed, unjudged []string
	for _, c := range checks {
		switch c.Status {
		case TargetHeld:
			held = append(held, c.Target)
		case TargetMissed:
			missed = append(missed, c.Target+" ("+c.Detail+")")
		default:
			unjudged = append(unjudged, c.Target)
		}
	}
	w := rep.Workload
	verdict := "PASS"
	if len(missed) > 0 || len(unjudged) > 0 {
		verdict = "FAIL"
	}
	rate := "rate max"
	if !w.Rate.Max {
		rate = thousands(float64(w.Rate.PerSecond)) + " msg/s"
	}
	line := fmt.Sprintf("soak %s: %d of %d targets held over %s at %s", verdict, len(held), len(checks),
		fmtDuration(time.Duration(w.Duration)), rate)
	if len(missed) > 0 {
		line += "; missed: " + strings.Join(missed, "; ")
	}
	if len(unjudged) > 0 {
		line += "; not judged: " + strings.Join(unjudged, "; ")
	}
	return line
}

// sampleLength renders the time between samples, as the run took them.
func sampleLength(samples []SoakSample) string {
	if len(samples) < 2 {
		return "sample"
	}
	d := time.Duration((samples[1].seconds() - samples[0].seconds()) * float64(time.Second)).Round(time.Second)
	return fmtDuration(d)
}

// fmtDuration renders a duration without trailing zero units: 30s, 20m, 1h30m, 350ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// Markdown renders the soak run as result.md: the summary, the checks, the chart, then
// the workload's report (its own chart in workload-chart.svg).
func (r SoakReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# soak: %s\n\n%s\n\n", r.Workload.Workload.Name, r.Summary)
	b.WriteString("| target | verdict | detail |\n|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Target, c.Status, c.Detail)
	}
	b.WriteString("\n![end-to-end latency, memory, Postgres, bucket and compaction over time](chart.svg)\n\n")
	if n := len(r.Samples); n > 0 {
		first, last := r.Samples[0], r.Samples[n-1]
		rows := [][2]string{
			{"samples", fmt.Sprintf("%d, every %.0f s", n, r.SampleSeconds)},
			{"floe RSS first → last", fmt.Sprintf("%s → %s", mibString(first.RSSBytes), mibString(last.RSSBytes))},
			{"Go heap in use first → last", fmt.Sprintf("%s → %s", mibString(first.HeapInuseBytes), mibString(last.HeapInuseBytes))},
			{"goroutines first → last", fmt.Sprintf("%.0f → %.0f", first.Goroutines, last.Goroutines)},
			{"objects in the bucket first → last", fmt.Sprintf("%s → %s", thousands(first.Objects), thousands(last.Objects))},
			{"compaction lag last", fmt.Sprintf("%.0f s (%.0f flush segments waiting)", last.LagSeconds, last.BacklogSegments)},
		}
		if first.Postgres != nil && last.Postgres != nil {
			rows = append(rows,
				[2]string{"Postgres first → last", fmt.Sprintf("%s → %s", mibString(float64(first.Postgres.DatabaseBytes)), mibString(float64(last.Postgres.DatabaseBytes)))},
				[2]string{"Postgres dead tuples, autovacuum runs (last)", fmt.Sprintf("%d, %d", last.Postgres.DeadTuples, last.Postgres.Autovacuums)})
		}
		writeTable(&b, "soak", rows)
		b.WriteString("\n")
	}
	b.WriteString(strings.Replace(r.Workload.Markdown(), "](chart.svg)", "](workload-chart.svg)", 1))
	return b.String()
}

// WriteFiles writes result.json, result.md, chart.svg (the soak chart) and
// workload-chart.svg (the workload's throughput and latency) into dir, creating it.
func (r SoakReport) WriteFiles(dir string) error {
	return writeResult(dir, r, r.Markdown(), map[string]string{"chart.svg": r.ChartSVG(), "workload-chart.svg": r.Workload.ChartSVG()})
}

// largestTables returns the names of the n largest tables at the last sample.
func (r SoakReport) largestTables(n int) []string {
	for i := len(r.Samples) - 1; i >= 0; i-- {
		if pg := r.Samples[i].Postgres; pg != nil {
			var names []string
			for _, t := range pg.Tables[:min(n, len(pg.Tables))] {
				names = append(names, t.Name)
			}
			return names
		}
	}
	return nil
}
