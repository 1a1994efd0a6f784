package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := auth.NewLimiter(map[string]float64{auth.QuotaProduce: 10, auth.QuotaReceive: 0}, func() time.Time { return now })

	ok, _ := l.Take("k", auth.QuotaProduce, 10)
	require.True(t, ok, "a full bucket holds one second")
	ok, wait := l.Take("k", auth.QuotaProduce, 1)
	require.False(t, ok)
	require.Equal(t, 100*time.Millisecond, wait)
	ok, _ = l.Take("other", auth.QuotaProduce, 5)
	require.True(t, ok, "buckets are per key")

	now = now.Add(500 * time.Millisecond)
	ok, _ = l.Take("k", auth.QuotaProduce, 5)
	require.True(t, ok, "refilled at the rate")
	ok, _ = l.Take("k", auth.QuotaProduce, 1)
	require.False(t, ok)

	now = now.Add(time.Hour)
	ok, _ = l.Take("k", auth.QuotaProduce, 50)
	require.True(t, ok, "a batch over the burst passes on a full bucket")
	ok, wait = l.Take("k", auth.QuotaProduce, 1)
	require.False(t, ok)
	require.InDelta(t, 4.1, wait.Seconds(), 1e-6, "and leaves the bucket in debt")

	for range 1000 {
		ok, _ = l.Take("k", auth.QuotaReceive, 1)
		require.True(t, ok, "rate 0 is unlimited")
	}
}

// TestLimiterTakeAll: a produce call takes messages and bytes together or not at all.
func TestLimiterTakeAll(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := auth.NewLimiter(map[string]float64{auth.QuotaProduce: 100, auth.QuotaProduceBytes: 1000}, func() time.Time { return now })
	take := func(msgs, bytes int) (bool, string) {
		ok, quota, _ := l.TakeAll("k", auth.Tokens{Quota: auth.QuotaProduce, N: msgs}, auth.Tokens{Quota: auth.QuotaProduceBytes, N: bytes})
		return ok, quota
	}
	ok, _ := take(10, 900)
	require.True(t, ok)
	ok, quota := take(10, 200)
	require.False(t, ok)
	require.Equal(t, auth.QuotaProduceBytes, quota)
	ok, _ = take(90, 100)
	require.True(t, ok, "the refused call took no message tokens")
	ok, quota = take(1, 0)
	require.False(t, ok)
	require.Equal(t, auth.QuotaProduce, quota)
	now = now.Add(time.Second)
	ok, _ = take(100, 1000)
	require.True(t, ok, "both refill")
}
