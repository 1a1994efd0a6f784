package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

func TestConsumeConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	p := ProduceConfig{Topic: "orders", Duration: 10 * time.Second}.withDefaults()
	cfg := ConsumeConfig{}.withDefaults(p)
	require.Equal(t, ConsumeConfig{Group: "floe-bench", Topic: "orders", Groups: 1, Consumers: 16, BatchSize: 32,
		InvisibleSeconds: 30, WaitSeconds: 1, Duration: 10 * time.Second}, cfg)
	require.NoError(t, cfg.validate(p))

	other := ConsumeConfig{Topic: "payments"}.withDefaults(p)
	require.ErrorContains(t, other.validate(p), "differs from produce topic")
	neg := ConsumeConfig{Consumers: -1}.withDefaults(p)
	require.Error(t, neg.validate(p))
}

func TestRunProduceConsume(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	var progress bytes.Buffer
	pcfg := ProduceConfig{Topic: "pc", MessageSize: 64, BatchSize: 4, Producers: 2, Rate: 800,
		Warmup: 200 * time.Millisecond, Duration: time.Second}
	// Consumers outlast producers, so that on a starved machine messages sent late are
	// still consumed in the measured window.
	ccfg := ConsumeConfig{Group: "g1", Consumers: 2, BatchSize: 8, Duration: 3 * time.Second}

	res, err := RunProduceConsume(context.Background(), c, pcfg, ccfg, &progress)
	require.NoError(t, err)

	require.Equal(t, client.GroupSpec{Name: "g1", DeliveryOrder: client.Concurrent}, fb.groups["g1"])
	require.Equal(t, "*", fb.subscriptions["g1/pc"])
	require.Equal(t, 1, fb.resets)

	require.Equal(t, int64(800), res.Produce.Messages)
	require.Empty(t, res.Produce.MissingMetrics)

	cr := res.Consume
	require.Equal(t, "pc", cr.Config.Topic)
	require.Zero(t, cr.Errors)
	require.Zero(t, cr.AckFailures)
	require.Positive(t, cr.Messages)
	require.LessOrEqual(t, cr.Messages, int64(fb.acked))
	require.LessOrEqual(t, fb.acked, fb.stored)
	require.Positive(t, cr.Receives)
	require.Positive(t, cr.Acks)
	require.InDelta(t, float64(cr.Messages)/cr.Duration.Seconds(), cr.MsgsPerSec, 0.001)
	e := cr.EndToEnd
	require.Positive(t, e.P50)
	require.True(t, e.P50 <= e.P99 && e.P99 <= e.Max)

	// The labelled transaction counters are read; the ratios are TestConsumeCost's, since
	// on a busy machine the readings of /metrics need not line up with the counted calls.
	require.Empty(t, cr.MissingMetrics)
	require.Len(t, cr.Metrics, 2)
	require.Zero(t, cr.PgTxPerConsumeCall)
	require.Empty(t, cr.Notes)

	for line := range strings.Lines(progress.String()) {
		require.Regexp(t, `produce .* msg/s .* \| consume \s+\d+ msg/s  e2e p99 \s*[\d.]+ ms  errors \d+\n$`, line)
	}

	md := res.Markdown()
	require.Contains(t, md, "| produce | |")
	require.Contains(t, md, "| consume | |")
	require.Contains(t, md, "| Postgres transactions per receive |")
}

func TestRunProduceConsumeEstimatesUnlabelledTransactions(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{unlabelledTx: true}
	c := fb.start(t)
	pcfg := ProduceConfig{Topic: "pc2", MessageSize: 64, BatchSize: 4, Producers: 1, Rate: 400, Duration: 500 * time.Millisecond}
	ccfg := ConsumeConfig{Consumers: 1, BatchSize: 4, Duration: 2 * time.Second}

	res, err := RunProduceConsume(context.Background(), c, pcfg, ccfg, nil)
	require.NoError(t, err)
	cr := res.Consume
	require.Len(t, cr.MissingMetrics, 2)
	require.Zero(t, cr.PgTxPerReceive)
	require.Zero(t, cr.PgTxPerAck)
	require.Contains(t, strings.Join(cr.Notes, "\n"), "estimate")
	require.Contains(t, cr.Markdown(), "| Postgres transactions per receive or ack (estimate) |")
}

