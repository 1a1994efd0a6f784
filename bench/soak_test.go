package bench

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nodeMetricsText is a node's /metrics as the soak sampler sees it, with hits and PUTs
// that grow by hits and puts since the start.
func nodeMetricsText(rss float64, hits, misses, puts int) string {
	return fmt.Sprintf(`# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes %g
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 2.68435456e+08
# TYPE go_goroutines gauge
go_goroutines 412
# TYPE floe_reader_cache_bytes gauge
floe_reader_cache_bytes 1.34217728e+08
# TYPE floe_reader_cache_hits_total counter
floe_reader_cache_hits_total %d
# TYPE floe_reader_cache_misses_total counter
floe_reader_cache_misses_total %d
# TYPE floe_objstore_requests_total counter
floe_objstore_requests_total{operation="put",result="ok"} %d
floe_objstore_requests_total{operation="get_range",result="ok"} 10
floe_objstore_requests_total{operation="get",result="ok"} 0
# TYPE floe_compactor_stored_objects gauge
floe_compactor_stored_objects{level="0"} 1200
floe_compactor_stored_objects{level="1"} 30
floe_compactor_stored_objects{level="2"} 0
# TYPE floe_compactor_stored_bytes gauge
floe_compactor_stored_bytes{level="0"} 1e+09
floe_compactor_stored_bytes{level="1"} 5e+08
floe_compactor_stored_bytes{level="2"} 0
# TYPE floe_compactor_unreferenced_objects gauge
floe_compactor_unreferenced_objects 300
# TYPE floe_compactor_backlog_segments gauge
floe_compactor_backlog_segments 900
# TYPE floe_compactor_backlog_age_seconds gauge
floe_compactor_backlog_age_seconds 605.5
`, rss, hits, misses, puts)
}

// putHistogramText is a node's flush upload histogram with fast uploads at or below 50 ms
// and all at or below 100 ms, and its deletes; the bucket's own PUT histogram (merges
// included) and its GET series must not count.
func putHistogramText(fast, all, deletes int) string {
	return fmt.Sprintf(`# TYPE floe_ingest_upload_duration_seconds histogram
floe_ingest_upload_duration_seconds_bucket{le="0.05"} %d
floe_ingest_upload_duration_seconds_bucket{le="0.1"} %d
floe_ingest_upload_duration_seconds_bucket{le="+Inf"} %d
floe_ingest_upload_duration_seconds_sum 1
floe_ingest_upload_duration_seconds_count %d
# TYPE floe_objstore_request_duration_seconds histogram
floe_objstore_request_duration_seconds_bucket{operation="put",le="0.05"} 0
floe_objstore_request_duration_seconds_bucket{operation="put",le="0.1"} 0
floe_objstore_request_duration_seconds_bucket{operation="put",le="+Inf"} %d
floe_objstore_request_duration_seconds_sum{operation="put"} 5000
floe_objstore_request_duration_seconds_count{operation="put"} %d
floe_objstore_request_duration_seconds_bucket{operation="get",le="0.05"} 0
floe_objstore_request_duration_seconds_bucket{operation="get",le="0.1"} 0
floe_objstore_request_duration_seconds_bucket{operation="get",le="+Inf"} 7000
floe_objstore_request_duration_seconds_sum{operation="get"} 70000
floe_objstore_request_duration_seconds_count{operation="get"} 7000
floe_objstore_requests_total{operation="delete",result="ok"} %d
`, fast, all, all, all, all, all, deletes)
}

