package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/services"
)

const bootstrapKey = "test-bootstrap-admin-key"

// authNode starts a node that requires keys and accepts bootstrapKey.
func authNode(t *testing.T, b backing, edit func(*services.Config)) string {
	t.Helper()
	cfg := b.config("all")
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	if edit != nil {
		edit(&cfg)
	}
	n, _ := startNode(t, cfg)
	return "http://" + n.Addr()
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// code is the contract's error code of the answer ("" when it is no error).
func (a answer) code() string {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func call(t *testing.T, method, url, key string, in any) answer {
	t.Helper()
	a, err := tryCall(method, url, key, in)
	require.NoError(t, err)
	return a
}

// tryCall is call for goroutines other than the test's: it returns its failure.
func tryCall(method, url, key string, in any) (answer, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return answer{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return answer{}, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func createKey(t *testing.T, url, name string, perms ...auth.Permission) auth.KeyView {
	t.Helper()
	a := call(t, http.MethodPost, url+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: name, Permissions: perms})
	require.Equal(t, http.StatusCreated, a.status, string(a.body))
	var k auth.KeyView
	require.NoError(t, json.Unmarshal(a.body, &k))
	return k
}

func perm(action, resource string) auth.Permission {
	return auth.Permission{Action: action, Resource: resource}
}

func requireAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, status, apiErr.Status, apiErr.Message)
	require.Equal(t, code, apiErr.Code)
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	a := call(t, http.MethodGet, url+"/metrics", "", nil)
	require.Equal(t, http.StatusOK, a.status)
	return string(a.body)
}

// TestAuthEveryRouteIsInTheTable builds a node with every role and checks that every /v1
// route it registers has an entry in auth.Routes (a missing one is denied to every key),
// and that the table names no route that does not exist.
func TestAuthEveryRouteIsInTheTable(t *testing.T) {
	t.Parallel()
	cfg := newBacking(t).config("all")
	cfg.RequireAuth = true
	n, _ := startNode(t, cfg)
	served := map[string]bool{}
	spec, err := httpapi.Routes()
	require.NoError(t, err)
	documented := map[string]bool{}
	for _, r := range spec {
		documented[r.Method+" "+r.Path] = true
	}
	param := regexp.MustCompile(`:[A-Za-z]+`)
	for _, r := range n.Routes() {
		if r.Method == "echo_route_any" {
			continue
		}
		if slices.Contains(auth.ConsolePages, r.Method+" "+r.Path) {
			continue // the console's pages are HTML, not API
		}
		// Every route of the server is in its OpenAPI document.
		shape := param.ReplaceAllString(r.Path, "{}")
		found := false
		for d := range documented {
			if regexp.MustCompile(`\{[A-Za-z]+\}`).ReplaceAllString(d, "{}") == r.Method+" "+shape {
				found = true
			}
		}
		require.True(t, found, "%s %s is served but not in openapi.json", r.Method, r.Path)
		if !strings.HasPrefix(r.Path, "/v1") {
			require.Contains(t, []string{"/healthz", "/readyz", "/metrics", "/docs", "/docs/:file"}, r.Path, "an unknown route outside /v1")
			continue
		}
		route := r.Method + " " + r.Path
		served[route] = true
		_, ok := auth.Routes[route]
		require.True(t, ok, "route %s is not in auth.Routes: add it with the permissions it needs", route)
	}
	for route := range auth.Routes {
		require.True(t, served[route], "auth.Routes has %s, which the server does not serve", route)
	}
}

// TestDocsWithoutKey: under --require-auth, the OpenAPI document and the reference page
// at /docs (Swagger UI, embedded) need no key; CORS headers only with --cors-origin.
func TestDocsWithoutKey(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, func(c *services.Config) { c.CORSOrigin = "https://app.example" })
	spec := call(t, http.MethodGet, url+"/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, spec.status)
	require.Contains(t, string(spec.body), `"openapi": "3.1.0"`)
	page := call(t, http.MethodGet, url+"/docs", "", nil)
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, string(page.body), "docs/swagger-ui-bundle.js")
	js := call(t, http.MethodGet, url+"/docs/swagger-ui-bundle.js", "", nil)
	require.Equal(t, http.StatusOK, js.status)
	require.Contains(t, js.header.Get("Content-Type"), "javascript")
	require.Greater(t, len(js.body), 100_000)
	require.Equal(t, http.StatusNotFound, call(t, http.MethodGet, url+"/docs/nope.js", "", nil).status)
	require.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, url+"/v1/topics", "", nil).status, "the API itself still needs a key")

	preflight := func(base string) http.Header {
		req, err := http.NewRequest(http.MethodOptions, base+"/v1/topics", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.Header
	}
	h := preflight(url)
	require.Equal(t, "https://app.example", h.Get("Access-Control-Allow-Origin"))
	require.Contains(t, strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization")
	// Off by default.
	require.Empty(t, preflight(authNode(t, b, nil)).Get("Access-Control-Allow-Origin"))
}

func TestAuthHTTP(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, nil)
	ctx := context.Background()
	admin := client.New(url, client.WithAPIKey(bootstrapKey))

	// Open routes stay open.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		require.Equal(t, http.StatusOK, call(t, http.MethodGet, url+p, "", nil).status, p)
	}

	// No key, a malformed header, a bad key: 401 in the contract's shape.
	a := call(t, http.MethodGet, url+"/v1/topics", "", nil)
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.Equal(t, "UNAUTHENTICATED", a.code())
	require.Equal(t, `Bearer realm="floe"`, a.header.Get("WWW-Authenticate"))
	a = call(t, http.MethodGet, url+"/v1/topics", "floe_sk_not-a-key", nil)
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.Equal(t, "UNAUTHENTICATED", a.code())
	_, err := client.New(url, client.WithAPIKey("nope")).ListTopics(ctx)
	requireAPIError(t, err, http.StatusUnauthorized, "UNAUTHENTICATED")
	a = call(t, http.MethodPost, url+"/v1/topics/orders/messages", "", map[string]any{"messages": []any{map[string]string{"body": "aGk="}}})
	require.Equal(t, http.StatusUnauthorized, a.status, "a produce without a key is refused")

	// The bootstrap key is admin on everything.
	for _, topic := range []string{"orders", "payments"} {
		_, _, err = admin.CreateTopic(ctx, client.TopicSpec{Name: topic, Queues: 1})
		require.NoError(t, err)
	}
	_, _, err = admin.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, admin.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))

	// A scoped key: produce to orders, consume billing, read orders.
	app := createKey(t, url, "billing-app", perm("produce", "topic:orders"), perm("consume", "group:billing"), perm("read", "topic:orders"))
	require.True(t, strings.HasPrefix(app.Secret, auth.SecretPrefix))
	require.True(t, strings.HasPrefix(app.ID, "key_"))
	require.Equal(t, "billing-app", app.Name)
	require.Len(t, app.Permissions, 3)
	require.False(t, app.CreatedAt.IsZero())

	a = call(t, http.MethodGet, url+"/v1/keys", bootstrapKey, nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Contains(t, string(a.body), app.ID)
	require.NotContains(t, string(a.body), app.Secret, "the list shows no secret")
	require.NotContains(t, string(a.body), `"secret"`)

	c := client.New(url, client.WithAPIKey(app.Secret))
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("hello")}})
	require.NoError(t, err)
	_, err = c.Send(ctx, "payments", []client.Message{{Body: []byte("nope")}})
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "orders-2"})
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	_, err = c.ListTopics(ctx)
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	require.Equal(t, http.StatusForbidden, call(t, http.MethodGet, url+"/v1/keys", app.Secret, nil).status, "keys need admin on key:*")
	qs, err := admin.Queues(ctx, "payments")
	require.NoError(t, err)
	require.Zero(t, qs[0].MaxOffset, "nothing was stored for the refused send")

	// Consuming needs consume on the group and read on the topic.
	onlyGroup := createKey(t, url, "only-group", perm("consume", "group:billing"))
	onlyTopic := createKey(t, url, "only-topic", perm("read", "topic:orders"), perm("consume", "group:other"))
	recv := client.ReceiveRequest{MaxMessages: 10, InvisibleSeconds: 30}
	_, err = client.New(url, client.WithAPIKey(onlyGroup.Secret)).Receive(ctx, "billing", "orders", recv)
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	_, err = client.New(url, client.WithAPIKey(onlyTopic.Secret)).Receive(ctx, "billing", "orders", recv)
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	require.Eventually(t, func() bool {
		msgs, err := c.Receive(ctx, "billing", "orders", recv)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return false
		}
		res, err := c.Ack(ctx, "billing", "orders", []string{msgs[0].ReceiptHandle})
		require.NoError(t, err)
		require.EqualValues(t, "OK", res[0].Status)
		return true
	}, 10*time.Second, 100*time.Millisecond)

	// Wildcard prefixes: admin on topic:orders-* may create orders-eu but not payments-eu.
	ops := client.New(url, client.WithAPIKey(createKey(t, url, "ops", perm("admin", "topic:orders-*")).Secret))
	_, _, err = ops.CreateTopic(ctx, client.TopicSpec{Name: "orders-eu", Queues: 1})
	require.NoError(t, err)
	_, _, err = ops.CreateTopic(ctx, client.TopicSpec{Name: "payments-eu", Queues: 1})
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")
	_, err = ops.Send(ctx, "orders-eu", []client.Message{{Body: []byte("x")}})
	require.NoError(t, err, "admin implies produce")

	// Bad permissions are refused.
	a = call(t, http.MethodPost, url+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: "bad", Permissions: []auth.Permission{perm("write", "topic:a")}})
	require.Equal(t, http.StatusBadRequest, a.status)

	// Rotation: the old secret stops, the new one works.
	a = call(t, http.MethodPost, url+"/v1/keys/"+app.ID+"/rotate", bootstrapKey, nil)
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	var rotated auth.KeyView
	require.NoError(t, json.Unmarshal(a.body, &rotated))
	require.Equal(t, app.ID, rotated.ID)
	require.NotEqual(t, app.Secret, rotated.Secret)
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("old")}})
	requireAPIError(t, err, http.StatusUnauthorized, "UNAUTHENTICATED")
	c = client.New(url, client.WithAPIKey(rotated.Secret))
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("new")}})
	require.NoError(t, err)

	// Revoked through the API: refused at once on this node.
	require.Equal(t, http.StatusNoContent, call(t, http.MethodDelete, url+"/v1/keys/"+app.ID, bootstrapKey, nil).status)
	require.Equal(t, http.StatusNotFound, call(t, http.MethodDelete, url+"/v1/keys/"+app.ID, bootstrapKey, nil).status)
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("revoked")}})
	requireAPIError(t, err, http.StatusUnauthorized, "UNAUTHENTICATED")

	m := metricsText(t, url)
	require.Contains(t, m, `floe_auth_requests_total{result="ok"}`)
	require.Contains(t, m, `floe_auth_requests_total{result="unauthenticated"}`)
	require.Contains(t, m, `floe_auth_requests_total{result="forbidden"}`)
}

