package bench

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// simClock is a clock whose time moves only when told to: sleeping jumps to the wake-up
// time, and the fake broker advances it to model slow answers.
type simClock struct {
	mu  sync.Mutex
	now time.Time
	// onSleep, if set, is called on every sleep (before the jump), to model the world
	// moving while a producer waits.
	onSleep func()
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) SleepUntil(ctx context.Context, t time.Time) bool {
	if c.onSleep != nil {
		c.onSleep()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err() == nil
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simProducer returns one producer on a simulated clock at a fixed rate, and its set.
func simProducer(t *testing.T, fb *fakeBroker, clk *simClock, rate int, duration time.Duration) (*producer, *producerSet) {
	t.Helper()
	c := fb.start(t)
	_, _, err := c.CreateTopic(context.Background(), client.TopicSpec{Name: "sim", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)
	cfg := ProduceConfig{Topic: "sim", MessageSize: 16, BatchSize: 1, Producers: 1, Rate: rate,
		Duration: duration, StopOnTime: true}.withDefaults()
	win := newWindow(clk.Now(), 0, duration)
	ps := &producerSet{cfg: cfg, win: win, live: &liveStats{}, pace: newPacer(win.start, rate, 1)}
	p := newProducer(c, cfg, win, ps.pace, ps.live, 0)
	p.clock = clk
	ps.producers = []*producer{p}
	return p, ps
}

// At a fixed rate a stall delays every request scheduled during it, and each of them must
// count its wait: latency runs from the intended start (the schedule), not from the
// actual send. The simulated clock makes the latencies exact.
func TestFixedRateLatencyCountsFromTheIntendedStart(t *testing.T) {
	t.Parallel()
	clk := &simClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	// The first request takes 500 ms; every other one is answered at once.
	fb := &fakeBroker{onSend: func(n int) {
		if n == 0 {
			clk.advance(500 * time.Millisecond)
		}
	}}
	// 100 requests/s for 1 s: slots every 10 ms.
	p, ps := simProducer(t, fb, clk, 100, time.Second)
	p.run(context.Background())

	// Request 0 takes 500 ms. Requests 1 to 49 were due at 10k ms but could only go at
	// 500 ms: their latency is 500 − 10k ms. Requests 50 to 99 go on time and take 0.
	var want Histogram
	for k := range 100 {
		intended := time.Duration(k) * 10 * time.Millisecond
		done := max(intended, 500*time.Millisecond)
		if k >= 50 {
			done = intended
		}
		want.Record(done - intended)
	}
	res := ps.result(ps.win.end)
	require.Equal(t, int64(100), res.Messages)
	require.Zero(t, res.Behind)
	require.Equal(t, want.Percentiles(), res.Latency)
	require.Equal(t, 500*time.Millisecond, res.Latency.Max)
	// Measured from the actual send, only request 0 would be slow and p90 would be 0.
	require.InEpsilon(t, float64(400*time.Millisecond), float64(res.Latency.P90), 0.01)
	require.InEpsilon(t, float64(490*time.Millisecond), float64(res.Latency.P99), 0.01)
	require.Zero(t, res.Latency.P50)
}

// A server slower than the schedule: with StopOnTime the producers stop at the end, and
// the slots they never sent are reported, while the ones they sent late carry their wait.
func TestFixedRateBehindScheduleStopsOnTime(t *testing.T) {
	t.Parallel()
	clk := &simClock{now: time.Unix(1000, 0)}
	fb := &fakeBroker{onSend: func(int) { clk.advance(20 * time.Millisecond) }}
	p, ps := simProducer(t, fb, clk, 100, time.Second) // due every 10 ms, answered in 20
	p.run(context.Background())

	res := ps.result(ps.win.end)
	// Request j goes at 20j ms and is answered at 20(j+1): 50 are sent in the second, and
	// 49 answered in it (the last one exactly at its end, outside the window).
	require.Equal(t, int64(49), res.Messages)
	require.Equal(t, int64(50), res.Behind, "100 slots were due, 50 were sent")
	require.Equal(t, time.Second, res.Duration, "a run on time lasts its duration")
	// Its latency is 20(j+1) − 10j = 10j + 20 ms: the last, j = 49, waited 510 ms, and
	// counts although it was answered at the end.
	require.Equal(t, 510*time.Millisecond, res.Latency.Max)
	require.Equal(t, time.Unix(1001, 0), clk.Now(), "the producer stopped at the end")
}

func TestBacklogGate(t *testing.T) {
	t.Parallel()
	var produced, consumed atomic.Int64
	produced.Store(100)
	g := &backlogGate{max: 50, produced: &produced, consumed: consumed.Load}
	start := time.Unix(0, 0)
	// Consumers take 10 messages per poll of the gate.
	clk := &simClock{now: start, onSleep: func() { consumed.Add(10) }}

	require.True(t, g.wait(context.Background(), clk, start.Add(time.Hour)))
	require.Equal(t, int64(50), consumed.Load(), "released as soon as the backlog is at most 50")
	require.Equal(t, int64(1), g.pauses.Load())
	require.Equal(t, start.Add(5*backlogPoll), clk.Now())

	require.True(t, g.wait(context.Background(), clk, start.Add(time.Hour)))
	require.Equal(t, int64(1), g.pauses.Load(), "no pause under the bound")

	produced.Store(1000)
	end := clk.Now().Add(3 * backlogPoll)
	require.False(t, g.wait(context.Background(), clk, end), "gives up at the end of the run")
	require.Equal(t, end, clk.Now())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, g.wait(ctx, clk, start.Add(time.Hour)))
}

func TestRunWorkloadFixedRateWithConsumers(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	w := Workload{Name: "fixed", Queues: 4, MessageSize: 64, Producers: 4, BatchSize: 10, Consumers: 2,
		Rate: Rate{PerSecond: 2000}, Warmup: Duration(300 * time.Millisecond), Duration: Duration(time.Second)}
	var progress lockedBuffer
	rep, err := RunWorkload(context.Background(), c, w, RunOptions{Progress: &progress, Interval: 100 * time.Millisecond, Command: "floe bench --workload x"})
	require.NoError(t, err)

	require.Equal(t, "fixed", rep.Workload.Topic)
	require.Equal(t, client.TopicNormal, fb.topics["fixed"].Type)
	require.Equal(t, "*", fb.subscriptions["fixed/fixed"])
	require.Equal(t, "floe bench --workload x", rep.Command)
	require.Positive(t, rep.Machine.CPUs)
	require.NotEmpty(t, rep.Machine.GoVersion)

	tot := rep.Totals
	// The measured second's 2000 slots were answered in it or are behind, give or take the
	// requests in flight at its two edges: at most 4 producers × 10 messages at each.
	require.InDelta(t, 2000, tot.ProducedMessages+tot.BehindSchedule, 80, "the measured second's slots: sent or behind")
	require.Equal(t, tot.ProducedMessages*64, tot.ProducedBytes)
	require.Positive(t, tot.ConsumedMessages)
	require.Zero(t, tot.ProduceErrors)
	require.NotNil(t, rep.EndToEnd)
	require.Positive(t, rep.EndToEnd.Max)
	require.LessOrEqual(t, rep.Publish.P50, rep.Publish.P99)

	// The fake stores segments half the size of the bodies and does one PUT and one
	// commit per request.
	require.Empty(t, rep.Cost.Missing)
	require.InDelta(t, 2, rep.Cost.CompressionRatio, 1e-9)
	require.InDelta(t, 0.5, rep.Cost.StoredBytesPerProducedByte, 1e-9)
	require.Positive(t, rep.Cost.PutsPerGiB)
	require.Positive(t, rep.Cost.GetsPerGiB)
	require.Positive(t, rep.Cost.PgTxPerSec)

	// A starved machine may skip ticks; the points it took are in order, warmup first.
	require.NotEmpty(t, rep.Series)
	for i, p := range rep.Series {
		if i > 0 {
			require.Greater(t, p.Seconds, rep.Series[i-1].Seconds)
			require.False(t, p.Warmup && !rep.Series[i-1].Warmup, "warmup points come first")
		}
	}
	for line := range strings.Lines(progress.String()) {
		require.Regexp(t, `^\s+\d+s (warmup|run   ) produce\s+\d+ msg/s p50\s+[\d.]+ ms p99\s+[\d.]+ ms \| consume\s+\d+ msg/s e2e p50\s+[\d.]+ ms p99\s+[\d.]+ ms \| backlog -?\d+ \| errors 0\n$`, line)
	}
}

// At rate max with slow consumers, producers must wait for them: the backlog stays within
// maxBacklog plus what the producers have in flight.
func TestRunWorkloadMaxRateHoldsTheBacklog(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{receiveDelay: 20 * time.Millisecond}
	c := fb.start(t)
	w := Workload{Name: "maxed", Queues: 2, MessageSize: 16, Producers: 4, BatchSize: 8, Consumers: 1, ReceiveBatch: 8,
		Rate: MaxRate, MaxBacklog: 64, Duration: Duration(time.Second)}
	rep, err := RunWorkload(context.Background(), c, w, RunOptions{Interval: 50 * time.Millisecond})
	require.NoError(t, err)

	bound := int64(64 + 4*8)
	require.LessOrEqual(t, rep.Totals.BacklogAtEnd, bound)
	for _, p := range rep.Series {
		require.LessOrEqual(t, p.Backlog, bound, "at %.2f s", p.Seconds)
	}
	require.Positive(t, rep.Totals.BacklogPauses, "one consumer at 8 per 20 ms cannot keep up with 4 producers")
	// Without the gate the producers, answered at once, would send thousands.
	require.Less(t, rep.Totals.ProducedMessages, int64(2000))
	require.Contains(t, rep.Markdown(), "| producer pauses for the backlog |")
}

func TestRunWorkloadProduceOnlyFIFO(t *testing.T) {
	t.Parallel()
	fb := &fakeBroker{}
	c := fb.start(t)
	w := Workload{Name: "fifo", TopicType: client.TopicFIFO, MessageGroups: 3, Queues: 2, MessageSize: 16,
		Producers: 2, BatchSize: 4, Rate: MaxRate, Duration: Duration(200 * time.Millisecond)}
	var progress bytes.Buffer
	rep, err := RunWorkload(context.Background(), c, w, RunOptions{Progress: &progress})
	require.NoError(t, err)
	require.Equal(t, client.TopicFIFO, fb.topics["fifo"].Type)
	require.Positive(t, rep.Totals.ProducedMessages)
	require.Nil(t, rep.EndToEnd, "no consumers, no end-to-end latency")
	require.Zero(t, rep.Totals.BacklogPauses)
	require.Empty(t, fb.subscriptions)

	_, err = RunWorkload(context.Background(), c, Workload{Name: "bad"}, RunOptions{})
	require.ErrorContains(t, err, "checking workload: queues is required")
}

// FIFO messages carry message groups spread over the configured number; DELAY messages
// carry a delivery time Delay after their intended send, and so does the body.
func TestProducerMessageFields(t *testing.T) {
	t.Parallel()
	start := time.Unix(500, 0)
	win := newWindow(start, 0, time.Second)
	cfg := ProduceConfig{Topic: "f", TopicType: client.TopicFIFO, MessageGroups: 3, BatchSize: 4, Producers: 2}.withDefaults()
	p := newProducer(client.New("http://127.0.0.1:1"), cfg, win, nil, &liveStats{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = p.send(ctx, start) // the send fails; the batch is built
	var groups []string
	for _, m := range p.batch {
		groups = append(groups, m.MessageGroup)
	}
	// Producer 1 of 2 takes messages 1, 3, 5, 7 of the interleaving, modulo 3 groups.
	require.Equal(t, []string{"g1", "g0", "g2", "g1"}, groups)

	cfg = ProduceConfig{Topic: "d", TopicType: client.TopicDelay, Delay: 5 * time.Second, BatchSize: 2}.withDefaults()
	p = newProducer(client.New("http://127.0.0.1:1"), cfg, win, nil, &liveStats{}, 0)
	_ = p.send(ctx, start)
	for _, m := range p.batch {
		require.Equal(t, start.Add(5*time.Second), *m.DeliveryTime)
		due, ok := sendTime(m.Body)
		require.True(t, ok)
		require.Equal(t, start.Add(5*time.Second), due)
		require.Empty(t, m.MessageGroup)
	}
}
