package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
