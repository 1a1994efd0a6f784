package metadata_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/metadata"
)

// drainAll plans a receive that takes nothing and clears the ready mark of every queue it
// locks, in the order it locks them (at random).
type drainAll struct{ plan metadata.ReceivePlan }

func (d *drainAll) Queue(_ context.Context, _ *metadata.ReceiveState, q *metadata.ConsumeQueue) (bool, error) {
	if q.ReadySeq != nil {
		d.plan.Drained = append(d.plan.Drained, metadata.DrainedQueue{QueueRef: q.Ref, Seq: *q.ReadySeq})
	}
	return true, nil
}

func (d *drainAll) Plan() metadata.ReceivePlan { return d.plan }

// Commits mark the queues they append to ready for every group; receives clear the marks
// of the queues they drained. Both lock those rows, many at a time: run side by side on
// many queues, in every order, they must never deadlock (Postgres would end one of them
// with an error, and a whole look of receives would fail with 503).
func TestCommitsAndReceivesOnManyQueuesNeverDeadlock(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 16, RetentionHours: 1})
	require.NoError(t, err)
	_, _, err = s.GroupCreate(ctx, metadata.Group{Name: "g", DeliveryOrder: metadata.OrderConcurrent, MaxDeliveryAttempts: 3, BackoffSeconds: []int{1}})
	require.NoError(t, err)
	_, _, err = s.SubscriptionPut(ctx, "g", "t", "TAG", "*")
	require.NoError(t, err)
	qs, err := s.QueueList(ctx, "t")
	require.NoError(t, err)

	stop := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	commits, receives := 0, 0
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				var chunks []metadata.ChunkCommit
				for _, j := range rand.Perm(len(qs)) {
					chunks = append(chunks, metadata.ChunkCommit{QueueRef: qs[j].Ref, Count: 1, ByteLength: 10,
						MinStoreTime: time.Now(), MaxStoreTime: time.Now(), Bloom: bloom.New(1).Bytes()})
				}
				if _, err := s.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: fmt.Sprintf("seg/%d-%d", w, i), SizeBytes: 10, Chunks: chunks}); err != nil {
					fail(fmt.Errorf("commit: %w", err))
					return
				}
				mu.Lock()
				commits++
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, _, err := s.Receive(ctx, metadata.ReceiveParams{Group: "g", Topic: "t", MaxQueues: len(qs)}, &drainAll{}); err != nil {
					fail(fmt.Errorf("receive: %w", err))
					return
				}
				mu.Lock()
				receives++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Greater(t, commits, 20)
	require.Greater(t, receives, 20)
}
