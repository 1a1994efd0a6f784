package httpapi

import "time"

// Message is one message as a producer sends it.
type Message struct {
	Body         []byte            `json:"body"`
	Tag          string            `json:"tag,omitempty"`
	Keys         []string          `json:"keys,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
	MessageGroup string            `json:"messageGroup,omitempty"`
	DeliveryTime *time.Time        `json:"deliveryTime,omitempty"`
	LiteTopic    string            `json:"liteTopic,omitempty"`
}

// SendRequest is the body of POST /v1/topics/{topic}/messages.
type SendRequest struct {
	Messages []Message `json:"messages"`
}

// SendResult is the outcome of one sent message.
type SendResult struct {
	MessageID    string     `json:"messageId"`
	QueueID      *int       `json:"queueId,omitempty"`
	Offset       *int64     `json:"offset,omitempty"`
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
}

// SendResponse is the answer to a send.
type SendResponse struct {
	Messages []SendResult `json:"messages"`
}

// MessageView is the read-only view of a stored message.
type MessageView struct {
	MessageID    string            `json:"messageId"`
	Topic        string            `json:"topic"`
	QueueID      int               `json:"queueId"`
	Offset       int64             `json:"offset"`
	Tag          string            `json:"tag,omitempty"`
	Keys         []string          `json:"keys,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
	Body         []byte            `json:"body"`
	MessageGroup string            `json:"messageGroup,omitempty"`
	LiteTopic    string            `json:"liteTopic,omitempty"`
	BornTime     time.Time         `json:"bornTime"`
	StoreTime    time.Time         `json:"storeTime"`
	DeliveryTime *time.Time        `json:"deliveryTime,omitempty"`
}

// MessagesResponse is a list of message views.
type MessagesResponse struct {
	Messages []MessageView `json:"messages"`
}

// Topic is a topic as the API shows it.
type Topic struct {
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Queues         int       `json:"queues"`
	RetentionHours int       `json:"retentionHours"`
	LiteTTLMinutes int       `json:"liteTtlMinutes,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// QueueInfo is one queue's offset range.
type QueueInfo struct {
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	MinOffset int64  `json:"minOffset"`
	MaxOffset int64  `json:"maxOffset"`
}
