package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// ReceiveRequest is the body of a receive call. Zero fields are left out, so the server's
// defaults apply.
type ReceiveRequest struct {
	// MaxMessages is the most messages to return.
	MaxMessages int `json:"maxMessages,omitempty"`
	// InvisibleSeconds is how long the returned messages stay hidden from other receives
	// unless acked, nacked or changed with ChangeInvisible.
	InvisibleSeconds int `json:"invisibleSeconds,omitempty"`
	// WaitSeconds is how long the server waits for a message when none is ready.
	WaitSeconds int `json:"waitSeconds,omitempty"`
}

// ReceivedMessage is a message handed to a consumer: the message view plus what the
// consumer needs to settle it.
type ReceivedMessage struct {
	MessageView
	// DeliveryAttempt counts deliveries of this message to the group, from 1.
	DeliveryAttempt int `json:"deliveryAttempt"`
	// ReceiptHandle settles this delivery with Ack, Nack or ChangeInvisible.
	ReceiptHandle string `json:"receiptHandle"`
}

// AckStatus is the outcome of acking or nacking one receipt handle.
type AckStatus string

// The ack statuses of the contract.
const (
	// AckOK means the handle was settled. Acking is idempotent: an ack of a message already
	// finished (the same handle again, an older handle) is OK too.
	AckOK AckStatus = "OK"
	// AckExpired means the message was handed out again since the handle was issued and is
	// not finished (the invisible time ran out first; it will be delivered again), or, for
	// a nack, that it was already settled.
	AckExpired AckStatus = "EXPIRED"
	// AckInvalid means the server does not accept the handle.
	AckInvalid AckStatus = "INVALID"
)

// AckResult is the outcome for one receipt handle.
type AckResult struct {
	// ReceiptHandle is the handle as sent.
	ReceiptHandle string `json:"receiptHandle"`
	// Status is OK, EXPIRED or INVALID.
	Status AckStatus `json:"status"`
}

// Lag is a group's progress on each subscribed topic (GET /v1/groups/{group}/lag).
type Lag struct {
	// Group is the consumer group.
	Group string `json:"group"`
	// Topics holds one entry per subscribed topic.
	Topics []TopicLag `json:"topics"`
	// Totals sums the group's lag over all its topics: the accumulation.
	Totals LagTotals `json:"totals"`
}

// TopicLag is a group's progress on one topic: per queue, and summed.
type TopicLag struct {
	// Topic is the topic's name.
	Topic string `json:"topic"`
	// Queues holds one entry per queue.
	Queues []QueueLag `json:"queues"`
	// LagTotals sums the topic's queues.
	LagTotals
	// Priorities sums, on a PRIORITY topic, the queues of each priority, highest first.
	Priorities []PriorityLag `json:"priorities,omitempty"`
}

// PriorityLag is a group's progress on the queues of one priority of a PRIORITY topic.
type PriorityLag struct {
	// Priority is the priority level.
	Priority int `json:"priority"`
	// LagTotals sums the level's queues.
	LagTotals
}

// QueueLag is a group's progress on one queue.
type QueueLag struct {
	// QueueID identifies the queue within its topic.
	QueueID int `json:"queueId"`
	// LiteTopic names the lite topic whose queue this is, on a LITE topic.
	LiteTopic string `json:"liteTopic,omitempty"`
	// MaxOffset is the next offset to be written.
	MaxOffset int64 `json:"maxOffset"`
	// ConsumedOffset is the group's acked low watermark: every offset below it is settled.
	ConsumedOffset int64 `json:"consumedOffset"`
	// Inflight counts messages received and neither acked nor back to visible.
	Inflight int64 `json:"inflight"`
	// Ready counts messages waiting to be received.
	Ready int64 `json:"ready"`
	// OldestUnackedAge is the age in seconds of the oldest message not yet acked.
	OldestUnackedAge float64 `json:"oldestUnackedAge"`
	// Priority is, on a PRIORITY topic, the priority of the queue's messages.
	Priority *int `json:"priority,omitempty"`
}

// LagTotals sums a group's lag over queues.
type LagTotals struct {
	// Lag counts messages not yet acked: the sum of maxOffset - consumedOffset.
	Lag int64 `json:"lag"`
	// Inflight counts messages received and not yet settled.
	Inflight int64 `json:"inflight"`
	// Ready counts messages waiting to be received.
	Ready int64 `json:"ready"`
	// OldestUnackedAge is the age in seconds of the oldest message not yet acked.
	OldestUnackedAge float64 `json:"oldestUnackedAge"`
}

// groupTopicPath is the path of a consumption route: /v1/groups/{group}/topics/{topic}/{verb}.
func groupTopicPath(group, topic, verb string) string {
	return pathOf("v1", "groups", group, "topics", topic, verb)
}

