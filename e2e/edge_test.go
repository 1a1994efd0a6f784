package e2e_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/services"
)

// TestBadIDsAndNumbersAre400 sends ids, names and numbers of the wrong shape to every
// route with a path parameter or a numeric query parameter: each gets 400 naming the
// field, none reaches Postgres (whose refusal used to come back as 503 with the driver's
// text), and nothing in any answer quotes the driver.
func TestBadIDsAndNumbersAre400(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, nil)
	c := client.New(url, client.WithAPIKey(bootstrapKey))
	_, _, err := c.CreateTopic(t.Context(), client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)

	for _, tc := range []struct {
		method, path, field string
	}{
		{"GET", "/v1/transactions/%00", "transaction id"},
		{"GET", "/v1/transactions/%FF", "transaction id"},
		{"POST", "/v1/transactions/%00/commit", "transaction id"},
		{"POST", "/v1/transactions/%FF/rollback", "transaction id"},
		{"POST", "/v1/transactions/" + strings.Repeat("a", 65) + "/commit", "transaction id"},
		{"DELETE", "/v1/keys/%00", "key id"},
		{"POST", "/v1/keys/%FF/rotate", "key id"},
		{"GET", "/v1/topics/orders/queues/2147483648/messages?offset=0", "queueId"},
		{"GET", "/v1/topics/orders/queues/-1/messages", "queueId"},
		{"GET", "/v1/topics/orders/queues/x/messages", "queueId"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=x", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=-1", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=99999999999999999999", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?limit=0", "limit"},
		{"GET", "/v1/topics/orders/queues/0/messages?limit=99999999999", "limit"},
		{"GET", "/v1/topics/orders/queues/0/messages?liteTopic=%00", "liteTopic"},
		{"GET", "/v1/topics/orders/messages/%00", "message id"},
		{"GET", "/v1/topics/orders/messages/%FF/trace", "message id"},
		{"GET", "/v1/topics/%00", "topic"},
		{"DELETE", "/v1/topics/%FF", "topic"},
		{"GET", "/v1/topics/%00/queues", "topic"},
		{"GET", "/v1/topics/%00/messages?key=k", "topic"},
		{"GET", "/v1/groups/%00", "group"},
		{"DELETE", "/v1/groups/%FF", "group"},
		{"GET", "/v1/groups/%00/lag", "group"},
		{"DELETE", "/v1/groups/g/subscriptions/%00", "topic"},
		{"GET", "/v1/producer-groups/%00/transaction-checks", "producer group"},
		{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=x", "waitSeconds"},
		{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=99999999999999", "waitSeconds"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+bootstrapKey)
			a := do(t, req)
			require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			require.Contains(t, []string{"BAD_REQUEST", "INVALID_NAME"}, a.code(), string(a.body))
			require.Contains(t, string(a.body), tc.field)
			require.NotContains(t, string(a.body), "SQLSTATE")
		})
	}

	// A body field that would reach Postgres as text: a SQL92 filter holding a NUL.
	_, _, err = c.CreateGroup(t.Context(), client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	err = c.Subscribe(t.Context(), "billing", "orders", client.SubscriptionSpec{FilterType: "SQL92", Filter: "region = 'eu\x00'"})
	requireAPIError(t, err, http.StatusBadRequest, "INVALID_FILTER")
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body strings.Builder
	_, err = io.Copy(&body, resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: []byte(body.String())}
}

// rawRequest opens a connection to addr (host:port) and writes head, the start of a
// request whose body has not (all) been sent.
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	return conn
}

// readUntilClosed reads what the server sends until it closes the connection, failing if
// that takes longer than within.
func readUntilClosed(t *testing.T, conn net.Conn, within time.Duration) string {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(within)))
	b, err := io.ReadAll(conn)
	require.NoError(t, err, "the server kept the connection open past %s; read %q", within, b)
	return string(b)
}

