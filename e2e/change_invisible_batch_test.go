package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// Batch change-invisible: each entry gets its own status as ack does (OK with a new handle,
// EXPIRED for a settled message, INVALID for a forged or foreign handle); the messages
// changed stay hidden for their new times and come back after them, old handles retired;
// bad input changes nothing.
func TestChangeInvisibleBatch(t *testing.T) {
	t.Parallel()
	c := consumeNode(t)
	ctx := context.Background()
	setupGroup(t, c, "t", client.TopicNormal, "g", client.Concurrent, "*", 16, nil)
	sendN(t, c, "t", 4, func(i int) client.Message { return client.Message{Body: []byte{byte('a' + i)}} })
	msgs := receive(t, c, "g", "t", 4, 2, 2)
	require.Len(t, msgs, 4)
	ackAll(t, c, "g", "t", msgs[3:])

	for _, bad := range [][]client.InvisibleChange{
		nil,
		{{ReceiptHandle: msgs[0].ReceiptHandle, Seconds: 30}, {ReceiptHandle: msgs[1].ReceiptHandle, Seconds: 100000}},
		make([]client.InvisibleChange, 1025),
	} {
		_, err := c.ChangeInvisibleBatch(ctx, "g", "t", bad)
		require.True(t, client.IsCode(err, "BAD_REQUEST"), "%v", err)
	}

	res, err := c.ChangeInvisibleBatch(ctx, "g", "t", []client.InvisibleChange{
		{ReceiptHandle: msgs[0].ReceiptHandle, Seconds: 30},
		{ReceiptHandle: msgs[1].ReceiptHandle, Seconds: 30},
		{ReceiptHandle: msgs[3].ReceiptHandle, Seconds: 30},
		{ReceiptHandle: "forged", Seconds: 30},
	})
	require.NoError(t, err)
	require.Len(t, res, 4)
	require.Equal(t, client.AckOK, res[0].Status)
	require.Equal(t, client.AckOK, res[1].Status)
	require.Equal(t, client.AckExpired, res[2].Status, "an acked message cannot be hidden again")
	require.Equal(t, client.AckInvalid, res[3].Status)
	require.NotEmpty(t, res[0].NewReceiptHandle)
	require.Empty(t, res[2].NewReceiptHandle)
	require.Equal(t, msgs[0].ReceiptHandle, res[0].ReceiptHandle)

	// The third message was left with its 2 s: it comes back; the two changed do not.
	time.Sleep(2500 * time.Millisecond)
	again := receive(t, c, "g", "t", 4, 30, 2)
	require.Len(t, again, 1)
	require.Equal(t, string(msgs[2].Body), string(again[0].Body))

	// New handles work, old ones are retired.
	acks, err := c.Ack(ctx, "g", "t", []string{msgs[0].ReceiptHandle, res[0].NewReceiptHandle, res[1].NewReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, []client.AckStatus{client.AckExpired, client.AckOK, client.AckOK}, []client.AckStatus{acks[0].Status, acks[1].Status, acks[2].Status})
}
