package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Report is what RunWorkload measured, in the form of result.json: the workload as run,
// the machine, totals and percentiles over the measured part, cost figures, and a time
// series of the whole run (warmup included, marked). Latencies are in milliseconds.
type Report struct {
	// Workload is the workload as run, defaults and command-line overrides applied.
	Workload Workload `json:"workload"`
	// Command is the command line that ran it.
	Command string `json:"command,omitempty"`
	// Machine is where it ran.
	Machine Machine `json:"machine"`
	// Started is when producing began (UTC).
	Started time.Time `json:"started"`
	// Totals are the counts and rates of the measured part.
	Totals Totals `json:"totals"`
	// Publish is the produce latency: from a request's intended start to its
	// acknowledgement (see RunWorkload for "intended").
	Publish LatencyMs `json:"publishLatencyMs"`
	// EndToEnd is from a message's intended send to the return of the receive that got
	// it; nil when producing only.
	EndToEnd *LatencyMs `json:"endToEndLatencyMs,omitempty"`
	// Cost holds the server-side cost figures.
	Cost Cost `json:"cost"`
	// Series has one point per interval of the run.
	Series []IntervalStats `json:"series"`
	// Notes are remarks worth printing next to the numbers.
	Notes []string `json:"notes,omitempty"`
}

// Totals are the counts and rates of a run's measured part.
type Totals struct {
	// MeasuredSeconds is the length of the measured part.
	MeasuredSeconds float64 `json:"measuredSeconds"`
	// ProducedMessages and ProducedBytes count messages (and their body bytes) the server
	// acknowledged.
	ProducedMessages int64 `json:"producedMessages"`
	ProducedBytes    int64 `json:"producedBytes"`
	// ProduceRate is ProducedMessages per second; ProduceMiBPerSec the same in body MiB.
	ProduceRate      float64 `json:"produceMsgsPerSec"`
	ProduceMiBPerSec float64 `json:"produceMiBPerSec"`
	// ProduceErrors counts failed produce requests.
	ProduceErrors int64 `json:"produceErrors"`
	// FirstProduceError is the text of the first, warmup included.
	FirstProduceError string `json:"firstProduceError,omitempty"`
	// BehindSchedule counts, at a fixed rate, messages due before the end but never sent.
	BehindSchedule int64 `json:"behindSchedule"`
	// BacklogPauses counts producer waits for consumers (rate max with consumers).
	BacklogPauses int64 `json:"backlogPauses"`
	// ConsumedMessages counts messages received and acked with status OK.
	ConsumedMessages int64 `json:"consumedMessages"`
	// ConsumeRate is ConsumedMessages per second.
	ConsumeRate float64 `json:"consumeMsgsPerSec"`
	// ConsumeErrors counts failed receive and ack calls; AckFailures handles acked too late.
	ConsumeErrors int64 `json:"consumeErrors"`
	AckFailures   int64 `json:"ackFailures"`
	// FirstConsumeError is the text of the first failed consume call, warmup included.
	FirstConsumeError string `json:"firstConsumeError,omitempty"`
	// BacklogAtEnd is messages produced and not consumed when the run ended.
	BacklogAtEnd int64 `json:"backlogAtEnd"`
	// PgTxPerReceive and PgTxPerAck are Postgres transactions per consume call.
	PgTxPerReceive float64 `json:"pgTxPerReceive,omitempty"`
	PgTxPerAck     float64 `json:"pgTxPerAck,omitempty"`
	// PgTxPerConsumed is Postgres transactions of every operation (producing included)
	// per message consumed; PgTxConsumePerConsumed only the receive and ack ones.
	PgTxPerConsumed        float64 `json:"pgTxPerConsumedMessage,omitempty"`
	PgTxConsumePerConsumed float64 `json:"pgTxReceiveAckPerConsumedMessage,omitempty"`
	// GetsPerGiBConsumed is object GETs per GiB of message bodies consumed.
	GetsPerGiBConsumed float64 `json:"getsPerGiBConsumed,omitempty"`
	// Groups has each consumer group's numbers when there are several.
	Groups []GroupTotals `json:"groups,omitempty"`
	// Priorities has, on a PRIORITY topic, each priority's end-to-end latency, highest
	// priority first.
	Priorities []PriorityTotals `json:"priorities,omitempty"`
}

// PriorityTotals is one priority's share of a run on a PRIORITY topic.
type PriorityTotals struct {
	Priority         int       `json:"priority"`
	MeasuredMessages int64     `json:"measuredMessages"`
	EndToEnd         LatencyMs `json:"endToEndLatencyMs"`
}

