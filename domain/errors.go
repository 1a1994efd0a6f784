package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is a class of failure a client can act on. Kinds are compared by identity: test
// for one with errors.Is(err, ErrTopicNotFound). A kind's name labels the metrics that
// count failures, so it never changes; for most kinds it is also the HTTP API's code.
type Kind struct{ name string }

// Error returns the kind's name.
func (k *Kind) Error() string { return k.name }

// String returns the kind's name.
func (k *Kind) String() string { return k.name }

func newKind(name string) *Kind {
	k := &Kind{name: name}
	kinds = append(kinds, k)
	return k
}

var kinds []*Kind

// Kinds returns every kind this package declares, for the front ends' tests: each must
// map every kind.
func Kinds() []*Kind { return append([]*Kind(nil), kinds...) }

// The kinds of failure. Each front end maps every one of them (httpapi's and grpcapi's
// error tables; a test fails for a kind without a mapping).
var (
	// ErrBadRequest: the request is malformed or a value is out of range.
	ErrBadRequest = newKind("BAD_REQUEST")
	// ErrInvalidName: a name (topic, group, tag, lite topic, ...) is not valid.
	ErrInvalidName = newKind("INVALID_NAME")
	// ErrInvalidFilter: a subscription's filter expression does not parse.
	ErrInvalidFilter = newKind("INVALID_FILTER")
	// ErrMessageTypeMismatch: a message or subscription does not fit its topic's type.
	ErrMessageTypeMismatch = newKind("MESSAGE_TYPE_MISMATCH")
	// ErrBodyEmpty: a message without a body.
	ErrBodyEmpty = newKind("MESSAGE_BODY_EMPTY")
	// ErrBodyTooLarge: a message body over the limit.
	ErrBodyTooLarge = newKind("BODY_TOO_LARGE")
	// ErrDelayTooLong: a delivery time further ahead than the maximum delay.
	ErrDelayTooLong = newKind("DELAY_TOO_LONG")
	// ErrInvalidPriority: a message priority outside its topic's range.
	ErrInvalidPriority = newKind("INVALID_PRIORITY")
	// ErrInvisibleTime: an invisible time outside the range a consumer may ask for.
	ErrInvisibleTime = newKind("ILLEGAL_INVISIBLE_TIME")

	// ErrTopicNotFound: no such topic.
	ErrTopicNotFound = newKind("TOPIC_NOT_FOUND")
	// ErrQueueNotFound: the topic has no such queue or lite topic.
	ErrQueueNotFound = newKind("QUEUE_NOT_FOUND")
	// ErrMessageNotFound: no such message (or it is no longer stored).
	ErrMessageNotFound = newKind("MESSAGE_NOT_FOUND")
	// ErrGroupNotFound: no such consumer group.
	ErrGroupNotFound = newKind("GROUP_NOT_FOUND")
	// ErrSubscriptionNotFound: the group does not subscribe to the topic.
	ErrSubscriptionNotFound = newKind("SUBSCRIPTION_NOT_FOUND")
	// ErrTransactionNotFound: no such transaction.
	ErrTransactionNotFound = newKind("TRANSACTION_NOT_FOUND")
	// ErrTaskNotFound: no such redrive task.
	ErrTaskNotFound = newKind("TASK_NOT_FOUND")

	// ErrTopicExists: a topic of that name exists with other settings.
	ErrTopicExists = newKind("TOPIC_EXISTS")
	// ErrGroupExists: a group of that name exists with other settings.
	ErrGroupExists = newKind("GROUP_EXISTS")
	// ErrTopicChanged: the topic was deleted or recreated while a send was in flight.
	ErrTopicChanged = newKind("TOPIC_CHANGED")
	// ErrConflict: the change conflicts with the resource's current state.
	ErrConflict = newKind("CONFLICT")
	// ErrTransactionResolved: the transaction was already resolved the other way.
	ErrTransactionResolved = newKind("TRANSACTION_ALREADY_RESOLVED")

	// ErrInvalidReceipt: a receipt handle that is malformed, forged or of another group.
	ErrInvalidReceipt = newKind("INVALID_RECEIPT_HANDLE")
	// ErrReceiptExpired: the message was acked or handed out again since the handle was
	// issued.
	ErrReceiptExpired = newKind("RECEIPT_HANDLE_EXPIRED")
	// ErrInvalidRecallHandle: a recall handle that is malformed, forged, altered or of
	// another topic.
	ErrInvalidRecallHandle = newKind("INVALID_RECALL_HANDLE")
	// ErrTooLate: a recall after the message's delivery time.
	ErrTooLate = newKind("TOO_LATE")

	// ErrThrottled: the node is over its capacity; retry later.
	ErrThrottled = newKind("THROTTLED")
	// ErrQuotaExceeded: the namespace holds as many resources as its quota allows.
	ErrQuotaExceeded = newKind("QUOTA_EXCEEDED")
	// ErrUnavailable: the store or the bucket failed; retry later. Its message may quote
	// the failure and is for the logs, never for a client.
	ErrUnavailable = newKind("STORAGE_UNAVAILABLE")
)

// Error is a failure of a kind: the message a client reads, and the field of the request
// it names when one is at fault.
type Error struct {
	Kind    *Kind
	Field   string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the kind, so that errors.Is(err, ErrTopicNotFound) holds.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an error of kind k.
func Errorf(k *Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an error of kind k about the request's field.
func FieldErrorf(k *Kind, field, format string, args ...any) *Error {
	return &Error{Kind: k, Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// QuotaExceeded is the failure of a create refused because the caller's namespace holds
// as many resources ("topics", "groups", "lite_topics") as its quota allows. The message
// says that waiting alone does not help: deleting resources, or a higher limit, is the
// way out.
func QuotaExceeded(resource string, limit int) *Error {
	return Errorf(ErrQuotaExceeded,
		"the namespace already holds its limit of %d %s; delete some or ask the operator for a higher limit",
		limit, strings.ReplaceAll(resource, "_", " "))
}