// TestSlowBodiesDoNotHoldConnections: a client trickling a request body cannot hold a
// connection: without a key it gets 401 at once and the connection closes, whatever is
// left of its body; with a key its body must arrive within --body-read-timeout. A
// long-polling receive still waits as long as it asks, past that timeout.
func TestSlowBodiesDoNotHoldConnections(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, func(cfg *services.Config) { cfg.BodyReadTimeout = time.Second })
	addr := strings.TrimPrefix(url, "http://")
	c := client.New(url, client.WithAPIKey(bootstrapKey))
	ctx := t.Context()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 1})
	require.NoError(t, err)

	const head = "POST /v1/topics/orders/messages HTTP/1.1\r\nHost: floe\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
	// No key: 401 before the body is read, then the connection closes.
	conn := rawRequest(t, addr, head+"\r\n{")
	start := time.Now()
	got := readUntilClosed(t, conn, 3*time.Second)
	require.True(t, strings.HasPrefix(got, "HTTP/1.1 401 "), got)
	require.Contains(t, got, "Connection: close")
	require.Less(t, time.Since(start), 2*time.Second)

	// A key, but a body that stops arriving: cut off after the body timeout.
	conn = rawRequest(t, addr, head+"Authorization: Bearer "+bootstrapKey+"\r\n\r\n{")
	start = time.Now()
	got = readUntilClosed(t, conn, 5*time.Second)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
	require.True(t, strings.HasPrefix(got, "HTTP/1.1 408 "), got)
	require.Contains(t, got, `"REQUEST_TIMEOUT"`)

	// Long polls outlast the body timeout: a receive (POST, small body) and the
	// transaction checks (GET, no body).
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	start = time.Now()
	msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{WaitSeconds: 3})
	require.NoError(t, err)
	require.Empty(t, msgs)
	require.GreaterOrEqual(t, time.Since(start), 2900*time.Millisecond)
	start = time.Now()
	_, err = c.TransactionChecks(ctx, "pg", 3*time.Second)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 2900*time.Millisecond)
}

// TestMaxConnections: past --max-connections, a new connection is not served until an
// open one closes.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	cfg := b.config("all")
	cfg.MaxConnections = 2
	n, _ := startNode(t, cfg)
	idle := []net.Conn{rawRequest(t, n.Addr(), ""), rawRequest(t, n.Addr(), "")}

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := hc.Get("http://" + n.Addr() + "/healthz")
	require.Error(t, err, "a third connection must wait while two are open")

	require.NoError(t, idle[0].Close())
	hc.Timeout = 5 * time.Second
	resp, err := hc.Get("http://" + n.Addr() + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestMetricsRequireAuth: /metrics is open by default (Prometheus on a private network);
// with --metrics-require-auth it takes a key of the default namespace with the metrics
// permission, which admin on * has and read on * has not.
func TestMetricsRequireAuth(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	open := authNode(t, b, nil)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, open+"/metrics", "", nil).status)

	url := authNode(t, b, func(cfg *services.Config) { cfg.MetricsRequireAuth = true })
	scraper := createKey(t, url, "prometheus", perm(auth.ActionMetrics, "*"))
	reader := createKey(t, url, "reader", perm(auth.ActionRead, "*"))

	a := call(t, http.MethodGet, url+"/metrics", "", nil)
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.NotContains(t, string(a.body), "floe_")
	a = call(t, http.MethodGet, url+"/metrics", reader.Secret, nil)
	require.Equal(t, http.StatusForbidden, a.status, string(a.body))
	require.Equal(t, "FORBIDDEN", a.code())
	for _, key := range []string{scraper.Secret, bootstrapKey} {
		a = call(t, http.MethodGet, url+"/metrics", key, nil)
		require.Equal(t, http.StatusOK, a.status, string(a.body))
		require.Contains(t, string(a.body), "floe_auth_requests_total")
	}
	// The metrics key may do nothing else.
	require.Equal(t, http.StatusForbidden, call(t, http.MethodGet, url+"/v1/topics", scraper.Secret, nil).status)

	// A key of a namespace may not hold it: the metrics show every namespace.
	a = call(t, http.MethodPost, url+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: "acme-prom", Namespace: "acme",
		Permissions: []auth.Permission{perm(auth.ActionMetrics, "*")}})
	require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
	a = call(t, http.MethodPost, url+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: "narrow",
		Permissions: []auth.Permission{perm(auth.ActionMetrics, "topic:orders")}})
	require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
	// Nor does a namespace's admin on *.
	acme := call(t, http.MethodPost, url+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: "acme-admin", Namespace: "acme",
		Permissions: []auth.Permission{perm(auth.ActionAdmin, "*")}})
	require.Equal(t, http.StatusCreated, acme.status, string(acme.body))
	var acmeKey auth.KeyView
	require.NoError(t, json.Unmarshal(acme.body, &acmeKey))
	require.Equal(t, http.StatusForbidden, call(t, http.MethodGet, url+"/metrics", acmeKey.Secret, nil).status)
}
