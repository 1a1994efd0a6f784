package ttlcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestGetCachesUntilTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string, int](Config{TTL: 5 * time.Second, Now: clk.now})
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }
	ctx := context.Background()

	v, err := c.Get(ctx, "a", load)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	clk.add(4 * time.Second)
	v, _ = c.Get(ctx, "a", load)
	require.Equal(t, 1, v, "fresh: served from the cache")
	clk.add(time.Second)
	v, _ = c.Get(ctx, "a", load)
	require.Equal(t, 2, v, "expired at TTL: loaded again")

	got, ok := c.Lookup("a")
	require.True(t, ok)
	require.Equal(t, 2, got)
	clk.add(5 * time.Second)
	_, ok = c.Lookup("a")
	require.False(t, ok, "Lookup serves fresh entries only")
	got, ok = c.Peek("a")
	require.True(t, ok, "Peek serves expired ones too")
	require.Equal(t, 2, got)

	c.Delete("a")
	v, _ = c.Get(ctx, "a", load)
	require.Equal(t, 3, v, "deleted: loaded again")

	c.DeleteFunc(func(k string, _ int) bool { return k == "a" })
	v, _ = c.Get(ctx, "a", load)
	require.Equal(t, 4, v)
}

func TestErrorsAreNotCached(t *testing.T) {
	c := New[string, int](Config{TTL: time.Minute})
	boom := errors.New("boom")
	_, err := c.Get(context.Background(), "a", func(context.Context) (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)
	v, err := c.Get(context.Background(), "a", func(context.Context) (int, error) { return 7, nil })
	require.NoError(t, err)
	require.Equal(t, 7, v)
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	c := New[string, int](Config{TTL: time.Minute})
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) (int, error) {
		loads.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = c.Get(context.Background(), "k", load)
		}()
	}
	require.Eventually(t, func() bool { return loads.Load() == 1 }, time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // the other callers reach the wait
	close(release)
	wg.Wait()
	require.Equal(t, int32(1), loads.Load())
	for _, r := range results {
		require.Equal(t, 42, r)
	}
}

func TestAWaiterGivesUpWithItsContext(t *testing.T) {
	c := New[string, int](Config{TTL: time.Minute})
	release := make(chan struct{})
	go func() {
		_, _ = c.Get(context.Background(), "k", func(context.Context) (int, error) { <-release; return 1, nil })
	}()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.loads) == 1 }, time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Get(ctx, "k", func(context.Context) (int, error) { return 2, nil })
	require.ErrorIs(t, err, context.Canceled)
	close(release)
}

func TestMaxEntriesStartsOver(t *testing.T) {
	c := New[int, int](Config{TTL: time.Minute, MaxEntries: 3})
	for i := range 3 {
		c.Put(i, i)
	}
	require.Equal(t, 3, c.Len())
	c.Put(1, 10)
	require.Equal(t, 3, c.Len(), "replacing an entry keeps the others")
	c.Put(3, 3)
	require.Equal(t, 1, c.Len(), "a new key past the bound starts over")
	v, ok := c.Peek(3)
	require.True(t, ok)
	require.Equal(t, 3, v)
}

// A load that fails because its caller gave up does not fail the callers waiting on it.
func TestAWaiterLoadsAgainWhenTheLoaderGaveUp(t *testing.T) {
	c := New[string, int](Config{TTL: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		_, _ = c.Get(ctx, "k", func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
	}()
	<-started
	type result struct {
		v   int
		err error
	}
	got := make(chan result)
	go func() {
		v, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 5, nil })
		got <- result{v, err}
	}()
	time.Sleep(20 * time.Millisecond) // the second caller waits on the first load
	cancel()
	r := <-got
	require.NoError(t, r.err)
	require.Equal(t, 5, r.v)
}
