package e2e_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// TestClaimedAheadMessagesKeepTheirAttempt: consumers of a busy group take messages a
// look claimed ahead; when they stop, the node releases what nobody took, visible at once
// with its attempt unchanged. With maxDeliveryAttempts 1, a message counted as delivered
// twice would go to the dead-letter topic instead: every message is still received once,
// with attempt 1, and none is dead-lettered.
func TestClaimedAheadMessagesKeepTheirAttempt(t *testing.T) {
	b := newBacking(t)
	_, c := startNode(t, b.config("ingest,reader"))
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Queues: 4})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "workers", MaxDeliveryAttempts: 1})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "workers", "jobs", client.SubscriptionSpec{Filter: "*"}))
	const total = 20000
	for i := 0; i < total; i += 500 {
		batch := make([]client.Message, 500)
		for j := range batch {
			batch[j] = client.Message{Body: []byte(fmt.Sprintf("job-%d", i+j))}
		}
		_, err := c.Send(ctx, "jobs", batch)
		require.NoError(t, err)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	consume := func(limit int, until time.Time, pause time.Duration) int {
		var wg sync.WaitGroup
		got := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					stop := got >= limit || time.Now().After(until)
					mu.Unlock()
					if stop {
						return
					}
					msgs, err := c.Receive(ctx, "workers", "jobs", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 1})
					require.NoError(t, err)
					if len(msgs) == 0 {
						return
					}
					handles := make([]string, len(msgs))
					mu.Lock()
					for i, m := range msgs {
						require.Equal(t, 1, m.DeliveryAttempt, "message %s delivered as attempt %d", m.Body, m.DeliveryAttempt)
						seen[string(m.Body)]++
						handles[i] = m.ReceiptHandle
					}
					got += len(msgs)
					mu.Unlock()
					res, err := c.Ack(ctx, "workers", "jobs", handles)
					require.NoError(t, err)
					for _, r := range res {
						require.Equal(t, client.AckOK, r.Status)
					}
					time.Sleep(pause)
				}
			}()
		}
		wg.Wait()
		return got
	}
	// Busy for a while, then the consumers stop with messages claimed ahead on the node.
	// The node claims ahead once it has seen a quarter second of demand: the pause keeps
	// the first phase busy for seconds, not over before that.
	first := consume(total-2000, time.Now().Add(3*time.Second), 10*time.Millisecond)
	require.Greater(t, metricValue(t, c, "floe_reader_prefetched_messages_total", ""), 0.0, "no message was claimed ahead")
	require.Eventually(t, func() bool {
		return metricValue(t, c, "floe_reader_released_messages_total", "") > 0
	}, 10*time.Second, 100*time.Millisecond, "claimed messages were not released")

	// The rest arrives within seconds (released, not waiting out 30 s of hidden time).
	start := time.Now()
	rest := consume(total, time.Now().Add(time.Minute), 0)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, total, first+rest)
	require.Len(t, seen, total)
	for body, n := range seen {
		require.Equal(t, 1, n, "%s delivered %d times", body, n)
	}
	lag, err := c.Lag(ctx, "workers")
	require.NoError(t, err)
	require.Zero(t, lag.Totals.Lag)
	dlq, err := c.Queues(ctx, "%DLQ%workers")
	if err == nil {
		for _, q := range dlq {
			require.Zero(t, q.MaxOffset, "a message was dead-lettered")
		}
	}
}
