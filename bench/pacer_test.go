package bench

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPacerSchedule(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	p := newPacer(start, 1000, 10) // 100 requests/s
	for k := range 5 {
		require.Equal(t, start.Add(time.Duration(k)*10*time.Millisecond), p.slot())
	}

	// A third of a second does not divide evenly; slots must not drift.
	p = newPacer(start, 3, 1)
	var last time.Time
	for range 301 {
		last = p.slot()
	}
	require.Equal(t, start.Add(100*time.Second), last)

	// A batch larger than the rate spaces requests more than a second apart.
	p = newPacer(start, 10, 32)
	p.slot()
	require.Equal(t, start.Add(3200*time.Millisecond), p.slot())
}

func TestPacerSlotsAreUniqueAcrossGoroutines(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 0)
	p := newPacer(start, 1_000_000, 1) // 1 µs apart
	const goroutines, each = 8, 1000
	var mu sync.Mutex
	seen := map[time.Duration]bool{}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				d := p.slot().Sub(start)
				mu.Lock()
				seen[d] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, goroutines*each)
	for k := range goroutines * each {
		require.True(t, seen[time.Duration(k)*time.Microsecond], "slot %d handed out", k)
	}
}

func TestSleepUntil(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	begin := time.Now()
	require.True(t, sleepUntil(ctx, begin.Add(20*time.Millisecond)))
	require.GreaterOrEqual(t, time.Since(begin), 20*time.Millisecond)
	require.True(t, sleepUntil(ctx, begin.Add(-time.Second)), "a past time returns at once")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.False(t, sleepUntil(cancelled, time.Now().Add(time.Hour)))
	require.False(t, sleepUntil(cancelled, time.Now().Add(-time.Hour)))
}

func TestSendTimeRoundTrip(t *testing.T) {
	t.Parallel()
	body := make([]byte, 16)
	now := time.Now()
	putSendTime(body, now)
	got, ok := sendTime(body)
	require.True(t, ok)
	require.True(t, now.Equal(got))

	_, ok = sendTime(body[:7])
	require.False(t, ok, "too short")
	_, ok = sendTime(make([]byte, 8))
	require.False(t, ok, "zero is not a send time")
}

func TestWindow(t *testing.T) {
	t.Parallel()
	start := time.Unix(100, 0)
	w := newWindow(start, 2*time.Second, 10*time.Second)
	require.False(t, w.measuring(start.Add(time.Second)))
	require.Equal(t, "warmup", w.phase(start.Add(time.Second)))
	require.True(t, w.measuring(start.Add(2*time.Second)))
	require.Equal(t, "run", w.phase(start.Add(2*time.Second)))
	require.True(t, w.measuring(start.Add(12*time.Second-1)))
	require.False(t, w.measuring(start.Add(12*time.Second)))
}

// lockedBuffer is a bytes.Buffer safe to write and read from different goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStartProgress(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	var dts []time.Duration // only the progress goroutine touches it before stop returns
	stop := startProgress(&out, 10*time.Millisecond, func(_ time.Time, dt time.Duration) string {
		dts = append(dts, dt)
		return "tick"
	})
	require.Eventually(t, func() bool { return strings.Count(out.String(), "tick\n") >= 3 }, 10*time.Second, 5*time.Millisecond)
	stop()
	printed := out.String()
	time.Sleep(30 * time.Millisecond)
	require.Equal(t, printed, out.String(), "nothing is written after stop returns")
	for _, dt := range dts {
		require.Positive(t, dt)
	}

	startProgress(nil, time.Millisecond, func(time.Time, time.Duration) string {
		t.Error("a nil writer gets no lines")
		return ""
	})()
}
