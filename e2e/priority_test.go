package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// PRIORITY topics over HTTP: bad settings and bad priorities are refused with nothing
// stored; a backlog of mixed priorities is received higher first, equal priorities in
// store order, by a concurrent group, an ORDERLY one (priority breaks send order, so an
// ORDERLY group consumes a PRIORITY topic as a concurrent one does) and a filtered one;
// the lag API and the gauges count each priority.
func TestPriorityBacklogHigherFirst(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()

	for _, spec := range []client.TopicSpec{
		{Name: "bad", Type: client.TopicPriority, MaxPriority: 3, Queues: 6},
		{Name: "bad", Type: client.TopicPriority, MaxPriority: 100},
		{Name: "bad", Type: client.TopicPriority, PriorityAgingSeconds: -1},
		{Name: "bad", Type: client.TopicNormal, MaxPriority: 3},
	} {
		_, _, err := c.CreateTopic(ctx, spec)
		require.True(t, client.IsCode(err, "BAD_REQUEST"), "%+v: %v", spec, err)
	}
	top, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Type: client.TopicPriority, MaxPriority: 3})
	require.NoError(t, err)
	require.Equal(t, 4, top.Queues, "one queue per priority level by default")
	_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "plain", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)

	for _, tc := range []struct {
		topic string
		msg   client.Message
		code  string
	}{
		{"jobs", client.Message{Body: []byte("x")}, "MESSAGE_TYPE_MISMATCH"},
		{"jobs", client.Message{Body: []byte("x"), Priority: ptr(4)}, "INVALID_PRIORITY"},
		{"jobs", client.Message{Body: []byte("x"), Priority: ptr(-1)}, "INVALID_PRIORITY"},
		{"jobs", client.Message{Body: []byte("x"), Priority: ptr(1), MessageGroup: "g"}, "MESSAGE_TYPE_MISMATCH"},
		{"plain", client.Message{Body: []byte("x"), Priority: ptr(1)}, "MESSAGE_TYPE_MISMATCH"},
	} {
		ok := client.Message{Body: []byte("ok"), Priority: ptr(0)}
		if tc.topic == "plain" {
			ok.Priority = nil
		}
		_, err := c.Send(ctx, tc.topic, []client.Message{ok, tc.msg})
		require.True(t, client.IsCode(err, tc.code), "%+v: %v", tc.msg, err)
		var apiErr *client.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 400, apiErr.Status)
		require.Contains(t, apiErr.Message, "message 1")
	}
	for _, topic := range []string{"jobs", "plain"} {
		qs, err := c.Queues(ctx, topic)
		require.NoError(t, err)
		for _, q := range qs {
			require.Zero(t, q.MaxOffset, "a refused send stores nothing")
		}
	}

	for _, g := range []client.GroupSpec{{Name: "workers"}, {Name: "orderly", DeliveryOrder: client.Orderly}, {Name: "only-a"}} {
		_, _, err := c.CreateGroup(ctx, g)
		require.NoError(t, err)
	}
	require.NoError(t, c.Subscribe(ctx, "workers", "jobs", client.SubscriptionSpec{Filter: "*"}))
	require.NoError(t, c.Subscribe(ctx, "orderly", "jobs", client.SubscriptionSpec{Filter: "*"}))
	require.NoError(t, c.Subscribe(ctx, "only-a", "jobs", client.SubscriptionSpec{Filter: "a"}))

	// A backlog of 40 messages, priorities interleaved, in two requests (two flushes).
	for r := 0; r < 2; r++ {
		var msgs []client.Message
		for i := r * 20; i < (r+1)*20; i++ {
			tag := []string{"a", "b"}[i%2]
			msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("%d/%03d", i%4, i)), Tag: tag, Priority: ptr(i % 4)})
		}
		_, err := c.Send(ctx, "jobs", msgs)
		require.NoError(t, err)
	}

	lag, err := c.Lag(ctx, "workers")
	require.NoError(t, err)
	require.Len(t, lag.Topics, 1)
	require.Len(t, lag.Topics[0].Priorities, 4)
	for i, p := range lag.Topics[0].Priorities {
		require.Equal(t, 3-i, p.Priority, "highest first")
		require.EqualValues(t, 10, p.Lag)
	}
	for _, q := range lag.Topics[0].Queues {
		require.NotNil(t, q.Priority)
		require.Equal(t, q.QueueID%4, *q.Priority)
	}
	require.Eventually(t, func() bool {
		return metricValue(t, c, "floe_group_priority_lag_messages", `group="workers",priority="3",topic="jobs"`) == 10
	}, 15*time.Second, 200*time.Millisecond)

	// want is every body of the backlog that passes keep, higher priority first, then
	// in send order.
	want := func(keep func(i int) bool) []string {
		var out []string
		for p := 3; p >= 0; p-- {
			for i := 0; i < 40; i++ {
				if i%4 == p && keep(i) {
					out = append(out, fmt.Sprintf("%d/%03d", p, i))
				}
			}
		}
		return out
	}
	drain := func(group string, batch int) []string {
		var got []string
		for {
			msgs := receive(t, c, group, "jobs", batch, 30, 1)
			if len(msgs) == 0 {
				return got
			}
			for _, m := range msgs {
				require.NotNil(t, m.Priority)
				require.Equal(t, strings.SplitN(string(m.Body), "/", 2)[0], fmt.Sprint(*m.Priority))
				got = append(got, string(m.Body))
			}
			ackAll(t, c, group, "jobs", msgs)
		}
	}
	all := want(func(int) bool { return true })
	require.Equal(t, all, drain("workers", 3))
	require.Equal(t, all, drain("orderly", 7))
	require.Equal(t, want(func(i int) bool { return i%2 == 0 }), drain("only-a", 4))

	lag, err = c.Lag(ctx, "workers")
	require.NoError(t, err)
	for _, p := range lag.Topics[0].Priorities {
		require.Zero(t, p.Lag)
	}
}