// TestAuthRevokedElsewhereStopsWithin5s revokes a key behind the node's back (as another
// node would) while the node has it cached: it must stop working within 5 s.
func TestAuthRevokedElsewhereStopsWithin5s(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, nil)
	ctx := context.Background()
	_, _, err := client.New(url, client.WithAPIKey(bootstrapKey)).CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
	require.NoError(t, err)
	k := createKey(t, url, "short-lived", perm("produce", "topic:orders"))
	c := client.New(url, client.WithAPIKey(k.Secret))
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("x")}})
	require.NoError(t, err, "the key is now cached")

	store := testenv.Store(t, metadata.Config{URL: b.dbURL, MaxConns: 1}, prometheus.NewRegistry())
	require.NoError(t, store.KeyRevoke(ctx, k.ID))
	revoked := time.Now()
	require.Eventually(t, func() bool {
		_, err := c.Send(ctx, "orders", []client.Message{{Body: []byte("x")}})
		return err != nil
	}, 5*time.Second, 50*time.Millisecond)
	t.Logf("revoked key refused after %s", time.Since(revoked).Round(time.Millisecond))
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("x")}})
	requireAPIError(t, err, http.StatusUnauthorized, "UNAUTHENTICATED")
}

func TestAuthQuotasThrottleAndRecover(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, func(cfg *services.Config) {
		cfg.QuotaProduceRate = 5
		cfg.QuotaReceiveRate = 2
	})
	ctx := context.Background()
	admin := client.New(url, client.WithAPIKey(bootstrapKey))
	_, _, err := admin.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
	require.NoError(t, err)
	_, _, err = admin.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, admin.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	k := createKey(t, url, "busy", perm("produce", "topic:orders"), perm("consume", "group:billing"), perm("read", "topic:orders"))
	c := client.New(url, client.WithAPIKey(k.Secret))

	batch := make([]client.Message, 5)
	for i := range batch {
		batch[i] = client.Message{Body: []byte("m" + strconv.Itoa(i))}
	}
	_, err = c.Send(ctx, "orders", batch)
	require.NoError(t, err, "a second's worth passes")
	a := call(t, http.MethodPost, url+"/v1/topics/orders/messages", k.Secret, map[string]any{"messages": []any{map[string]string{"body": "aGk="}}})
	require.Equal(t, http.StatusTooManyRequests, a.status, string(a.body))
	require.Equal(t, "THROTTLED", a.code())
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, retry, 1)
	qs, err := admin.Queues(ctx, "orders")
	require.NoError(t, err)
	require.EqualValues(t, 5, qs[0].MaxOffset, "the throttled message was not stored")

	_, err = client.New(url, client.WithAPIKey(bootstrapKey)).Send(ctx, "orders", []client.Message{{Body: []byte("other key")}})
	require.NoError(t, err, "quotas are per key")

	time.Sleep(time.Duration(retry) * time.Second)
	_, err = c.Send(ctx, "orders", []client.Message{{Body: []byte("again")}})
	require.NoError(t, err, "recovered after Retry-After")

	recv := client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 30}
	for range 2 {
		_, err = c.Receive(ctx, "billing", "orders", recv)
		require.NoError(t, err)
	}
	_, err = c.Receive(ctx, "billing", "orders", recv)
	requireAPIError(t, err, http.StatusTooManyRequests, "THROTTLED")
	require.Eventually(t, func() bool {
		_, err := c.Receive(ctx, "billing", "orders", recv)
		return err == nil
	}, 3*time.Second, 100*time.Millisecond, "receive recovers")

	m := metricsText(t, url)
	require.Contains(t, m, `floe_auth_throttled_total{action="produce"} 1`)
	require.Contains(t, m, `floe_auth_throttled_total{action="receive"}`)
}

// TestAuthOffByDefaultInConfig: a zero Config (as the other e2e tests build) serves
// without keys, while `floe serve` requires them through its flag default.
func TestAuthOffByDefaultInConfig(t *testing.T) {
	t.Parallel()
	_, c := startNode(t, newBacking(t).config("ingest"))
	_, err := c.ListTopics(context.Background())
	require.NoError(t, err)
}