func TestSoakSampleReadsNodeMetrics(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	reading := func(text string, at time.Time) *nodeReading {
		f, err := parseFamilies(text)
		require.NoError(t, err)
		return &nodeReading{values: counterValuesOf(f, soakCounters), hists: histogramsOf(f, soakHistograms), at: at}
	}
	prev := reading(nodeMetricsText(9e8, 100, 100, 1000)+putHistogramText(900, 1000, 50), t0)
	// 600 PUTs in the interval, 500 of them within 50 ms: the p99 (the 594th) lies in the
	// 50–100 ms bucket, 94 % of the way.
	cur := reading(nodeMetricsText(1e9, 400, 200, 1600)+putHistogramText(1400, 1600, 110), t0.Add(30*time.Second))

	var first SoakSample
	first.fillNode(prev, nil)
	require.Zero(t, first.CacheHitRatio, "the first sample has no interval to rate")
	require.Zero(t, first.PutsPerSec)

	var s SoakSample
	s.fillNode(cur, prev)
	require.Equal(t, 1e9, s.RSSBytes)
	require.Equal(t, float64(256<<20), s.HeapInuseBytes)
	require.Equal(t, 412.0, s.Goroutines)
	require.Equal(t, float64(128<<20), s.CacheBytes)
	require.Equal(t, 1230.0, s.Objects, "objects of every level")
	require.Equal(t, 1.5e9, s.ObjectBytes)
	require.Equal(t, 300.0, s.UnreferencedObjects)
	require.Equal(t, 900.0, s.BacklogSegments)
	require.Equal(t, 605.5, s.LagSeconds)
	require.InDelta(t, 0.75, s.CacheHitRatio, 1e-9, "300 hits and 100 misses in the interval")
	require.InDelta(t, 20, s.PutsPerSec, 1e-9, "600 PUTs in 30 s")
	require.InDelta(t, 2, s.DeletesPerSec, 1e-9, "60 deletes in 30 s")
	require.Len(t, s.StageP99Ms, 1, "only the PUT histogram is in the text: %v", s.StageP99Ms)
	require.InDelta(t, 97, s.StageP99Ms["put"], 1e-9)
	require.Contains(t, s.progressLine(), "| p99 put 97 ms")
	s.CPUCores = map[string]float64{"minio": 0.25, "floe": 0.5}
	require.Contains(t, s.progressLine(), "| cpu floe 0.50 minio 0.25", "names in order")
	require.Empty(t, s.Missing)
	require.True(t, s.has(metricRSS))

	// A node without the compactor role has no compactor gauges: they are missing, not 0.
	text := nodeMetricsText(1e9, 1, 1, 1)
	text = text[:strings.Index(text, "# TYPE floe_compactor_stored_objects")]
	v, err := parseCounters(text, soakCounters)
	require.NoError(t, err)
	var noCompactor SoakSample
	noCompactor.fillNode(&nodeReading{values: v, at: t0}, nil)
	require.False(t, noCompactor.has(metricBacklogAge))
	require.Contains(t, noCompactor.Missing, "floe_compactor_backlog_age_seconds")
	require.True(t, noCompactor.has(metricRSS))
}

// soakRun builds the report of a fake run: one sample every 30 s for minutes, warmup
// first, with the values f gives at each second since the start.
func soakRun(minutes int, f func(sec float64, s *SoakSample)) (Report, []SoakSample) {
	rep := Report{
		Workload: Workload{Name: "soak", Consumers: 64, Rate: Rate{PerSecond: 15000}, Warmup: Duration(30 * time.Second),
			Duration: Duration(time.Duration(minutes) * time.Minute)},
		Totals:   Totals{ConsumedMessages: 1_000_000},
		EndToEnd: &LatencyMs{P50: 40, P99: 300},
	}
	var samples []SoakSample
	for sec := 30.0; sec <= 30+float64(minutes*60); sec += 30 {
		s := SoakSample{
			Interval: IntervalStats{Seconds: sec, Warmup: sec <= 30, ProduceRate: 15000, ConsumeRate: 15000,
				EndToEnd: LatencyMs{P50: 40, P99: 200}},
			nodeRead: true,
			RSSBytes: 600 << 20,
			Objects:  5000,
			// 15 MB/s stored, as 15,000 msg/s of 1 KiB are.
			ObjectBytes: sec * 15e6,
			LagSeconds:  300,
			Postgres:    &PgSample{DatabaseBytes: 60 << 20},
		}
		f(sec, &s)
		samples = append(samples, s)
	}
	return rep, samples
}

