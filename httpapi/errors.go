package httpapi

import (
	"errors"
	"net/http"

	"github.com/floemq/floe/domain"
)

// answer is how the HTTP API answers a kind of failure.
type answer struct {
	status int
	code   string
}

// errorTable maps every domain.Kind to its HTTP status and code: the one place the HTTP
// front end decides them (TestErrorTableCoversEveryKind fails for a kind left out).
var errorTable = map[*domain.Kind]answer{
	domain.ErrBadRequest:           {http.StatusBadRequest, CodeBadRequest},
	domain.ErrInvalidName:          {http.StatusBadRequest, CodeInvalidName},
	domain.ErrInvalidFilter:        {http.StatusBadRequest, CodeInvalidFilter},
	domain.ErrMessageTypeMismatch:  {http.StatusBadRequest, CodeMessageTypeMismatch},
	domain.ErrBodyEmpty:            {http.StatusBadRequest, CodeMessageBodyEmpty},
	domain.ErrBodyTooLarge:         {http.StatusRequestEntityTooLarge, CodeBodyTooLarge},
	domain.ErrDelayTooLong:         {http.StatusBadRequest, CodeDelayTooLong},
	domain.ErrInvisibleTime:        {http.StatusBadRequest, CodeBadRequest},
	domain.ErrInvalidPriority:      {http.StatusBadRequest, CodeInvalidPriority},
	domain.ErrTopicNotFound:        {http.StatusNotFound, CodeTopicNotFound},
	domain.ErrQueueNotFound:        {http.StatusNotFound, CodeQueueNotFound},
	domain.ErrMessageNotFound:      {http.StatusNotFound, CodeMessageNotFound},
	domain.ErrGroupNotFound:        {http.StatusNotFound, CodeGroupNotFound},
	domain.ErrSubscriptionNotFound: {http.StatusNotFound, CodeSubscriptionNotFound},
	domain.ErrTransactionNotFound:  {http.StatusNotFound, CodeTransactionNotFound},
	domain.ErrTaskNotFound:         {http.StatusNotFound, CodeTaskNotFound},
	domain.ErrTopicExists:          {http.StatusConflict, CodeTopicExists},
	domain.ErrGroupExists:          {http.StatusConflict, CodeGroupExists},
	domain.ErrTopicChanged:         {http.StatusConflict, CodeTopicChanged},
	domain.ErrConflict:             {http.StatusConflict, CodeConflict},
	domain.ErrTransactionResolved:  {http.StatusConflict, CodeTransactionResolved},
	domain.ErrInvalidReceipt:       {http.StatusBadRequest, CodeInvalidReceiptHandle},
	domain.ErrReceiptExpired:       {http.StatusConflict, CodeReceiptHandleExpired},
	domain.ErrInvalidRecallHandle:  {http.StatusBadRequest, CodeInvalidRecallHandle},
	domain.ErrTooLate:              {http.StatusConflict, CodeTooLate},
	domain.ErrThrottled:            {http.StatusTooManyRequests, CodeThrottled},
	domain.ErrQuotaExceeded:        {http.StatusTooManyRequests, CodeQuotaExceeded},
	domain.ErrUnavailable:          {http.StatusServiceUnavailable, CodeUnavailable},
}

// Answer returns the HTTP answer to a failure of the domain: its kind's status and code
// (errorTable), its message. A kind missing from the table is a bug, answered 500.
func Answer(e *domain.Error) *Error {
	a, ok := errorTable[e.Kind]
	if !ok {
		return Errorf(http.StatusInternalServerError, CodeInternal, "unmapped error kind %v: %s", e.Kind, e.Message)
	}
	return &Error{Status: a.status, Code: a.code, Message: e.Message}
}

// AnswerOf returns the answer the HTTP API gives to err when err is an *Error or a
// *domain.Error (Answer), and nil for any other error.
func AnswerOf(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if de := domain.AsError(err); de != nil {
		return Answer(de)
	}
	return nil
}
