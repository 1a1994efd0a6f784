package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
)

// TestServerErrorsHideTheirCause: a 5xx answer keeps its status and code but says only
// what failed in general and the request id; the cause (here a Postgres refusal) is in
// the log under that id, and the id is in the X-Request-Id header. 4xx answers keep
// their message.
func TestServerErrorsHideTheirCause(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	e.Use(httpapi.RequestID())
	const cause = `invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`
	e.GET("/unavailable", func(echo.Context) error {
		return httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "reading transaction x: %s", cause)
	})
	e.GET("/internal", func(echo.Context) error { return errors.New("pgx: " + cause) })
	e.GET("/bad", func(echo.Context) error {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "offset must be an integer")
	})

	get := func(path, requestID string) (*httptest.ResponseRecorder, string, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec, body.Error.Code, body.Error.Message
	}

	for _, tc := range []struct {
		path, code string
		status     int
	}{
		{"/unavailable", httpapi.CodeUnavailable, http.StatusServiceUnavailable},
		{"/internal", httpapi.CodeInternal, http.StatusInternalServerError},
	} {
		logs.Reset()
		rec, code, msg := get(tc.path, "")
		require.Equal(t, tc.status, rec.Code)
		require.Equal(t, tc.code, code)
		id := rec.Header().Get("X-Request-Id")
		require.Len(t, id, 24)
		require.NotContains(t, msg, "SQLSTATE")
		require.NotContains(t, msg, "UTF8")
		require.Contains(t, msg, id)
		require.Contains(t, logs.String(), `"request_id":"`+id+`"`)
		require.Contains(t, logs.String(), "SQLSTATE 22021")
	}

	// A load balancer's id is kept; a strange one is replaced.
	rec, _, msg := get("/unavailable", "lb-7f3a.91")
	require.Equal(t, "lb-7f3a.91", rec.Header().Get("X-Request-Id"))
	require.Contains(t, msg, "lb-7f3a.91")
	rec, _, _ = get("/unavailable", strings.Repeat("x", 65))
	require.Len(t, rec.Header().Get("X-Request-Id"), 24)
	rec, _, _ = get("/unavailable", "a b")
	require.Len(t, rec.Header().Get("X-Request-Id"), 24)

	rec, code, msg := get("/bad", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, httpapi.CodeBadRequest, code)
	require.Equal(t, "offset must be an integer", msg)
	require.NotEmpty(t, rec.Header().Get("X-Request-Id"))
}
