package e2e_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// TestDeadLettersWithoutReceive: once the last attempt fails, by a nack or by its
// invisible time running out, the message reaches the group's dead-letter topic within
// seconds with no further receive, and stops counting as ready in its source.
func TestDeadLettersWithoutReceive(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "chores", client.TopicNormal, "crew", client.Concurrent, "*", 1, nil)
	sent := sendN(t, c, "chores", 2, func(i int) client.Message {
		return client.Message{Body: []byte("chore"), Keys: []string{"chore-" + string(rune('a'+i))}}
	})

	msgs := receive(t, c, "crew", "chores", 2, 1, 5)
	require.Len(t, msgs, 2)
	byID := map[string]client.ReceivedMessage{}
	for _, m := range msgs {
		byID[m.MessageID] = m
	}
	nacked, expiring := byID[sent[0].MessageID], byID[sent[1].MessageID]

	// The last attempt nacked: dead-lettered within seconds; no receive is made from here on.
	start := time.Now()
	res, err := c.Nack(ctx, "crew", "chores", []string{nacked.ReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, client.AckOK, res[0].Status)
	dlqIDs := func() []string {
		dlq, err := c.ReadQueue(ctx, "%DLQ%crew", 0, 0, 10)
		if err != nil {
			return nil // the dead-letter topic does not exist yet
		}
		var ids []string
		for _, m := range dlq {
			ids = append(ids, m.MessageID)
		}
		return ids
	}
	require.Eventually(t, func() bool { return slices.Contains(dlqIDs(), nacked.MessageID) }, 10*time.Second, 100*time.Millisecond,
		"the nacked last attempt did not reach %%DLQ%%crew")
	// The other one's 1 s invisible time runs out: dead-lettered too.
	require.Eventually(t, func() bool { return slices.Contains(dlqIDs(), expiring.MessageID) }, 10*time.Second, 100*time.Millisecond,
		"the lapsed last attempt did not reach %%DLQ%%crew")
	require.Less(t, time.Since(start), 10*time.Second)

	byKey, err := c.MessagesByKey(ctx, "%DLQ%crew", "chore-a")
	require.NoError(t, err)
	require.Len(t, byKey, 1, "a dead letter is found by its key")
	lag, err := c.Lag(ctx, "crew")
	require.NoError(t, err)
	for _, tl := range lag.Topics {
		if tl.Topic == "chores" {
			require.Zero(t, tl.Ready, "dead letters are not ready in their source")
			require.Zero(t, tl.Inflight)
		}
	}
	require.Empty(t, receive(t, c, "crew", "chores", 10, 30, 0), "a dead letter is not delivered again")
	require.Len(t, dlqIDs(), 2, "each message is dead-lettered once")
}
