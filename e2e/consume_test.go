package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// consumeNode starts a node whose receives may use invisible times from 1 s.
func consumeNode(t *testing.T) *client.Client {
	t.Helper()
	cfg := newBacking(t).config("all")
	cfg.MinInvisible = time.Second
	_, c := startNode(t, cfg)
	return c
}

func setupGroup(t *testing.T, c *client.Client, topic string, topicType client.TopicType, group string, order client.DeliveryOrder, filter string, attempts int, backoff []int) {
	t.Helper()
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: topic, Type: topicType, Queues: 4})
	require.NoError(t, err)
	spec := client.GroupSpec{Name: group, DeliveryOrder: order, MaxDeliveryAttempts: attempts}
	if backoff != nil {
		spec.RetryPolicy = client.RetryPolicy{BackoffSeconds: backoff}
	}
	_, _, err = c.CreateGroup(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, group, topic, client.SubscriptionSpec{Filter: filter}))
}

func sendN(t *testing.T, c *client.Client, topic string, n int, mk func(i int) client.Message) []client.SendResult {
	t.Helper()
	var out []client.SendResult
	for i := 0; i < n; i += 50 {
		var msgs []client.Message
		for j := i; j < min(n, i+50); j++ {
			msgs = append(msgs, mk(j))
		}
		res, err := c.Send(context.Background(), topic, msgs)
		require.NoError(t, err)
		out = append(out, res...)
	}
	return out
}

func receive(t *testing.T, c *client.Client, group, topic string, max, invisible, wait int) []client.ReceivedMessage {
	t.Helper()
	msgs, err := c.Receive(context.Background(), group, topic, client.ReceiveRequest{MaxMessages: max, InvisibleSeconds: invisible, WaitSeconds: wait})
	require.NoError(t, err)
	return msgs
}

func ackAll(t *testing.T, c *client.Client, group, topic string, msgs []client.ReceivedMessage) {
	t.Helper()
	if len(msgs) == 0 {
		return
	}
	var hs []string
	for _, m := range msgs {
		hs = append(hs, m.ReceiptHandle)
	}
	res, err := c.Ack(context.Background(), group, topic, hs)
	require.NoError(t, err)
	for _, r := range res {
		require.Equal(t, client.AckOK, r.Status)
	}
}

// Concurrent consumers: every message is delivered, none twice while invisible, and once
// all are acked the group's consumed offsets reach the queues' ends.
func TestConcurrentConsumersReceiveEachMessageOnce(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "orders", client.TopicNormal, "billing", client.Concurrent, "*", 16, nil)
	sent := sendN(t, c, "orders", 400, func(i int) client.Message { return client.Message{Body: []byte(fmt.Sprint("m", i))} })

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 60, WaitSeconds: 1})
				if !assertNoErr(t, err) || len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					got[m.MessageID]++
					if m.DeliveryAttempt != 1 {
						t.Errorf("first delivery has attempt %d", m.DeliveryAttempt)
					}
				}
				mu.Unlock()
				var hs []string
				for _, m := range msgs {
					hs = append(hs, m.ReceiptHandle)
				}
				if _, err := c.Ack(ctx, "billing", "orders", hs); !assertNoErr(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, got, len(sent))
	for _, s := range sent {
		require.Equal(t, 1, got[s.MessageID], "message %s delivered %d times", s.MessageID, got[s.MessageID])
	}
	lag, err := c.Lag(ctx, "billing")
	require.NoError(t, err)
	require.Len(t, lag.Topics, 1)
	var max, consumed int64
	for _, q := range lag.Topics[0].Queues {
		max += q.MaxOffset
		consumed += q.ConsumedOffset
		require.Zero(t, q.Inflight)
		require.Zero(t, q.Ready)
	}
	require.Equal(t, int64(400), max)
	require.Equal(t, max, consumed)
	require.Zero(t, lag.Totals.Inflight)
}

