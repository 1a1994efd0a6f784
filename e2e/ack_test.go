package e2e_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// TestAckIsIdempotent: acking a handle again answers OK (an ack retried after a lost
// answer must not look like a failure), and so does acking an older handle of a message
// that is finished. An older handle of a message handed out again and not yet finished
// is EXPIRED: another consumer holds it now. A nack of a finished message is EXPIRED.
func TestAckIsIdempotent(t *testing.T) {
	t.Parallel()
	cfg := newBacking(t).config("all")
	cfg.MinInvisible = time.Second
	_, c := startNode(t, cfg)
	ctx := t.Context()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("one")}, {Body: []byte("two")}})
	require.NoError(t, err)

	ack := func(handle string) client.AckStatus {
		t.Helper()
		res, err := c.Ack(ctx, "billing", "orders", []string{handle})
		require.NoError(t, err)
		require.Len(t, res, 1)
		return res[0].Status
	}
	receive := func(invisible int) []client.ReceivedMessage {
		t.Helper()
		msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 2, InvisibleSeconds: invisible, WaitSeconds: 2})
		require.NoError(t, err)
		return msgs
	}

	first := receive(1)
	require.Len(t, first, 2)
	require.Equal(t, client.AckOK, ack(first[0].ReceiptHandle))
	require.Equal(t, client.AckOK, ack(first[0].ReceiptHandle), "acking the same handle twice")
	// A nack cannot undo an ack: it is EXPIRED, and the message stays finished.
	res, err := c.Nack(ctx, "billing", "orders", []string{first[0].ReceiptHandle})
	require.NoError(t, err)
	require.Equal(t, client.AckExpired, res[0].Status)

	// The other message's handle lapses and it is handed out again.
	time.Sleep(1500 * time.Millisecond)
	again := receive(30)
	require.Len(t, again, 1, "the acked message is not delivered again")
	require.Equal(t, first[1].MessageID, again[0].MessageID)
	require.Equal(t, client.AckExpired, ack(first[1].ReceiptHandle), "an old handle of a message someone else holds")
	require.Equal(t, client.AckOK, ack(again[0].ReceiptHandle))
	require.Equal(t, client.AckOK, ack(first[1].ReceiptHandle), "an old handle of a finished message")
	require.Equal(t, client.AckOK, ack(again[0].ReceiptHandle))
	require.Empty(t, receive(1))
}
