package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// SyncLiteSubscription's offset options (the RocketMQ 5 protocol of the official Go
// module; its v5.1.4 lite push consumer never sets one, so the call is made directly):
// each newly subscribed lite topic starts where its option says (MIN, MAX, an offset, the
// last N, a time; LAST or none: the end), lite topics already subscribed keep the group's
// progress under a later full sync, and a negative offset is ILLEGAL_OFFSET.
func TestLiteSubscriptionOffsetOptions(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite})
	require.NoError(t, err)
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "ui"})
	require.NoError(t, err)
	rooms := []string{"min", "max", "offset", "tail", "time", "last"}
	send := func(room string, from, to int) {
		var msgs []client.Message
		for i := from; i < to; i++ {
			msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("%s-%d", room, i)), LiteTopic: room})
		}
		_, err := hc.Send(ctx, "chats", msgs)
		require.NoError(t, err)
	}
	for _, r := range rooms {
		send(r, 0, 5)
	}
	time.Sleep(1100 * time.Millisecond)
	cut := time.Now()
	time.Sleep(100 * time.Millisecond)
	for _, r := range rooms {
		send(r, 5, 10)
	}

	raw := rawClient(t, ep, false)
	sync := func(action v2.LiteSubscriptionAction, lites []string, o *v2.OffsetOption) *v2.Status {
		res, err := raw.SyncLiteSubscription(ctx, &v2.SyncLiteSubscriptionRequest{Action: action,
			Topic: &v2.Resource{Name: "chats"}, Group: &v2.Resource{Name: "ui"}, LiteTopicSet: lites, OffsetOption: o})
		require.NoError(t, err)
		return res.GetStatus()
	}
	ok := func(st *v2.Status) { require.Equal(t, v2.Code_OK, st.GetCode(), st.GetMessage()) }
	policy := func(p v2.OffsetOption_Policy) *v2.OffsetOption {
		return &v2.OffsetOption{OffsetType: &v2.OffsetOption_Policy_{Policy: p}}
	}
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"min"}, policy(v2.OffsetOption_MIN)))
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"max"}, policy(v2.OffsetOption_MAX)))
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"offset"}, &v2.OffsetOption{OffsetType: &v2.OffsetOption_Offset{Offset: 7}}))
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"tail"}, &v2.OffsetOption{OffsetType: &v2.OffsetOption_TailN{TailN: 4}}))
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"time"}, &v2.OffsetOption{OffsetType: &v2.OffsetOption_Timestamp{Timestamp: cut.UnixMilli()}}))
	ok(sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"last"}, policy(v2.OffsetOption_LAST)))
	bad := sync(v2.LiteSubscriptionAction_PARTIAL_ADD, []string{"nope"}, &v2.OffsetOption{OffsetType: &v2.OffsetOption_Offset{Offset: -1}})
	require.Equal(t, v2.Code_ILLEGAL_OFFSET, bad.GetCode())

	drain := func() map[string][]string {
		got := map[string][]string{}
		for {
			msgs := receive(t, hc, "ui", "chats", 64, 30, 1)
			if len(msgs) == 0 {
				return got
			}
			for _, m := range msgs {
				got[m.LiteTopic] = append(got[m.LiteTopic], string(m.Body))
			}
			ackAll(t, hc, "ui", "chats", msgs)
		}
	}
	bodies := func(room string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("%s-%d", room, i))
		}
		return out
	}
	got := drain()
	require.Equal(t, bodies("min", 0, 10), got["min"])
	require.Empty(t, got["max"])
	require.Equal(t, bodies("offset", 7, 10), got["offset"])
	require.Equal(t, bodies("tail", 6, 10), got["tail"])
	require.Equal(t, bodies("time", 5, 10), got["time"])
	require.Empty(t, got["last"])

	// A full sync with MIN, as a client re-sends its set, rewinds none of them.
	ok(sync(v2.LiteSubscriptionAction_COMPLETE_ADD, rooms, policy(v2.OffsetOption_MIN)))
	for _, r := range rooms {
		send(r, 10, 11)
	}
	got = drain()
	for _, r := range rooms {
		require.Equal(t, bodies(r, 10, 11), got[r], r)
	}
}