func assertNoErr(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

// A group sees messages sent after it subscribed, not before (like RocketMQ).
func TestSubscriptionStartsAtTheQueuesEnd(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "t", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	sendN(t, c, "t", 10, func(i int) client.Message { return client.Message{Body: []byte("old")} })
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "g"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "g", "t", client.SubscriptionSpec{Filter: "*"}))
	sendN(t, c, "t", 3, func(i int) client.Message { return client.Message{Body: []byte("new")} })
	msgs := receive(t, c, "g", "t", 32, 30, 1)
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Equal(t, "new", string(m.Body))
	}
}

// A lapsed invisible time makes the message visible again with the attempt counted; a
// nack redelivers after the group's backoff; past the last attempt the message goes to the
// group's dead-letter topic, by reference, and stops being delivered.
func TestRedeliveryAndDeadLetter(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "jobs", client.TopicNormal, "workers", client.Concurrent, "*", 3, []int{1})
	sent := sendN(t, c, "jobs", 1, func(i int) client.Message { return client.Message{Body: []byte("fragile"), Keys: []string{"job-1"}} })

	first := receive(t, c, "workers", "jobs", 1, 1, 5)
	require.Len(t, first, 1)
	require.Equal(t, 1, first[0].DeliveryAttempt)
	require.Empty(t, receive(t, c, "workers", "jobs", 1, 1, 0), "hidden while invisible")

	// Let the invisible time lapse: attempt 2.
	second := receive(t, c, "workers", "jobs", 1, 30, 5)
	require.Len(t, second, 1)
	require.Equal(t, sent[0].MessageID, second[0].MessageID)
	require.Equal(t, 2, second[0].DeliveryAttempt)
	// The old handle no longer acks.
	res, err := c.Ack(ctx, "workers", "jobs", []string{first[0].ReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, client.AckExpired, res[0].Status)

	// Nack: redelivered after the 1 s backoff, attempt 3.
	start := time.Now()
	nres, err := c.Nack(ctx, "workers", "jobs", []string{second[0].ReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, client.AckOK, nres[0].Status)
	third := receive(t, c, "workers", "jobs", 1, 30, 5)
	require.Len(t, third, 1)
	require.Equal(t, 3, third[0].DeliveryAttempt)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "redelivered before its backoff")

	// The third attempt was the last: a nack dead-letters it.
	_, err = c.Nack(ctx, "workers", "jobs", []string{third[0].ReceiptHandle})
	require.NoError(t, err)
	require.Empty(t, receive(t, c, "workers", "jobs", 1, 30, 2), "a dead-lettered message is not delivered again")

	dlq, err := c.ReadQueue(ctx, "%DLQ%workers", 0, 0, 10)
	require.NoError(t, err)
	require.Len(t, dlq, 1)
	require.Equal(t, sent[0].MessageID, dlq[0].MessageID, "the dead letter is the same message")
	require.Equal(t, "fragile", string(dlq[0].Body))
	byKey, err := c.MessagesByKey(ctx, "%DLQ%workers", "job-1")
	require.NoError(t, err)
	require.Len(t, byKey, 1)

	lag, err := c.Lag(ctx, "workers")
	require.NoError(t, err)
	require.Equal(t, int64(1), lag.Topics[0].Queues[sent[0].QueueID].ConsumedOffset, "a dead letter is finished in its source")
}

// Tag filters: non-matching messages are never delivered and do not hold up progress.
func TestTagFilter(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "events", client.TopicNormal, "ab", client.Concurrent, "TagA || TagB", 16, nil)
	tags := []string{"TagA", "TagB", "TagC", ""}
	sendN(t, c, "events", 200, func(i int) client.Message {
		return client.Message{Body: []byte(fmt.Sprint(i)), Tag: tags[i%4]}
	})
	var got []client.ReceivedMessage
	for {
		msgs := receive(t, c, "ab", "events", 64, 30, 1)
		if len(msgs) == 0 {
			break
		}
		got = append(got, msgs...)
		ackAll(t, c, "ab", "events", msgs)
	}
	require.Len(t, got, 100)
	for _, m := range got {
		require.Contains(t, []string{"TagA", "TagB"}, m.Tag)
	}
	lag, err := c.Lag(ctx, "ab")
	require.NoError(t, err)
	for _, q := range lag.Topics[0].Queues {
		require.Equal(t, q.MaxOffset, q.ConsumedOffset, "filtered messages must not hold up the consumer offset")
	}
}

