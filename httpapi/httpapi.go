// Package httpapi is Floe's HTTP front end: every route's echo handler (RegisterIngest,
// RegisterReader, RegisterConsume, RegisterReaderOperate, RegisterAdmin), the JSON types of
// the contract, and the error shape `{"error":{"code","message"}}`. A handler decodes the
// request, resolves the caller's names (Tenant), calls a role (ingest, reader, admin) and
// answers; the roles know nothing of HTTP and fail with typed errors (package domain),
// which errorTable turns into a status and a code.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
)

// Error codes of the contract.
const (
	CodeBadRequest          = "BAD_REQUEST"
	CodeInvalidName         = "INVALID_NAME"
	CodeMalformedJSON       = "MALFORMED_JSON"
	CodeTopicNotFound       = "TOPIC_NOT_FOUND"
	CodeQueueNotFound       = "QUEUE_NOT_FOUND"
	CodeMessageNotFound     = "MESSAGE_NOT_FOUND"
	CodeTopicExists         = "TOPIC_EXISTS"
	CodeMessageTypeMismatch = "MESSAGE_TYPE_MISMATCH"
	CodeTooLarge            = "REQUEST_TOO_LARGE"
	CodeBodyTooLarge        = "BODY_TOO_LARGE"
	CodeThrottled           = "THROTTLED"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "STORAGE_UNAVAILABLE"
	CodeNotFound            = "NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	CodeInternal            = "INTERNAL"
	// CodeInvalidRecallHandle: a recall handle that is malformed, forged, altered or of
	// another topic.
	CodeInvalidRecallHandle = "INVALID_RECALL_HANDLE"
	// CodeTooLate: a recall after the message's delivery time.
	CodeTooLate = "TOO_LATE"
	// CodeRequestTimeout: the request body did not arrive within the server's body read
	// timeout (--body-read-timeout).
	CodeRequestTimeout = "REQUEST_TIMEOUT"

	CodeInvalidFilter        = "INVALID_FILTER"
	CodeMessageBodyEmpty     = "MESSAGE_BODY_EMPTY"
	CodeDelayTooLong         = "DELAY_TOO_LONG"
	CodeInvalidPriority      = "INVALID_PRIORITY"
	CodeGroupNotFound        = "GROUP_NOT_FOUND"
	CodeSubscriptionNotFound = "SUBSCRIPTION_NOT_FOUND"
	CodeTransactionNotFound  = "TRANSACTION_NOT_FOUND"
	CodeTaskNotFound         = "TASK_NOT_FOUND"
	CodeGroupExists          = "GROUP_EXISTS"
	CodeTopicChanged         = "TOPIC_CHANGED"
	CodeConflict             = "CONFLICT"
	CodeTransactionResolved  = "TRANSACTION_ALREADY_RESOLVED"
	CodeInvalidReceiptHandle = "INVALID_RECEIPT_HANDLE"
	CodeReceiptHandleExpired = "RECEIPT_HANDLE_EXPIRED"
)

// Error is an API error: an HTTP status and a machine-readable code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an API error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// QuotaRetryAfter is the Retry-After of QUOTA_EXCEEDED, in seconds: room comes back only
// when something is deleted, so a client should not retry soon.
const QuotaRetryAfter = 60

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ErrorHandler renders every error as the contract's `{"error":{"code","message"}}`, with
// the caller's names in the message (Tenant.Text).
// A *domain.Error is answered as its kind says (errorTable); other errors that are not
// *Error become 500 INTERNAL. A 5xx answer never carries the failure's
// text, which may quote the database driver or SQL: the text is logged with the request's
// id (RequestID), and the answer says only what failed in general and that id.
func ErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var apiErr *Error
		var domErr *domain.Error
		var echoErr *echo.HTTPError
		switch {
		case errors.As(err, &apiErr):
		case errors.As(err, &domErr):
			apiErr = Answer(domErr)
		case errors.As(err, &echoErr):
			apiErr = fromEcho(echoErr)
		case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
			// The client went away (a long poll given up): normal, and nobody reads an answer.
			logger.Debug("request cancelled by the client", "method", c.Request().Method, "path", c.Request().URL.Path)
			return
		default:
			apiErr = Errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
		}
		if apiErr.Status >= 500 {
			apiErr = serverError(logger, c, apiErr)
		}
		if apiErr.Code == CodeQuotaExceeded {
			c.Response().Header().Set("Retry-After", strconv.Itoa(QuotaRetryAfter))
		}
		var body errorBody
		body.Error.Code, body.Error.Message = apiErr.Code, TenantOf(c).Text(apiErr.Message)
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(apiErr.Status)
			return
		}
		_ = c.JSON(apiErr.Status, body)
	}
}

// serverError logs a 5xx error with the request's id and returns the answer to give
// instead: the same status and code, a generic message quoting the id.
func serverError(logger *slog.Logger, c echo.Context, e *Error) *Error {
	id := RequestIDOf(c)
	logger.Error("request failed", "request_id", id, "method", c.Request().Method, "path", c.Request().URL.Path,
		"status", e.Status, "code", e.Code, "err", e.Message)
	what := "internal error"
	if e.Code == CodeUnavailable {
		what = "storage unavailable; retry later"
	}
	return Errorf(e.Status, e.Code, "%s (request id %s)", what, id)
}

func fromEcho(e *echo.HTTPError) *Error {
	msg := fmt.Sprint(e.Message)
	switch e.Code {
	case http.StatusNotFound:
		return Errorf(e.Code, CodeNotFound, "no such route")
	case http.StatusMethodNotAllowed:
		return Errorf(e.Code, CodeMethodNotAllowed, "method not allowed")
	case http.StatusRequestEntityTooLarge:
		return Errorf(e.Code, CodeTooLarge, "request body too large")
	case http.StatusBadRequest:
		return Errorf(e.Code, CodeBadRequest, "%s", msg)
	}
	return Errorf(e.Code, fmt.Sprintf("HTTP_%d", e.Code), "%s", msg)
}
