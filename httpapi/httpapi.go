// Package httpapi holds what the HTTP front ends share: the error shape of the contract,
// name validation, and the JSON types of messages. It sits below ingest, reader and admin,
// which register their own routes.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/namespace"
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

// QuotaExceeded is the answer to a create refused because the caller's namespace holds
// as many resources ("topics", "groups", "lite_topics") as its quota allows: 429
// QUOTA_EXCEEDED with Retry-After (QuotaRetryAfter), as issue 10 asks of every quota; the
// code and message say that waiting alone does not help: deleting resources, or a higher
// limit, is the way out.
func QuotaExceeded(resource string, limit int) *Error {
	return Errorf(http.StatusTooManyRequests, CodeQuotaExceeded,
		"the namespace already holds its limit of %d %s; delete some or ask the operator for a higher limit",
		limit, strings.ReplaceAll(resource, "_", " "))
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
// Errors that are not *Error become 500 INTERNAL. A 5xx answer never carries the failure's
// text, which may quote the database driver or SQL: the text is logged with the request's
// id (RequestID), and the answer says only what failed in general and that id.
func ErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var apiErr *Error
		var echoErr *echo.HTTPError
		switch {
		case errors.As(err, &apiErr):
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

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,127}$`)

// ValidName reports whether s is a valid user-chosen name (topics, groups, lite topics,
// tags): 1–127 characters of [A-Za-z0-9_-].
func ValidName(s string) bool { return nameRE.MatchString(s) }

// CheckName returns a 400 INVALID_NAME error for an invalid name.
func CheckName(kind, s string) error {
	if !ValidName(s) {
		return Errorf(http.StatusBadRequest, CodeInvalidName, "%s %q must be 1-127 characters of [A-Za-z0-9_-]", kind, s)
	}
	return nil
}

// CheckStoredName checks the name a tenant wrote inside a stored name ("orders" of
// "acme%orders"), for code that is handed stored names.
func CheckStoredName(kind, stored string) error {
	ns := namespace.Of(stored)
	name, _ := namespace.Unwrap(ns, stored)
	return CheckName(kind, name)
}

// CheckStoredReadableTopic is CheckReadableTopic on the name a tenant wrote inside a
// stored topic name.
func CheckStoredReadableTopic(stored string) error {
	ns := namespace.Of(stored)
	name, _ := namespace.Unwrap(ns, stored)
	return CheckReadableTopic(name)
}

// MaxIDLen bounds an id a client hands in: message ids (a producer may choose one; the
// RocketMQ clients' are 34 hex digits), transaction ids and key ids.
const MaxIDLen = 64

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s has the shape of an id: 1–64 characters of [A-Za-z0-9_-].
// Every id Floe hands out has it, so another shape names nothing and must not reach the
// store (Postgres refuses a NUL or invalid UTF-8 with an error that is no client's business).
func ValidID(s string) bool { return idRE.MatchString(s) }

// CheckID returns a 400 BAD_REQUEST error naming field ("transaction id") for an id that
// is not ValidID.
func CheckID(field, s string) error {
	if !ValidID(s) {
		return Errorf(http.StatusBadRequest, CodeBadRequest, "%s %q must be 1-%d characters of [A-Za-z0-9_-]", field, s, MaxIDLen)
	}
	return nil
}

// SystemPrefix starts the names of system topics, such as %DLQ%group.
const SystemPrefix = "%"

// CheckReadableTopic accepts a user topic name or a system one (%DLQ%<group>), for routes
// that read; system topics cannot be created or sent to.
func CheckReadableTopic(topic string) error {
	if rest, ok := strings.CutPrefix(topic, "%DLQ%"); ok {
		return CheckName("topic", rest)
	}
	return CheckName("topic", topic)
}