// SQL92 filters: the group receives exactly the messages whose properties (and tag, as
// TAGS) satisfy the expression; the others are skipped without holding up its offsets.
// Bad expressions get 400 INVALID_FILTER and change nothing.
func TestSQL92Filter(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "payments", client.TopicNormal, "big-eu", client.Concurrent, "*", 16, nil)
	expr := "(region = 'eu' OR region IN ('ch', 'no')) AND amount >= 100 AND TAGS <> 'test'"
	require.NoError(t, c.Subscribe(ctx, "big-eu", "payments", client.SubscriptionSpec{FilterType: "SQL92", Filter: expr}))
	g, err := c.GetGroup(ctx, "big-eu")
	require.NoError(t, err)
	require.Equal(t, "SQL92", g.Subscriptions[0].FilterType)

	regions := []string{"eu", "us", "ch", "no", ""}
	tags := []string{"live", "test", ""}
	want := map[string]bool{}
	sendN(t, c, "payments", 300, func(i int) client.Message {
		m := client.Message{Body: []byte(fmt.Sprint(i)), Tag: tags[i%3], Properties: map[string]string{"amount": fmt.Sprint(i)}}
		if r := regions[i%5]; r != "" {
			m.Properties["region"] = r
		}
		if i%7 == 0 {
			m.Properties["amount"] = "n/a" // not a number: the comparison does not hold
		}
		r, tag := regions[i%5], tags[i%3]
		if (r == "eu" || r == "ch" || r == "no") && i >= 100 && i%7 != 0 && tag != "test" && tag != "" {
			want[fmt.Sprint(i)] = true
		}
		return m
	})
	got := map[string]bool{}
	for {
		msgs := receive(t, c, "big-eu", "payments", 64, 30, 1)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			require.False(t, got[string(m.Body)], "message %s delivered twice", m.Body)
			got[string(m.Body)] = true
		}
		ackAll(t, c, "big-eu", "payments", msgs)
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, got)
	lag, err := c.Lag(ctx, "big-eu")
	require.NoError(t, err)
	for _, q := range lag.Topics[0].Queues {
		require.Equal(t, q.MaxOffset, q.ConsumedOffset, "filtered messages must not hold up the consumer offset")
	}

	for _, spec := range []client.SubscriptionSpec{
		{FilterType: "SQL92", Filter: "amount >"},
		{FilterType: "SQL92", Filter: ""},
		{FilterType: "SQL92", Filter: "region = 'eu"},
		{FilterType: "XPATH", Filter: "/a"},
		{Filter: "region = 'eu'"}, // a SQL expression given as tags
	} {
		err := c.Subscribe(ctx, "big-eu", "payments", spec)
		requireAPIError(t, err, http.StatusBadRequest, "INVALID_FILTER")
	}
	g, err = c.GetGroup(ctx, "big-eu")
	require.NoError(t, err)
	require.Equal(t, "SQL92", g.Subscriptions[0].FilterType, "a refused subscription changes nothing")
}

