package e2e_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

type acked struct {
	id     string
	queue  int
	offset int64
	body   string
}

// Invariants 1 and 2 across processes: two ingest processes and one reader share Postgres
// and MinIO; producers send to both; one ingest process is killed with SIGKILL mid-load.
// Every acknowledged message is then readable with its body at the offset its ack named,
// and every queue's offsets are dense, with no gaps and no duplicates.
func TestIngestKilledMidLoadLosesNothing(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	ingestA := startProc(t, b, "ingest")
	ingestB := startProc(t, b, "ingest")
	rd := startProc(t, b, "reader")
	ctx := context.Background()
	admin := client.New(rd.url)
	_, _, err := admin.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 4})
	require.NoError(t, err)

	var mu sync.Mutex
	var acks []acked
	var failures atomic.Int64
	var sentAfterKill atomic.Int64
	killed := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			clients := []*client.Client{client.New(ingestA.url), client.New(ingestB.url)}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := clients[(p+i)%2]
				var msgs []client.Message
				for j := 0; j < 10; j++ {
					msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("p%d-r%d-m%d", p, i, j))})
				}
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				res, err := c.Send(rctx, "orders", msgs)
				cancel()
				if err != nil {
					failures.Add(1)
					continue
				}
				select {
				case <-killed:
					sentAfterKill.Add(int64(len(res)))
				default:
				}
				mu.Lock()
				for j, r := range res {
					acks = append(acks, acked{id: r.MessageID, queue: r.QueueID, offset: r.Offset, body: string(msgs[j].Body)})
				}
				mu.Unlock()
			}
		}(p)
	}
	time.Sleep(2 * time.Second)
	require.NoError(t, ingestA.cmd.Process.Signal(syscall.SIGKILL))
	<-ingestA.done
	close(killed)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	require.NotEmpty(t, acks)
	require.Positive(t, sentAfterKill.Load(), "the surviving ingest node must keep acknowledging")
	t.Logf("%d messages acknowledged, %d send requests failed (the killed node's)", len(acks), failures.Load())

	// Read every queue back through the reader process.
	qs, err := admin.Queues(ctx, "orders")
	require.NoError(t, err)
	stored := map[int][]client.MessageView{}
	for _, q := range qs {
		var all []client.MessageView
		for off := int64(0); off < q.MaxOffset; {
			views, err := admin.ReadQueue(ctx, "orders", q.QueueID, off, 1000)
			require.NoError(t, err)
			require.NotEmpty(t, views, "queue %d ends at %d, reads stop at %d", q.QueueID, q.MaxOffset, off)
			all = append(all, views...)
			off += int64(len(views))
		}
		for i, v := range all {
			require.Equal(t, int64(i), v.Offset, "queue %d: offsets must be dense from 0", q.QueueID)
		}
		require.Equal(t, q.MaxOffset, int64(len(all)))
		stored[q.QueueID] = all
	}
	seen := map[string]bool{}
	for _, msgs := range stored {
		for _, v := range msgs {
			require.False(t, seen[v.MessageID], "message %s stored twice", v.MessageID)
			seen[v.MessageID] = true
		}
	}
	for _, a := range acks {
		msgs := stored[a.queue]
		require.Less(t, a.offset, int64(len(msgs)), "acknowledged message %s at %d/%d is lost", a.id, a.queue, a.offset)
		v := msgs[a.offset]
		require.Equal(t, a.id, v.MessageID, "acknowledged offset %d/%d names another message", a.queue, a.offset)
		require.Equal(t, a.body, string(v.Body))
	}
}
