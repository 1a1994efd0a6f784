package bench

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// syntheticReport is a fixed report of a fixed-rate run with consumers: 2 s of warmup and
// 4 s measured, a point a second.
func syntheticReport() Report {
	w := Workload{Name: "1-topic-16-partitions-1kb", Topic: "1-topic-16-partitions-1kb", Group: "g1",
		TopicType: client.TopicNormal, Queues: 16, MessageSize: 1024, Producers: 400, BatchSize: 32,
		Consumers: 32, ReceiveBatch: 32, Rate: Rate{PerSecond: 50000},
		Warmup: Duration(2 * time.Second), Duration: Duration(4 * time.Second)}
	r := Report{
		Workload: w,
		Command:  "floe bench --workload workloads/1-topic-16-partitions-1kb.yaml",
		Machine: Machine{CPUs: 2, CPUModel: "Intel Xeon <test> & co", MemoryGiB: 23.4, GoVersion: "go1.26.8",
			OS: "linux", Arch: "amd64", Kernel: "6.18.0", LoadAvgStart: "0.50 0.40 0.30", LoadAvgEnd: "2.10 1.00 0.50"},
		Started: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Totals: Totals{MeasuredSeconds: 4.01, ProducedMessages: 123456, ProducedBytes: 123456 * 1024,
			ProduceRate: 30864.2, ProduceMiBPerSec: 30.14, ProduceErrors: 3, BehindSchedule: 76544,
			ConsumedMessages: 34567, ConsumeRate: 8641.7, ConsumeErrors: 1, AckFailures: 2, BacklogAtEnd: 88889,
			PgTxPerReceive: 1.06, PgTxPerAck: 1},
		Publish:  LatencyMs{P50: 152.3, P90: 401.9, P99: 2345.6, P999: 3456.7, Max: 4001},
		EndToEnd: &LatencyMs{P50: 5120, P90: 9000, P99: 11000, P999: 11500, Max: 12000},
		Cost: Cost{PutsPerGiB: 412.34, GetsPerGiB: 55.55, PgTxPerSec: 23.45, PgTxPerGiB: 789.1, FlushesPerSec: 9.8,
			StoredBytesPerProducedByte: 1.004, CompressionRatio: 0.996, PutBytesPerProducedByte: 1.876},
		Notes: []string{"topic existed | with 8 queues"},
	}
	for i := range 6 {
		s := float64(i + 1)
		r.Series = append(r.Series, IntervalStats{
			Seconds: s, Warmup: s <= 2,
			ProduceRate: 30000 + 100*s, ConsumeRate: 8000 + 100*s,
			Publish:  LatencyMs{P50: 100 * s, P90: 200 * s, P99: 300 * s, P999: 400 * s, Max: 500 * s},
			EndToEnd: LatencyMs{P50: 1000 * s, P99: 2000 * s, P999: 2500 * s},
			Backlog:  int64(20000 * s),
		})
	}
	// An interval in which no message was received: a gap in the end-to-end lines.
	r.Series[3].EndToEnd = LatencyMs{}
	return r
}

func TestReportMarkdown(t *testing.T) {
	t.Parallel()
	md := syntheticReport().Markdown()
	for _, want := range []string{
		"# 1-topic-16-partitions-1kb\n",
		"`floe bench --workload workloads/1-topic-16-partitions-1kb.yaml`, started 2026-11-25T10:00:00Z",
		"Machine: 2 CPUs (Intel Xeon <test> & co), 23.4 GiB, linux/amd64 6.18.0, go1.26.8; load average 0.50 0.40 0.30 at start, 2.10 1.00 0.50 at end.",
		"| topic | 1-topic-16-partitions-1kb, NORMAL, 16 queues |",
		"| messages | 1024 B, 32 per send |",
		"| consumers | 32 × receive 32 + ack, group g1 |",
		"| rate | fixed 50,000 msg/s (latency from the intended send: coordinated omission corrected) |",
		"| warmup + measured | 2s + 4s |",
		"| produced | 30,864 msg/s, 30.14 MiB/s (123,456 messages in 4.0 s) |",
		"| publish latency p50 / p90 / p99 / p99.9 / max | 152 / 402 / 2,346 / 3,457 / 4,001 ms |",
		"| behind schedule at the end | 76,544 messages |",
		"| consumed | 8,642 msg/s (34,567 messages) |",
		"| end-to-end latency p50 / p90 / p99 / p99.9 / max | 5,120 / 9,000 / 11,000 / 11,500 / 12,000 ms |",
		"| backlog at the end | 88,889 messages |",
		"| errors (produce / consume calls) | 3 / 3 |",
		"| object PUTs per GiB produced | 412.3 |",
		"| object GETs per GiB produced | 55.5 |",
		"| Postgres transactions/s | 23.4 (789.1 per GiB) |",
		"| bytes stored per byte produced | 1.004 (compression ratio 0.996) |",
		"| bytes PUT per byte produced (with compaction) | 1.876 |",
		"| Postgres transactions per receive / per ack | 1.06 / 1.00 |",
		"![throughput and latency percentiles over time](chart.svg)",
		`- topic existed | with 8 queues`,
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "producer pauses", "only at rate max")

	r := syntheticReport()
	r.Workload.Rate = MaxRate
	r.Workload.MaxBacklog = 50000
	r.Totals.BacklogPauses = 1234
	md = r.Markdown()
	require.Contains(t, md, "| rate | max: closed loop, at most 400 requests in flight and 50,000 messages unconsumed |")
	require.Contains(t, md, "| producer pauses for the backlog | 1,234 |")
	require.NotContains(t, md, "behind schedule")

	r.EndToEnd = nil
	r.Workload.Consumers = 0
	md = r.Markdown()
	require.Contains(t, md, "| consumers | none (produce only) |")
	require.NotContains(t, md, "end-to-end")
}

