package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// APIError is a non-2xx answer from the server. The server sends
// {"error":{"code":"TOPIC_NOT_FOUND","message":"…"}}; when a body has another shape (a
// proxy's error page, say), Code is "HTTP_<status>" and Message is the start of the body.
type APIError struct {
	// Status is the HTTP status code, such as 404.
	Status int
	// Code is the machine-readable error code, such as "TOPIC_NOT_FOUND".
	Code string
	// Message is the server's human-readable explanation.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("floe: %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("floe: %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the request may succeed if sent again unchanged: the server
// was throttling (429) or its storage was unavailable (503). A namespace at its count
// quota (429 QUOTA_EXCEEDED) is not: room comes back only when something is deleted.
func (e *APIError) Temporary() bool {
	if e.Code == "QUOTA_EXCEEDED" {
		return false
	}
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable
}

// IsCode reports whether err is, or wraps, an *APIError with the given code.
func IsCode(err error, code string) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// IsStatus reports whether err is, or wraps, an *APIError with the given HTTP status.
func IsStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// errorBody is the contract's error envelope.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readAPIError builds the *APIError for a non-2xx response. It does not close the body.
func readAPIError(resp *http.Response) *APIError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	var eb errorBody
	if err := json.Unmarshal(raw, &eb); err == nil && eb.Error != nil && eb.Error.Code != "" {
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: msg}
}