func TestConsumerSkipsForeignMessagesInEndToEnd(t *testing.T) {
	t.Parallel()
	start := time.Now()
	cn := &consumer{win: newWindow(start, time.Second, time.Second), live: &liveStats{}}
	old := make([]byte, 8)
	putSendTime(old, start.Add(-time.Hour))
	warm := make([]byte, 8)
	putSendTime(warm, start.Add(500*time.Millisecond))
	measured := make([]byte, 8)
	putSendTime(measured, start.Add(1500*time.Millisecond))
	received := start.Add(1600 * time.Millisecond)

	cn.recordEndToEnd([]byte("hi"), nil, received, true)  // too short
	cn.recordEndToEnd(old, nil, received, true)           // from before the run
	cn.recordEndToEnd(warm, nil, received, true)          // sent during warmup, received while measuring: counted
	cn.recordEndToEnd(measured, nil, received, true)      // counted
	cn.recordEndToEnd(measured, nil, start.Add(0), false) // "sent" after it was received: skipped
	require.Equal(t, uint64(2), cn.hist.Count())
	require.Equal(t, 100*time.Millisecond, cn.hist.Min())
	require.Equal(t, 1100*time.Millisecond, cn.hist.Max())

	var live Histogram
	cn.live.latency.drainInto(&live)
	require.Equal(t, uint64(2), live.Count(), "progress shows warmup messages too")
}

// On a PRIORITY topic, each priority's latencies are reported apart, highest first.
func TestConsumeResultPerPriority(t *testing.T) {
	t.Parallel()
	start := time.Now()
	win := newWindow(start, 0, time.Minute)
	cs := &consumerSet{win: win, groups: []string{"g"}}
	sentAt := func(d time.Duration) []byte {
		b := make([]byte, 8)
		putSendTime(b, start.Add(d))
		return b
	}
	prio := func(p int) *int { return &p }
	for i := range 2 {
		cn := &consumer{win: win, live: &liveStats{}}
		// Priority 3 waits 10 ms, priority 0 waits 100 ms (+i ms on consumer i).
		cn.recordEndToEnd(sentAt(time.Second), prio(3), start.Add(time.Second+10*time.Millisecond+time.Duration(i)*time.Millisecond), true)
		cn.recordEndToEnd(sentAt(time.Second), prio(0), start.Add(time.Second+100*time.Millisecond+time.Duration(i)*time.Millisecond), true)
		cn.recordEndToEnd(sentAt(time.Second), prio(0), start.Add(time.Second+100*time.Millisecond), true)
		cs.consumers = append(cs.consumers, cn)
	}
	res := cs.result(start.Add(time.Minute))
	require.Len(t, res.Priorities, 2)
	require.Equal(t, 3, res.Priorities[0].Priority)
	require.EqualValues(t, 2, res.Priorities[0].Messages)
	require.InDelta(t, 10*time.Millisecond, res.Priorities[0].EndToEnd.P50, float64(2*time.Millisecond))
	require.Equal(t, 0, res.Priorities[1].Priority)
	require.EqualValues(t, 4, res.Priorities[1].Messages)
	require.InDelta(t, 100*time.Millisecond, res.Priorities[1].EndToEnd.P99, float64(3*time.Millisecond))
	require.Contains(t, res.Markdown(), "| priority 3: messages measured, end-to-end p50 / p99 | 2, ")
}

