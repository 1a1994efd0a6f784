package httpapi

import (
	"time"

	"github.com/floemq/floe/domain"
)

// Message is one message as a producer sends it over HTTP: domain.Message plus the
// inputs that decoding folds into it (Domain returns what a role takes).
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

// Domain returns the message a role takes.
func (m *Message) Domain() domain.Message {
	return domain.Message{Body: m.Body, Tag: m.Tag, Keys: m.Keys, Properties: m.Properties,
		MessageGroup: m.MessageGroup, DeliveryTime: m.DeliveryTime, LiteTopic: m.LiteTopic, ID: m.ID,
		Priority: m.Priority, DeduplicationID: m.DeduplicationID}
}

// DomainMessages returns the messages a role takes.
func DomainMessages(msgs []Message) []domain.Message {
	out := make([]domain.Message, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].Domain()
	}
	return out
}

// SendRequest is the body of POST /v1/topics/{topic}/messages.
type SendRequest struct {
	Messages []Message `json:"messages"`
}

// SendResult is the outcome of one sent message.
type SendResult = domain.SendResult

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
type MessageView = domain.MessageView

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
type ReceivedMessage = domain.ReceivedMessage

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
type HandleResult = domain.HandleResult

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
type QueueLag = domain.QueueLag

// TopicLag is a group's progress on one topic.
type TopicLag = domain.TopicLag

// PriorityLag is a group's progress on the queues of one priority of a PRIORITY topic.
type PriorityLag = domain.PriorityLag

// LagResponse is a group's accumulation.
type LagResponse = domain.LagResponse

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
type TransactionCheck = domain.TransactionCheck

// TransactionChecksResponse is the answer to the transaction-checks long poll.
type TransactionChecksResponse struct {
	Checks []TransactionCheck `json:"checks"`
}
