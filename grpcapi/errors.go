package grpcapi

import (
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/floemq/floe/domain"
)

// codeTable maps every domain.Kind to its RocketMQ code: the one place the gRPC front end
// decides them (TestErrorTablesCoverEveryKind fails for a kind left out). A kind mapped to
// INTERNAL_SERVER_ERROR is a failure the client cannot fix: it is logged and answered
// without its text (internalError).
var codeTable = map[*domain.Kind]v2.Code{
	domain.ErrBadRequest:           v2.Code_BAD_REQUEST,
	domain.ErrInvalidName:          v2.Code_ILLEGAL_TOPIC,
	domain.ErrInvalidFilter:        v2.Code_ILLEGAL_FILTER_EXPRESSION,
	domain.ErrMessageTypeMismatch:  v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
	domain.ErrBodyEmpty:            v2.Code_MESSAGE_BODY_EMPTY,
	domain.ErrBodyTooLarge:         v2.Code_MESSAGE_BODY_TOO_LARGE,
	domain.ErrDelayTooLong:         v2.Code_ILLEGAL_DELIVERY_TIME,
	domain.ErrInvisibleTime:        v2.Code_ILLEGAL_INVISIBLE_TIME,
	domain.ErrInvalidPriority:      v2.Code_BAD_REQUEST,
	domain.ErrTopicNotFound:        v2.Code_TOPIC_NOT_FOUND,
	domain.ErrQueueNotFound:        v2.Code_NOT_FOUND,
	domain.ErrMessageNotFound:      v2.Code_NOT_FOUND,
	domain.ErrGroupNotFound:        v2.Code_CONSUMER_GROUP_NOT_FOUND,
	domain.ErrSubscriptionNotFound: v2.Code_CONSUMER_GROUP_NOT_FOUND,
	domain.ErrTransactionNotFound:  v2.Code_INVALID_TRANSACTION_ID,
	domain.ErrTaskNotFound:         v2.Code_NOT_FOUND,
	domain.ErrTopicExists:          v2.Code_BAD_REQUEST,
	domain.ErrGroupExists:          v2.Code_BAD_REQUEST,
	domain.ErrTopicChanged:         v2.Code_BAD_REQUEST,
	domain.ErrConflict:             v2.Code_BAD_REQUEST,
	domain.ErrTransactionResolved:  v2.Code_PRECONDITION_FAILED,
	domain.ErrInvalidReceipt:       v2.Code_INVALID_RECEIPT_HANDLE,
	domain.ErrReceiptExpired:       v2.Code_INVALID_RECEIPT_HANDLE,
	// The protocol has no code of its own for a bad recall handle.
	domain.ErrInvalidRecallHandle: v2.Code_BAD_REQUEST,
	// The recall's precondition, "not delivered yet", no longer holds.
	domain.ErrTooLate:       v2.Code_PRECONDITION_FAILED,
	domain.ErrThrottled:     v2.Code_TOO_MANY_REQUESTS,
	domain.ErrQuotaExceeded: v2.Code_TOO_MANY_REQUESTS,
	domain.ErrUnavailable:   v2.Code_INTERNAL_SERVER_ERROR,
}
