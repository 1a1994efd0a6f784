package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

func TestDrainConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	cfg := DrainConfig{}.withDefaults()
	require.Equal(t, int64(2_000_000), cfg.Messages)
	require.Equal(t, 8, cfg.Consumers)
	require.Equal(t, 32, cfg.ReceiveBatch)
	require.Equal(t, 1024, cfg.Produce.MessageSize)
	require.NoError(t, cfg.validate())

	small := DrainConfig{Produce: ProduceConfig{MessageSize: 12}}.withDefaults()
	require.ErrorContains(t, small.validate(), "at least 16 bytes")
	fifo := DrainConfig{Produce: ProduceConfig{TopicType: client.TopicFIFO}}.withDefaults()
	require.ErrorContains(t, fifo.validate(), "NORMAL")
}

// A backlog produced through one node, with failed produce requests on the way, drained
// through two reader nodes: every message acked once, duplicates counted, and the server
// counters summed over the three nodes.
func TestRunDrainOverReaderNodes(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{
		failSend:       func(n int) bool { return n%7 == 3 },
		duplicateEvery: 5,
	}
	ingest := fb.start(t)
	r1, r2 := fb.serveNode(t), fb.serveNode(t)
	// Messages from before the run are not part of the backlog.
	_, _, err := ingest.CreateTopic(context.Background(), client.TopicSpec{Name: "d", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, err = ingest.Send(context.Background(), "d", []client.Message{{Body: make([]byte, 64)}})
	require.NoError(t, err)

	cfg := DrainConfig{
		Produce:      ProduceConfig{Topic: "d", MessageSize: 64, BatchSize: 16, Producers: 4},
		Messages:     1001, // not a multiple of the batch
		Group:        "dg",
		Consumers:    4,
		ReceiveBatch: 8,
		Timeout:      20 * time.Second,
		Readers:      []*client.Client{r1, r2},
	}
	res, err := RunDrain(context.Background(), ingest, cfg, nil)
	require.NoError(t, err)

	require.Equal(t, int64(1001), res.Backlog)
	require.Equal(t, int64(1001), res.Produce.Messages)
	require.Positive(t, res.Produce.Errors, "the fake fails some produce requests")
	require.True(t, res.Completed)
	require.Equal(t, int64(1001), res.Acked)
	require.Zero(t, res.Missing)
	require.Zero(t, res.Foreign)
	require.Positive(t, res.Duplicates)
	require.Equal(t, res.Acked+res.Duplicates, res.Delivered)
	require.Zero(t, res.ReceiveErrors+res.AckErrors+res.AckFailures)
	require.Positive(t, res.DrainMsgsPerSec)
	require.InDelta(t, float64(res.Acked)/res.DrainDuration.Seconds(), res.DrainMsgsPerSec, 0.001)

	fb.mu.Lock()
	defer fb.mu.Unlock()
	// Produced through the ingest node only, consumed through the readers only.
	require.Zero(t, fb.sendsAt[r1.BaseURL()]+fb.sendsAt[r2.BaseURL()])
	require.Zero(t, fb.receivesAt[ingest.BaseURL()])
	require.Positive(t, fb.receivesAt[r1.BaseURL()])
	require.Positive(t, fb.receivesAt[r2.BaseURL()])
	// One ack call per batch received; each of the three nodes serves the fake's shared
	// counters, so the sum is three times the calls.
	require.Equal(t, fb.txAck, float64(res.Acks))
	require.Equal(t, []string{ingest.BaseURL(), r1.BaseURL(), r2.BaseURL()}, res.MetricsURLs)
	require.InDelta(t, 3*float64(res.Acks)/float64(res.Acked), res.Cost.PgTxAckPerMessage, 1e-9)
	require.Empty(t, res.Cost.Missing)
	require.Positive(t, res.Cost.GetsPerGiB)
	// Each node's counters are read once at the end, while a consumer may still have a
	// receive in flight (at most one each), which the fake counts after the reading.
	require.Equal(t, 4096*res.Cost.CacheMisses, res.Cost.GetBytes, "GET bytes and misses of the same readings")
	require.LessOrEqual(t, res.Cost.CacheMisses, 3*fb.getRanges)
	require.GreaterOrEqual(t, res.Cost.CacheMisses, 3*(fb.getRanges-float64(cfg.Consumers)))

	md := res.Markdown()
	require.Contains(t, md, "| drain rate |")
	require.Contains(t, md, "| duplicates / missing / foreign | "+itoa(res.Duplicates)+" / 0 / 0 |")
	require.Contains(t, res.Summary(), "Postgres transactions per consumed message")
}

// Messages the server acknowledged but never delivers are missing at the timeout, and the
// run fails.
func TestRunDrainReportsMissing(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{lose: func(n int) bool { return n == 10 || n == 77 }}
	c := fb.start(t)
	cfg := DrainConfig{
		Produce:   ProduceConfig{Topic: "lost", MessageSize: 32, BatchSize: 10, Producers: 2},
		Messages:  100,
		Consumers: 2,
		Timeout:   1500 * time.Millisecond,
	}
	res, err := RunDrain(context.Background(), c, cfg, nil)
	require.ErrorContains(t, err, "2 of 100 backlog messages were never acked")
	require.Equal(t, int64(100), res.Backlog)
	require.Equal(t, int64(98), res.Acked)
	require.Equal(t, int64(2), res.Missing)
	require.False(t, res.Completed)
	require.Contains(t, res.Markdown(), "(not drained)")
}

func TestBitmap(t *testing.T) {
	t.Parallel()
	b := newBitmap(130)
	require.True(t, b.add(0))
	require.True(t, b.add(129))
	require.False(t, b.add(129))
	require.False(t, b.add(130), "beyond the size")
	require.True(t, b.has(0))
	require.False(t, b.has(64))
	require.False(t, b.has(1000))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// With async acks a consumer receives while its last ack is in flight, never with two
// acks in flight, and every backlog message is still acked once, each batch in one ack
// call; the report says the acks were not waited for. Without, no receive overlaps an ack.
func TestRunDrainWithAsyncAcks(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{true, false} {
		t.Run(fmt.Sprint("async=", async), func(t *testing.T) {
			t.Parallel()
			fb := &fakeBroker{duplicateEvery: 7, ackDelay: 20 * time.Millisecond}
			c := fb.start(t)
			cfg := DrainConfig{
				Produce:      ProduceConfig{Topic: "drained", MessageSize: 32, BatchSize: 10, Producers: 2},
				Messages:     200,
				Consumers:    1,
				ReceiveBatch: 8,
				AsyncAcks:    async,
				Timeout:      20 * time.Second,
			}
			res, err := RunDrain(context.Background(), c, cfg, nil)
			require.NoError(t, err)
			require.True(t, res.Completed)
			require.Equal(t, int64(200), res.Acked)
			require.Zero(t, res.Missing)
			require.Equal(t, res.Acked+res.Duplicates, res.Delivered)
			require.Zero(t, res.ReceiveErrors+res.AckErrors+res.AckFailures)
			fb.mu.Lock()
			defer fb.mu.Unlock()
			require.Equal(t, fb.txAck, float64(res.Acks), "one ack call per batch")
			require.Equal(t, 1, fb.maxAcksInFlight, "one ack in flight per consumer")
			if async {
				require.Positive(t, fb.receivesDuringAck, "no receive overlapped an ack")
				require.Contains(t, res.Markdown(), "async: the next receive runs while the ack is in flight")
			} else {
				require.Zero(t, fb.receivesDuringAck)
				require.NotContains(t, res.Markdown(), "async")
			}
		})
	}
}