// GroupTotals is one consumer group's share of a run with several.
type GroupTotals struct {
	Group            string    `json:"group"`
	ConsumedMessages int64     `json:"consumedMessages"`
	ConsumeRate      float64   `json:"consumeMsgsPerSec"`
	Errors           int64     `json:"errors"`
	EndToEnd         LatencyMs `json:"endToEndLatencyMs"`
}

// Cost holds the figures that decide what running Floe costs, read from the server's
// /metrics at the start and the end of the measured part. They cover every client of the
// node and its compactor, if it runs one.
type Cost struct {
	// PutsPerGiB and GetsPerGiB are object requests (GETs: whole and ranged) per GiB of
	// message bodies produced.
	PutsPerGiB float64 `json:"putsPerGiB"`
	GetsPerGiB float64 `json:"getsPerGiB"`
	// PgTxPerSec and PgTxPerGiB are Postgres transactions per second and per GiB produced.
	PgTxPerSec float64 `json:"pgTxPerSec"`
	PgTxPerGiB float64 `json:"pgTxPerGiB"`
	// FlushesPerSec is ingest flushes (one segment PUT each) per second.
	FlushesPerSec float64 `json:"flushesPerSec"`
	// StoredBytesPerProducedByte is segment bytes written by flushes per body byte the
	// server ingested; CompressionRatio is its inverse. Benchmark bodies are random, so
	// about 1: the worst case.
	StoredBytesPerProducedByte float64 `json:"storedBytesPerProducedByte"`
	CompressionRatio           float64 `json:"compressionRatio"`
	// PutBytesPerProducedByte is all bytes PUT, compaction included, per body byte the
	// benchmark produced.
	PutBytesPerProducedByte float64 `json:"putBytesPerProducedByte"`
	// Counters maps each counter read to its increase.
	Counters map[string]float64 `json:"counters"`
	// Missing lists counters /metrics did not have; they count as 0.
	Missing []string `json:"missingCounters,omitempty"`
}

// LatencyMs is a latency summary in milliseconds.
type LatencyMs struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

// millis converts percentiles to milliseconds, rounded to microseconds.
func millis(p Percentiles) LatencyMs {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return LatencyMs{P50: ms(p.P50), P90: ms(p.P90), P99: ms(p.P99), P999: ms(p.P999), Max: ms(p.Max)}
}

// IntervalStats is one point of a run's time series: one interval of the run.
type IntervalStats struct {
	// Seconds is when the interval ended, in seconds since the run started.
	Seconds float64 `json:"t"`
	// Warmup is set for intervals that ended before measuring started.
	Warmup bool `json:"warmup,omitempty"`
	// ProduceRate and ConsumeRate are messages per second over the interval.
	ProduceRate float64 `json:"produceMsgsPerSec"`
	ConsumeRate float64 `json:"consumeMsgsPerSec"`
	// Publish and EndToEnd are the latencies of the requests answered (messages
	// received) during the interval.
	Publish  LatencyMs `json:"publishLatencyMs"`
	EndToEnd LatencyMs `json:"endToEndLatencyMs"`
	// ProduceErrors and ConsumeErrors count failed calls during the interval.
	ProduceErrors int64 `json:"produceErrors"`
	ConsumeErrors int64 `json:"consumeErrors"`
	// Backlog is messages produced and not yet consumed at the end of the interval.
	Backlog int64 `json:"backlog"`
}

// fillProduce copies the produce side's totals into the report.
func (r *Report) fillProduce(p Result) {
	r.Totals.MeasuredSeconds = p.Duration.Seconds()
	r.Totals.ProducedMessages = p.Messages
	r.Totals.ProducedBytes = p.Bytes
	r.Totals.ProduceRate = p.MsgsPerSec
	r.Totals.ProduceMiBPerSec = p.MiBPerSec
	r.Totals.ProduceErrors = p.Errors
	r.Totals.FirstProduceError = p.FirstError
	r.Totals.BehindSchedule = p.Behind
	r.Totals.BacklogPauses = p.BacklogPauses
	r.Publish = millis(p.Latency)
	r.Notes = append(r.Notes, p.Notes...)
}

