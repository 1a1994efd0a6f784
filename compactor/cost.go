package compactor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Prices are an object store's list prices.
type Prices struct {
	// Name says where the prices come from.
	Name string
	// StorageGBMonth is the price of a GB (2^30 bytes) stored for a month.
	StorageGBMonth float64
	// PutPer1000 prices PUT, COPY, POST and LIST requests.
	PutPer1000 float64
	// GetPer1000 prices GET and other read requests. DELETE is free.
	GetPer1000 float64
}

// S3StandardUSEast1 are the S3 Standard list prices in us-east-1 (first 50 TB tier).
var S3StandardUSEast1 = Prices{Name: "S3 Standard, us-east-1", StorageGBMonth: 0.023, PutPer1000: 0.005, GetPer1000: 0.0004}

// CostSample is one reading of a cluster's metrics: counters summed over the nodes read,
// cluster-wide gauges (maintained from Postgres by every compactor) taken at their largest.
type CostSample struct {
	At time.Time
	// Object store requests by all roles (floe_objstore_requests_total).
	Puts, Gets, Deletes, Lists float64
	// CompactorPuts and CompactorGets are the compactor's share.
	CompactorPuts, CompactorGets float64
	// BodyBytes are message bytes acknowledged to producers (floe_ingest_body_bytes_total);
	// FlushBytes the flush objects written (floe_ingest_segment_bytes_sum); CompactedBytes
	// the merged objects indexed (floe_compactor_merge_written_bytes_total).
	BodyBytes, FlushBytes, CompactedBytes float64
	// StoredBytes and StoredObjects are the bucket's content by the segments table; zero if
	// no compactor was read.
	StoredBytes, StoredObjects float64
	// WriteAmplification is the cluster's floe_compactor_write_amplification gauge.
	WriteAmplification float64
}

// ParseCostSample reads the Prometheus text exposition of one node.
func ParseCostSample(text string, at time.Time) (CostSample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return CostSample{}, fmt.Errorf("parsing metrics: %w", err)
	}
	sum := func(name string, labels ...string) float64 {
		f, ok := families[name]
		if !ok {
			return 0
		}
		total := 0.0
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Histogram != nil:
				total += m.GetHistogram().GetSampleSum()
			case m.Untyped != nil:
				total += m.GetUntyped().GetValue()
			}
		}
		return total
	}
	return CostSample{
		At:                 at,
		Puts:               sum("floe_objstore_requests_total", "operation", "put"),
		Gets:               sum("floe_objstore_requests_total", "operation", "get") + sum("floe_objstore_requests_total", "operation", "get_range"),
		Deletes:            sum("floe_objstore_requests_total", "operation", "delete"),
		Lists:              sum("floe_objstore_requests_total", "operation", "list"),
		CompactorPuts:      sum("floe_compactor_object_requests_total", "operation", "put"),
		CompactorGets:      sum("floe_compactor_object_requests_total", "operation", "get_range"),
		BodyBytes:          sum("floe_ingest_body_bytes_total"),
		FlushBytes:         sum("floe_ingest_segment_bytes"),
		CompactedBytes:     sum("floe_compactor_merge_written_bytes_total"),
		StoredBytes:        sum("floe_compactor_stored_bytes"),
		StoredObjects:      sum("floe_compactor_stored_objects"),
		WriteAmplification: sum("floe_compactor_write_amplification"),
	}, nil
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue() == value
		}
	}
	return false
}

// Add combines the samples of two nodes read at about the same time.
func (s CostSample) Add(o CostSample) CostSample {
	return CostSample{
		At:   s.At,
		Puts: s.Puts + o.Puts, Gets: s.Gets + o.Gets, Deletes: s.Deletes + o.Deletes, Lists: s.Lists + o.Lists,
		CompactorPuts: s.CompactorPuts + o.CompactorPuts, CompactorGets: s.CompactorGets + o.CompactorGets,
		BodyBytes: s.BodyBytes + o.BodyBytes, FlushBytes: s.FlushBytes + o.FlushBytes, CompactedBytes: s.CompactedBytes + o.CompactedBytes,
		StoredBytes: max(s.StoredBytes, o.StoredBytes), StoredObjects: max(s.StoredObjects, o.StoredObjects),
		WriteAmplification: max(s.WriteAmplification, o.WriteAmplification),
	}
}

// Cost is what a cluster's object storage costs at the rate observed between two samples.
type Cost struct {
	Prices Prices
	Window time.Duration
	// Rates per second over the window.
	BodyBytesPerSec, FlushBytesPerSec, CompactedBytesPerSec  float64
	PutsPerSec, GetsPerSec, ListsPerSec, DeletesPerSec       float64
	CompactorPutsPerSec, CompactorGetsPerSec                 float64
	PutsPerGiB, GetsPerGiB, CompactorPutsPerGiB, ListsPerGiB float64
	// WriteAmplification is compacted / flushed bytes over the window (0 if nothing was
	// flushed); ClusterWriteAmplification the cluster's gauge, over all time.
	WriteAmplification, ClusterWriteAmplification float64
	// StoredGB is stored now; SteadyGB what this rate keeps stored with Retention
	// (flushed bytes rate × retention × (1 + stored/flushed overhead of compaction ≈ 0)).
	StoredGB, SteadyGB float64
	StoredObjects      float64
	Retention          time.Duration
	// Monthly dollars at this rate (30 days).
	MonthlyStorage, MonthlyPuts, MonthlyGets, MonthlyLists, MonthlyTotal float64
}

