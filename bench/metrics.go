package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/floemq/floe/client"
)

// counter names a Prometheus counter to read from /metrics: the sum of every series of
// the family Name whose labels include Labels (other labels are summed over).
type counter struct {
	Name   string
	Labels map[string]string
}

// String renders the counter as a selector, such as floe_objstore_requests_total{operation="put"}.
func (c counter) String() string {
	if len(c.Labels) == 0 {
		return c.Name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, c.Labels[k]))
	}
	return c.Name + "{" + strings.Join(parts, ",") + "}"
}

// The server counters the benchmarks read.
var (
	metricPuts      = counter{Name: "floe_objstore_requests_total", Labels: map[string]string{"operation": "put"}}
	metricPutBytes  = counter{Name: "floe_objstore_bytes_total", Labels: map[string]string{"operation": "put"}}
	metricPgTx      = counter{Name: "floe_metadata_transactions_total"}
	metricFlushes   = counter{Name: "floe_ingest_flushes_total"}
	metricPgTxRecv  = counter{Name: "floe_metadata_transactions_total", Labels: map[string]string{"operation": "receive"}}
	metricPgTxAck   = counter{Name: "floe_metadata_transactions_total", Labels: map[string]string{"operation": "ack"}}
	metricServerCPU = counter{Name: "process_cpu_seconds_total"}
	metricGets      = counter{Name: "floe_objstore_requests_total", Labels: map[string]string{"operation": "get"}}
	metricGetRanges = counter{Name: "floe_objstore_requests_total", Labels: map[string]string{"operation": "get_range"}}
	metricBodyBytes = counter{Name: "floe_ingest_body_bytes_total"}
	metricSegBytes  = counter{Name: "floe_ingest_segment_bytes"} // a histogram: its sum
	produceCounters = []counter{metricPuts, metricPutBytes, metricPgTx, metricFlushes}
	consumeCounters = []counter{metricPgTxRecv, metricPgTxAck}
	// allBenchCounters adds the server's CPU time, which the consume report divides by the
	// messages consumed: a cost figure that does not depend on the machine's other load.
	allBenchCounters = append(append(append(slices.Clone(produceCounters), consumeCounters...), metricServerCPU), lookCounters...)
	// lookCounters are the receive transactions by outcome, where the server has them.
	lookCounters     = []counter{lookCounter("messages"), lookCounter("empty"), lookCounter("contended"), lookCounter("failed")}
	storageCounters  = []counter{metricGets, metricGetRanges, metricBodyBytes, metricSegBytes}
	workloadCounters = append(slices.Clone(allBenchCounters), storageCounters...)
)

func lookCounter(outcome string) counter {
	return counter{Name: "floe_reader_receive_attempts_total", Labels: map[string]string{"outcome": outcome}}
}

// counterValues maps a counter's selector (counter.String) to its value.
type counterValues map[string]float64

// parseCounters reads the Prometheus text exposition format and returns the value of each
// counter found; a counter whose family or labels are absent is left out of the map.
// Counters, gauges and untyped samples are read, and of a histogram its sum; other types
// are ignored.
func parseCounters(text string, counters []counter) (counterValues, error) {
	families, err := parseFamilies(text)
	if err != nil {
		return nil, err
	}
	return counterValuesOf(families, counters), nil
}

// parseFamilies parses the Prometheus text exposition format.
func parseFamilies(text string) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parsing metrics text: %w", err)
	}
	return families, nil
}

// counterValuesOf returns the value of each counter found in families.
func counterValuesOf(families map[string]*dto.MetricFamily, counters []counter) counterValues {
	values := make(counterValues)
	for _, c := range counters {
		family, ok := families[c.Name]
		if !ok {
			continue
		}
		sum, found := 0.0, false
		for _, m := range family.GetMetric() {
			if !hasLabels(m, c.Labels) {
				continue
			}
			v, ok := sampleValue(m)
			if !ok {
				continue
			}
			sum += v
			found = true
		}
		if found {
			values[c.String()] = sum
		}
	}
	return values
}

