package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Message is one message to send. Body travels base64-encoded in JSON; zero fields are
// left out. Which of MessageGroup, DeliveryTime and LiteTopic must be set depends on the
// topic's type (else the server answers 400 MESSAGE_TYPE_MISMATCH).
type Message struct {
	// Body is the payload.
	Body []byte `json:"body,omitempty"`
	// Tag is the label subscriptions filter on.
	Tag string `json:"tag,omitempty"`
	// Keys are business identifiers indexed for MessagesByKey.
	Keys []string `json:"keys,omitempty"`
	// Properties are user-defined attributes.
	Properties map[string]string `json:"properties,omitempty"`
	// MessageGroup orders messages on a FIFO topic.
	MessageGroup string `json:"messageGroup,omitempty"`
	// DeliveryTime is when a message on a DELAY topic becomes visible.
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
	// LiteTopic is the lite topic of a message on a LITE topic.
	LiteTopic string `json:"liteTopic,omitempty"`
	// Priority is the priority of a message on a PRIORITY topic (0 to the topic's
	// MaxPriority; higher is delivered first).
	Priority *int `json:"priority,omitempty"`
	// DeduplicationID makes the send idempotent: sent again within the topic's
	// deduplication window (default 5 minutes), from any client to any node, the message
	// is not stored again and the answer is the first send's (with Duplicate set).
	DeduplicationID string `json:"deduplicationId,omitempty"`
}

// SendResult is the server's answer for one sent message, in the order sent.
type SendResult struct {
	// MessageID identifies the message.
	MessageID string `json:"messageId"`
	// QueueID is the queue the message went to. It is zero for a delayed message, which
	// gets its queue and offset only when it becomes visible.
	QueueID int `json:"queueId"`
	// Offset is the message's offset in its queue (zero for a delayed message).
	Offset int64 `json:"offset"`
	// DeliveryTime is set for a delayed message.
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
	// RecallHandle is set for a delayed message: Recall takes it back with it before its
	// delivery time.
	RecallHandle string `json:"recallHandle,omitempty"`
	// Duplicate is set when the message's DeduplicationID was sent before within the
	// window: the result is the first send's, and nothing was stored.
	Duplicate bool `json:"duplicate,omitempty"`
}

// MessageView is the read-only view of a stored message that lookups and offset reads
// return; ReceivedMessage adds the consumption fields to it.
type MessageView struct {
	// MessageID identifies the message.
	MessageID string `json:"messageId"`
	// Topic is the topic the message was sent to.
	Topic string `json:"topic"`
	// QueueID is the queue holding the message.
	QueueID int `json:"queueId"`
	// Offset is the message's offset in its queue.
	Offset int64 `json:"offset"`
	// Tag is the message's tag.
	Tag string `json:"tag,omitempty"`
	// Keys are the message's keys.
	Keys []string `json:"keys,omitempty"`
	// Properties are the message's user-defined attributes.
	Properties map[string]string `json:"properties,omitempty"`
	// Body is the payload.
	Body []byte `json:"body"`
	// MessageGroup is the message's FIFO group.
	MessageGroup string `json:"messageGroup,omitempty"`
	// LiteTopic is the message's lite topic.
	LiteTopic string `json:"liteTopic,omitempty"`
	// BornTime is when the producer's request reached the server.
	BornTime time.Time `json:"bornTime"`
	// StoreTime is when the message became durable.
	StoreTime time.Time `json:"storeTime"`
	// DeliveryTime is when a delayed message became, or becomes, visible.
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
	// Priority is the priority of a message of a PRIORITY topic.
	Priority *int `json:"priority,omitempty"`
}

// Trace event types named by the contract; the server may send others.
const (
	TraceProduced     = "PRODUCED"
	TraceStored       = "STORED"
	TraceDelivered    = "DELIVERED"
	TraceAcked        = "ACKED"
	TraceNacked       = "NACKED"
	TraceDeadLettered = "DEAD_LETTERED"
)

// TraceEvent is one step of a message's path. The contract fixes only "type" and "time";
// every other field of the event (group, node, delivery attempt, …) is kept in Attributes
// as raw JSON, so the client shows what the server sends without knowing it in advance.
type TraceEvent struct {
	// Type is what happened, such as TraceDelivered.
	Type string
	// Time is when it happened.
	Time time.Time
	// Attributes holds the event's other fields, by JSON name.
	Attributes map[string]json.RawMessage
}

// UnmarshalJSON reads an event object, keeping the fields other than type and time in
// Attributes.
func (e *TraceEvent) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("decoding trace event: %w", err)
	}
	var ev TraceEvent
	if raw, ok := fields["type"]; ok {
		if err := json.Unmarshal(raw, &ev.Type); err != nil {
			return fmt.Errorf("decoding trace event type: %w", err)
		}
		delete(fields, "type")
	}
	if raw, ok := fields["time"]; ok {
		if err := json.Unmarshal(raw, &ev.Time); err != nil {
			return fmt.Errorf("decoding trace event time: %w", err)
		}
		delete(fields, "time")
	}
	if len(fields) > 0 {
		ev.Attributes = fields
	}
	*e = ev
	return nil
}