// Orderly groups on FIFO topics: within a message group the next message is delivered only
// after the previous one is acked, in send order, while other groups proceed in parallel.
func TestOrderlyDeliveryKeepsMessageGroupOrder(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "fifo", client.TopicFIFO, "ordered", client.Orderly, "*", 16, nil)
	const groups, perGroup = 12, 25
	sendN(t, c, "fifo", groups*perGroup, func(i int) client.Message {
		return client.Message{Body: []byte(fmt.Sprint(i / groups)), MessageGroup: fmt.Sprint("user-", i%groups)}
	})

	var mu sync.Mutex
	next := map[string]int{}      // message group → next expected sequence number
	inFlight := map[string]bool{} // message group → a message is out and not acked
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle := 0
			for idle < 3 {
				msgs, err := c.Receive(ctx, "ordered", "fifo", client.ReceiveRequest{MaxMessages: 8, InvisibleSeconds: 60, WaitSeconds: 1})
				if !assertNoErr(t, err) {
					return
				}
				if len(msgs) == 0 {
					idle++
					continue
				}
				idle = 0
				mu.Lock()
				for _, m := range msgs {
					g := m.MessageGroup
					if inFlight[g] {
						t.Errorf("group %s: a second message was delivered before the first was acked", g)
					}
					inFlight[g] = true
					if want := fmt.Sprint(next[g]); string(m.Body) != want {
						t.Errorf("group %s: got message %s, want %s", g, m.Body, want)
					}
					next[g]++
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				var hs []string
				mu.Lock()
				for _, m := range msgs {
					inFlight[m.MessageGroup] = false
					hs = append(hs, m.ReceiptHandle)
				}
				mu.Unlock()
				if _, err := c.Ack(ctx, "ordered", "fifo", hs); !assertNoErr(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, next, groups)
	for g, n := range next {
		require.Equal(t, perGroup, n, "group %s got %d of %d messages", g, n, perGroup)
	}
}

// Reset moves the group back to the first message stored at or after a time.
func TestResetToTimestamp(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "log", client.TopicNormal, "replay", client.Concurrent, "*", 16, nil)
	sendN(t, c, "log", 20, func(i int) client.Message { return client.Message{Body: []byte("before")} })
	time.Sleep(50 * time.Millisecond)
	mark := time.Now()
	time.Sleep(50 * time.Millisecond)
	sendN(t, c, "log", 10, func(i int) client.Message { return client.Message{Body: []byte("after")} })
	for {
		msgs := receive(t, c, "replay", "log", 64, 30, 0)
		if len(msgs) == 0 {
			break
		}
		ackAll(t, c, "replay", "log", msgs)
	}
	require.NoError(t, c.Reset(ctx, "replay", "log", mark))
	var again []string
	for {
		msgs := receive(t, c, "replay", "log", 64, 30, 0)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			again = append(again, string(m.Body))
		}
		ackAll(t, c, "replay", "log", msgs)
	}
	sort.Strings(again)
	require.Len(t, again, 10)
	require.Equal(t, "after", again[0])

	require.NoError(t, c.Reset(ctx, "replay", "log", mark.Add(-time.Hour)))
	lag, err := c.Lag(ctx, "replay")
	require.NoError(t, err)
	require.Equal(t, int64(30), lag.Totals.Ready, "a reset to before everything makes all 30 ready again")
}

// A waiting receive returns soon after a matching send, not at its wait deadline.
func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	setupGroup(t, c, "bell", client.TopicNormal, "listeners", client.Concurrent, "*", 16, nil)
	go func() {
		time.Sleep(500 * time.Millisecond)
		sendN(t, c, "bell", 1, func(i int) client.Message { return client.Message{Body: []byte("ding")} })
	}()
	start := time.Now()
	msgs := receive(t, c, "listeners", "bell", 1, 30, 20)
	require.Len(t, msgs, 1)
	require.Less(t, time.Since(start), 5*time.Second, "the receive should wake on the commit")
}

