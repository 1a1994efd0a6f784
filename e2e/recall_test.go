package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// alterHandle changes one character in the middle of a handle.
func alterHandle(h string) string {
	b := []byte(h)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Recalled delayed messages are never delivered, whichever records of a timer run they
// are (first, middle, adjacent, last); the others of the run come on time, get dense
// offsets, and the group's lag ends at zero. Bad handles change nothing, a recall after
// the delivery time is refused, and recalling twice is fine.
func TestDelayedMessagesRecall(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "later", client.TopicDelay, "g", client.Concurrent, "*", 16, nil)
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "elsewhere", Type: client.TopicDelay, Queues: 1})
	require.NoError(t, err)

	due := time.Now().Add(4 * time.Second)
	// One queue (one key), one flush: a run of 12 records in its delayed chunk, then 4
	// more spread over the queues, and one already due (visible at once: no handle).
	var same, spread []client.Message
	for i := 0; i < 12; i++ {
		at := due.Add(time.Duration(i) * 10 * time.Millisecond)
		same = append(same, client.Message{Body: []byte(fmt.Sprint("same-", i)), Keys: []string{"one-queue"}, DeliveryTime: &at})
	}
	for i := 0; i < 4; i++ {
		at := due.Add(time.Duration(i) * 10 * time.Millisecond)
		spread = append(spread, client.Message{Body: []byte(fmt.Sprint("spread-", i)), DeliveryTime: &at})
	}
	past := time.Now().Add(-time.Minute)
	spread = append(spread, client.Message{Body: []byte("now"), DeliveryTime: &past})
	res1, err := c.Send(ctx, "later", same)
	require.NoError(t, err)
	res2, err := c.Send(ctx, "later", spread)
	require.NoError(t, err)
	for _, r := range append(res1, res2[:4]...) {
		require.NotEmpty(t, r.RecallHandle, "a delayed message has a recall handle")
	}
	require.Empty(t, res2[4].RecallHandle, "a message due already has no recall handle")

	recalled := map[string]bool{}
	for _, r := range []client.SendResult{res1[0], res1[5], res1[6], res1[11], res2[2]} {
		id, err := c.Recall(ctx, "later", r.RecallHandle)
		require.NoError(t, err)
		require.Equal(t, r.MessageID, id)
		recalled[r.MessageID] = true
	}
	// Again: idempotent.
	id, err := c.Recall(ctx, "later", res1[5].RecallHandle)
	require.NoError(t, err)
	require.Equal(t, res1[5].MessageID, id)

	// Forged, altered, of another topic, of an unknown topic: refused, nothing changes.
	_, err = c.Recall(ctx, "later", alterHandle(res1[1].RecallHandle))
	require.True(t, client.IsCode(err, "INVALID_RECALL_HANDLE") && client.IsStatus(err, http.StatusBadRequest), "%v", err)
	_, err = c.Recall(ctx, "later", "not-a-handle")
	require.True(t, client.IsCode(err, "INVALID_RECALL_HANDLE"), "%v", err)
	_, err = c.Recall(ctx, "elsewhere", res1[2].RecallHandle)
	require.True(t, client.IsCode(err, "INVALID_RECALL_HANDLE"), "%v", err)
	_, err = c.Recall(ctx, "nowhere", res1[3].RecallHandle)
	require.True(t, client.IsCode(err, "TOPIC_NOT_FOUND") && client.IsStatus(err, http.StatusNotFound), "%v", err)

	want := map[string]bool{}
	for _, r := range append(res1, res2...) {
		if !recalled[r.MessageID] {
			want[r.MessageID] = true
		}
	}
	require.Len(t, want, 12)
	got := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		msgs := receive(t, c, "g", "later", 32, 30, 2)
		for _, m := range msgs {
			require.False(t, recalled[m.MessageID], "recalled message %s was delivered", m.Body)
			got[m.MessageID] = true
		}
		ackAll(t, c, "g", "later", msgs)
	}
	require.Equal(t, want, got)
	require.False(t, time.Now().Before(due))
	// Nothing else comes later.
	for _, m := range receive(t, c, "g", "later", 32, 30, 2) {
		t.Fatalf("unexpected delivery of %s", m.Body)
	}

	// The recalled messages never got offsets: the queues hold exactly the others.
	qs, err := c.Queues(ctx, "later")
	require.NoError(t, err)
	var stored int64
	for _, q := range qs {
		views, err := c.ReadQueue(ctx, "later", q.QueueID, 0, 100)
		require.NoError(t, err)
		require.Len(t, views, int(q.MaxOffset))
		for i, v := range views {
			require.Equal(t, int64(i), v.Offset)
			require.False(t, recalled[v.MessageID], "recalled message %s is in queue %d", v.Body, q.QueueID)
		}
		stored += q.MaxOffset
	}
	require.EqualValues(t, len(want), stored)
	require.Eventually(t, func() bool {
		lag, err := c.Lag(ctx, "g")
		require.NoError(t, err)
		return lag.Totals.Lag == 0
	}, 5*time.Second, 100*time.Millisecond, "the group's lag ends at zero")
	for id := range recalled {
		_, err := c.GetMessage(ctx, "later", id)
		require.True(t, client.IsStatus(err, http.StatusNotFound), "recalled message %s found by id: %v", id, err)
	}

	// The recall is in the message's trace.
	require.Eventually(t, func() bool {
		events, err := c.Trace(ctx, "later", res1[0].MessageID)
		require.NoError(t, err)
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		return slices.Equal(types, []string{"PRODUCED", "SCHEDULED", "RECALLED"})
	}, 20*time.Second, 200*time.Millisecond, "a recalled message's trace ends with RECALLED")

	// Too late: the message is delivered.
	_, err = c.Recall(ctx, "later", res1[1].RecallHandle)
	require.True(t, client.IsCode(err, "TOO_LATE") && client.IsStatus(err, http.StatusConflict), "%v", err)
	// A recalled message stays recalled.
	id, err = c.Recall(ctx, "later", res1[0].RecallHandle)
	require.NoError(t, err)
	require.Equal(t, res1[0].MessageID, id)
}

