package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// MaxCreateRequestBytes bounds the body of the routes that create a topic or a group: a
// name and a few settings. The auth middleware reads no more than this to find the name
// before the handler runs.
const MaxCreateRequestBytes = 64 << 10

// DecodeJSON reads a JSON request body of at most limit bytes into v. Unknown fields,
// trailing data and malformed JSON get 400 MALFORMED_JSON; a body over the limit gets 413.
func DecodeJSON(c echo.Context, limit int64, v any) error {
	return decodeJSON(http.MaxBytesReader(c.Response(), c.Request().Body, limit), limit, v)
}

// decodeJSON is DecodeJSON on a reader that is already limited to limit bytes (it ends
// with an *http.MaxBytesError past them).
func decodeJSON(r io.Reader, limit int64, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err, limit)
		}
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "time %q: want %s", pe.Value, TimeHint)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body exceeds %d bytes", limit)
	}
	if errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "request body is empty")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The error's text names the connection's addresses: not the caller's business.
		return Errorf(http.StatusRequestTimeout, CodeRequestTimeout, "the request body did not arrive in time")
	}
	return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%s", fmt.Sprint(err))
}
