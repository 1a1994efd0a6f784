package auth_test

import (
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

// TestNamespacedPermissions runs requests of keys in namespaces through the real
// middleware and route table to a handler that resolves the path's names as every handler
// does. A permission names the tenant's resources: acme's "topic:orders" reaches
// "acme%orders" and nothing of another namespace, and no name reaches out of a namespace.
func TestNamespacedPermissions(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := &memStore{fakeKeys{keys: map[string]metadata.APIKey{}}}
	key := func(secret, ns string, perms ...string) {
		var ps []metadata.KeyPermission
		for _, p := range perms {
			action, resource, _ := strings.Cut(p, " ")
			ps = append(ps, metadata.KeyPermission{Action: action, Resource: resource})
		}
		store.put(secret, metadata.APIKey{ID: "key_" + secret, Namespace: ns, Permissions: ps})
	}
	key("acme-orders", "acme", "read topic:orders", "produce topic:orders")
	key("acme-all", "acme", "admin *")
	key("acme-dlq", "acme", "read topic:%DLQ%billing", "consume group:billing")
	key("default-all-topics", "", "read topic:*", "produce topic:*")
	key("default-admin", "", "admin *")
	s, err := auth.New(auth.Config{Required: true, Logger: logger}, store, nil)
	require.NoError(t, err)
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	s.Register(e)
	resolve := func(c echo.Context) error {
		tenant := httpapi.TenantOf(c)
		var out []string
		for _, p := range []string{"group", "topic"} {
			if c.Param(p) == "" {
				continue
			}
			stored, err := tenant.Param(c, p)
			if err != nil {
				return err
			}
			out = append(out, stored)
		}
		return c.String(http.StatusOK, strings.Join(out, " "))
	}
	e.GET("/v1/topics/:topic", resolve)
	e.POST("/v1/topics/:topic/messages", resolve)
	e.GET("/v1/topics/:topic/queues/:queue/messages", resolve)
	e.POST("/v1/groups/:group/topics/:topic/receive", resolve)

	for _, tc := range []struct {
		key, method, path string
		status            int
		stored            string // what the handler resolved, on 200
	}{
		{"acme-orders", "GET", "/v1/topics/orders", 200, "acme%orders"},
		{"acme-orders", "POST", "/v1/topics/orders/messages", 200, "acme%orders"},
		{"acme-orders", "GET", "/v1/topics/payments", 403, ""},
		{"acme-orders", "GET", "/v1/topics/globex%25orders", 403, ""},
		{"acme-orders", "GET", "/v1/topics/acme%25orders", 403, ""},
		{"acme-all", "GET", "/v1/topics/payments", 200, "acme%payments"},
		{"acme-all", "GET", "/v1/topics/globex%25orders", 400, ""},
		{"acme-all", "GET", "/v1/topics/%25DLQ%25billing/queues/0/messages", 200, "%DLQ%acme%billing"},
		{"acme-all", "GET", "/v1/topics/%25DLQ%25globex%25billing/queues/0/messages", 400, ""},
		{"acme-all", "POST", "/v1/groups/billing/topics/orders/receive", 200, "acme%billing acme%orders"},
		{"acme-dlq", "GET", "/v1/topics/%25DLQ%25billing/queues/0/messages", 200, "%DLQ%acme%billing"},
		{"acme-dlq", "POST", "/v1/groups/billing/topics/%25DLQ%25billing/receive", 200, "acme%billing %DLQ%acme%billing"},
		{"acme-dlq", "GET", "/v1/topics/orders", 403, ""},
		{"default-all-topics", "GET", "/v1/topics/orders", 200, "orders"},
		{"default-all-topics", "GET", "/v1/topics/acme%25orders", 400, ""},
		{"default-all-topics", "POST", "/v1/topics/acme%25orders/messages", 400, ""},
		{"default-all-topics", "GET", "/v1/topics/%25DLQ%25acme%25billing/queues/0/messages", 400, ""},
		{"default-admin", "GET", "/v1/topics/acme%25orders", 400, ""},
		{"default-admin", "GET", "/v1/topics/%25TRACE%25/queues/0/messages", 400, ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tc.key)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "%s %s %s: %s", tc.key, tc.method, tc.path, rec.Body)
		if tc.status == 200 {
			require.Equal(t, tc.stored, rec.Body.String(), "%s %s %s", tc.key, tc.method, tc.path)
		}
	}
}

// TestPrincipalTenant: only a key of the default namespace that is admin on * sees every
// namespace in lists.
func TestPrincipalTenant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ns      string
		perms   []auth.Permission
		seesAll bool
	}{
		{"", []auth.Permission{{Action: "admin", Resource: "*"}}, true},
		{"", []auth.Permission{{Action: "admin", Resource: "topic:*"}, {Action: "admin", Resource: "group:*"}}, false},
		{"", []auth.Permission{{Action: "read", Resource: "*"}}, false},
		{"acme", []auth.Permission{{Action: "admin", Resource: "*"}}, false},
	} {
		p := &auth.Principal{Namespace: tc.ns, Permissions: tc.perms}
		require.Equal(t, httpapi.Tenant{Namespace: tc.ns, SeesAll: tc.seesAll}, p.Tenant(), "%q %v", tc.ns, tc.perms)
	}
}