// Receive takes up to req.MaxMessages ready messages of topic for group, hiding them for
// req.InvisibleSeconds, and waits up to req.WaitSeconds when none is ready; it returns an
// empty list when the wait ends with nothing
// (POST /v1/groups/{group}/topics/{topic}/receive).
func (c *Client) Receive(ctx context.Context, group, topic string, req ReceiveRequest) ([]ReceivedMessage, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("receiving from topic %s for group %s: encoding request body: %w", topic, group, err)
	}
	var msgs []ReceivedMessage
	decode := func(data []byte) (err error) {
		msgs, err = decodeReceiveResponse(data)
		return err
	}
	if err := c.call(ctx, http.MethodPost, groupTopicPath(group, topic, "receive"), body, decode); err != nil {
		return nil, fmt.Errorf("receiving from topic %s for group %s: %w", topic, group, err)
	}
	return msgs, nil
}

// receiptHandles is the body of ack and nack (encodeHandles writes it).
type receiptHandles struct {
	ReceiptHandles []string `json:"receiptHandles"`
}

// ackResults is the answer of ack and nack.
type ackResults struct {
	Results []AckResult `json:"results"`
}

// settle acks or nacks handles (verb "ack" or "nack") and returns the results.
func (c *Client) settle(ctx context.Context, group, topic, verb string, handles []string) ([]AckResult, error) {
	var results []AckResult
	decode := func(data []byte) (err error) {
		results, err = decodeAckResponse(data)
		return err
	}
	if err := c.call(ctx, http.MethodPost, groupTopicPath(group, topic, verb), encodeHandles(handles), decode); err != nil {
		return nil, err
	}
	return results, nil
}

// Ack settles deliveries as consumed (POST /v1/groups/{group}/topics/{topic}/ack) and
// returns one result per handle.
func (c *Client) Ack(ctx context.Context, group, topic string, handles []string) ([]AckResult, error) {
	results, err := c.settle(ctx, group, topic, "ack", handles)
	if err != nil {
		return nil, fmt.Errorf("acking %d messages of topic %s for group %s: %w", len(handles), topic, group, err)
	}
	return results, nil
}

// Nack reports deliveries as failed (POST /v1/groups/{group}/topics/{topic}/nack): the
// messages come back after the group's retry backoff, or go to its dead-letter topic after
// the last attempt. The contract does not fix the answer; results are returned when the
// server sends them in ack's shape, else the list is empty.
func (c *Client) Nack(ctx context.Context, group, topic string, handles []string) ([]AckResult, error) {
	results, err := c.settle(ctx, group, topic, "nack", handles)
	if err != nil {
		return nil, fmt.Errorf("nacking %d messages of topic %s for group %s: %w", len(handles), topic, group, err)
	}
	return results, nil
}

// ChangeInvisible hides a received message for seconds from now and returns the new
// receipt handle, which replaces the old one
// (POST /v1/groups/{group}/topics/{topic}/change-invisible).
func (c *Client) ChangeInvisible(ctx context.Context, group, topic, handle string, seconds int) (string, error) {
	in := struct {
		ReceiptHandle    string `json:"receiptHandle"`
		InvisibleSeconds int    `json:"invisibleSeconds"`
	}{handle, seconds}
	var out struct {
		ReceiptHandle string `json:"receiptHandle"`
	}
	if _, err := c.do(ctx, http.MethodPost, groupTopicPath(group, topic, "change-invisible"), nil, in, &out); err != nil {
		return "", fmt.Errorf("changing invisible time on topic %s for group %s: %w", topic, group, err)
	}
	return out.ReceiptHandle, nil
}

// Reset moves group's progress on every queue of topic to the first message stored at or
// after t (POST /v1/groups/{group}/topics/{topic}/reset).
func (c *Client) Reset(ctx context.Context, group, topic string, t time.Time) error {
	in := struct {
		Timestamp time.Time `json:"timestamp"`
	}{t}
	if _, err := c.do(ctx, http.MethodPost, groupTopicPath(group, topic, "reset"), nil, in, nil); err != nil {
		return fmt.Errorf("resetting group %s on topic %s to %s: %w", group, topic, t.Format(time.RFC3339), err)
	}
	return nil
}

// Lag returns a group's progress and accumulation on each topic it consumes
// (GET /v1/groups/{group}/lag).
func (c *Client) Lag(ctx context.Context, group string) (Lag, error) {
	var lag Lag
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "groups", group, "lag"), nil, nil, &lag); err != nil {
		return Lag{}, fmt.Errorf("getting lag of group %s: %w", group, err)
	}
	return lag, nil
}