const (
	secondsPerMonth = 30 * 24 * 3600
	gib             = 1 << 30
)

// EstimateCost turns two samples of a cluster into rates, requests per GiB ingested and
// a monthly bill. Storage is billed at the larger of what is stored now and what the
// flush rate keeps stored over retention.
func EstimateCost(before, after CostSample, retention time.Duration, p Prices) Cost {
	c := Cost{Prices: p, Window: after.At.Sub(before.At), Retention: retention}
	secs := c.Window.Seconds()
	if secs <= 0 {
		secs = 1
	}
	rate := func(a, b float64) float64 { return max(0, b-a) / secs }
	c.BodyBytesPerSec = rate(before.BodyBytes, after.BodyBytes)
	c.FlushBytesPerSec = rate(before.FlushBytes, after.FlushBytes)
	c.CompactedBytesPerSec = rate(before.CompactedBytes, after.CompactedBytes)
	c.PutsPerSec = rate(before.Puts, after.Puts)
	c.GetsPerSec = rate(before.Gets, after.Gets)
	c.ListsPerSec = rate(before.Lists, after.Lists)
	c.DeletesPerSec = rate(before.Deletes, after.Deletes)
	c.CompactorPutsPerSec = rate(before.CompactorPuts, after.CompactorPuts)
	c.CompactorGetsPerSec = rate(before.CompactorGets, after.CompactorGets)
	if c.BodyBytesPerSec > 0 {
		perGiB := gib / c.BodyBytesPerSec
		c.PutsPerGiB = c.PutsPerSec * perGiB
		c.GetsPerGiB = c.GetsPerSec * perGiB
		c.ListsPerGiB = c.ListsPerSec * perGiB
		c.CompactorPutsPerGiB = c.CompactorPutsPerSec * perGiB
	}
	if c.FlushBytesPerSec > 0 {
		c.WriteAmplification = c.CompactedBytesPerSec / c.FlushBytesPerSec
	}
	c.ClusterWriteAmplification = after.WriteAmplification
	c.StoredGB = after.StoredBytes / gib
	c.StoredObjects = after.StoredObjects
	c.SteadyGB = c.FlushBytesPerSec * retention.Seconds() / gib
	c.MonthlyStorage = max(c.StoredGB, c.SteadyGB) * p.StorageGBMonth
	c.MonthlyPuts = c.PutsPerSec * secondsPerMonth / 1000 * p.PutPer1000
	c.MonthlyGets = c.GetsPerSec * secondsPerMonth / 1000 * p.GetPer1000
	c.MonthlyLists = c.ListsPerSec * secondsPerMonth / 1000 * p.PutPer1000
	c.MonthlyTotal = c.MonthlyStorage + c.MonthlyPuts + c.MonthlyGets + c.MonthlyLists
	return c
}

// WriteText prints the estimate as a small report.
func (c Cost) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mib := func(b float64) string { return fmt.Sprintf("%.2f MiB/s", b/(1<<20)) }
	fmt.Fprintf(tw, "Observed over %s\n", c.Window.Round(time.Millisecond))
	fmt.Fprintf(tw, "  ingested (message bodies)\t%s\n", mib(c.BodyBytesPerSec))
	fmt.Fprintf(tw, "  flush objects written\t%s\n", mib(c.FlushBytesPerSec))
	fmt.Fprintf(tw, "  rewritten by compaction\t%s\twrite amplification %.2f (cluster, all time: %.2f)\n", mib(c.CompactedBytesPerSec), c.WriteAmplification, c.ClusterWriteAmplification)
	fmt.Fprintf(tw, "Requests\tper second\tper GiB ingested\n")
	fmt.Fprintf(tw, "  PUT\t%.2f\t%.1f\t(compactor: %.2f/s, %.1f/GiB)\n", c.PutsPerSec, c.PutsPerGiB, c.CompactorPutsPerSec, c.CompactorPutsPerGiB)
	fmt.Fprintf(tw, "  GET\t%.2f\t%.1f\t(compactor: %.2f/s)\n", c.GetsPerSec, c.GetsPerGiB, c.CompactorGetsPerSec)
	fmt.Fprintf(tw, "  LIST\t%.3f\t%.2f\n", c.ListsPerSec, c.ListsPerGiB)
	fmt.Fprintf(tw, "  DELETE\t%.2f\t\t(free)\n", c.DeletesPerSec)
	fmt.Fprintf(tw, "Stored\t%.3f GB in %.0f objects now; %.3f GB at this rate with %s retention\n", c.StoredGB, c.StoredObjects, c.SteadyGB, c.Retention)
	fmt.Fprintf(tw, "Monthly at list prices (%s)\n", c.Prices.Name)
	fmt.Fprintf(tw, "  storage\t$%.2f\n", c.MonthlyStorage)
	fmt.Fprintf(tw, "  PUT\t$%.2f\n", c.MonthlyPuts)
	fmt.Fprintf(tw, "  GET\t$%.2f\n", c.MonthlyGets)
	fmt.Fprintf(tw, "  LIST\t$%.2f\n", c.MonthlyLists)
	fmt.Fprintf(tw, "  total\t$%.2f\n", c.MonthlyTotal)
	return tw.Flush()
}
