package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/services"
)

// TestEveryRouteAnswersAsDocumented calls every route of openapi.json on a node with
// every role and auth on, through the validating transport, so each answer is checked
// against the document; and it fails if a route of the document was not called.
func TestEveryRouteAnswersAsDocumented(t *testing.T) {
	t.Parallel()
	url := authNode(t, newBacking(t), func(c *services.Config) { c.MinInvisible = time.Second })
	hc := validatingClient(t)

	routes, err := httpapi.Routes()
	require.NoError(t, err)
	type op struct {
		method string
		re     *regexp.Regexp
		name   string
	}
	var ops []op
	for _, r := range routes {
		re := "^" + regexp.MustCompile(`\\\{[A-Za-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`) + "$"
		ops = append(ops, op{r.Method, regexp.MustCompile(re), r.Method + " " + r.Path})
	}
	var mu sync.Mutex
	called := map[string]bool{}

	do := func(method, path string, in any, key string) (int, map[string]any) {
		t.Helper()
		var body io.Reader
		if in != nil {
			b, err := json.Marshal(in)
			require.NoError(t, err)
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, url+path, body)
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		p, _, _ := strings.Cut(path, "?")
		mu.Lock()
		for _, o := range ops {
			if o.method == method && o.re.MatchString(strings.ReplaceAll(p, "%25", "%")) {
				called[o.name] = true
			}
		}
		mu.Unlock()
		var out map[string]any
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			_ = json.Unmarshal(b, &out)
		}
		return resp.StatusCode, out
	}
	k := bootstrapKey
	ok := func(want int, got int, what string) {
		t.Helper()
		if want/100 == 2 {
			require.Equal(t, 2, got/100, "%s: got %d", what, got)
			return
		}
		require.Equal(t, want, got, what)
	}
	str := func(m map[string]any, path ...any) string {
		var cur any = m
		for _, p := range path {
			switch p := p.(type) {
			case string:
				cur = cur.(map[string]any)[p]
			case int:
				cur = cur.([]any)[p]
			}
		}
		return cur.(string)
	}

	// Operations and the description, no key.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/docs", "/docs/swagger-ui.css"} {
		s, _ := do(http.MethodGet, p, nil, "")
		ok(http.StatusOK, s, p)
	}
	s, _ := do(http.MethodGet, "/v1/topics", nil, "")
	ok(http.StatusUnauthorized, s, "no key")

	// Topics.
	for _, tp := range []map[string]any{{"name": "orders", "type": "NORMAL", "queues": 2}, {"name": "later", "type": "DELAY"}, {"name": "pay", "type": "TRANSACTION"}} {
		s, _ = do(http.MethodPost, "/v1/topics", tp, k)
		ok(http.StatusCreated, s, "create topic")
	}
	s, _ = do(http.MethodGet, "/v1/topics/nope", nil, k)
	ok(http.StatusNotFound, s, "unknown topic")
	s, _ = do(http.MethodGet, "/v1/topics/orders", nil, k)
	ok(http.StatusOK, s, "topic")
	s, _ = do(http.MethodGet, "/v1/topics/orders/queues", nil, k)
	ok(http.StatusOK, s, "queues")

	// Groups.
	s, _ = do(http.MethodPost, "/v1/groups", map[string]any{"name": "billing", "maxDeliveryAttempts": 2}, k)
	ok(http.StatusCreated, s, "create group")
	s, _ = do(http.MethodPut, "/v1/groups/billing/subscriptions/orders", map[string]any{"filter": "*"}, k)
	ok(http.StatusOK, s, "subscribe")
	s, _ = do(http.MethodPatch, "/v1/groups/billing/subscriptions/orders", map[string]any{"addLiteTopics": []string{"x"}}, k)
	ok(http.StatusBadRequest, s, "lite patch on a NORMAL topic")
	s, _ = do(http.MethodGet, "/v1/groups", nil, k)
	ok(http.StatusOK, s, "groups")
	s, _ = do(http.MethodGet, "/v1/groups/billing", nil, k)
	ok(http.StatusOK, s, "group")

	// Producing and lookups.
	s, _ = do(http.MethodPost, "/v1/topics/orders/messages", map[string]any{"messages": []any{map[string]any{"body": "not base64!"}}}, k)
	ok(http.StatusBadRequest, s, "bad body")
	s, sent := do(http.MethodPost, "/v1/topics/orders/messages", map[string]any{"messages": []any{
		map[string]any{"bodyText": "one", "keys": []string{"k1"}}, map[string]any{"body": "dHdv"}, map[string]any{"bodyText": "three"}}}, k)
	ok(http.StatusOK, s, "send")
	id := str(sent, "messages", 0, "messageId")
	s, _ = do(http.MethodGet, "/v1/topics/orders/messages?key=k1", nil, k)
	ok(http.StatusOK, s, "by key")
	s, _ = do(http.MethodGet, "/v1/topics/orders/messages/"+id, nil, k)
	ok(http.StatusOK, s, "by id")
	s, _ = do(http.MethodGet, "/v1/topics/orders/messages/"+id+"/trace", nil, k)
	ok(http.StatusOK, s, "trace")
	s, _ = do(http.MethodGet, "/v1/topics/orders/queues/0/messages?offset=0&limit=10", nil, k)
	ok(http.StatusOK, s, "read queue")
	s, _ = do(http.MethodGet, "/v1/topics", nil, k)
	ok(http.StatusOK, s, "topics, %TRACE% among them")

	// Consuming.
	s, got := do(http.MethodPost, "/v1/groups/billing/topics/orders/receive", map[string]any{"maxMessages": 3, "invisibleSeconds": 10, "waitSeconds": 5}, k)
	ok(http.StatusOK, s, "receive")
	msgs := got["messages"].([]any)
	require.Len(t, msgs, 3)
	h := func(i int) string { return str(got, "messages", i, "receiptHandle") }
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/ack", map[string]any{"receiptHandles": []string{h(0)}}, k)
	ok(http.StatusOK, s, "ack")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/nack", map[string]any{"receiptHandles": []string{h(1)}}, k)
	ok(http.StatusOK, s, "nack")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/change-invisible", map[string]any{"receiptHandle": h(2), "invisibleSeconds": 20}, k)
	ok(http.StatusOK, s, "change-invisible")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/change-invisible-batch", map[string]any{"entries": []any{
		map[string]any{"receiptHandle": h(2), "invisibleSeconds": 20}, map[string]any{"receiptHandle": "forged", "invisibleSeconds": 20}}}, k)
	ok(http.StatusOK, s, "change-invisible-batch")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/change-invisible-batch", map[string]any{"entries": []any{}}, k)
	ok(http.StatusBadRequest, s, "change-invisible-batch without entries")
	s, _ = do(http.MethodGet, "/v1/groups/billing/lag", nil, k)
	ok(http.StatusOK, s, "lag")
	s, _ = do(http.MethodGet, "/v1/groups/billing/lag/history", nil, k)
	ok(http.StatusOK, s, "lag history")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/reset", map[string]any{"timestamp": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, k)
	ok(http.StatusOK, s, "reset")
	s, _ = do(http.MethodPost, "/v1/groups/billing/topics/orders/reset", map[string]any{"timestamp": "2026-12-07T00:00:00"}, k)
	ok(http.StatusBadRequest, s, "reset to a time without a zone")

	// Operating: settings in place, offsets, browsing, dead letters, resend.
	s, _ = do(http.MethodPatch, "/v1/topics/orders", map[string]any{"retentionHours": 48}, k)
	ok(http.StatusOK, s, "patch topic")
	s, _ = do(http.MethodPatch, "/v1/groups/billing", map[string]any{"maxDeliveryAttempts": 3}, k)
	ok(http.StatusOK, s, "patch group")
	s, _ = do(http.MethodPatch, "/v1/groups/billing", map[string]any{"maxDeliveryAttempts": 0}, k)
	ok(http.StatusBadRequest, s, "patch group out of range")
	s, _ = do(http.MethodGet, "/v1/topics/orders/browse?order=oldest&limit=10", nil, k)
	ok(http.StatusOK, s, "browse")
	s, _ = do(http.MethodGet, "/v1/topics/orders/offsets?time="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil, k)
	ok(http.StatusOK, s, "offsets for a time")
	s, _ = do(http.MethodPost, "/v1/groups", map[string]any{"name": "audit"}, k)
	ok(http.StatusCreated, s, "create group audit")
	s, _ = do(http.MethodPut, "/v1/groups/audit/subscriptions/orders", map[string]any{"filter": "*"}, k)
	ok(http.StatusOK, s, "subscribe audit")
	s, _ = do(http.MethodPut, "/v1/groups/audit/topics/orders/queues/0/offset", map[string]any{"offset": 0}, k)
	ok(http.StatusOK, s, "set a queue's offset")
	s, _ = do(http.MethodPost, "/v1/groups/audit/skip-backlog", map[string]any{}, k)
	ok(http.StatusOK, s, "skip backlog")
	s, _ = do(http.MethodPost, "/v1/groups/audit/topics/orders/messages/"+id+"/resend", nil, k)
	ok(http.StatusOK, s, "resend")
	s, _ = do(http.MethodPost, "/v1/groups/audit/copy-offsets/billing", nil, k)
	ok(http.StatusOK, s, "copy offsets")
	s, task := do(http.MethodPost, "/v1/groups/audit/dead-letters/redrive", map[string]any{}, k)
	ok(http.StatusOK, s, "redrive an empty DLQ")
	taskID := str(task, "id")
	s, _ = do(http.MethodGet, "/v1/groups/audit/dead-letters/redrive", nil, k)
	ok(http.StatusOK, s, "redrive tasks")
	s, _ = do(http.MethodGet, "/v1/groups/audit/dead-letters/redrive/"+taskID, nil, k)
	ok(http.StatusOK, s, "redrive task")
	s, _ = do(http.MethodPost, "/v1/groups/audit/dead-letters/redrive/"+taskID+"/cancel", nil, k)
	require.Contains(t, []int{http.StatusOK, http.StatusConflict}, s, "cancel a redrive task (409 once it ended)")

	// Delay and recall.
	s, delayed := do(http.MethodPost, "/v1/topics/later/messages", map[string]any{"messages": []any{map[string]any{"bodyText": "hi", "delaySeconds": 60}}}, k)
	ok(http.StatusOK, s, "send delayed")
	s, _ = do(http.MethodPost, "/v1/topics/later/messages/recall", map[string]any{"recallHandle": str(delayed, "messages", 0, "recallHandle")}, k)
	ok(http.StatusOK, s, "recall")

	// Transactions.
	s, tx := do(http.MethodPost, "/v1/topics/pay/transactions", map[string]any{"producerGroup": "shop", "messages": []any{map[string]any{"bodyText": "paid"}}}, k)
	ok(http.StatusOK, s, "transaction")
	txID := str(tx, "transactionId")
	s, _ = do(http.MethodGet, "/v1/transactions/"+txID, nil, k)
	ok(http.StatusOK, s, "transaction state")
	s, _ = do(http.MethodPost, "/v1/transactions/"+txID+"/commit", nil, k)
	ok(http.StatusOK, s, "commit")
	s, tx = do(http.MethodPost, "/v1/topics/pay/transactions", map[string]any{"producerGroup": "shop", "messages": []any{map[string]any{"bodyText": "not paid"}}}, k)
	ok(http.StatusOK, s, "transaction")
	s, _ = do(http.MethodPost, "/v1/transactions/"+str(tx, "transactionId")+"/rollback", nil, k)
	ok(http.StatusOK, s, "rollback")
	s, _ = do(http.MethodGet, "/v1/producer-groups/shop/transaction-checks?waitSeconds=0", nil, k)
	ok(http.StatusOK, s, "transaction checks")

	// Keys.
	s, key := do(http.MethodPost, "/v1/keys", map[string]any{"name": "app", "permissions": []any{map[string]any{"action": "read", "resource": "topic:orders"}}}, k)
	ok(http.StatusCreated, s, "create key")
	keyID := str(key, "id")
	s, _ = do(http.MethodGet, "/v1/keys", nil, k)
	ok(http.StatusOK, s, "keys")
	s, _ = do(http.MethodPost, "/v1/keys/"+keyID+"/rotate", nil, k)
	ok(http.StatusOK, s, "rotate")
	s, _ = do(http.MethodDelete, "/v1/keys/"+keyID, nil, k)
	ok(http.StatusNoContent, s, "revoke")

	// Connected clients (the node has seen this test's receives by now or not: either
	// answer must match the document).
	s, _ = do(http.MethodGet, "/v1/groups/billing/clients", nil, k)
	ok(http.StatusOK, s, "group clients")
	s, _ = do(http.MethodGet, "/v1/topics/orders/producers", nil, k)
	ok(http.StatusOK, s, "topic producers")

	// Deleting.
	s, _ = do(http.MethodDelete, "/v1/groups/billing/subscriptions/orders", nil, k)
	ok(http.StatusNoContent, s, "unsubscribe")
	s, _ = do(http.MethodDelete, "/v1/groups/billing", nil, k)
	ok(http.StatusNoContent, s, "delete group")
	s, _ = do(http.MethodDelete, "/v1/topics/orders", nil, k)
	ok(http.StatusNoContent, s, "delete topic")

	for _, o := range ops {
		require.True(t, called[o.name], "%s was not called: add it to this test", o.name)
	}
}
