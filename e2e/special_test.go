package e2e_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// Invariant 4 for delayed messages: durable at the ack, invisible to every group until
// its delivery time, then appended to its queue and delivered like any other.
func TestDelayedMessagesWaitForTheirTime(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "later", client.TopicDelay, "g", client.Concurrent, "*", 16, nil)
	now := time.Now()
	times := []time.Time{now.Add(-time.Minute), now.Add(2 * time.Second), now.Add(3 * time.Second)}
	var msgs []client.Message
	for i, at := range times {
		at := at
		msgs = append(msgs, client.Message{Body: []byte(fmt.Sprint("m", i)), Keys: []string{fmt.Sprint("k", i)}, DeliveryTime: &at})
	}
	res, err := c.Send(ctx, "later", msgs)
	require.NoError(t, err)
	require.NotNil(t, res[1].DeliveryTime, "a delayed send answers with its delivery time")
	require.WithinDuration(t, times[1], *res[1].DeliveryTime, time.Millisecond)

	got := map[string]time.Time{}
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		for _, m := range receive(t, c, "g", "later", 10, 30, 5) {
			got[m.MessageID] = time.Now()
			require.NotNil(t, m.DeliveryTime)
			require.False(t, time.Now().Before(*m.DeliveryTime), "message %s delivered before its time", m.Body)
			ackAll(t, c, "g", "later", []client.ReceivedMessage{m})
		}
	}
	require.Len(t, got, 3)
	for i, r := range res {
		at := got[r.MessageID]
		require.False(t, at.Before(times[i]), "message %d early", i)
		require.Less(t, at.Sub(maxTime(times[i], now)), 3*time.Second, "message %d much too late", i)
	}
	// Visible now: found by key, with an offset in its queue.
	v, err := c.MessagesByKey(ctx, "later", "k2")
	require.NoError(t, err)
	require.Len(t, v, 1)

	_, err = c.Send(ctx, "later", []client.Message{{Body: []byte("x"), DeliveryTime: ptr(now.Add(41 * 24 * time.Hour))}})
	require.True(t, client.IsCode(err, "DELAY_TOO_LONG"), "%v", err)
}

func ptr[T any](v T) *T { return &v }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Two compactors fire the same timers: each delayed message is appended exactly once.
func TestTimersFireOnceWithTwoCompactors(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	_, c := startNode(t, b.config("ingest,reader"))
	startNode(t, b.config("compactor"))
	startNode(t, b.config("compactor"))
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "later", Type: client.TopicDelay, Queues: 2})
	require.NoError(t, err)
	due := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			var msgs []client.Message
			for i := 0; i < 100; i++ {
				at := due.Add(time.Duration(i) * 10 * time.Millisecond)
				msgs = append(msgs, client.Message{Body: []byte(fmt.Sprint(p, "-", i)), DeliveryTime: &at})
			}
			_, err := c.Send(ctx, "later", msgs)
			assertNoErr(t, err)
		}(p)
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		qs, err := c.Queues(ctx, "later")
		require.NoError(t, err)
		var n int64
		for _, q := range qs {
			n += q.MaxOffset
		}
		return n >= 400
	}, 15*time.Second, 100*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	qs, err := c.Queues(ctx, "later")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, q := range qs {
		views, err := c.ReadQueue(ctx, "later", q.QueueID, 0, 1000)
		require.NoError(t, err)
		require.Len(t, views, int(q.MaxOffset))
		for _, v := range views {
			require.False(t, seen[string(v.Body)], "%s fired twice", v.Body)
			seen[string(v.Body)] = true
		}
	}
	require.Len(t, seen, 400)
}