func TestCheckTargets(t *testing.T) {
	targets := SoakTargets{}.withDefaults()

	t.Run("a run within the targets holds every target", func(t *testing.T) {
		rep, samples := soakRun(30, func(sec float64, s *SoakSample) {
			// Storage grows with the data retained: a merged object per 48 MiB stored and 4
			// bytes of index per message, plus flush objects that pile up between merges
			// and go (a cycle of their own, which is not growth).
			s.Objects = 1000 + sec*15e6/(48<<20)
			s.Postgres.DatabaseBytes = 10<<20 + int64(sec)*15000*4
			if int(sec/30)%2 == 1 {
				s.Objects += 400
				s.ObjectBytes += 400 << 20
			}
		})
		checks := checkTargets(rep, samples, targets)
		require.Len(t, checks, 8)
		for _, c := range checks {
			require.Equal(t, TargetHeld, c.Status, "%s: %s", c.Target, c.Detail)
		}
		require.True(t, strings.HasPrefix(soakSummary(rep, checks), "soak PASS: 8 of 8 targets held over 30m at 15,000 msg/s"), soakSummary(rep, checks))
	})

	t.Run("the misses of the ten-minute run", func(t *testing.T) {
		rep, samples := soakRun(30, func(sec float64, s *SoakSample) {
			s.RSSBytes = 900<<20 + sec*300e3              // 0.93 GB climbing past 1.3 GB
			s.Objects = sec * 19                          // ~1,150 more a minute, never merged
			s.Postgres.DatabaseBytes = int64(sec) * 150e3 // 10 bytes a message
			s.LagSeconds = sec
			if sec == 630 {
				s.Interval.EndToEnd.P99 = 1237
			}
		})
		rep.EndToEnd.P99 = 620
		rep.Totals.ConsumeErrors = 3
		checks := checkTargets(rep, samples, targets)
		require.Len(t, checks, 8)
		for _, c := range checks {
			require.Equal(t, TargetMissed, c.Status, "%s: %s", c.Target, c.Detail)
		}
		require.Equal(t, "worst 1,237 ms at 630 s; 1 of 60 intervals over", checks[0].Detail)
		require.Equal(t, "620 ms", checks[1].Detail)
		require.Equal(t, "0 produce, 3 consume, 0 acks failed", checks[7].Detail)
	})

	t.Run("a short run cannot judge storage", func(t *testing.T) {
		rep, samples := soakRun(2, func(float64, *SoakSample) {})
		checks := checkTargets(rep, samples, targets)
		byName := map[string]TargetCheck{}
		for _, c := range checks {
			byName[c.Target] = c
		}
		require.Equal(t, TargetNotJudged, byName["Postgres grows ≤ 6 B per message stored after 21m"].Status)
		require.Equal(t, TargetNotJudged, byName["objects grow ≤ 1 per 16 MiB stored after 21m"].Status)
		require.Equal(t, TargetNotJudged, byName["floe RSS flat over the last 20m"].Status, "the window would take in the start")
		require.Equal(t, "soak FAIL: 5 of 8 targets held over 2m at 15,000 msg/s; not judged: floe RSS flat over the last 20m; Postgres grows ≤ 6 B per message stored after 21m; objects grow ≤ 1 per 16 MiB stored after 21m",
			soakSummary(rep, checks))

		// A shorter window judges it.
		short := targets
		short.FlatWindow = time.Minute
		for _, c := range checkTargets(rep, samples, short) {
			if strings.HasPrefix(c.Target, "floe RSS flat") {
				require.Equal(t, TargetHeld, c.Status)
				require.Equal(t, "+0 MiB over 90–150 s (mean 600 MiB; allowed +64 MiB)", c.Detail)
			}
		}
	})

	t.Run("without the compactor or Postgres", func(t *testing.T) {
		rep, samples := soakRun(30, func(_ float64, s *SoakSample) {
			s.Postgres = nil
			s.Missing = []string{metricBacklogAge.String(), metricStoredObjects.String()}
		})
		checks := checkTargets(rep, samples, targets)
		for _, c := range checks {
			switch {
			case strings.HasPrefix(c.Target, "Postgres"), strings.HasPrefix(c.Target, "objects"), strings.HasPrefix(c.Target, "compaction"):
				require.Equal(t, TargetNotJudged, c.Status, c.Target)
			default:
				require.Equal(t, TargetHeld, c.Status, c.Target)
			}
		}
	})
}

func TestGrowthCheck(t *testing.T) {
	targets := SoakTargets{}.withDefaults()
	byName := func(checks []TargetCheck, prefix string) TargetCheck {
		for _, c := range checks {
			if strings.HasPrefix(c.Target, prefix) {
				return c
			}
		}
		t.Fatalf("no check %q", prefix)
		return TargetCheck{}
	}
	// 5 bytes of index per message at 15,000 msg/s, a merged object per 32 MiB stored.
	rep, samples := soakRun(30, func(sec float64, s *SoakSample) {
		s.Postgres.DatabaseBytes = 10<<20 + int64(sec)*15000*5
		s.Objects = 1000 + sec*15e6/(32<<20)
	})
	checks := checkTargets(rep, samples, targets)
	pg := byName(checks, "Postgres grows")
	require.Equal(t, TargetHeld, pg.Status, pg.Detail)
	require.Equal(t, "5 B per message over 1260–1830 s (+41 MiB for 8,550,000 messages; 100 MiB → 141 MiB)", pg.Detail)
	objs := byName(checks, "objects grow")
	require.Equal(t, TargetHeld, objs.Status, objs.Detail)
	require.Equal(t, "1 per 32 MiB over 1260–1830 s (+255 objects for +8154 MiB stored; 1,563 → 1,818)", objs.Detail)

	// Tighter bounds than the run's growth miss.
	tight := targets
	tight.PgBytesPerMessage, tight.BytesPerObject = 4.9, 33<<20
	checks = checkTargets(rep, samples, tight)
	require.Equal(t, TargetMissed, byName(checks, "Postgres grows").Status)
	require.Equal(t, TargetMissed, byName(checks, "objects grow").Status)

	// Without production over the window there is nothing to judge growth by.
	for i := range samples {
		if samples[i].seconds() >= 1260 {
			samples[i].Interval.ProduceRate = 0
			samples[i].ObjectBytes = 0
		}
	}
	checks = checkTargets(rep, samples, targets)
	require.Equal(t, TargetNotJudged, byName(checks, "Postgres grows").Status)
	require.Equal(t, TargetNotJudged, byName(checks, "objects grow").Status)
}

