package bench

import (
	"bytes"
	"compress/flate"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

func TestProduceConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	cfg := ProduceConfig{}.withDefaults()
	require.Equal(t, ProduceConfig{Topic: "bench", TopicType: client.TopicNormal, Queues: 8, MessageSize: 1024, BatchSize: 32, Producers: 64, Duration: 30 * time.Second}, cfg)
	require.NoError(t, cfg.validate())

	bad := []ProduceConfig{
		{MessageSize: 7},
		{Queues: -1},
		{BatchSize: -1},
		{Producers: -2},
		{Rate: -1},
		{Duration: -time.Second},
		{Warmup: -time.Second},
		{TopicType: client.TopicTransaction},
		{TopicType: client.TopicDelay},
	}
	for _, b := range bad {
		_, err := RunProduce(context.Background(), client.New("http://127.0.0.1:1"), b, nil)
		require.ErrorContains(t, err, "checking produce config", "%+v", b)
	}
}

func TestRunProduceAtMaxRate(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{sendDelay: func(int) time.Duration { return time.Millisecond }}
	c := fb.start(t)
	var progress bytes.Buffer
	cfg := ProduceConfig{Topic: "t1", Queues: 3, MessageSize: 100, BatchSize: 8, Producers: 4,
		Warmup: 300 * time.Millisecond, Duration: 1200 * time.Millisecond}

	res, err := RunProduce(context.Background(), c, cfg, &progress)
	require.NoError(t, err)

	require.Equal(t, client.Topic{Name: "t1", Type: client.TopicNormal, Queues: 3, RetentionHours: 72}, fb.topics["t1"])
	require.Equal(t, map[int]int{100: fb.stored}, fb.bodySizes, "every body is MessageSize bytes")
	require.Positive(t, res.Messages)
	require.Zero(t, res.Messages%8, "whole batches")
	require.Less(t, res.Messages, int64(fb.stored), "warmup messages are not counted")
	require.Equal(t, res.Messages*100, res.Bytes)
	require.Zero(t, res.Errors)
	require.Empty(t, res.FirstError)
	require.GreaterOrEqual(t, res.Duration, 1200*time.Millisecond)
	require.InDelta(t, float64(res.Messages)/res.Duration.Seconds(), res.MsgsPerSec, 0.001)
	require.InDelta(t, float64(res.Bytes)/mib/res.Duration.Seconds(), res.MiBPerSec, 0.001)

	l := res.Latency
	require.GreaterOrEqual(t, l.P50, time.Millisecond, "the fake holds each request 1 ms")
	require.True(t, l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max, "%+v", l)

	require.Empty(t, res.MissingMetrics)
	require.Len(t, res.Metrics, 4)
	require.Positive(t, res.PgTxPerSec)
	require.Positive(t, res.FlushesPerSec)
	require.InDelta(t, res.PgTxPerSec, res.FlushesPerSec, 0.001, "the fake commits once per flush")
	// The fake does one PUT per request; the exact ratios are TestProduceCost's, since the
	// readings of /metrics and the measured requests need not line up on a busy machine.
	require.Positive(t, res.PutsPerMiB)
	require.Positive(t, res.PutBytesPerByte)

	// A starved machine may print no progress line in so short a run; when there is one,
	// it has the expected fields.
	for line := range strings.Lines(progress.String()) {
		require.Regexp(t, `^\s+\d+s (warmup|run   ) produce \s+\d+ msg/s\s+[\d.]+ MiB/s  p99 \s*[\d.]+ ms  errors 0\n$`, line)
	}
}

func TestRunProduceHoldsTheRate(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	cfg := ProduceConfig{Topic: "paced", MessageSize: 16, BatchSize: 10, Producers: 4, Rate: 2000, Duration: time.Second}

	res, err := RunProduce(context.Background(), c, cfg, nil)
	require.NoError(t, err)
	// Slots every 5 ms from the start; the ones before the end: 200 requests of 10,
	// however late a slow machine sends them.
	require.Equal(t, int64(2000), res.Messages)
	require.Equal(t, 2000, fb.stored)
	require.LessOrEqual(t, res.MsgsPerSec, 2000.0)
	require.InDelta(t, 2000/res.Duration.Seconds(), res.MsgsPerSec, 0.001)
}