// histogram is a Prometheus histogram's cumulative bucket counts, summed over the series a
// selector matches (which must share their buckets).
type histogram struct {
	// bounds are the buckets' upper bounds, increasing, +Inf last.
	bounds []float64
	// counts are the observations at or below each bound.
	counts []float64
}

// histogramsOf returns the histogram of each selector found in families; series whose
// buckets differ from the first one's are left out.
func histogramsOf(families map[string]*dto.MetricFamily, selectors []counter) map[string]histogram {
	out := map[string]histogram{}
	for _, c := range selectors {
		family, ok := families[c.Name]
		if !ok {
			continue
		}
		var h histogram
		for _, m := range family.GetMetric() {
			if m.Histogram == nil || !hasLabels(m, c.Labels) {
				continue
			}
			bs := finiteBuckets(m.GetHistogram().GetBucket())
			if h.bounds == nil {
				for _, b := range bs {
					h.bounds = append(h.bounds, b.GetUpperBound())
				}
				h.bounds = append(h.bounds, math.Inf(1))
				h.counts = make([]float64, len(h.bounds))
			}
			if !sameBounds(bs, h.bounds) {
				continue
			}
			for i, b := range bs {
				h.counts[i] += float64(b.GetCumulativeCount())
			}
			h.counts[len(bs)] += float64(m.GetHistogram().GetSampleCount())
		}
		if h.bounds != nil {
			out[c.String()] = h
		}
	}
	return out
}

// finiteBuckets returns bs without its +Inf bucket, which the text format lists and
// the sample count repeats.
func finiteBuckets(bs []*dto.Bucket) []*dto.Bucket {
	if n := len(bs); n > 0 && math.IsInf(bs[n-1].GetUpperBound(), 1) {
		return bs[:n-1]
	}
	return bs
}

// sameBounds reports whether buckets bs have the finite bounds of bounds (+Inf last).
func sameBounds(bs []*dto.Bucket, bounds []float64) bool {
	if len(bs)+1 != len(bounds) {
		return false
	}
	for i, b := range bs {
		if b.GetUpperBound() != bounds[i] {
			return false
		}
	}
	return true
}

// quantileSince estimates quantile q (0–1) of the observations made between prev and h
// (two readings of one histogram), interpolating within a bucket as Prometheus's
// histogram_quantile does; past the last finite bound it answers that bound. ok is false
// with no observation between the readings or buckets that changed.
func (h histogram) quantileSince(prev histogram, q float64) (v float64, ok bool) {
	if len(h.bounds) != len(prev.bounds) || len(h.bounds) == 0 {
		return 0, false
	}
	delta := make([]float64, len(h.counts))
	for i := range h.counts {
		if h.bounds[i] != prev.bounds[i] {
			return 0, false
		}
		delta[i] = h.counts[i] - prev.counts[i]
	}
	total := delta[len(delta)-1]
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, cum := range delta {
		if cum >= rank && cum > below {
			if math.IsInf(h.bounds[i], 1) {
				return lower, true
			}
			return lower + (h.bounds[i]-lower)*(rank-below)/(cum-below), true
		}
		lower, below = h.bounds[i], cum
	}
	return lower, true
}

