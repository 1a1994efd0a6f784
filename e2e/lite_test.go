package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// Lite topics: created by their first message, one queue each; a group receives only from
// the lite topics it subscribes to (including ones that do not exist yet), in order within
// each; PATCH adds and removes lite topics.
func TestLiteTopics(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite, LiteTTLMinutes: 60})
	require.NoError(t, err)
	send := func(lite string, n int, tag string) {
		var msgs []client.Message
		for i := 0; i < n; i++ {
			msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("%s/%s/%d", lite, tag, i)), LiteTopic: lite})
		}
		res, err := c.Send(ctx, "chats", msgs)
		require.NoError(t, err)
		for i := 1; i < len(res); i++ {
			require.Equal(t, res[i-1].Offset+1, res[i].Offset, "one lite topic is one queue")
		}
	}
	_, err = c.Send(ctx, "chats", []client.Message{{Body: []byte("x")}})
	require.True(t, client.IsCode(err, "MESSAGE_TYPE_MISMATCH"), "a LITE topic needs liteTopic: %v", err)

	send("chat-1", 3, "before")
	send("chat-2", 3, "before")
	send("chat-3", 3, "before")
	old, err := c.ReadLiteQueue(ctx, "chats", "chat-2", 0, 10)
	require.NoError(t, err)
	require.Len(t, old, 3)
	require.Equal(t, "chat-2", old[0].LiteTopic)

	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "agents"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "agents", "chats", client.SubscriptionSpec{LiteTopics: []string{"chat-1", "chat-2", "chat-9"}}))
	send("chat-1", 5, "after")
	send("chat-2", 5, "after")
	send("chat-3", 5, "after")
	send("chat-9", 5, "after")

	drain := func() map[string][]string {
		got := map[string][]string{}
		for {
			msgs := receive(t, c, "agents", "chats", 64, 30, 1)
			if len(msgs) == 0 {
				return got
			}
			for _, m := range msgs {
				got[m.LiteTopic] = append(got[m.LiteTopic], string(m.Body))
			}
			ackAll(t, c, "agents", "chats", msgs)
		}
	}
	got := drain()
	require.ElementsMatch(t, []string{"chat-1", "chat-2", "chat-9"}, keys(got))
	for lite, bodies := range got {
		require.Len(t, bodies, 5, lite)
		for i, b := range bodies {
			require.Equal(t, fmt.Sprintf("%s/after/%d", lite, i), b, "order within %s", lite)
		}
	}

	require.NoError(t, c.UpdateLiteSubscription(ctx, "agents", "chats", []string{"chat-3"}, []string{"chat-2"}))
	send("chat-2", 2, "late")
	send("chat-3", 2, "late")
	got = drain()
	require.ElementsMatch(t, []string{"chat-3"}, keys(got))
	require.Equal(t, []string{"chat-3/late/0", "chat-3/late/1"}, got["chat-3"])

	g, err := c.GetGroup(ctx, "agents")
	require.NoError(t, err)
	require.Len(t, g.Subscriptions, 1)
	require.ElementsMatch(t, []string{"chat-1", "chat-3", "chat-9"}, g.Subscriptions[0].LiteTopics)
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