func TestRunProduceCountsStallsFromTheIntendedStart(t *testing.T) {
	t.Parallel()
	// The first request stalls 500 ms. One producer at 100 requests/s falls behind by
	// 50 slots; each late request's latency counts its wait, so about half the requests
	// show latencies spread up to 500 ms. Measuring from the actual start would show a
	// single slow request and a p90 near zero.
	fb := &fakeBroker{sendDelay: func(n int) time.Duration {
		if n == 0 {
			return 500 * time.Millisecond
		}
		return 0
	}}
	c := fb.start(t)
	cfg := ProduceConfig{Topic: "stall", MessageSize: 16, BatchSize: 1, Producers: 1, Rate: 100, Duration: time.Second}

	res, err := RunProduce(context.Background(), c, cfg, nil)
	require.NoError(t, err)
	require.Equal(t, int64(100), res.Messages)
	require.GreaterOrEqual(t, res.Latency.Max, 490*time.Millisecond)
	require.GreaterOrEqual(t, res.Latency.P90, 300*time.Millisecond)
}

func TestRunProduceCountsErrors(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{failSend: func(n int) bool { return n%3 == 0 }}
	c := fb.start(t)
	cfg := ProduceConfig{Topic: "flaky", MessageSize: 16, BatchSize: 2, Producers: 2, Rate: 400, Duration: 500 * time.Millisecond}

	res, err := RunProduce(context.Background(), c, cfg, nil)
	require.NoError(t, err)
	require.Positive(t, res.Errors)
	require.Positive(t, res.Messages)
	require.Equal(t, int64(200), res.Messages+2*res.Errors, "every slot either succeeded or failed")
	require.Contains(t, res.FirstError, "STORAGE_UNAVAILABLE")
	require.Contains(t, res.Markdown(), "first produce error:")
}

func TestRunProduceWithoutMetrics(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{noMetrics: true}
	c := fb.start(t)
	cfg := ProduceConfig{Topic: "nometrics", MessageSize: 16, BatchSize: 1, Producers: 1, Rate: 100, Duration: 200 * time.Millisecond}

	res, err := RunProduce(context.Background(), c, cfg, nil)
	require.NoError(t, err, "missing metrics do not fail the run")
	require.Positive(t, res.Messages)
	require.Len(t, res.MissingMetrics, 4)
	require.Zero(t, res.PgTxPerSec)
	require.Zero(t, res.PutsPerMiB)
	notes := strings.Join(res.Notes, "\n")
	require.Contains(t, notes, "reading /metrics failed")
	require.Contains(t, notes, "reported as 0")
	md := res.Markdown()
	require.Contains(t, md, "| Postgres transactions/s | 0.0 (metric missing) |")
}

