package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
	"github.com/floemq/floe/services"
)

// TestNamespaceQuotas: counts of topics, groups and lite topics per namespace, refused
// with 429 QUOTA_EXCEEDED (Retry-After 60) and nothing stored, free again once something is deleted; and the
// produce bytes/s quota of a key, throttled with 429 and recovering.
func TestNamespaceQuotas(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, func(cfg *services.Config) {
		cfg.QuotaTopics = 2
		cfg.QuotaGroups = 1
		cfg.QuotaLiteTopics = 2
		cfg.QuotaProduceBytesRate = 3000
	})
	ctx := context.Background()
	acmeKey := createNamespacedKey(t, url, bootstrapKey, "acme-admin", "acme", perm("admin", "*"))
	globexKey := createNamespacedKey(t, url, bootstrapKey, "globex-admin", "globex", perm("admin", "*"))
	acme := client.New(url, client.WithAPIKey(acmeKey.Secret))
	globex := client.New(url, client.WithAPIKey(globexKey.Secret))

	for _, c := range []*client.Client{acme, globex} {
		_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
		require.NoError(t, err)
		_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite})
		require.NoError(t, err)
	}
	_, _, err := acme.CreateTopic(ctx, client.TopicSpec{Name: "payments", Queues: 1})
	requireAPIError(t, err, http.StatusTooManyRequests, "QUOTA_EXCEEDED")
	require.Contains(t, err.Error(), "limit of 2 topics")
	a := call(t, http.MethodPost, url+"/v1/topics", acmeKey.Secret, map[string]any{"name": "payments", "queues": 1})
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "60", a.header.Get("Retry-After"), "QUOTA_EXCEEDED says when to try again")
	_, _, err = acme.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
	require.NoError(t, err, "creating an existing topic again is no new topic")
	topics, err := acme.ListTopics(ctx)
	require.NoError(t, err)
	require.Len(t, topics, 2, "nothing stored for the refused create")

	_, _, err = acme.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	_, _, err = acme.CreateGroup(ctx, client.GroupSpec{Name: "audit"})
	requireAPIError(t, err, http.StatusTooManyRequests, "QUOTA_EXCEEDED")
	_, _, err = globex.CreateGroup(ctx, client.GroupSpec{Name: "audit"})
	require.NoError(t, err, "quotas are per namespace")

	_, err = acme.Send(ctx, "chats", []client.Message{{Body: []byte("a"), LiteTopic: "a"}, {Body: []byte("b"), LiteTopic: "b"}})
	require.NoError(t, err)
	_, err = acme.Send(ctx, "chats", []client.Message{{Body: []byte("a2"), LiteTopic: "a"}, {Body: []byte("c"), LiteTopic: "c"}})
	requireAPIError(t, err, http.StatusTooManyRequests, "QUOTA_EXCEEDED")
	qs, err := acme.Queues(ctx, "chats")
	require.NoError(t, err)
	require.Len(t, qs, 2, "the refused send created no lite topic")
	for _, q := range qs {
		require.EqualValues(t, 1, q.MaxOffset, "and stored no message, not even for the existing lite topic %s", q.LiteTopic)
	}

	// Deleting a topic frees its place.
	require.NoError(t, acme.DeleteTopic(ctx, "orders"))
	_, _, err = acme.CreateTopic(ctx, client.TopicSpec{Name: "payments", Queues: 1})
	require.NoError(t, err)

	// Produce bytes per key: 3000 bytes a second. Two sends of about 2000 bytes at once:
	// the full bucket holds one, the other is throttled until the bucket refills. (At
	// once, because one after the other the second would find the bucket refilled if the
	// first took over a third of a second to be stored, as it can on a loaded machine.)
	msg := map[string]any{"messages": []any{map[string]string{"body": strings.Repeat("QUFB", 480)}}}
	pair := make([]answer, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range pair {
		wg.Go(func() {
			pair[i], errs[i] = tryCall(http.MethodPost, url+"/v1/topics/payments/messages", acmeKey.Secret, msg)
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	if pair[0].status != http.StatusOK {
		pair[0], pair[1] = pair[1], pair[0]
	}
	require.Equal(t, http.StatusOK, pair[0].status, string(pair[0].body))
	a = pair[1]
	require.Equal(t, http.StatusTooManyRequests, a.status, string(a.body))
	require.Equal(t, "THROTTLED", a.code())
	require.Contains(t, string(a.body), "produce_bytes")
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, retry, 1)
	qs, err = acme.Queues(ctx, "payments")
	require.NoError(t, err)
	require.EqualValues(t, 1, qs[0].MaxOffset, "the throttled send stored nothing")
	time.Sleep(time.Duration(retry) * time.Second)
	a = call(t, http.MethodPost, url+"/v1/topics/payments/messages", acmeKey.Secret, msg)
	require.Equal(t, http.StatusOK, a.status, "recovered: %s", a.body)

	m := metricsText(t, url)
	for _, line := range []string{
		`floe_metadata_quota_exceeded_total{resource="topics"} 2`,
		`floe_metadata_quota_exceeded_total{resource="groups"} 1`,
		`floe_metadata_quota_exceeded_total{resource="lite_topics"} 1`,
		`floe_auth_throttled_total{action="produce_bytes"} 1`,
	} {
		require.Contains(t, m, line)
	}
}