func TestConsumeCost(t *testing.T) {
	t.Parallel()
	labelled := counterDeltas{values: counterValues{
		metricPgTx.String(): 500, metricFlushes.String(): 100,
		metricPgTxRecv.String(): 300, metricPgTxAck.String(): 100,
	}, elapsed: 10 * time.Second}
	r := ConsumeResult{Receives: 200, Acks: 100}
	r.addCost(labelled, 1024)
	require.InDelta(t, 1.5, r.PgTxPerReceive, 1e-9)
	require.InDelta(t, 1.0, r.PgTxPerAck, 1e-9)
	require.Zero(t, r.PgTxPerConsumeCall)
	require.Empty(t, r.MissingMetrics)
	require.Empty(t, r.Notes)
	require.Equal(t, counterValues{metricPgTxRecv.String(): 300, metricPgTxAck.String(): 100}, counterValues(r.Metrics))

	unlabelled := counterDeltas{values: counterValues{metricPgTx.String(): 500, metricFlushes.String(): 100},
		missing: []string{metricPgTxRecv.String(), metricPgTxAck.String()}}
	r = ConsumeResult{Receives: 200, Acks: 200}
	r.addCost(unlabelled, 1024)
	require.Zero(t, r.PgTxPerReceive)
	require.InDelta(t, 1.0, r.PgTxPerConsumeCall, 1e-9, "(500 - 100) / (200 + 200)")
	require.Len(t, r.MissingMetrics, 2)
	require.Len(t, r.Notes, 1)

	nothing := counterDeltas{values: counterValues{}, missing: []string{
		metricPgTx.String(), metricFlushes.String(), metricPgTxRecv.String(), metricPgTxAck.String()}}
	r = ConsumeResult{Receives: 5, Acks: 5}
	r.addCost(nothing, 1024)
	require.Zero(t, r.PgTxPerConsumeCall)
}

func TestConsumeResultMarkdown(t *testing.T) {
	t.Parallel()
	r := ConsumeResult{
		Config:   ConsumeConfig{Group: "g", Topic: "t", Consumers: 16, BatchSize: 32, InvisibleSeconds: 30, WaitSeconds: 1},
		Messages: 1000, Receives: 40, Acks: 35, Errors: 1, AckFailures: 2,
		Duration: 10 * time.Second, MsgsPerSec: 100,
		EndToEnd:       Percentiles{P50: 12 * time.Millisecond, P99: 80 * time.Millisecond, Max: 120 * time.Millisecond},
		PgTxPerReceive: 1.25, PgTxPerAck: 1, PgTxPerMessage: 0.5, PgTxConsumePerMessage: 0.075, GetsPerGiB: 12.5,
		FirstError: "boom",
	}
	want := `| consume | |
|---|---|
| group | g |
| consumers | 16 |
| batch | 32 messages/receive |
| invisible / wait | 30 s / 1 s |
| duration | 10s |
| messages acked | 1000 |
| receive / ack calls | 40 / 35 |
| failed calls / failed acks | 1 / 2 |
| throughput | 100 msg/s |
| end-to-end p50 / p99 / max | 12.00 ms / 80.00 ms / 120.00 ms |
| Postgres transactions per receive | 1.25 |
| Postgres transactions per ack | 1.00 |
| Postgres transactions per consumed message: all (producing included) / receive+ack | 0.5000 / 0.0750 |
| object GETs per GiB consumed | 12.5 |

- first consume error: boom
`
	require.Equal(t, want, r.Markdown())
}

// With several groups every group receives every message: each group's count is the
// whole production, and the report has a row per group.
func TestRunProduceConsumeFanOut(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	pcfg := ProduceConfig{Topic: "fan", MessageSize: 64, BatchSize: 4, Producers: 2, Rate: 400, Duration: time.Second}
	ccfg := ConsumeConfig{Group: "fg", Groups: 3, Consumers: 2, BatchSize: 8, Duration: 3 * time.Second}

	res, err := RunProduceConsume(context.Background(), c, pcfg, ccfg, nil)
	require.NoError(t, err)
	require.Equal(t, int64(400), res.Produce.Messages)
	for _, g := range []string{"fg-1", "fg-2", "fg-3"} {
		require.Equal(t, "*", fb.subscriptions[g+"/fan"], g)
	}
	require.NotContains(t, fb.groups, "fg")

	cr := res.Consume
	require.Len(t, cr.Groups, 3)
	var sum int64
	for i, g := range cr.Groups {
		require.Equal(t, fmt.Sprintf("fg-%d", i+1), g.Group)
		require.Equal(t, int64(400), g.Messages, "group %s receives everything", g.Group)
		require.Positive(t, g.EndToEnd.P99)
		sum += g.Messages
	}
	require.Equal(t, sum, cr.Messages)
	require.Equal(t, 1200, fb.acked)
	md := cr.Markdown()
	require.Contains(t, md, "| group | 3 groups: fg-1, fg-2, fg-3 |")
	require.Contains(t, md, "| group fg-2: throughput, end-to-end p50 / p99, errors |")
	require.Contains(t, cr.Summary(), "over 3 group(s)")
}
