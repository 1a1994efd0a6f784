package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
)

func TestTenantResolveAndShow(t *testing.T) {
	t.Parallel()
	acme := httpapi.Tenant{Namespace: "acme"}
	def := httpapi.Tenant{}
	op := httpapi.Tenant{SeesAll: true}
	for _, tc := range []struct {
		tenant     httpapi.Tenant
		kind, name string
		stored     string // "" when refused
	}{
		{acme, "topic", "orders", "acme%orders"},
		{acme, "topic", "%DLQ%billing", "%DLQ%acme%billing"},
		{acme, "group", "%DLQ%billing", ""},
		{acme, "topic", "globex%orders", ""},
		{acme, "topic", "", ""},
		{def, "topic", "orders", "orders"},
		{def, "topic", "acme%orders", ""},
		{def, "topic", "%DLQ%acme%billing", ""},
		{def, "topic", "%TRACE%", ""},
		{op, "topic", "acme%orders", ""},
		{op, "group", "billing", "billing"},
	} {
		got, err := tc.tenant.Resolve(tc.kind, tc.name)
		if tc.stored == "" {
			apiErr := httpapi.AnswerOf(err)
			require.NotNil(t, apiErr, "%+v %s %q", tc.tenant, tc.kind, tc.name)
			require.Equal(t, http.StatusBadRequest, apiErr.Status)
			require.Equal(t, httpapi.CodeInvalidName, apiErr.Code)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.stored, got)
		require.Equal(t, tc.name, tc.tenant.Show(got), "round trip")
	}

	for stored, want := range map[string]bool{"orders": true, "acme%orders": false, "%DLQ%billing": true, "%TRACE%": false} {
		_, ok := def.Visible(stored)
		require.Equal(t, want, ok, "default namespace, %s", stored)
	}
	for _, stored := range []string{"orders", "acme%orders", "%DLQ%acme%billing", "%TRACE%"} {
		name, ok := op.Visible(stored)
		require.True(t, ok, "the operator sees %s", stored)
		require.Equal(t, stored, name, "as stored")
	}
	_, ok := acme.Visible("globex%orders")
	require.False(t, ok)
	require.Empty(t, acme.Show("globex%orders"))
}

func TestTenantText(t *testing.T) {
	t.Parallel()
	acme := httpapi.Tenant{Namespace: "acme"}
	for in, want := range map[string]string{
		"topic acme%orders does not exist":                "topic orders does not exist",
		"group acme%billing does not subscribe to acme%x": "group billing does not subscribe to x",
		"reading %DLQ%acme%billing":                       "reading %DLQ%billing",
		"topic bigacme%orders":                            "topic bigacme%orders",
		"nothing to change":                               "nothing to change",
	} {
		require.Equal(t, want, acme.Text(in))
	}
	require.Equal(t, "acme%orders", httpapi.Tenant{}.Text("acme%orders"))
}

// TestErrorHandlerShowsTenantNames: an error quoting a stored name reaches the caller with
// the caller's name.
func TestErrorHandlerShowsTenantNames(t *testing.T) {
	t.Parallel()
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(nil)
	e.GET("/x", func(c echo.Context) error {
		httpapi.SetTenant(c, httpapi.Tenant{Namespace: "acme"})
		return httpapi.Errorf(http.StatusNotFound, httpapi.CodeTopicNotFound, "topic acme%%orders does not exist")
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.JSONEq(t, `{"error":{"code":"TOPIC_NOT_FOUND","message":"topic orders does not exist"}}`, rec.Body.String())
}
