package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// The official Go client's priority messages (Message.SetPriority): a backlog of mixed
// priorities sent by the SDK is received by an SDK simple consumer higher first, equal
// priorities in send order; HTTP sees the priorities the SDK set; a priority past the
// topic's maximum is refused with BAD_REQUEST and nothing is stored.
func TestRocketMQSDKPriorityMessages(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Type: client.TopicPriority, MaxPriority: 2})
	require.NoError(t, err)
	sc := startSimpleConsumer(t, ep, "workers", "jobs", "*")
	p := startProducer(t, ep, rmq.WithTopics("jobs"))

	for i := 0; i < 12; i++ {
		m := &rmq.Message{Topic: "jobs", Body: []byte(fmt.Sprintf("%d/%02d", i%3, i))}
		require.NoError(t, m.SetPriority(int32(i%3)))
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}
	bad := &rmq.Message{Topic: "jobs", Body: []byte("too high")}
	require.NoError(t, bad.SetPriority(3))
	_, err = p.Send(ctx, bad)
	var rpc *rmq.ErrRpcStatus
	require.True(t, errors.As(err, &rpc), "want a status, got %v", err)
	require.Equal(t, int32(v2.Code_BAD_REQUEST), rpc.GetCode())
	require.Contains(t, rpc.GetMessage(), "priority must be 0-2")
	qs, err := hc.Queues(ctx, "jobs")
	require.NoError(t, err)
	stored := int64(0)
	for _, q := range qs {
		stored += q.MaxOffset
	}
	require.EqualValues(t, 12, stored, "the refused message is not stored")

	var want []string
	for pr := 2; pr >= 0; pr-- {
		for i := pr; i < 12; i += 3 {
			want = append(want, fmt.Sprintf("%d/%02d", pr, i))
		}
	}
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		mvs, err := sc.Receive(ctx, 4, 20*time.Second)
		if err != nil {
			require.True(t, errors.As(err, &rpc) && rpc.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND), "receive: %v", err)
			continue
		}
		for _, mv := range mvs {
			got = append(got, string(mv.GetBody()))
			require.NoError(t, sc.Ack(ctx, mv))
		}
	}
	require.Equal(t, want, got)

	// Over HTTP, the SDK's messages show their priorities.
	views, err := hc.ReadQueue(ctx, "jobs", 2, 0, 10)
	require.NoError(t, err)
	require.Len(t, views, 4)
	require.Equal(t, "2/02", string(views[0].Body))
	require.Equal(t, 2, *views[0].Priority)
}