func TestRunProduceUsesAnExistingTopic(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	_, _, err := c.CreateTopic(context.Background(), client.TopicSpec{Name: "old", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, _, err = c.CreateTopic(context.Background(), client.TopicSpec{Name: "fifo", Type: client.TopicFIFO, Queues: 2})
	require.NoError(t, err)

	cfg := ProduceConfig{Topic: "old", MessageSize: 16, BatchSize: 1, Producers: 1, Rate: 100, Duration: 100 * time.Millisecond}
	res, err := RunProduce(context.Background(), c, cfg, nil)
	require.NoError(t, err)
	require.Contains(t, res.Notes, "topic old already existed with 2 queues; used as it is")

	cfg.Topic = "fifo"
	_, err = RunProduce(context.Background(), c, cfg, nil)
	require.ErrorContains(t, err, "topic fifo exists with type FIFO")
}

func TestRunProduceStopsWithTheContext(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cfg := ProduceConfig{Topic: "cut", MessageSize: 16, BatchSize: 1, Producers: 2, Rate: 1000, Duration: time.Minute}

	begin := time.Now()
	res, err := RunProduce(ctx, c, cfg, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(begin), 10*time.Second)
	require.Positive(t, res.Messages, "the partial result is returned")
	require.Empty(t, res.MissingMetrics, "the last reading of /metrics outlives the context")
	require.Less(t, res.Duration, 10*time.Second)
}

func TestProduceCost(t *testing.T) {
	t.Parallel()
	r := Result{Bytes: 4 * mib}
	r.addCost(counterDeltas{values: counterValues{
		metricPuts.String(): 2, metricPutBytes.String(): 2 * mib, metricPgTx.String(): 30, metricFlushes.String(): 20,
	}, elapsed: 10 * time.Second})
	require.InDelta(t, 0.5, r.PutsPerMiB, 1e-9)
	require.InDelta(t, 0.5, r.PutBytesPerByte, 1e-9)
	require.InDelta(t, 3, r.PgTxPerSec, 1e-9)
	require.InDelta(t, 2, r.FlushesPerSec, 1e-9)
	require.Len(t, r.Metrics, 4)
	require.Empty(t, r.Notes)

	empty := Result{}
	empty.addCost(counterDeltas{values: counterValues{}, missing: []string{metricPuts.String()}})
	require.Zero(t, empty.PutsPerMiB, "no division by zero bytes")
	require.Zero(t, empty.PgTxPerSec, "no division by zero time")
	require.Equal(t, []string{"not found on /metrics, reported as 0: " + metricPuts.String()}, empty.Notes)
}

func TestResultMarkdown(t *testing.T) {
	t.Parallel()
	res := Result{
		Config: ProduceConfig{Topic: "bench", TopicType: client.TopicNormal, Queues: 8, MessageSize: 1024, BatchSize: 32, Producers: 64,
			Rate: 50000, Duration: 30 * time.Second, Warmup: 5 * time.Second},
		Messages: 1_500_000, Bytes: 1_500_000 * 1024, Errors: 2,
		Duration:   30*time.Second + 12*time.Millisecond,
		MsgsPerSec: 49980.0, MiBPerSec: 48.81,
		Latency: Percentiles{P50: 4100 * time.Microsecond, P90: 6 * time.Millisecond, P99: 12345 * time.Microsecond,
			P999: 40 * time.Millisecond, Max: 101 * time.Millisecond},
		PutsPerMiB: 0.2, PutBytesPerByte: 1.004, PgTxPerSec: 10.5, FlushesPerSec: 10,
		MissingMetrics: []string{metricFlushes.String()},
		FirstError:     "sending 32 messages to topic bench: floe: 503 STORAGE_UNAVAILABLE: a|b",
		Notes:          []string{"not found on /metrics, reported as 0: floe_ingest_flushes_total"},
	}
	want := `| produce | |
|---|---|
| topic | bench (8 queues) |
| message size | 1024 B |
| batch | 32 messages/request |
| producers | 64 |
| target rate | 50000 msg/s |
| duration | 30.012s (warmup 5s) |
| messages | 1500000 |
| failed requests | 2 |
| throughput | 49980 msg/s, 48.81 MiB/s |
| latency p50 / p90 / p99 / p99.9 / max | 4.10 ms / 6.00 ms / 12.35 ms / 40.00 ms / 101.00 ms |
| object PUTs per MiB | 0.200 |
| bytes PUT per byte produced | 1.004 |
| Postgres transactions/s | 10.5 |
| ingest flushes/s | 10.0 (metric missing) |

- first produce error: sending 32 messages to topic bench: floe: 503 STORAGE_UNAVAILABLE: a|b
- not found on /metrics, reported as 0: floe_ingest_flushes_total
`
	require.Equal(t, want, res.Markdown())

	res.Config.Rate = 0
	res.FirstError = ""
	res.Notes = nil
	md := res.Markdown()
	require.Contains(t, md, "| target rate | max |")
	require.True(t, strings.HasSuffix(md, "|\n"), "no notes section without notes")
}

// Bodies are fresh and incompressible on every send, to the last byte.
func TestFillRandomIsIncompressible(t *testing.T) {
	t.Parallel()
	rng := rand.NewPCG(1, 2)
	first := make([]byte, 32*1024+5) // a tail shorter than 8 bytes
	fillRandom(rng, first)
	second := make([]byte, len(first))
	fillRandom(rng, second)
	require.NotEqual(t, first, second)
	require.NotEqual(t, make([]byte, 5), first[len(first)-5:], "the tail is filled")

	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	require.NoError(t, err)
	_, _ = w.Write(first)
	_, _ = w.Write(second)
	require.NoError(t, w.Close())
	require.Greater(t, z.Len(), len(first)+len(second), "random bytes do not compress")
}

func BenchmarkFillRandom(b *testing.B) {
	rng := rand.NewPCG(1, 2)
	bodies := make([]byte, 32*1024)
	b.SetBytes(int64(len(bodies)))
	for b.Loop() {
		fillRandom(rng, bodies)
	}
}