// fillConsume copies the consume side's totals into the report; backlog is the messages
// produced and not consumed at the end.
func (r *Report) fillConsume(c ConsumeResult, backlog int64) {
	r.Totals.ConsumedMessages = c.Messages
	r.Totals.ConsumeRate = c.MsgsPerSec
	r.Totals.ConsumeErrors = c.Errors
	r.Totals.AckFailures = c.AckFailures
	r.Totals.FirstConsumeError = c.FirstError
	r.Totals.BacklogAtEnd = backlog
	r.Totals.PgTxPerReceive = c.PgTxPerReceive
	r.Totals.PgTxPerAck = c.PgTxPerAck
	r.Totals.PgTxPerConsumed = c.PgTxPerMessage
	r.Totals.PgTxConsumePerConsumed = c.PgTxConsumePerMessage
	r.Totals.GetsPerGiBConsumed = c.GetsPerGiB
	if len(c.Groups) > 1 {
		for _, g := range c.Groups {
			r.Totals.Groups = append(r.Totals.Groups, GroupTotals{Group: g.Group, ConsumedMessages: g.Messages,
				ConsumeRate: g.MsgsPerSec, Errors: g.Errors + g.AckFailures, EndToEnd: millis(g.EndToEnd)})
		}
	}
	for _, p := range c.Priorities {
		r.Totals.Priorities = append(r.Totals.Priorities, PriorityTotals{Priority: p.Priority, MeasuredMessages: p.Messages, EndToEnd: millis(p.EndToEnd)})
	}
	e2e := millis(c.EndToEnd)
	r.EndToEnd = &e2e
	r.Notes = append(r.Notes, c.Notes...)
}

// rateMode describes how the producers were driven.
func (r Report) rateMode() string {
	w := r.Workload
	switch {
	case !w.Rate.Max:
		return fmt.Sprintf("fixed %s msg/s (latency from the intended send: coordinated omission corrected)", thousands(float64(w.Rate.PerSecond)))
	case w.Consumers > 0:
		return fmt.Sprintf("max: closed loop, at most %d requests in flight and %s messages unconsumed", w.Producers, thousands(float64(w.MaxBacklog)))
	default:
		return fmt.Sprintf("max: closed loop, at most %d requests in flight", w.Producers)
	}
}

