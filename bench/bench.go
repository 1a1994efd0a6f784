// Package bench runs workloads against a Floe server through its HTTP API and reports
// throughput, latency and cost: what `floe bench` prints and docs/benchmarks.md records.
//
// RunWorkload runs a workload file (workload.go: LoadWorkload) and returns a Report that
// writes result.json, result.md and chart.svg; it is what `floe bench --workload` runs.
// RunProduce drives producers alone; RunProduceConsume drives producers and consumers at
// once and adds end-to-end latency. All follow the same plan:
//
//  1. Make sure the topic (and for consumption the group and subscription) exists.
//  2. Run for Warmup, discarding the numbers, then measure for Duration.
//  3. Read the server's /metrics when measuring starts and when it ends, and report the
//     difference of a few cost counters (object PUTs, Postgres transactions, flushes).
//
// Latency is measured from the time a request was meant to start. At a fixed rate
// (ProduceConfig.Rate) a shared schedule hands out start times; a request that starts late
// because the server was slow to answer earlier ones counts that wait as latency, which
// avoids coordinated omission (a stalled server would otherwise hide behind the few
// requests it stalled). At maximum rate the intended start is the actual one.
//
// Each producing or consuming goroutine records into its own Histogram, merged when the
// run ends; a shared lock-free recorder feeds the once-a-second progress lines.
package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// errorPause is how long a goroutine waits after a failed call before the next one, so a
// server that fails fast is not flooded in a tight loop.
const errorPause = 10 * time.Millisecond

// progressInterval is how often progress lines are written.
const progressInterval = time.Second

// finalScrapeTimeout bounds the last reading of /metrics, which runs even after the
// run's context has ended.
const finalScrapeTimeout = 10 * time.Second

// mib is one mebibyte, the unit of MiB/s and PUTs per MiB.
const mib = 1 << 20

// window is the timeline of a run: warmup from start to measureStart, measurement from
// measureStart to end.
type window struct {
	start, measureStart, end time.Time
}

// newWindow returns the window of a run starting now.
func newWindow(now time.Time, warmup, duration time.Duration) window {
	return window{start: now, measureStart: now.Add(warmup), end: now.Add(warmup + duration)}
}

// measuring reports whether t falls in the measured part of the window.
func (w window) measuring(t time.Time) bool {
	return !t.Before(w.measureStart) && t.Before(w.end)
}

// stoppedAt returns when a run in this window stopped: its end, or now if ctx ended first.
func (w window) stoppedAt(ctx context.Context) time.Time {
	if now := time.Now(); ctx.Err() != nil && now.Before(w.end) {
		return now
	}
	return w.end
}

// phase names the part of the window t falls in, for progress lines.
func (w window) phase(t time.Time) string {
	if t.Before(w.measureStart) {
		return "warmup"
	}
	return "run"
}

// liveStats are counters shared by all goroutines of one kind (producers or consumers)
// for the progress lines.
type liveStats struct {
	latency  recorder
	messages atomic.Int64
	errors   atomic.Int64
}

// meter turns liveStats into per-interval numbers.
type meter struct {
	stats    *liveStats
	prevMsgs int64
	interval Histogram
}

// sample returns the message rate and the p99 latency since the previous sample, dt ago,
// and the errors so far.
func (m *meter) sample(dt time.Duration) (msgsPerSec float64, p99 time.Duration, errs int64) {
	msgsPerSec, lat, errs := m.next(dt)
	return msgsPerSec, lat.P99, errs
}

// next returns the message rate and the latency percentiles since the previous sample,
// dt ago, and the errors so far.
func (m *meter) next(dt time.Duration) (msgsPerSec float64, latency Percentiles, errs int64) {
	msgs := m.stats.messages.Load()
	msgsPerSec = perSecond(float64(msgs-m.prevMsgs), dt)
	m.prevMsgs = msgs
	m.interval.Reset()
	m.stats.latency.drainInto(&m.interval)
	return msgsPerSec, m.interval.Percentiles(), m.stats.errors.Load()
}

// startProgress writes line(now, dt) to w every interval until stop is called, dt being
// the time since the previous line. With a nil w it does nothing.
func startProgress(w io.Writer, interval time.Duration, line func(now time.Time, dt time.Duration) string) (stop func()) {
	if w == nil {
		return func() {}
	}
	return startTicker(interval, func(now time.Time, dt time.Duration) {
		fmt.Fprintln(w, line(now, dt))
	})
}

// sleepUntil waits until t or until ctx is done, and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// putSendTime writes t into the first 8 bytes of body (big-endian Unix nanoseconds), so a
// consumer can tell how long the message took end to end.
func putSendTime(body []byte, t time.Time) {
	binary.BigEndian.PutUint64(body, uint64(t.UnixNano()))
}

// sendTime reads the time written by putSendTime; ok is false if body is too short or the
// time is not positive.
func sendTime(body []byte) (t time.Time, ok bool) {
	if len(body) < 8 {
		return time.Time{}, false
	}
	ns := int64(binary.BigEndian.Uint64(body))
	if ns <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// perSecond divides n by d in seconds, returning 0 for a non-positive d.
func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// ratio divides n by d, returning 0 when d is 0.
func ratio(n, d float64) float64 {
	if d == 0 {
		return 0
	}
	return n / d
}

// formatLatency renders a duration in milliseconds for reports.
func formatLatency(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// clock is the time source of producers: the real one, or in tests a simulated one that
// jumps instead of sleeping, so schedules can be checked exactly.
type clock interface {
	// Now returns the current time.
	Now() time.Time
	// SleepUntil waits until t or until ctx is done, and reports whether ctx is still live.
	SleepUntil(ctx context.Context, t time.Time) bool
}

// realClock is the wall clock.
type realClock struct{}

// Now returns time.Now().
func (realClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until t.
func (realClock) SleepUntil(ctx context.Context, t time.Time) bool { return sleepUntil(ctx, t) }

// backlogPoll is how often a producer held by the backlog gate looks again.
const backlogPoll = 5 * time.Millisecond

// backlogGate holds producers while more than max messages have been produced and not yet
// consumed in this run. It turns closed-loop producers into a rate the consumers sustain:
// without it, producers outrunning consumers would report a rate that only grows a
// backlog.
type backlogGate struct {
	// max is the backlog above which producers wait.
	max int64
	// produced is the run's live counter of acknowledged sends, warmup included.
	produced *atomic.Int64
	// consumed returns the messages acked so far by the slowest group, warmup included.
	consumed func() int64
	// pauses counts the waits.
	pauses atomic.Int64
}

// backlog returns the messages produced and not yet consumed.
func (g *backlogGate) backlog() int64 {
	return g.produced.Load() - g.consumed()
}

// wait returns once the backlog is at most max, true, or false if ctx ended or the time
// reached end first.
func (g *backlogGate) wait(ctx context.Context, clk clock, end time.Time) bool {
	if g.backlog() <= g.max {
		return ctx.Err() == nil
	}
	g.pauses.Add(1)
	for g.backlog() > g.max {
		if !clk.Now().Before(end) || !clk.SleepUntil(ctx, clk.Now().Add(backlogPoll)) {
			return false
		}
	}
	return ctx.Err() == nil
}
