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
	// Priority is the message's priority on a PRIORITY topic (0 to the topic's
	// maxPriority; higher is delivered first).
	Priority *int `json:"priority,omitempty"`
	// DeduplicationID makes the send idempotent: a send of the same id to the topic
	// within its deduplication window answers the first send's result and stores nothing.
	DeduplicationID string `json:"deduplicationId,omitempty"`
	// BodyText and DelaySeconds are inputs only: a plain-text body, stored as is, and a
	// delivery time that many seconds after the send. Decoding (UnmarshalJSON) folds them
	// into Body and DeliveryTime and leaves them nil.
	BodyText     *string `json:"bodyText,omitempty"`
	DelaySeconds *int64  `json:"delaySeconds,omitempty"`
	// ID is a message id chosen by the producer (the RocketMQ clients choose their own);
	// empty, the ingest node assigns one. Not settable over HTTP.
	ID string `json:"-"`
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
	// RecallHandle takes a delayed message back before its delivery time (see
	// RecallRequest); only delayed messages have one.
	RecallHandle string `json:"recallHandle,omitempty"`
	// Duplicate is true when the message's deduplicationId was sent before within the
	// topic's window: the result is the first send's, and nothing was stored.
	Duplicate bool `json:"duplicate,omitempty"`
}

// RecallRequest takes back a delayed message before its delivery time.
type RecallRequest struct {
	RecallHandle string `json:"recallHandle"`
}

// RecallResponse is the answer to a recall: the message will never be delivered.
type RecallResponse struct {
	MessageID string `json:"messageId"`
	// Status is RECALLED (also for a message recalled before: recalling is idempotent).
	Status string `json:"status"`
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
	// Priority is set for messages of PRIORITY topics.
	Priority *int `json:"priority,omitempty"`
}

// MessagesResponse is a list of message views.
type MessagesResponse struct {
	Messages []MessageView `json:"messages"`
}

// Topic is a topic as the API shows it.
type Topic struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Queues         int    `json:"queues"`
	RetentionHours int    `json:"retentionHours"`
	LiteTTLMinutes int    `json:"liteTtlMinutes,omitempty"`
	Trace          bool   `json:"trace"`
	// MaxPriority and PriorityAgingSeconds are a PRIORITY topic's (nil for other types).
	MaxPriority          *int `json:"maxPriority,omitempty"`
	PriorityAgingSeconds *int `json:"priorityAgingSeconds,omitempty"`
	// DeduplicationWindowSeconds is how long a message's deduplicationId is remembered.
	DeduplicationWindowSeconds int       `json:"deduplicationWindowSeconds"`
	CreatedAt                  time.Time `json:"createdAt"`
}

// QueueInfo is one queue's offset range.
type QueueInfo struct {
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	MinOffset int64  `json:"minOffset"`
	MaxOffset int64  `json:"maxOffset"`
}

// ReceivedMessage is a message handed to a consumer: its view plus the receipt to ack it.
type ReceivedMessage struct {
	MessageView
	DeliveryAttempt int    `json:"deliveryAttempt"`
	ReceiptHandle   string `json:"receiptHandle"`
}

// ReceiveRequest is the body of a receive.
type ReceiveRequest struct {
	MaxMessages      *int `json:"maxMessages"`
	InvisibleSeconds *int `json:"invisibleSeconds"`
	WaitSeconds      *int `json:"waitSeconds"`
}

// ReceiveResponse is the answer to a receive.
type ReceiveResponse struct {
	Messages []ReceivedMessage `json:"messages"`
}

// HandlesRequest is the body of ack and nack.
type HandlesRequest struct {
	ReceiptHandles []string `json:"receiptHandles"`
}

// HandleResult is the outcome for one receipt handle.
type HandleResult struct {
	ReceiptHandle string `json:"receiptHandle"`
	Status        string `json:"status"`
}

// HandlesResponse is the answer to ack and nack.
type HandlesResponse struct {
	Results []HandleResult `json:"results"`
}

// ChangeInvisibleRequest is the body of change-invisible.
type ChangeInvisibleRequest struct {
	ReceiptHandle    string `json:"receiptHandle"`
	InvisibleSeconds int    `json:"invisibleSeconds"`
}

// ChangeInvisibleResponse carries the new handle.
type ChangeInvisibleResponse struct {
	ReceiptHandle string `json:"receiptHandle"`
}

// ResetRequest is the body of reset.
type ResetRequest struct {
	Timestamp time.Time `json:"timestamp"`
}

// Group is a consumer group as the API shows it.
type Group struct {
	Name                string         `json:"name"`
	DeliveryOrder       string         `json:"deliveryOrder"`
	MaxDeliveryAttempts int            `json:"maxDeliveryAttempts"`
	RetryPolicy         RetryPolicy    `json:"retryPolicy"`
	Subscriptions       []Subscription `json:"subscriptions"`
	CreatedAt           time.Time      `json:"createdAt"`
}

// RetryPolicy is a group's redelivery backoff.
type RetryPolicy struct {
	BackoffSeconds []int `json:"backoffSeconds"`
}

// Subscription is a group's rule for a topic.
type Subscription struct {
	Topic string `json:"topic"`
	// FilterType is TAG (Filter is `*` or `TagA || TagB`) or SQL92 (Filter is an
	// expression over message properties; the tag is the property TAGS).
	FilterType string   `json:"filterType,omitempty"`
	Filter     string   `json:"filter"`
	LiteTopics []string `json:"liteTopics,omitempty"`
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

// TransactionRequest is the body of POST /v1/topics/{topic}/transactions.
type TransactionRequest struct {
	ProducerGroup string    `json:"producerGroup"`
	Messages      []Message `json:"messages"`
}

// HalfMessage is a stored, not yet visible, transactional message.
type HalfMessage struct {
	MessageID string `json:"messageId"`
}

// TransactionResponse answers a transactional send.
type TransactionResponse struct {
	TransactionID string        `json:"transactionId"`
	Messages      []HalfMessage `json:"messages"`
}

// TransactionState is the answer to commit and rollback.
type TransactionState struct {
	TransactionID string `json:"transactionId"`
	State         string `json:"state"`
}

// TransactionCheck asks a producer's transaction checker about one transaction.
type TransactionCheck struct {
	TransactionID string        `json:"transactionId"`
	Topic         string        `json:"topic"`
	Messages      []MessageView `json:"messages"`
}

// TransactionChecksResponse is the answer to the transaction-checks long poll.
type TransactionChecksResponse struct {
	Checks []TransactionCheck `json:"checks"`
}
