package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProtocolErrorsAsJSON: a request Go's server refuses before any handler (an
// unescaped %DLQ% in the path) gets the JSON error shape; other answers are untouched.
func TestProtocolErrorsAsJSON(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "from the handler: "+r.URL.Path)
	})}
	go func() { _ = srv.Serve(ProtocolErrorsAsJSON(l)) }()
	t.Cleanup(func() { _ = srv.Close() })

	send := func(requestLine string) (*http.Response, []byte) {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "%s\r\nHost: floe\r\n\r\n", requestLine)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := send("GET /v1/topics/%DLQ%billing/queues HTTP/1.1")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, CodeBadRequest, e.Error.Code)
	require.Contains(t, e.Error.Message, "%25DLQ%25group")

	// A handler's own answer, even a plain-text 400 closing the connection, is left alone.
	resp, body = send("GET /v1/topics/%25DLQ%25billing HTTP/1.1")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "from the handler: /v1/topics/%DLQ%billing", string(body))
}

// TestCancelledRequestIsNotAnError: a long poll the client gave up is logged at debug
// level, not as a failed request.
func TestCancelledRequestIsNotAnError(t *testing.T) {
	var logs bytes.Buffer
	handler := ErrorHandler(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/v1/groups/g/topics/t/receive", nil).WithContext(ctx)
	handler(fmt.Errorf("receiving: %w", context.Canceled), testEcho.NewContext(req, httptest.NewRecorder()))
	require.Empty(t, logs.String())

	// The same error while the client still waits is a server failure.
	req = httptest.NewRequest(http.MethodPost, "/v1/groups/g/topics/t/receive", nil)
	rec := httptest.NewRecorder()
	handler(fmt.Errorf("receiving: %w", context.Canceled), testEcho.NewContext(req, rec))
	require.Contains(t, logs.String(), "level=ERROR")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
}