// hasLabels reports whether m carries every wanted label; values compare without regard
// to case, so operation="PUT" matches operation="put".
func hasLabels(m *dto.Metric, want map[string]string) bool {
	for name, value := range want {
		matched := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == name && strings.EqualFold(lp.GetValue(), value) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// sampleValue returns the value of a counter, gauge or untyped sample, or the sum of a
// histogram's observations.
func sampleValue(m *dto.Metric) (float64, bool) {
	switch {
	case m.Histogram != nil:
		return m.GetHistogram().GetSampleSum(), true
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	case m.Untyped != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// scrape is one reading of the server's counters.
type scrape struct {
	at     time.Time
	values counterValues
	// hists are the histograms read, by selector (scrapeMetrics).
	hists map[string]histogram
	// err is why the reading failed, if it did; values is then empty.
	err error
}

// scrapeCounters reads the counters from the server's /metrics. A failure is recorded in
// the scrape rather than returned: a benchmark reports missing metrics, it does not stop.
func scrapeCounters(ctx context.Context, c *client.Client, counters []counter) scrape {
	return scrapeMetrics(ctx, c, counters, nil)
}

// scrapeMetrics is scrapeCounters that also reads the histograms named by hists.
func scrapeMetrics(ctx context.Context, c *client.Client, counters, hists []counter) scrape {
	s := scrape{at: time.Now(), values: counterValues{}}
	text, err := c.Metrics(ctx)
	if err != nil {
		s.err = err
		return s
	}
	families, err := parseFamilies(text)
	if err != nil {
		s.err = err
		return s
	}
	s.values = counterValuesOf(families, counters)
	s.hists = histogramsOf(families, hists)
	return s
}

// counterDeltas is the change of the counters between two scrapes.
type counterDeltas struct {
	// values maps a selector to its increase; a missing counter is 0.
	values counterValues
	// missing lists the selectors absent from either scrape.
	missing []string
	// elapsed is the time between the scrapes.
	elapsed time.Duration
	// notes explain failed scrapes.
	notes []string
}

// deltas returns the change of each counter from before to after.
func deltas(before, after scrape, counters []counter) counterDeltas {
	d := counterDeltas{values: counterValues{}, elapsed: after.at.Sub(before.at)}
	for _, s := range []scrape{before, after} {
		if s.err != nil {
			d.notes = append(d.notes, fmt.Sprintf("reading /metrics failed: %v", s.err))
		}
	}
	for _, c := range counters {
		key := c.String()
		b, okBefore := before.values[key]
		a, okAfter := after.values[key]
		if !okBefore || !okAfter {
			d.missing = append(d.missing, key)
			d.values[key] = 0
			continue
		}
		d.values[key] = a - b
	}
	return d
}

// has reports whether counter c was found in both scrapes.
func (d counterDeltas) has(c counter) bool {
	return !slices.Contains(d.missing, c.String())
}

// get returns the increase of counter c, 0 if it is missing.
func (d counterDeltas) get(c counter) float64 {
	return d.values[c.String()]
}

// subset returns the deltas of the given counters only.
func (d counterDeltas) subset(counters []counter) counterDeltas {
	out := counterDeltas{values: counterValues{}, elapsed: d.elapsed, notes: d.notes}
	for _, c := range counters {
		key := c.String()
		out.values[key] = d.values[key]
		if !d.has(c) {
			out.missing = append(out.missing, key)
		}
	}
	return out
}

// scrapeNodes reads the counters of every node, in parallel.
func scrapeNodes(ctx context.Context, nodes []*client.Client, counters []counter) []scrape {
	out := make([]scrape, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i] = scrapeCounters(ctx, n, counters) })
	}
	wg.Wait()
	return out
}

// scrapeNodesFinal is scrapeNodes at the end of a run, even one whose ctx has ended.
func scrapeNodesFinal(ctx context.Context, nodes []*client.Client, counters []counter) []scrape {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalScrapeTimeout)
	defer cancel()
	return scrapeNodes(ctx, nodes, counters)
}

// nodeDeltas sums the change of each counter over the nodes, before[i] and after[i] being
// node i's readings. A counter a node shows only in its later reading was created during
// the run, from 0 (a labelled series appears on first use, such as the first receive of a
// reader node). A counter is missing when no node has it in both a successful before
// reading and its after reading; a node whose reading failed adds nothing, with a note.
func nodeDeltas(before, after []scrape, counters []counter) counterDeltas {
	d := counterDeltas{values: counterValues{}}
	for i := range before {
		d.elapsed = max(d.elapsed, after[i].at.Sub(before[i].at))
		for _, s := range []scrape{before[i], after[i]} {
			if s.err != nil {
				d.notes = append(d.notes, fmt.Sprintf("reading /metrics failed: %v", s.err))
			}
		}
	}
	for _, c := range counters {
		key := c.String()
		found := false
		for i := range before {
			if before[i].err != nil || after[i].err != nil {
				continue
			}
			a, ok := after[i].values[key]
			if !ok {
				continue
			}
			found = true
			d.values[key] += a - before[i].values[key]
		}
		if !found {
			d.missing = append(d.missing, key)
			d.values[key] = 0
		}
	}
	return d
}
