package domain

import "time"

// Message is one message as a producer sends it, over either front end.
type Message struct {
	Body         []byte
	Tag          string
	Keys         []string
	Properties   map[string]string
	MessageGroup string
	// DeliveryTime, when set, delays the message until then.
	DeliveryTime *time.Time
	// LiteTopic names the lite topic of a message to a LITE topic.
	LiteTopic string
	// Priority is the priority of a message to a PRIORITY topic (higher is delivered
	// first).
	Priority *int
	// DeduplicationID makes the send idempotent: a send of the same id to the topic
	// within its deduplication window answers the first send's result and stores nothing.
	DeduplicationID string
	// ID is a message id chosen by the producer (the RocketMQ clients choose their own);
	// empty, the ingest node assigns one.
	ID string
}

// SendResult is the outcome of one sent message. The JSON names are those of the HTTP
// API, which answers with it as is.
type SendResult struct {
	MessageID    string     `json:"messageId"`
	QueueID      *int       `json:"queueId,omitempty"`
	Offset       *int64     `json:"offset,omitempty"`
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
	// RecallHandle takes a delayed message back before its delivery time; only delayed
	// messages have one.
	RecallHandle string `json:"recallHandle,omitempty"`
	// Duplicate is true when the message's deduplicationId was sent before within the
	// topic's window: the result is the first send's, and nothing was stored.
	Duplicate bool `json:"duplicate,omitempty"`
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
	// Priority is set for messages of PRIORITY topics.
	Priority *int `json:"priority,omitempty"`
}

// ReceivedMessage is a message handed to a consumer: its view plus the receipt to ack it.
type ReceivedMessage struct {
	MessageView
	DeliveryAttempt int    `json:"deliveryAttempt"`
	ReceiptHandle   string `json:"receiptHandle"`
}

// TransactionCheck asks a producer's transaction checker about one transaction.
type TransactionCheck struct {
	TransactionID string        `json:"transactionId"`
	Topic         string        `json:"topic"`
	Messages      []MessageView `json:"messages"`
}

// HandleResult is the outcome of an ack or nack for one receipt handle.
type HandleResult struct {
	ReceiptHandle string `json:"receiptHandle"`
	Status        string `json:"status"`
}

// QueueOffset is a queue's offset for a time.
type QueueOffset struct {
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	Offset    int64  `json:"offset"`
}

// LagResponse is a group's accumulation.
type LagResponse struct {
	Group  string     `json:"group"`
	Topics []TopicLag `json:"topics"`
	Totals struct {
		Lag              int64   `json:"lag"`
		Inflight         int64   `json:"inflight"`
		Ready            int64   `json:"ready"`
		OldestUnackedAge float64 `json:"oldestUnackedAge"`
	} `json:"totals"`
}

// TopicLag is a group's progress on one topic.
type TopicLag struct {
	Topic            string     `json:"topic"`
	Queues           []QueueLag `json:"queues"`
	Lag              int64      `json:"lag"`
	Inflight         int64      `json:"inflight"`
	Ready            int64      `json:"ready"`
	OldestUnackedAge float64    `json:"oldestUnackedAge"`
	// Priorities sums the queues of each priority of a PRIORITY topic, highest first.
	Priorities []PriorityLag `json:"priorities,omitempty"`
}

// PriorityLag is a group's progress on the queues of one priority of a PRIORITY topic.
type PriorityLag struct {
	Priority         int     `json:"priority"`
	Lag              int64   `json:"lag"`
	Inflight         int64   `json:"inflight"`
	Ready            int64   `json:"ready"`
	OldestUnackedAge float64 `json:"oldestUnackedAge"`
}

// QueueLag is a group's progress on one queue.
type QueueLag struct {
	QueueID          int     `json:"queueId"`
	LiteTopic        string  `json:"liteTopic,omitempty"`
	MaxOffset        int64   `json:"maxOffset"`
	ConsumedOffset   int64   `json:"consumedOffset"`
	Inflight         int64   `json:"inflight"`
	Ready            int64   `json:"ready"`
	OldestUnackedAge float64 `json:"oldestUnackedAge"`
	// Priority is the priority of the queue's messages on a PRIORITY topic.
	Priority *int `json:"priority,omitempty"`
}