// svgPath is a series line of the chart.
type svgPath struct {
	series string
	d      string
}

// parseSVG decodes the whole document, failing on malformed XML, and returns the root
// element's name, the series paths and all text.
func parseSVG(t *testing.T, svg string) (root string, paths []svgPath, text string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var texts strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Space + " " + el.Name.Local
			}
			if el.Name.Local != "path" {
				continue
			}
			var p svgPath
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "data-series":
					p.series = a.Value
				case "d":
					p.d = a.Value
				}
			}
			if p.series != "" {
				paths = append(paths, p)
			}
		case xml.CharData:
			texts.Write(el)
			texts.WriteByte('\n')
		}
	}
	return root, paths, texts.String()
}

func TestReportChartSVG(t *testing.T) {
	t.Parallel()
	r := syntheticReport()
	root, paths, text := parseSVG(t, r.ChartSVG())
	require.Equal(t, "http://www.w3.org/2000/svg svg", root)

	bySeries := map[string]string{}
	for _, p := range paths {
		bySeries[p.series] = p.d
	}
	require.ElementsMatch(t, []string{"target msg/s", "produce msg/s", "consume msg/s", "publish p50", "publish p99",
		"publish p99.9", "end-to-end p50", "end-to-end p99", "end-to-end p99.9"}, keys(bySeries))
	// One point per interval; the interval without receives breaks the end-to-end lines.
	require.Equal(t, 6, strings.Count(bySeries["produce msg/s"], ",")) // one x,y pair per point
	require.Equal(t, 1, strings.Count(bySeries["produce msg/s"], "M"))
	require.Equal(t, 5, strings.Count(bySeries["end-to-end p99"], ","))
	require.Equal(t, 2, strings.Count(bySeries["end-to-end p99"], "M"), "a gap where there was no data")
	require.Equal(t, 6, strings.Count(bySeries["publish p99.9"], ","))

	for _, want := range []string{"throughput (messages/s)", "latency (ms, log scale)", "warmup", "time since start (s)",
		"rate fixed 50,000 msg/s (latency from the intended send", "100 ms", "1 s", "10 s", "50,000"} {
		require.Contains(t, text, want)
	}

	// Produce only at max rate: no consume, no target, no end-to-end.
	r.Workload.Rate = MaxRate
	r.Workload.Consumers = 0
	r.Workload.Warmup = 0
	_, paths, text = parseSVG(t, r.ChartSVG())
	var names []string
	for _, p := range paths {
		names = append(names, p.series)
	}
	require.ElementsMatch(t, []string{"produce msg/s", "publish p50", "publish p99", "publish p99.9"}, names)
	require.NotContains(t, text, "warmup")

	// An empty series still draws a valid document.
	r.Series = nil
	root, _, _ = parseSVG(t, r.ChartSVG())
	require.Equal(t, "http://www.w3.org/2000/svg svg", root)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReportWriteFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "run")
	r := syntheticReport()
	require.NoError(t, r.WriteFiles(dir))

	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r.Workload, back.Workload)
	require.Equal(t, r.Totals, back.Totals)
	require.Equal(t, r.Series, back.Series)
	require.Equal(t, *r.EndToEnd, *back.EndToEnd)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, k := range []string{"workload", "machine", "totals", "publishLatencyMs", "endToEndLatencyMs", "cost", "series"} {
		require.Contains(t, raw, k)
	}
	require.Equal(t, 152.3, raw["publishLatencyMs"].(map[string]any)["p50"])
	require.Equal(t, 412.34, raw["cost"].(map[string]any)["putsPerGiB"])

	md, err := os.ReadFile(filepath.Join(dir, "result.md"))
	require.NoError(t, err)
	require.Equal(t, r.Markdown(), string(md))
	svg, err := os.ReadFile(filepath.Join(dir, "chart.svg"))
	require.NoError(t, err)
	require.Equal(t, r.ChartSVG(), string(svg))
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 49812: "49,812", 1234567: "1,234,567", -1234: "-1,234"} {
		require.Equal(t, want, thousands(in), "%v", in)
	}
}

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 52500: 100000, 31000: 50000} {
		require.InDelta(t, want, niceCeil(in), 1e-9, "%v", in)
	}
}
