package auth_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
)

var (
	actions   = []string{auth.ActionProduce, auth.ActionConsume, auth.ActionRead, auth.ActionAdmin}
	resources = []string{"topic:orders", "topic:orders-eu", "topic:payments", "group:billing", "group:orders",
		"producer-group:orders", "key:key_1", "topic:*"}
)

// TestPermissionMatrix checks every single permission against every action × resource:
// each allows exactly what it names.
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		perm auth.Permission
		// allowed lists "action resource" pairs allowed; everything else is denied.
		allowed []string
	}{
		{auth.Permission{Action: "produce", Resource: "topic:orders"}, []string{"produce topic:orders"}},
		{auth.Permission{Action: "consume", Resource: "group:billing"}, []string{"consume group:billing"}},
		{auth.Permission{Action: "read", Resource: "topic:payments"}, []string{"read topic:payments"}},
		{auth.Permission{Action: "admin", Resource: "topic:orders"}, []string{
			"produce topic:orders", "consume topic:orders", "read topic:orders", "admin topic:orders"}},
		{auth.Permission{Action: "produce", Resource: "topic:*"}, []string{
			"produce topic:orders", "produce topic:orders-eu", "produce topic:payments", "produce topic:*"}},
		{auth.Permission{Action: "read", Resource: "topic:orders*"}, []string{
			"read topic:orders", "read topic:orders-eu"}},
		{auth.Permission{Action: "read", Resource: "topic:orders-*"}, []string{"read topic:orders-eu"}},
		{auth.Permission{Action: "produce", Resource: "producer-group:orders"}, []string{"produce producer-group:orders"}},
		{auth.Permission{Action: "admin", Resource: "key:*"}, []string{
			"produce key:key_1", "consume key:key_1", "read key:key_1", "admin key:key_1"}},
		{auth.Permission{Action: "consume", Resource: "*"}, func() []string {
			var out []string
			for _, r := range resources {
				out = append(out, "consume "+r)
			}
			return out
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.perm.String(), func(t *testing.T) {
			require.NoError(t, tc.perm.Validate())
			want := map[string]bool{}
			for _, a := range tc.allowed {
				want[a] = true
			}
			for _, a := range actions {
				for _, r := range resources {
					got := auth.Allowed([]auth.Permission{tc.perm}, a, r)
					require.Equal(t, want[a+" "+r], got, "%s on %s", a, r)
				}
			}
		})
	}
}

func TestAllowedNeedsOneMatchingPermission(t *testing.T) {
	t.Parallel()
	perms := []auth.Permission{{Action: "consume", Resource: "group:billing"}, {Action: "read", Resource: "topic:orders"}}
	require.True(t, auth.Allowed(perms, "consume", "group:billing"))
	require.True(t, auth.Allowed(perms, "read", "topic:orders"))
	require.False(t, auth.Allowed(perms, "consume", "topic:orders"), "permissions do not combine across resources")
	require.False(t, auth.Allowed(perms, "read", "group:billing"), "consume does not imply read")
	require.False(t, auth.Allowed(nil, "read", "topic:orders"))

	// The metrics permission: its own, or admin on everything; read on everything is not it.
	require.True(t, auth.Allowed([]auth.Permission{{Action: "metrics", Resource: "*"}}, auth.ActionMetrics, "*"))
	require.True(t, auth.Allowed([]auth.Permission{{Action: "admin", Resource: "*"}}, auth.ActionMetrics, "*"))
	require.False(t, auth.Allowed([]auth.Permission{{Action: "read", Resource: "*"}}, auth.ActionMetrics, "*"))
	require.False(t, auth.Allowed([]auth.Permission{{Action: "admin", Resource: "topic:*"}}, auth.ActionMetrics, "*"))
	require.False(t, auth.Allowed([]auth.Permission{{Action: "metrics", Resource: "*"}}, auth.ActionRead, "topic:orders"))

	require.True(t, auth.AllowedOnAnyOf([]auth.Permission{{Action: "produce", Resource: "topic:a"}}, "produce", "topic"))
	require.True(t, auth.AllowedOnAnyOf([]auth.Permission{{Action: "admin", Resource: "*"}}, "produce", "topic"))
	require.False(t, auth.AllowedOnAnyOf([]auth.Permission{{Action: "produce", Resource: "producer-group:a"}}, "produce", "topic"))
	require.False(t, auth.AllowedOnAnyOf([]auth.Permission{{Action: "read", Resource: "topic:*"}}, "produce", "topic"))
}

func TestPermissionValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []auth.Permission{
		{"produce", "topic:orders"}, {"admin", "*"}, {"read", "topic:%DLQ%billing"}, {"consume", "group:*"},
		{"produce", "producer-group:pg-1"}, {"admin", "key:*"}, {"read", "topic:orders-*"}, {"metrics", "*"},
	} {
		require.NoError(t, p.Validate(), p.String())
	}
	for _, p := range []auth.Permission{
		{"write", "topic:orders"}, {"", "topic:orders"}, {"produce", ""}, {"produce", "orders"},
		{"produce", "queue:orders"}, {"produce", "topic:"}, {"produce", "topic:a*b"}, {"produce", "topic:a b"},
		{"produce", "topic:" + fmt.Sprintf("%0128d", 0)}, {"ADMIN", "*"}, {"metrics", "topic:*"}, {"metrics", "topic:orders"},
	} {
		require.Error(t, p.Validate(), p.String())
	}
}