// The official RocketMQ Go client's Producer.Recall over gRPC.
func TestRocketMQSDKRecallDelayed(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "reminders", Type: client.TopicDelay, Queues: 2})
	require.NoError(t, err)
	dc := startSimpleConsumer(t, ep, "reminder-svc", "reminders", "*")
	p := startProducer(t, ep, rmq.WithTopics("reminders"))

	due := time.Now().Add(3 * time.Second)
	var receipts []*rmq.SendReceipt
	for i := 0; i < 3; i++ {
		m := &rmq.Message{Topic: "reminders", Body: []byte(fmt.Sprint("r", i))}
		m.SetDelayTimestamp(due)
		rs, err := p.Send(ctx, m)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		require.NotEmpty(t, rs[0].RecallHandle)
		receipts = append(receipts, rs[0])
	}
	code := func(err error) v2.Code {
		var rpc *rmq.ErrRpcStatus
		require.True(t, errors.As(err, &rpc), "%v", err)
		return v2.Code(rpc.GetCode())
	}
	_, err = p.Recall(ctx, "reminders", alterHandle(receipts[0].RecallHandle))
	require.Equal(t, v2.Code_BAD_REQUEST, code(err))
	id, err := p.Recall(ctx, "reminders", receipts[1].RecallHandle)
	require.NoError(t, err)
	require.Equal(t, receipts[1].MessageID, id)

	got := receiveAll(t, dc, 2, 20*time.Second, true)
	require.Len(t, got, 2)
	for _, mv := range got {
		require.NotEqual(t, "r1", string(mv.GetBody()), "the recalled message was delivered")
	}
	// Nothing else comes: one more long poll finds nothing.
	if mvs, err := dc.Receive(ctx, 16, 20*time.Second); err == nil {
		for _, mv := range mvs {
			t.Fatalf("unexpected delivery of %s", mv.GetBody())
		}
	} else {
		require.Equal(t, v2.Code_MESSAGE_NOT_FOUND, code(err))
	}
	_, err = p.Recall(ctx, "reminders", receipts[0].RecallHandle)
	require.Equal(t, v2.Code_PRECONDITION_FAILED, code(err))
}
