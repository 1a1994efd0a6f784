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
	c := billingOnOrders(t, "one", "two")
	ctx := t.Context()

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

// TestAckOfAStaleAndACurrentHandleTogether: one ack call carrying a message's old handle
// and its current one settles the message once: the current handle is OK and the old
// one EXPIRED (someone held the message until this call), in any order. Once the
// message is finished, the old handle alone is OK; so is the old handle sent again with
// the current one, since the message was finished before that call.
func TestAckOfAStaleAndACurrentHandleTogether(t *testing.T) {
	t.Parallel()
	c := billingOnOrders(t, "one", "two", "three")
	ctx := t.Context()

	receive := func(invisible, n int) []client.ReceivedMessage {
		t.Helper()
		msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: n, InvisibleSeconds: invisible, WaitSeconds: 2})
		require.NoError(t, err)
		return msgs
	}
	statuses := func(handles ...string) []client.AckStatus {
		t.Helper()
		res, err := c.Ack(ctx, "billing", "orders", handles)
		require.NoError(t, err)
		require.Len(t, res, len(handles))
		var out []client.AckStatus
		for _, r := range res {
			out = append(out, r.Status)
		}
		return out
	}

	first := receive(1, 3)
	require.Len(t, first, 3)
	time.Sleep(1500 * time.Millisecond)
	again := receive(30, 3)
	require.Len(t, again, 3, "every handle lapsed")
	handle := map[string]string{}
	for _, m := range again {
		handle[m.MessageID] = m.ReceiptHandle
	}
	// Message one: old handle first; message two: current handle first. Message three
	// stays unacked, so the delivery row holding them is not finished.
	require.Equal(t, []client.AckStatus{client.AckExpired, client.AckOK, client.AckOK, client.AckExpired},
		statuses(first[0].ReceiptHandle, handle[first[0].MessageID], handle[first[1].MessageID], first[1].ReceiptHandle))
	// Finished before this call: the old handle is OK, alone or with the current one.
	require.Equal(t, []client.AckStatus{client.AckOK}, statuses(first[0].ReceiptHandle))
	require.Equal(t, []client.AckStatus{client.AckOK, client.AckOK}, statuses(first[1].ReceiptHandle, handle[first[1].MessageID]))
	// Message three's old handle is EXPIRED while someone holds it, and when it comes
	// after the current one in the call that finishes the message.
	require.Equal(t, []client.AckStatus{client.AckExpired}, statuses(first[2].ReceiptHandle))
	require.Equal(t, []client.AckStatus{client.AckOK, client.AckExpired}, statuses(handle[first[2].MessageID], first[2].ReceiptHandle))
	require.Empty(t, receive(1, 3), "every message finished")
}

// billingOnOrders starts a node (invisible times from 1 s) with a one-queue topic "orders",
// a group "billing" subscribed to it, and the bodies sent to it.
func billingOnOrders(t *testing.T, bodies ...string) *client.Client {
	t.Helper()
	cfg := newBacking(t).config("all")
	cfg.MinInvisible = time.Second
	_, c := startNode(t, cfg)
	ctx := t.Context()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	msgs := make([]client.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = client.Message{Body: []byte(b)}
	}
	_, err = c.Send(ctx, "orders", msgs)
	require.NoError(t, err)
	return c
}