func TestHistogramQuantileSince(t *testing.T) {
	bounds := []float64{0.01, 0.1, math.Inf(1)}
	h := func(counts ...float64) histogram { return histogram{bounds: bounds, counts: counts} }
	prev := h(10, 20, 20)

	v, ok := h(110, 120, 120).quantileSince(prev, 0.5)
	require.True(t, ok)
	require.InDelta(t, 0.005, v, 1e-12, "100 observations, all within 10 ms: the median halfway")

	v, ok = h(20, 20, 120).quantileSince(prev, 0.99)
	require.True(t, ok)
	require.Equal(t, 0.1, v, "past the last finite bound: that bound")

	_, ok = prev.quantileSince(prev, 0.99)
	require.False(t, ok, "no observation in the interval")
	_, ok = h(30, 40, 40).quantileSince(histogram{}, 0.99)
	require.False(t, ok, "no earlier reading")
}

func TestSoakSummaryNamesWhatMissed(t *testing.T) {
	rep := Report{Workload: Workload{Rate: Rate{PerSecond: 15000}, Duration: Duration(30 * time.Minute)}}
	checks := []TargetCheck{
		{Target: "end-to-end p99 of every 30s interval ≤ 350ms", Status: TargetMissed, Detail: "worst 1,237 ms at 630 s; 3 of 60 intervals over"},
		{Target: "end-to-end p99 of the run ≤ 500ms", Status: TargetHeld, Detail: "420 ms"},
		{Target: "0 failed calls", Status: TargetHeld},
	}
	require.Equal(t, "soak FAIL: 2 of 3 targets held over 30m at 15,000 msg/s; missed: end-to-end p99 of every 30s interval ≤ 350ms (worst 1,237 ms at 630 s; 3 of 60 intervals over)",
		soakSummary(rep, checks))
	rep.Workload.Rate = MaxRate
	checks[0].Status = TargetHeld
	require.Equal(t, "soak PASS: 3 of 3 targets held over 30m at rate max", soakSummary(rep, checks))
}

func TestTrend(t *testing.T) {
	rise, mean := trend([]float64{0, 10, 20, 30}, []float64{5, 5, 5, 5})
	require.Zero(t, rise)
	require.Equal(t, 5.0, mean)
	rise, mean = trend([]float64{100, 200, 300}, []float64{10, 30, 50})
	require.InDelta(t, 40, rise, 1e-9)
	require.InDelta(t, 30, mean, 1e-9)
	rise, _ = trend([]float64{0, 1, 2}, []float64{9, 5, 1})
	require.Negative(t, rise, "a falling line")
}

func TestSoakChartAndFiles(t *testing.T) {
	rep, samples := soakRun(2, func(sec float64, s *SoakSample) {
		s.Postgres.Tables = []PgTable{{Name: "chunks", Bytes: 40 << 20}, {Name: "deliveries", Bytes: 10 << 20}}
		s.StageP99Ms = map[string]float64{"produce": 180, "commit": 30, "receive": 60, "ack": 25}
		s.DeletesPerSec = 8
		s.CPUCores = map[string]float64{"floe": 0.5, "minio": 0.2}
	})
	r := SoakReport{Workload: rep, SampleSeconds: 30, Targets: SoakTargets{}.withDefaults(), Samples: samples}
	r.Checks = checkTargets(rep, samples, r.Targets)
	r.Summary = soakSummary(rep, r.Checks)
	svg := r.ChartSVG()
	for _, name := range []string{"p99", "target p99 350ms", "RSS", "RSS bound", "database", "chunks", "deliveries", "dead tuples",
		"objects", "waiting to merge", "oldest unmerged flush", "goroutines", "produce", "commit", "receive", "ack", "deletes", "floe", "minio"} {
		require.Contains(t, svg, `data-series="`+name+`"`)
	}
	dir := t.TempDir()
	require.NoError(t, r.WriteFiles(dir))
	md, err := os.ReadFile(dir + "/result.md")
	require.NoError(t, err)
	require.Contains(t, string(md), r.Summary)
	require.Contains(t, string(md), "](workload-chart.svg)")
	for _, f := range []string{"result.json", "chart.svg", "workload-chart.svg"} {
		require.FileExists(t, dir+"/"+f)
	}
}