// Receipt handles are signed: forged, altered or foreign handles are INVALID and ack
// nothing; change-invisible issues a new handle and retires the old one.
func TestReceiptHandles(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "t", client.TopicNormal, "g1", client.Concurrent, "*", 16, nil)
	_, _, err := c.CreateGroup(ctx, client.GroupSpec{Name: "g2"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "g2", "t", client.SubscriptionSpec{Filter: "*"}))
	sendN(t, c, "t", 2, func(i int) client.Message { return client.Message{Body: []byte("x")} })
	msgs := receive(t, c, "g1", "t", 2, 30, 2)
	require.Len(t, msgs, 2)
	h := msgs[0].ReceiptHandle
	altered := h[:len(h)-2] + "AA"
	if altered == h {
		altered = h[:len(h)-2] + "BB"
	}
	res, err := c.Ack(ctx, "g1", "t", []string{"forged", altered})
	require.NoError(t, err)
	require.Equal(t, client.AckInvalid, res[0].Status)
	require.Equal(t, client.AckInvalid, res[1].Status)
	res, err = c.Ack(ctx, "g2", "t", []string{h})
	require.NoError(t, err)
	require.Equal(t, client.AckInvalid, res[0].Status, "a handle of g1 must not ack for g2")

	nh, err := c.ChangeInvisible(ctx, "g1", "t", h, 60)
	require.NoError(t, err)
	require.NotEqual(t, h, nh)
	res, err = c.Ack(ctx, "g1", "t", []string{h, nh, nh})
	require.NoError(t, err)
	require.Equal(t, client.AckExpired, res[0].Status, "the old handle is retired")
	require.Equal(t, client.AckOK, res[1].Status)
	require.Equal(t, client.AckOK, res[2].Status, "acking twice is fine")

	lag, err := c.Lag(ctx, "g1")
	require.NoError(t, err)
	require.Equal(t, int64(1), lag.Totals.Inflight, "one message still out")
}

func TestConsumeBadInput(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "t", client.TopicNormal, "g", client.Concurrent, "*", 16, nil)
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "other", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)
	for _, tc := range []struct {
		name, group, topic string
		req                client.ReceiveRequest
		status             int
		code               string
	}{
		{"unknown group", "nope", "t", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 30}, 404, "GROUP_NOT_FOUND"},
		{"unknown topic", "g", "nope", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 30}, 404, "TOPIC_NOT_FOUND"},
		{"not subscribed", "g", "other", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 30}, 404, "SUBSCRIPTION_NOT_FOUND"},
		{"too many", "g", "t", client.ReceiveRequest{MaxMessages: 5000, InvisibleSeconds: 30}, 400, "BAD_REQUEST"},
		{"invisible too long", "g", "t", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 100000}, 400, "BAD_REQUEST"},
		{"wait too long", "g", "t", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 30, WaitSeconds: 60}, 400, "BAD_REQUEST"},
	} {
		_, err := c.Receive(ctx, tc.group, tc.topic, tc.req)
		require.True(t, client.IsStatus(err, tc.status), "%s: %v", tc.name, err)
		require.True(t, client.IsCode(err, tc.code), "%s: %v", tc.name, err)
	}
	err = c.Subscribe(ctx, "g", "missing", client.SubscriptionSpec{Filter: "*"})
	require.True(t, client.IsStatus(err, 404), "subscribing to a missing topic: %v", err)
	err = c.Subscribe(ctx, "g", "t", client.SubscriptionSpec{Filter: "TagA &&"})
	require.True(t, client.IsStatus(err, 400), "a bad filter: %v", err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "bad", DeliveryOrder: "SIDEWAYS"})
	require.True(t, client.IsStatus(err, 400), "%v", err)
}