// Transactional messages: invisible until commit, all at once; rollback drops them; both
// are idempotent and the wrong one after the other is a 409.
func TestTransactionsCommitAndRollback(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "payments", client.TopicTransaction, "g", client.Concurrent, "*", 16, nil)

	_, err := c.Send(ctx, "payments", []client.Message{{Body: []byte("plain")}})
	require.True(t, client.IsCode(err, "MESSAGE_TYPE_MISMATCH"), "%v", err)

	tx1, err := c.SendTransaction(ctx, "payments", "pg", []client.Message{{Body: []byte("a")}, {Body: []byte("b")}, {Body: []byte("c")}})
	require.NoError(t, err)
	require.Len(t, tx1.Messages, 3)
	tx2, err := c.SendTransaction(ctx, "payments", "pg", []client.Message{{Body: []byte("never")}})
	require.NoError(t, err)
	require.Empty(t, receive(t, c, "g", "payments", 10, 30, 1), "no half message before commit")

	require.NoError(t, c.Commit(ctx, tx1.TransactionID))
	require.NoError(t, c.Commit(ctx, tx1.TransactionID), "commit is idempotent")
	require.True(t, client.IsStatus(c.Rollback(ctx, tx1.TransactionID), 409))
	require.NoError(t, c.Rollback(ctx, tx2.TransactionID))
	require.NoError(t, c.Rollback(ctx, tx2.TransactionID), "rollback is idempotent")
	require.True(t, client.IsStatus(c.Commit(ctx, tx2.TransactionID), 409))
	require.True(t, client.IsStatus(c.Commit(ctx, "TXnope"), 404))

	var bodies []string
	for {
		msgs := receive(t, c, "g", "payments", 10, 30, 1)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			bodies = append(bodies, string(m.Body))
		}
		ackAll(t, c, "g", "payments", msgs)
	}
	require.ElementsMatch(t, []string{"a", "b", "c"}, bodies, "all committed messages, and nothing rolled back")
}

// The server asks the producer group about unresolved transactions; a commit answer makes
// them visible; silence ends in the rollback policy after the last check.
func TestTransactionChecks(t *testing.T) {
	t.Parallel()
	cfg := newBacking(t).config("all")
	cfg.MinInvisible = time.Second
	cfg.TransactionFirstCheck = time.Second
	cfg.TransactionCheckInterval = time.Second
	cfg.TransactionMaxChecks = 2
	cfg.TransactionPolicy = "rollback"
	_, c := startNode(t, cfg)
	ctx := context.Background()
	setupGroup(t, c, "payments", client.TopicTransaction, "g", client.Concurrent, "*", 16, nil)
	answered, err := c.SendTransaction(ctx, "payments", "checker", []client.Message{{Body: []byte("asked")}})
	require.NoError(t, err)
	silent, err := c.SendTransaction(ctx, "payments", "checker", []client.Message{{Body: []byte("ignored")}})
	require.NoError(t, err)

	checks, err := c.TransactionChecks(ctx, "checker", 10*time.Second)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, ch := range checks {
		ids[ch.TransactionID] = true
		require.Equal(t, "payments", ch.Topic)
		require.Len(t, ch.Messages, 1)
	}
	require.True(t, ids[answered.TransactionID], "the unresolved transaction is offered to its checker")
	require.NoError(t, c.Commit(ctx, answered.TransactionID))

	msgs := receive(t, c, "g", "payments", 10, 30, 5)
	require.Len(t, msgs, 1)
	require.Equal(t, "asked", string(msgs[0].Body))

	// The silent one: after its last check the policy rolls it back.
	require.Eventually(t, func() bool {
		st, err := c.TransactionState(ctx, silent.TransactionID)
		require.NoError(t, err)
		return st == "ROLLED_BACK"
	}, 20*time.Second, 200*time.Millisecond, "the policy should have rolled it back")
	require.True(t, client.IsStatus(c.Commit(ctx, silent.TransactionID), 409))
	require.Empty(t, receive(t, c, "g", "payments", 10, 30, 1))
}

// A crash of the ingest node between the half messages and the commit loses nothing: the
// commit can come through any other node.
func TestTransactionSurvivesIngestCrash(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	a := startProc(t, b, "ingest")
	other := startProc(t, b, "ingest,reader")
	ctx := context.Background()
	ca, co := client.New(a.url), client.New(other.url)
	setupGroup(t, co, "payments", client.TopicTransaction, "g", client.Concurrent, "*", 16, nil)
	tx, err := ca.SendTransaction(ctx, "payments", "pg", []client.Message{{Body: []byte("one")}, {Body: []byte("two")}})
	require.NoError(t, err)
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.done
	require.NoError(t, co.Commit(ctx, tx.TransactionID))
	var bodies []string
	for len(bodies) < 2 {
		msgs := receive(t, co, "g", "payments", 10, 30, 5)
		require.NotEmpty(t, msgs)
		for _, m := range msgs {
			bodies = append(bodies, string(m.Body))
		}
	}
	require.ElementsMatch(t, []string{"one", "two"}, bodies)
}
