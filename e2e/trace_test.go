package e2e_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// The trace shows a real message's whole path: produced, stored (queue, offset, object),
// delivered (group, consumer, attempt), nacked, delivered again, acked — across an ingest
// process and a reader process.
func TestMessageTraceShowsTheWholePath(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	in := startProc(t, b, "ingest")
	rdProc := startProc(t, b, "reader")
	ctx := context.Background()
	ci, cr := client.New(in.url), client.New(rdProc.url)
	_, _, err := cr.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, _, err = cr.CreateGroup(ctx, client.GroupSpec{Name: "billing", RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{0}}})
	require.NoError(t, err)
	require.NoError(t, cr.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	res, err := ci.Send(ctx, "orders", []client.Message{{Body: []byte("traced")}})
	require.NoError(t, err)
	id := res[0].MessageID

	first := receive(t, cr, "billing", "orders", 1, 30, 5)
	require.Len(t, first, 1)
	_, err = cr.Nack(ctx, "billing", "orders", []string{first[0].ReceiptHandle})
	require.NoError(t, err)
	second := receive(t, cr, "billing", "orders", 1, 30, 5)
	require.Len(t, second, 1)
	ackAll(t, cr, "billing", "orders", second)

	want := []string{"PRODUCED", "STORED", "DELIVERED", "NACKED", "DELIVERED", "ACKED"}
	var events []client.TraceEvent
	require.Eventually(t, func() bool {
		events, err = cr.Trace(ctx, "orders", id)
		require.NoError(t, err)
		return len(events) >= len(want)
	}, 20*time.Second, 200*time.Millisecond, "trace events did not arrive")
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
		require.False(t, e.Time.IsZero())
	}
	require.Equal(t, want, types)
	var stored struct {
		QueueID int    `json:"queueId"`
		Offset  int64  `json:"offset"`
		Object  string `json:"object"`
	}
	for k, v := range events[1].Attributes {
		switch k {
		case "queueId":
			require.NoError(t, json.Unmarshal(v, &stored.QueueID))
		case "offset":
			require.NoError(t, json.Unmarshal(v, &stored.Offset))
		case "object":
			require.NoError(t, json.Unmarshal(v, &stored.Object))
		}
	}
	require.Equal(t, res[0].QueueID, stored.QueueID)
	require.Equal(t, res[0].Offset, stored.Offset)
	require.NotEmpty(t, stored.Object)
	var attempt int
	require.NoError(t, json.Unmarshal(events[4].Attributes["attempt"], &attempt))
	require.Equal(t, 2, attempt)
	var group string
	require.NoError(t, json.Unmarshal(events[5].Attributes["group"], &group))
	require.Equal(t, "billing", group)
}

// Tracing is per topic and can be switched off.
func TestTraceCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	off := false
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "quiet", Type: client.TopicNormal, Queues: 1, Trace: &off})
	require.NoError(t, err)
	res, err := c.Send(ctx, "quiet", []client.Message{{Body: []byte("x")}})
	require.NoError(t, err)
	time.Sleep(2500 * time.Millisecond)
	events, err := c.Trace(ctx, "quiet", res[0].MessageID)
	require.NoError(t, err)
	require.Empty(t, events)
}
