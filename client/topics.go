package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// TopicType is a topic's message type; it decides which message fields a send must carry.
type TopicType string

// The topic types of the contract.
const (
	// TopicNormal carries plain messages.
	TopicNormal TopicType = "NORMAL"
	// TopicFIFO carries messages with a messageGroup, delivered in order within the group.
	TopicFIFO TopicType = "FIFO"
	// TopicDelay carries messages with a deliveryTime.
	TopicDelay TopicType = "DELAY"
	// TopicTransaction carries messages sent through SendTransaction.
	TopicTransaction TopicType = "TRANSACTION"
	// TopicLite carries messages with a liteTopic, each lite topic being one queue.
	TopicLite TopicType = "LITE"
	// TopicPriority carries messages with a priority; higher priorities are delivered first.
	TopicPriority TopicType = "PRIORITY"
)

// TopicSpec is the body of POST /v1/topics. Zero fields are left out, so the server's
// defaults apply.
type TopicSpec struct {
	// Name is the topic's name: 1–127 characters of [A-Za-z0-9_-].
	Name string `json:"name"`
	// Type is the topic's message type.
	Type TopicType `json:"type,omitempty"`
	// Queues is the number of queues.
	Queues int `json:"queues,omitempty"`
	// RetentionHours is how long messages are kept.
	RetentionHours int `json:"retentionHours,omitempty"`
	// LiteTTLMinutes is, for a LITE topic, how long a lite topic lives without traffic.
	LiteTTLMinutes int `json:"liteTtlMinutes,omitempty"`
	// Trace records the path of the topic's messages; nil leaves the server's default (on).
	Trace *bool `json:"trace,omitempty"`
	// MaxPriority is, for a PRIORITY topic, the highest priority (zero: the server's
	// default, 9).
	MaxPriority int `json:"maxPriority,omitempty"`
	// PriorityAgingSeconds is, for a PRIORITY topic, how long a message waits to rank one
	// priority higher against newer messages (zero: the server's default, 60).
	PriorityAgingSeconds int `json:"priorityAgingSeconds,omitempty"`
	// DeduplicationWindowSeconds is how long a message's DeduplicationID is remembered
	// (zero: the server's default, 300).
	DeduplicationWindowSeconds int `json:"deduplicationWindowSeconds,omitempty"`
}

// Topic is a topic as the server returns it: the creation request's fields plus when it
// was created.
type Topic struct {
	// Name is the topic's name.
	Name string `json:"name"`
	// Type is the topic's message type.
	Type TopicType `json:"type"`
	// Queues is the number of queues.
	Queues int `json:"queues"`
	// RetentionHours is how long messages are kept.
	RetentionHours int `json:"retentionHours"`
	// LiteTTLMinutes is, for a LITE topic, how long a lite topic lives without traffic.
	LiteTTLMinutes int `json:"liteTtlMinutes,omitempty"`
	// MaxPriority and PriorityAgingSeconds are a PRIORITY topic's settings.
	MaxPriority          int `json:"maxPriority,omitempty"`
	PriorityAgingSeconds int `json:"priorityAgingSeconds,omitempty"`
	// DeduplicationWindowSeconds is how long a message's DeduplicationID is remembered.
	DeduplicationWindowSeconds int `json:"deduplicationWindowSeconds,omitempty"`
	// CreatedAt is when the topic was created.
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// QueueInfo is one queue of a topic and the range of offsets it holds.
type QueueInfo struct {
	// QueueID identifies the queue within its topic.
	QueueID int `json:"queueId"`
	// LiteTopic names the lite topic whose queue this is, on a LITE topic.
	LiteTopic string `json:"liteTopic,omitempty"`
	// MinOffset is the oldest offset still stored.
	MinOffset int64 `json:"minOffset"`
	// MaxOffset is the next offset to be written.
	MaxOffset int64 `json:"maxOffset"`
}

// CreateTopic creates a topic (POST /v1/topics). created is true when the server made a new
// topic (201) and false when an identical one already existed (200); a topic of the same
// name with other settings is an *APIError with status 409.
func (c *Client) CreateTopic(ctx context.Context, spec TopicSpec) (topic Topic, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, pathOf("v1", "topics"), nil, spec, &topic)
	if err != nil {
		return Topic{}, false, fmt.Errorf("creating topic %s: %w", spec.Name, err)
	}
	return topic, status == http.StatusCreated, nil
}

// GetTopic returns one topic (GET /v1/topics/{topic}).
func (c *Client) GetTopic(ctx context.Context, name string) (Topic, error) {
	var topic Topic
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", name), nil, nil, &topic); err != nil {
		return Topic{}, fmt.Errorf("getting topic %s: %w", name, err)
	}
	return topic, nil
}

// ListTopics returns every topic (GET /v1/topics, answered as {"topics":[…]}).
func (c *Client) ListTopics(ctx context.Context) ([]Topic, error) {
	var out struct {
		Topics []Topic `json:"topics"`
	}
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics"), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	return out.Topics, nil
}

// DeleteTopic deletes a topic (DELETE /v1/topics/{topic}).
func (c *Client) DeleteTopic(ctx context.Context, name string) error {
	if _, err := c.do(ctx, http.MethodDelete, pathOf("v1", "topics", name), nil, nil, nil); err != nil {
		return fmt.Errorf("deleting topic %s: %w", name, err)
	}
	return nil
}

// Queues returns the queues of a topic with their offset ranges
// (GET /v1/topics/{topic}/queues).
func (c *Client) Queues(ctx context.Context, topic string) ([]QueueInfo, error) {
	var out struct {
		Queues []QueueInfo `json:"queues"`
	}
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", topic, "queues"), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("listing queues of topic %s: %w", topic, err)
	}
	return out.Queues, nil
}
