package httpapi

import (
	"time"

	"github.com/floemq/floe/domain"
)

// PatchTopicRequest changes a topic's settings in place; absent fields stay.
type PatchTopicRequest struct {
	// Queues may only grow.
	Queues         *int  `json:"queues,omitempty"`
	RetentionHours *int  `json:"retentionHours,omitempty"`
	LiteTTLMinutes *int  `json:"liteTtlMinutes,omitempty"`
	Trace          *bool `json:"trace,omitempty"`
}

// PatchGroupRequest changes a group's settings in place; absent fields stay.
type PatchGroupRequest struct {
	DeliveryOrder       *string      `json:"deliveryOrder,omitempty"`
	MaxDeliveryAttempts *int         `json:"maxDeliveryAttempts,omitempty"`
	RetryPolicy         *RetryPolicy `json:"retryPolicy,omitempty"`
}

// QueueOffsetRequest sets a group's offset on one queue.
type QueueOffsetRequest struct {
	Offset *int64 `json:"offset"`
}

// SkipBacklogRequest moves a group to the end of its queues: of one topic, or of all.
type SkipBacklogRequest struct {
	Topic string `json:"topic,omitempty"`
}

// OffsetMove is one queue whose group offset an offset tool moved.
type OffsetMove struct {
	Topic     string `json:"topic"`
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	Offset    int64  `json:"offset"`
}

// OffsetsResponse lists the queues an offset tool moved.
type OffsetsResponse struct {
	Group  string       `json:"group"`
	Queues []OffsetMove `json:"queues"`
}

// QueueOffset is a queue's offset for a time.
type QueueOffset = domain.QueueOffset

// OffsetsForTimeResponse gives, per queue, the first offset stored at or after a time
// (the queue's end when every message is older).
type OffsetsForTimeResponse struct {
	Topic  string        `json:"topic"`
	Time   time.Time     `json:"time"`
	Queues []QueueOffset `json:"queues"`
}

// BrowseResponse is a page of a topic's messages in a time range.
type BrowseResponse struct {
	Messages []MessageView `json:"messages"`
	// NextCursor fetches the next page (absent on the last one).
	NextCursor string `json:"nextCursor,omitempty"`
}

// RedriveRequest starts moving a group's dead letters to a topic.
type RedriveRequest struct {
	// TargetTopic is where the messages go; default: the group's only subscribed topic.
	TargetTopic string `json:"targetTopic,omitempty"`
	// MessageIDs chooses dead letters; absent, every dead letter stored now moves.
	MessageIDs []string `json:"messageIds,omitempty"`
	// RatePerSecond bounds the messages moved per second.
	RatePerSecond *int `json:"ratePerSecond,omitempty"`
}

// RedriveTask is a dead-letter redrive and its progress.
type RedriveTask struct {
	ID            string     `json:"id"`
	Group         string     `json:"group"`
	TargetTopic   string     `json:"targetTopic"`
	State         string     `json:"state"`
	Total         int64      `json:"total"`
	Moved         int64      `json:"moved"`
	Skipped       int64      `json:"skipped"`
	RatePerSecond int        `json:"ratePerSecond"`
	Error         string     `json:"error,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
}

// RedriveTasksResponse lists a group's redrive tasks, newest first.
type RedriveTasksResponse struct {
	Tasks []RedriveTask `json:"tasks"`
}

// ResendResponse says which message a group will receive again.
type ResendResponse struct {
	Group     string `json:"group"`
	MessageID string `json:"messageId"`
	QueueID   int    `json:"queueId"`
	Offset    int64  `json:"offset"`
}