// Markdown renders the report as result.md: the workload, the machine, a table of the
// numbers, the chart (chart.svg next to it) and the notes.
func (r Report) Markdown() string {
	var b strings.Builder
	w := r.Workload
	t := r.Totals
	fmt.Fprintf(&b, "# %s\n\n", w.Name)
	if r.Command != "" {
		fmt.Fprintf(&b, "`%s`, started %s\n\n", r.Command, r.Started.Format(time.RFC3339))
	} else {
		fmt.Fprintf(&b, "Started %s\n\n", r.Started.Format(time.RFC3339))
	}
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %.1f GiB, %s/%s %s, %s; load average %s at start, %s at end.\n\n",
		m.CPUs, cmpOr(m.CPUModel, "unknown CPU"), m.MemoryGiB, m.OS, m.Arch, m.Kernel, m.GoVersion,
		cmpOr(m.LoadAvgStart, "?"), cmpOr(m.LoadAvgEnd, "?"))

	consumers := "none (produce only)"
	if w.Consumers > 0 {
		consumers = fmt.Sprintf("%d × receive %d + ack, group %s", w.Consumers, w.ReceiveBatch, w.Group)
		if w.Groups > 1 {
			consumers = fmt.Sprintf("%d groups (%s-1 to %s-%d), each %d × receive %d + ack",
				w.Groups, w.Group, w.Group, w.Groups, w.Consumers, w.ReceiveBatch)
		}
	}
	rows := [][2]string{
		{"topic", fmt.Sprintf("%s, %s, %d queues", w.Topic, w.TopicType, w.Queues)},
		{"messages", fmt.Sprintf("%d B, %d per send", w.MessageSize, w.BatchSize)},
		{"producers", strconv.Itoa(w.Producers)},
		{"consumers", consumers},
		{"rate", r.rateMode()},
		{"warmup + measured", fmt.Sprintf("%s + %s", time.Duration(w.Warmup), time.Duration(w.Duration))},
	}
	writeTable(&b, "workload", rows)
	b.WriteString("\n")

	rows = [][2]string{
		{"produced", fmt.Sprintf("%s msg/s, %.2f MiB/s (%s messages in %.1f s)",
			thousands(t.ProduceRate), t.ProduceMiBPerSec, thousands(float64(t.ProducedMessages)), t.MeasuredSeconds)},
		{"publish latency p50 / p90 / p99 / p99.9 / max", r.Publish.String()},
	}
	if !w.Rate.Max {
		rows = append(rows, [2]string{"behind schedule at the end", thousands(float64(t.BehindSchedule)) + " messages"})
	}
	if r.EndToEnd != nil {
		rows = append(rows,
			[2]string{"consumed", fmt.Sprintf("%s msg/s (%s messages)", thousands(t.ConsumeRate), thousands(float64(t.ConsumedMessages)))},
			[2]string{"end-to-end latency p50 / p90 / p99 / p99.9 / max", r.EndToEnd.String()},
			[2]string{"backlog at the end", thousands(float64(t.BacklogAtEnd)) + " messages" + map[bool]string{true: " (slowest group)"}[len(t.Groups) > 0]})
		for _, p := range t.Priorities {
			rows = append(rows, [2]string{fmt.Sprintf("priority %d: end-to-end p50 / p90 / p99 / p99.9 / max", p.Priority),
				fmt.Sprintf("%s (%s messages)", p.EndToEnd, thousands(float64(p.MeasuredMessages)))})
		}
		for _, g := range t.Groups {
			rows = append(rows, [2]string{"group " + g.Group + ": consumed, end-to-end p50 / p90 / p99 / p99.9 / max",
				fmt.Sprintf("%s msg/s; %s", thousands(g.ConsumeRate), g.EndToEnd)})
		}
		if w.Rate.Max {
			rows = append(rows, [2]string{"producer pauses for the backlog", thousands(float64(t.BacklogPauses))})
		}
	}
	rows = append(rows,
		[2]string{"errors (produce / consume calls)", fmt.Sprintf("%d / %d", t.ProduceErrors, t.ConsumeErrors+t.AckFailures)},
		[2]string{"object PUTs per GiB produced", fmt.Sprintf("%.1f", r.Cost.PutsPerGiB)},
		[2]string{"object GETs per GiB produced", fmt.Sprintf("%.1f", r.Cost.GetsPerGiB)},
		[2]string{"Postgres transactions/s", fmt.Sprintf("%.1f (%.1f per GiB)", r.Cost.PgTxPerSec, r.Cost.PgTxPerGiB)},
		[2]string{"bytes stored per byte produced", fmt.Sprintf("%.3f (compression ratio %.3f)", r.Cost.StoredBytesPerProducedByte, r.Cost.CompressionRatio)},
		[2]string{"bytes PUT per byte produced (with compaction)", fmt.Sprintf("%.3f", r.Cost.PutBytesPerProducedByte)},
	)
	if r.EndToEnd != nil {
		rows = append(rows, [2]string{"Postgres transactions per receive / per ack", fmt.Sprintf("%.2f / %.2f", t.PgTxPerReceive, t.PgTxPerAck)},
			[2]string{"Postgres transactions per consumed message: all (producing included) / receive+ack",
				fmt.Sprintf("%.4f / %.4f", t.PgTxPerConsumed, t.PgTxConsumePerConsumed)},
			[2]string{"object GETs per GiB consumed", fmt.Sprintf("%.1f", t.GetsPerGiBConsumed)})
	}
	writeTable(&b, "result", rows)
	b.WriteString("\n![throughput and latency percentiles over time](chart.svg)\n")

	var notes []string
	if t.FirstProduceError != "" {
		notes = append(notes, "first produce error: "+t.FirstProduceError)
	}
	if t.FirstConsumeError != "" {
		notes = append(notes, "first consume error: "+t.FirstConsumeError)
	}
	writeNotes(&b, "", append(notes, r.Notes...))
	return b.String()
}

// String renders the summary as "p50 / p90 / p99 / p99.9 / max ms".
func (l LatencyMs) String() string {
	return fmt.Sprintf("%s / %s / %s / %s / %s ms", fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
}

// fmtMs renders milliseconds with a precision that suits their size.
func fmtMs(ms float64) string {
	if ms >= 100 {
		return thousands(ms)
	}
	return strconv.FormatFloat(ms, 'f', 1, 64)
}

// thousands renders x rounded to a whole number with thousands separators: 49,812.
func thousands(x float64) string {
	n := int64(math.Round(x))
	s := strconv.FormatInt(max(n, -n), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// cmpOr returns s, or alt when s is empty.
func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// WriteFiles writes result.json, result.md and chart.svg into dir, creating it.
func (r Report) WriteFiles(dir string) error {
	return writeResult(dir, r, r.Markdown(), map[string]string{"chart.svg": r.ChartSVG()})
}

// writeResult writes result (as result.json), markdown (as result.md) and the named
// charts into dir, creating it.
func writeResult(dir string, result any, markdown string, charts map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating result folder: %w", err)
	}
	js, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding result.json: %w", err)
	}
	files := map[string][]byte{"result.json": append(js, '\n'), "result.md": []byte(markdown)}
	for name, svg := range charts {
		files[name] = []byte(svg)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
