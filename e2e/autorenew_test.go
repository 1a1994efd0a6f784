package e2e_test

import (
	"context"
	"io"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/floemq/floe/client"
)

// auto_renew (what the official Go push consumer sets on every receive, never extending
// the invisible time itself): messages received with it stay hidden past their invisible
// time while the client holds them, their receipts stay valid, and an ack ends it; without
// it they turn visible and are redelivered.
func TestRocketMQAutoRenewKeepsHeldMessagesHidden(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "workers"})
	require.NoError(t, err)
	require.NoError(t, hc.Subscribe(ctx, "workers", "jobs", client.SubscriptionSpec{Filter: "*"}))
	raw := rawClient(t, ep, true)
	rctx := metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", "push-1")

	receive := func(autoRenew bool) []*v2.Message {
		stream, err := raw.ReceiveMessage(rctx, &v2.ReceiveMessageRequest{Group: &v2.Resource{Name: "workers"},
			MessageQueue:       &v2.MessageQueue{Topic: &v2.Resource{Name: "jobs"}},
			FilterExpression:   &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "*"},
			BatchSize:          8,
			InvisibleDuration:  durationpb.New(2 * time.Second),
			LongPollingTimeout: durationpb.New(5 * time.Second),
			AutoRenew:          autoRenew,
		})
		require.NoError(t, err)
		var out []*v2.Message
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				return out
			}
			require.NoError(t, err)
			if m := r.GetMessage(); m != nil {
				out = append(out, m)
			}
		}
	}
	ack := func(ms ...*v2.Message) {
		var es []*v2.AckMessageEntry
		for _, m := range ms {
			es = append(es, &v2.AckMessageEntry{MessageId: m.GetSystemProperties().GetMessageId(), ReceiptHandle: m.GetSystemProperties().GetReceiptHandle()})
		}
		res, err := raw.AckMessage(rctx, &v2.AckMessageRequest{Group: &v2.Resource{Name: "workers"}, Topic: &v2.Resource{Name: "jobs"}, Entries: es})
		require.NoError(t, err)
		require.Equal(t, v2.Code_OK, res.GetStatus().GetCode(), res.GetStatus().GetMessage())
	}

	_, err = hc.Send(ctx, "jobs", []client.Message{{Body: []byte("long-1")}, {Body: []byte("long-2")}})
	require.NoError(t, err)
	held := receive(true)
	require.Len(t, held, 2)
	// Three invisible times later, nothing came back for anyone.
	time.Sleep(6 * time.Second)
	require.Empty(t, receive(false), "held messages must stay hidden")
	lag, err := hc.Lag(ctx, "workers")
	require.NoError(t, err)
	require.EqualValues(t, 2, lag.Totals.Inflight)
	// The handles of the first delivery still settle them.
	ack(held...)
	lag, err = hc.Lag(ctx, "workers")
	require.NoError(t, err)
	require.Zero(t, lag.Totals.Lag)
	require.Positive(t, metricValue(t, hc, "floe_reader_auto_renew_messages_total", `result="renewed"`))

	// Without auto_renew, a message held past its invisible time is delivered again.
	_, err = hc.Send(ctx, "jobs", []client.Message{{Body: []byte("short")}})
	require.NoError(t, err)
	first := receive(false)
	require.Len(t, first, 1)
	time.Sleep(2500 * time.Millisecond)
	again := receive(false)
	require.Len(t, again, 1)
	require.Equal(t, int32(2), again[0].GetSystemProperties().GetDeliveryAttempt())
	ack(again...)
}
