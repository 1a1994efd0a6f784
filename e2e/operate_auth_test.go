package e2e_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOperateAuth checks each operator route against the key table: a key without the
// route's permission is refused (default deny), one with it gets through.
func TestOperateAuth(t *testing.T) {
	t.Parallel()
	cfg := folderConfig(t)
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	n, _ := startNode(t, cfg)
	url := "http://" + n.Addr()
	setup := func(method, path string, in any, want int) {
		a := call(t, method, url+path, bootstrapKey, in)
		require.Equal(t, want, a.status, "%s %s: %s", method, path, a.body)
	}
	setup("POST", "/v1/topics", map[string]any{"name": "orders", "queues": 1}, 201)
	for _, g := range []string{"billing", "audit"} {
		setup("POST", "/v1/groups", map[string]any{"name": g}, 201)
		setup("PUT", "/v1/groups/"+g+"/subscriptions/orders", map[string]any{"filter": "*"}, 201)
	}

	// Everything but admin: a consumer and producer of every resource.
	user := createKey(t, url, "user", perm("read", "topic:*"), perm("produce", "topic:*"), perm("consume", "group:*"), perm("read", "group:*"))
	// Admin on the billing group and on the topic, and nothing else.
	op := createKey(t, url, "operator", perm("admin", "group:billing"), perm("admin", "topic:orders"), perm("read", "topic:orders"))
	// Nothing at all.
	none := createKey(t, url, "none", perm("produce", "topic:other"))

	routes := []struct {
		method, path string
		in           any
		// user and op: may the key call the route?
		user, op bool
	}{
		{"PATCH", "/v1/topics/orders", map[string]any{"trace": true}, false, true},
		{"PATCH", "/v1/groups/billing", map[string]any{"maxDeliveryAttempts": 5}, false, true},
		{"PATCH", "/v1/groups/audit", map[string]any{"maxDeliveryAttempts": 5}, false, false},
		{"PUT", "/v1/groups/billing/topics/orders/queues/0/offset", map[string]any{"offset": 0}, false, true},
		{"POST", "/v1/groups/billing/skip-backlog", map[string]any{}, false, true},
		// Copying needs read on the other group, which the operator lacks.
		{"POST", "/v1/groups/billing/copy-offsets/audit", nil, false, false},
		{"POST", "/v1/groups/billing/dead-letters/redrive", map[string]any{}, false, true},
		{"POST", "/v1/groups/audit/dead-letters/redrive", map[string]any{}, false, false},
		{"GET", "/v1/groups/billing/dead-letters/redrive", nil, true, true},
		{"GET", "/v1/groups/billing/dead-letters/redrive/x", nil, true, true},
		{"POST", "/v1/groups/billing/dead-letters/redrive/x/cancel", nil, false, true},
		{"POST", "/v1/groups/billing/topics/orders/messages/x/resend", nil, false, true},
		{"GET", "/v1/topics/orders/browse", nil, true, true},
		{"GET", "/v1/topics/orders/offsets?time=2026-01-01T00:00:00Z", nil, true, true},
		// Connected clients are read on the group or topic.
		{"GET", "/v1/groups/billing/clients", nil, true, true},
		{"GET", "/v1/groups/audit/clients", nil, true, false},
		{"GET", "/v1/topics/orders/producers", nil, true, true},
	}
	for _, r := range routes {
		for _, k := range []struct {
			name, secret string
			allowed      bool
		}{{"user", user.Secret, r.user}, {"operator", op.Secret, r.op}, {"none", none.Secret, false}} {
			a := call(t, r.method, url+r.path, k.secret, r.in)
			if k.allowed {
				require.NotEqual(t, http.StatusForbidden, a.status, "%s %s with %s: %s", r.method, r.path, k.name, a.body)
				require.NotEqual(t, http.StatusUnauthorized, a.status)
			} else {
				require.Equal(t, http.StatusForbidden, a.status, "%s %s with %s: %s", r.method, r.path, k.name, a.body)
				require.Equal(t, "FORBIDDEN", a.code())
			}
		}
		// No key: 401.
		require.Equal(t, http.StatusUnauthorized, call(t, r.method, url+r.path, "", r.in).status, r.path)
	}
}