// The cost of consuming in Postgres transactions, read from the store's counter (what an
// operator sees on /metrics): a receive that finds messages and an ack of a whole batch
// are one transaction each, whatever the batch size; receives waiting on a topic do not
// each pay a transaction per commit that brings them nothing.
func TestConsumeCostsOneTransactionPerCall(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	txs := func(op string) float64 {
		return metricValue(t, c, "floe_metadata_transactions_total", `operation="`+op+`"`)
	}

	setupGroup(t, c, "costly", client.TopicNormal, "payers", client.Concurrent, "*", 16, nil)
	sendN(t, c, "costly", 8*32, func(i int) client.Message { return client.Message{Body: []byte(fmt.Sprint(i))} })
	recv0, ack0 := txs("receive"), txs("ack")
	for range 8 {
		msgs := receive(t, c, "payers", "costly", 32, 30, 0)
		require.Len(t, msgs, 32)
		ackAll(t, c, "payers", "costly", msgs)
	}
	require.Equal(t, 8.0, txs("receive")-recv0, "one transaction per receive call")
	require.Equal(t, 8.0, txs("ack")-ack0, "one transaction per ack call of 32 handles")

	// 16 receives wait on a topic while 5 commits bring messages their filter rejects.
	setupGroup(t, c, "noisy", client.TopicNormal, "picky", client.Concurrent, "wanted", 16, nil)
	recv0 = txs("receive")
	const waiters, commits = 16, 5
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			msgs, err := c.Receive(ctx, "picky", "noisy", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 2})
			assert.NoError(t, err)
			assert.Empty(t, msgs)
		})
	}
	for range commits {
		time.Sleep(150 * time.Millisecond)
		sendN(t, c, "noisy", 4, func(i int) client.Message { return client.Message{Body: []byte("x"), Tag: "other"} })
	}
	wg.Wait()
	spent := txs("receive") - recv0
	t.Logf("%d waiting receives and %d commits cost %.0f receive transactions", waiters, commits, spent)
	// One look when the first receive comes, one per commit, one per idle re-check (1 s)
	// of the 2 s wait; every other receive waits in memory.
	require.LessOrEqual(t, spent, float64(1+commits+3))
	require.LessOrEqual(t, spent, float64(waiters), "at most one transaction per receive call")
}

// Consumers that keep up with a steady stream, more of them than queues (16 on 4), cost
// at most one receive transaction per receive call: receives that arrive while a look is
// running share its transaction (each with its own messages and receipt handles) instead
// of finding the queues locked and retrying, and a look that took all there was lets the
// next receives wait for a commit instead of looking again. Every message arrives once and
// every ack succeeds.
func TestConsumeUnderLoadCostsAtMostOneTransactionPerReceive(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "stream", client.TopicNormal, "keepers", client.Concurrent, "*", 16, nil)
	calls := func() float64 { return metricValue(t, c, "floe_reader_receives_total", "") }
	looks := func(outcome string) float64 {
		return metricValue(t, c, "floe_reader_receive_attempts_total", `outcome="`+outcome+`"`)
	}
	recv0, calls0 := metricValue(t, c, "floe_metadata_transactions_total", `operation="receive"`), calls()
	contended0, empty0 := looks("contended"), looks("empty")
	ackTx0 := metricValue(t, c, "floe_metadata_transactions_total", `operation="ack"`)
	var ackCalls atomic.Int64

	const consumers, rounds, perRound = 16, 30, 150
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range consumers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				msgs, err := c.Receive(runCtx, "keepers", "stream", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 1})
				if runCtx.Err() != nil {
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.MessageID]++
				}
				mu.Unlock()
				if len(msgs) > 0 {
					ackCalls.Add(1)
				}
				ackAll(t, c, "keepers", "stream", msgs)
			}
		})
	}
	var sent []client.SendResult
	for range rounds {
		sent = append(sent, sendN(t, c, "stream", perRound, func(i int) client.Message { return client.Message{Body: []byte(fmt.Sprint(i))} })...)
		time.Sleep(30 * time.Millisecond)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(sent)
	}, 30*time.Second, 20*time.Millisecond, "every message received")
	stop()
	wg.Wait()
	for _, r := range sent {
		require.Equal(t, 1, seen[r.MessageID], "message %s received once", r.MessageID)
	}
	spent, n := metricValue(t, c, "floe_metadata_transactions_total", `operation="receive"`)-recv0, calls()-calls0
	t.Logf("%.0f receive calls cost %.0f receive transactions (%.0f contended, %.0f empty)", n, spent, looks("contended")-contended0, looks("empty")-empty0)
	require.LessOrEqual(t, spent, n, "at most one transaction per receive call")
	ackTx := metricValue(t, c, "floe_metadata_transactions_total", `operation="ack"`) - ackTx0
	t.Logf("%d ack calls cost %.0f ack transactions", ackCalls.Load(), ackTx)
	require.LessOrEqual(t, ackTx, float64(ackCalls.Load()), "at most one transaction per ack call")
}