// The aging rule: a message of priority p waits behind a message of priority p+k only if
// that one was stored less than k × priorityAgingSeconds after it, so an old low-priority
// message goes before newer higher-priority ones and is never starved. A retried message
// keeps its priority: it ranks from when it became due again, ahead of an older backlog of
// lower priority.
func TestPriorityAgingAndRetries(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "tasks", Type: client.TopicPriority, MaxPriority: 9, PriorityAgingSeconds: 1})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "w", RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{1}}})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "w", "tasks", client.SubscriptionSpec{Filter: "*"}))
	send := func(body string, p int) {
		_, err := c.Send(ctx, "tasks", []client.Message{{Body: []byte(body), Priority: ptr(p)}})
		require.NoError(t, err)
	}
	next := func() client.ReceivedMessage {
		msgs := receive(t, c, "w", "tasks", 1, 30, 5)
		require.Len(t, msgs, 1)
		return msgs[0]
	}

	// Stored together, the higher priority goes first.
	send("low-now", 0)
	send("high-now", 5)
	first, second := next(), next()
	require.Equal(t, "high-now", string(first.Body))
	require.Equal(t, "low-now", string(second.Body))
	ackAll(t, c, "w", "tasks", []client.ReceivedMessage{first, second})

	// A priority-0 message that waited 4 s ranks above priority-2 messages stored after
	// it (2 levels are worth 2 s), below a priority-9 one (9 s).
	send("low-old", 0)
	time.Sleep(4 * time.Second)
	send("mid-new-1", 2)
	send("mid-new-2", 2)
	send("top-new", 9)
	var got []string
	var held []client.ReceivedMessage
	for range 4 {
		m := next()
		got = append(got, string(m.Body))
		held = append(held, m)
	}
	require.Equal(t, []string{"top-new", "low-old", "mid-new-1", "mid-new-2"}, got)
	ackAll(t, c, "w", "tasks", held)

	// A nacked priority-9 message comes back, after its backoff, ahead of a priority-1
	// backlog stored before it.
	send("urgent", 9)
	urgent := next()
	require.Equal(t, "urgent", string(urgent.Body))
	for i := range 5 {
		send(fmt.Sprintf("backlog-%d", i), 1)
	}
	res, err := c.Nack(ctx, "w", "tasks", []string{urgent.ReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, client.AckOK, res[0].Status)
	time.Sleep(1500 * time.Millisecond)
	again := next()
	require.Equal(t, "urgent", string(again.Body))
	require.Equal(t, 2, again.DeliveryAttempt)
	require.Equal(t, 9, *again.Priority)
	ackAll(t, c, "w", "tasks", []client.ReceivedMessage{again})
	for i := range 5 {
		m := next()
		require.Equal(t, fmt.Sprintf("backlog-%d", i), string(m.Body))
		ackAll(t, c, "w", "tasks", []client.ReceivedMessage{m})
	}
}
