package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

// memStore is an auth.Store with lookups only.
type memStore struct{ fakeKeys }

func (m *memStore) KeyCreate(context.Context, metadata.KeyCreateParams) (metadata.APIKey, error) {
	return metadata.APIKey{}, nil
}
func (m *memStore) KeyList(context.Context) ([]metadata.APIKey, error) { return nil, nil }
func (m *memStore) KeyGet(context.Context, string) (metadata.APIKey, error) {
	return metadata.APIKey{}, metadata.ErrNotFound
}
func (m *memStore) KeyRevoke(context.Context, string) error { return nil }
func (m *memStore) KeyRotate(context.Context, string, []byte) (metadata.APIKey, error) {
	return metadata.APIKey{}, nil
}

// TestDefaultDeny: a registered route missing from auth.Routes is refused even to the
// bootstrap admin, while a path no route serves still answers 404.
func TestDefaultDeny(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := auth.New(auth.Config{Required: true, BootstrapKey: "boot", Logger: logger}, &memStore{fakeKeys{keys: map[string]metadata.APIKey{}}}, nil)
	require.NoError(t, err)
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	s.Register(e)
	ran := false
	e.POST("/v1/unmapped", func(c echo.Context) error { ran = true; return c.NoContent(http.StatusOK) })
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	do := func(method, path, key string) int {
		req := httptest.NewRequest(method, path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusUnauthorized, do(http.MethodPost, "/v1/unmapped", ""))
	require.Equal(t, http.StatusForbidden, do(http.MethodPost, "/v1/unmapped", "boot"))
	require.False(t, ran, "the handler never ran")
	require.Equal(t, http.StatusNotFound, do(http.MethodGet, "/v1/nothing-here", "boot"))
	require.Equal(t, http.StatusUnauthorized, do(http.MethodGet, "/v1/nothing-here", ""))
	require.Equal(t, http.StatusOK, do(http.MethodGet, "/healthz", ""))
	require.Equal(t, http.StatusOK, do(http.MethodGet, "/v1/keys", "boot"))
}

// countingBody is a request body that counts the bytes read from it.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestCreateBodiesAreReadLittleAndLate: POST /v1/topics names its topic in the body. A key
// that may create no topic is refused before a byte of the body is read; a key that may
// create some has at most 64 KiB read to find the name (a larger body is 413); a small
// body reaches the handler whole.
func TestCreateBodiesAreReadLittleAndLate(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := &memStore{fakeKeys{keys: map[string]metadata.APIKey{}}}
	store.put("producer", metadata.APIKey{ID: "key_p", Permissions: []metadata.KeyPermission{{Action: "produce", Resource: "topic:*"}}})
	store.put("orders-admin", metadata.APIKey{ID: "key_o", Permissions: []metadata.KeyPermission{{Action: "admin", Resource: "topic:orders-*"}}})
	s, err := auth.New(auth.Config{Required: true, Logger: logger}, store, nil)
	require.NoError(t, err)
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	s.Register(e)
	var got []byte
	e.POST("/v1/topics", func(c echo.Context) error {
		got, _ = io.ReadAll(c.Request().Body)
		return c.NoContent(http.StatusCreated)
	})
	post := func(key, body string) (int, *countingBody) {
		cb := &countingBody{r: strings.NewReader(body)}
		req := httptest.NewRequest(http.MethodPost, "/v1/topics", nil)
		req.Body, req.ContentLength = cb, -1 // chunked: the size is not known up front
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code, cb
	}
	huge := `{"name":"orders-eu","type":"NORMAL"` + strings.Repeat(" ", 8<<20) + `}`

	code, cb := post("producer", huge)
	require.Equal(t, http.StatusForbidden, code)
	require.Zero(t, cb.read, "a key that may create no topic has nothing of the body read")

	code, cb = post("orders-admin", huge)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.LessOrEqual(t, cb.read, 64<<10+1+32<<10, "at most the create limit is read (plus one read's slack)")

	code, _ = post("orders-admin", `{"name":"payments","type":"NORMAL"}`)
	require.Equal(t, http.StatusForbidden, code)

	body := `{"name":"orders-eu","type":"NORMAL"}`
	code, _ = post("orders-admin", body)
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, body, string(got), "the handler reads the body as sent")
}
