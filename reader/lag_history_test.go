package reader

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The history keeps an hour of samples per group, oldest first, and forgets a group an hour
// after it was last seen.
func TestLagHistoryKeepsAnHour(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	src := &fakeSource{}
	h := NewLagHistory(newLagCollector(LagMetricsConfig{Now: clock, MaxAge: time.Nanosecond, Logger: quiet}, src), time.Minute)
	for range 70 {
		h.sample()
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
	}
	pts := h.Of("a")
	require.Len(t, pts, 61, "an hour of samples a minute apart, both ends included")
	require.Equal(t, time.Date(2026, 12, 7, 10, 9, 0, 0, time.UTC), pts[0].Time)
	require.Equal(t, []TopicLagSample{{Topic: "t", Lag: 5, Inflight: 1, Ready: 4}, {Topic: "u", Lag: 1}}, pts[60].Topics)
	require.Empty(t, h.Of("nope"))

	// Group b deleted: its points age out, then the group itself.
	src.listErr = nil
	src.only = []string{"a"}
	for range 61 {
		h.sample()
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
	}
	require.Len(t, h.Of("a"), 61)
	require.Empty(t, h.Of("b"))
	h.mu.Lock()
	_, kept := h.groups["b"]
	h.mu.Unlock()
	require.False(t, kept, "a group gone for an hour is forgotten")
}