// MarshalJSON writes the event as one flat object, the inverse of UnmarshalJSON.
func (e TraceEvent) MarshalJSON() ([]byte, error) {
	fields := make(map[string]any, len(e.Attributes)+2)
	for k, v := range e.Attributes {
		fields[k] = v
	}
	fields["type"] = e.Type
	fields["time"] = e.Time
	return json.Marshal(fields)
}

// Send sends messages to a topic (POST /v1/topics/{topic}/messages) and returns one result
// per message, in order, once the messages are durable.
func (c *Client) Send(ctx context.Context, topic string, messages []Message) ([]SendResult, error) {
	body, err := encodeSendRequest(messages)
	if err != nil {
		return nil, fmt.Errorf("sending %d messages to topic %s: encoding request body: %w", len(messages), topic, err)
	}
	var results []SendResult
	decode := func(data []byte) (err error) {
		results, err = decodeSendResponse(data)
		return err
	}
	if err := c.call(ctx, http.MethodPost, pathOf("v1", "topics", topic, "messages"), body, decode); err != nil {
		return nil, fmt.Errorf("sending %d messages to topic %s: %w", len(messages), topic, err)
	}
	return results, nil
}

// Recall takes back a delayed message before its delivery time, by the RecallHandle of its
// send result (POST /v1/topics/{topic}/messages/recall): it is never delivered. Recalling
// it again succeeds; after its delivery time the server answers 409 TOO_LATE. It returns
// the message id.
func (c *Client) Recall(ctx context.Context, topic, recallHandle string) (string, error) {
	var out struct {
		MessageID string `json:"messageId"`
		Status    string `json:"status"`
	}
	if _, err := c.do(ctx, http.MethodPost, pathOf("v1", "topics", topic, "messages", "recall"), nil,
		map[string]string{"recallHandle": recallHandle}, &out); err != nil {
		return "", fmt.Errorf("recalling a message of topic %s: %w", topic, err)
	}
	return out.MessageID, nil
}

// ReadQueue reads messages of one queue from offset on, at most limit of them (a limit of
// zero lets the server choose). It changes no group's state
// (GET /v1/topics/{topic}/queues/{queueId}/messages).
func (c *Client) ReadQueue(ctx context.Context, topic string, queueID int, offset int64, limit int) ([]MessageView, error) {
	query := url.Values{"offset": {strconv.FormatInt(offset, 10)}}
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Messages []MessageView `json:"messages"`
	}
	path := pathOf("v1", "topics", topic, "queues", strconv.Itoa(queueID), "messages")
	if _, err := c.do(ctx, http.MethodGet, path, query, nil, &out); err != nil {
		return nil, fmt.Errorf("reading topic %s queue %d from offset %d: %w", topic, queueID, offset, err)
	}
	return out.Messages, nil
}

// GetMessage returns one message by id (GET /v1/topics/{topic}/messages/{messageId}); an
// unknown id is an *APIError with status 404.
func (c *Client) GetMessage(ctx context.Context, topic, messageID string) (MessageView, error) {
	var view MessageView
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", topic, "messages", messageID), nil, nil, &view); err != nil {
		return MessageView{}, fmt.Errorf("getting message %s of topic %s: %w", messageID, topic, err)
	}
	return view, nil
}

// MessagesByKey returns the messages of a topic that carry key
// (GET /v1/topics/{topic}/messages?key=…).
func (c *Client) MessagesByKey(ctx context.Context, topic, key string) ([]MessageView, error) {
	var out struct {
		Messages []MessageView `json:"messages"`
	}
	query := url.Values{"key": {key}}
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", topic, "messages"), query, nil, &out); err != nil {
		return nil, fmt.Errorf("looking up key %q in topic %s: %w", key, topic, err)
	}
	return out.Messages, nil
}

// Trace returns the path of a message, oldest event first
// (GET /v1/topics/{topic}/messages/{messageId}/trace).
func (c *Client) Trace(ctx context.Context, topic, messageID string) ([]TraceEvent, error) {
	var out struct {
		Events []TraceEvent `json:"events"`
	}
	path := pathOf("v1", "topics", topic, "messages", messageID, "trace")
	if _, err := c.do(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, fmt.Errorf("tracing message %s of topic %s: %w", messageID, topic, err)
	}
	return out.Events, nil
}

// ReadLiteQueue reads the queue of one lite topic of a LITE topic from an offset
// (GET /v1/topics/{topic}/queues/0/messages?liteTopic=…, a Floe extension).
func (c *Client) ReadLiteQueue(ctx context.Context, topic, liteTopic string, offset int64, limit int) ([]MessageView, error) {
	query := url.Values{"liteTopic": {liteTopic}, "offset": {strconv.FormatInt(offset, 10)}}
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Messages []MessageView `json:"messages"`
	}
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", topic, "queues", "0", "messages"), query, nil, &out); err != nil {
		return nil, fmt.Errorf("reading lite topic %s/%s: %w", topic, liteTopic, err)
	}
	return out.Messages, nil
}
