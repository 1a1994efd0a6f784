package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/services"
)

// recorder is an http.RoundTripper that keeps every answer's body, so a test can check
// that nothing a tenant was shown names another tenant.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+" → "+string(b))
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// requireNoneContains fails if any recorded answer contains one of words.
func (r *recorder) requireNoneContains(t *testing.T, words ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.bodies)
	for _, b := range r.bodies {
		for _, w := range words {
			require.NotContains(t, b, w, "an answer shows %q", w)
		}
	}
}

func createNamespacedKey(t *testing.T, url, by, name, ns string, perms ...auth.Permission) auth.KeyView {
	t.Helper()
	a := call(t, http.MethodPost, url+"/v1/keys", by, auth.CreateKeyRequest{Name: name, Namespace: ns, Permissions: perms})
	require.Equal(t, http.StatusCreated, a.status, string(a.body))
	var k auth.KeyView
	require.NoError(t, json.Unmarshal(a.body, &k))
	require.Equal(t, ns, k.Namespace)
	return k
}

// tenant is one namespace's admin client and what it stored.
type tenant struct {
	ns     string
	key    auth.KeyView
	c      *client.Client
	rec    *recorder
	sent   client.SendResult
	tx     client.TransactionResult
	bodyOf string
}

// TestNamespaceIsolation: two tenants create the same names (topic orders, group billing,
// producer group shop, a dead-letter topic) and use every route; neither ever sees the
// other's resources or messages, nor a stored name ("acme%orders"). The operator (the
// bootstrap key) lists both; a key of the default namespace sees neither.
func TestNamespaceIsolation(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, func(cfg *services.Config) {
		cfg.MinInvisible = time.Second
		cfg.TransactionFirstCheck = time.Second
		cfg.TransactionCheckInterval = time.Second
		cfg.TransactionMaxChecks = 100
	})
	ctx := context.Background()

	tenants := map[string]*tenant{}
	for _, ns := range []string{"acme", "globex"} {
		k := createNamespacedKey(t, url, bootstrapKey, ns+"-admin", ns, perm("admin", "*"))
		rec := &recorder{}
		tn := &tenant{ns: ns, key: k, rec: rec, bodyOf: "body of " + ns,
			c: client.New(url, client.WithAPIKey(k.Secret), client.WithHTTPClient(&http.Client{Transport: rec}))}
		tenants[ns] = tn
		c := tn.c
		_, created, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
		require.NoError(t, err)
		require.True(t, created, "each namespace has its own orders")
		_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "payments", Type: client.TopicTransaction, Queues: 1})
		require.NoError(t, err)
		g, _, err := c.CreateGroup(ctx, client.GroupSpec{Name: "billing", MaxDeliveryAttempts: 1})
		require.NoError(t, err)
		require.Equal(t, "billing", g.Name)
		require.NoError(t, c.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
		res, err := c.Send(ctx, "orders", []client.Message{{Body: []byte(tn.bodyOf), Keys: []string{"order-1"}}})
		require.NoError(t, err)
		tn.sent = res[0]
		tn.tx, err = c.SendTransaction(ctx, "payments", "shop", []client.Message{{Body: []byte("tx of " + ns)}})
		require.NoError(t, err)
	}
	acme, globex := tenants["acme"], tenants["globex"]

	for _, tn := range tenants {
		other := acme
		if tn == acme {
			other = globex
		}
		c := tn.c
		// Lists show the tenant's own names only.
		topics, err := c.ListTopics(ctx)
		require.NoError(t, err)
		var names []string
		for _, tp := range topics {
			names = append(names, tp.Name)
		}
		require.ElementsMatch(t, []string{"orders", "payments"}, names)
		got, err := c.GetTopic(ctx, "orders")
		require.NoError(t, err)
		require.Equal(t, "orders", got.Name)
		a := call(t, http.MethodGet, url+"/v1/groups", tn.key.Secret, nil)
		require.Equal(t, http.StatusOK, a.status)
		var groups struct {
			Groups []client.Group `json:"groups"`
		}
		require.NoError(t, json.Unmarshal(a.body, &groups))
		require.Len(t, groups.Groups, 1)
		require.Equal(t, "billing", groups.Groups[0].Name)
		require.Equal(t, "orders", groups.Groups[0].Subscriptions[0].Topic)

		// Lookups by key and by id find the tenant's own message only.
		byKey, err := c.MessagesByKey(ctx, "orders", "order-1")
		require.NoError(t, err)
		require.Len(t, byKey, 1)
		require.Equal(t, tn.bodyOf, string(byKey[0].Body))
		require.Equal(t, "orders", byKey[0].Topic)
		m, err := c.GetMessage(ctx, "orders", tn.sent.MessageID)
		require.NoError(t, err)
		require.Equal(t, "orders", m.Topic)
		_, err = c.GetMessage(ctx, "orders", other.sent.MessageID)
		requireAPIError(t, err, http.StatusNotFound, "MESSAGE_NOT_FOUND")
		q, err := c.ReadQueue(ctx, "orders", 0, 0, 10)
		require.NoError(t, err)
		require.Len(t, q, 1)
		require.Equal(t, tn.bodyOf, string(q[0].Body))

		// Receive gets the tenant's message; a nack on the only attempt dead-letters it into
		// the tenant's own %DLQ%billing.
		msgs := receive(t, c, "billing", "orders", 10, 30, 5)
		require.Len(t, msgs, 1)
		require.Equal(t, tn.bodyOf, string(msgs[0].Body))
		require.Equal(t, "orders", msgs[0].Topic)
		res, err := c.Nack(ctx, "billing", "orders", []string{msgs[0].ReceiptHandle})
		require.NoError(t, err)
		require.Equal(t, client.AckOK, res[0].Status)
		require.Empty(t, receive(t, c, "billing", "orders", 10, 30, 1), "dead-lettered, not delivered again")

		// The other tenant's receipt handle is refused by this tenant's group.
		res, err = other.c.Ack(ctx, "billing", "orders", []string{msgs[0].ReceiptHandle})
		require.NoError(t, err)
		require.NotEqual(t, client.AckOK, res[0].Status, "a handle of another namespace acks nothing")

		lag, err := c.Lag(ctx, "billing")
		require.NoError(t, err)
		require.Equal(t, "billing", lag.Group)
		require.Len(t, lag.Topics, 1)
		require.Equal(t, "orders", lag.Topics[0].Topic)

		// Transactions: the other tenant cannot see, commit or be asked about this one.
		_, err = other.c.TransactionState(ctx, tn.tx.TransactionID)
		requireAPIError(t, err, http.StatusNotFound, "TRANSACTION_NOT_FOUND")
		err = other.c.Commit(ctx, tn.tx.TransactionID)
		requireAPIError(t, err, http.StatusNotFound, "TRANSACTION_NOT_FOUND")
		st, err := c.TransactionState(ctx, tn.tx.TransactionID)
		require.NoError(t, err)
		require.Equal(t, "PENDING", st)
	}

	// Transaction checks of producer group shop are per namespace.
	for _, tn := range tenants {
		var seen []string
		require.Eventually(t, func() bool {
			checks, err := tn.c.TransactionChecks(ctx, "shop", time.Second)
			require.NoError(t, err)
			for _, ch := range checks {
				require.Equal(t, "payments", ch.Topic)
				require.Equal(t, "payments", ch.Messages[0].Topic)
				require.Equal(t, "tx of "+tn.ns, string(ch.Messages[0].Body))
				seen = append(seen, ch.TransactionID)
			}
			return slices.Contains(seen, tn.tx.TransactionID)
		}, 15*time.Second, 100*time.Millisecond)
		require.NoError(t, tn.c.Commit(ctx, tn.tx.TransactionID))
	}

	// Dead letters and traces.
	for _, tn := range tenants {
		var dlq []client.MessageView
		require.Eventually(t, func() bool {
			var err error
			dlq, err = tn.c.ReadQueue(ctx, "%DLQ%billing", 0, 0, 10)
			if err != nil {
				t.Log(err)
			}
			return err == nil && len(dlq) == 1
		}, 10*time.Second, 100*time.Millisecond)
		require.Equal(t, tn.bodyOf, string(dlq[0].Body))
		require.Equal(t, "%DLQ%billing", dlq[0].Topic)
		var events []client.TraceEvent
		require.Eventually(t, func() bool {
			var err error
			events, err = tn.c.Trace(ctx, "orders", tn.sent.MessageID)
			require.NoError(t, err)
			for _, e := range events {
				if e.Type == "DEAD_LETTERED" {
					return true
				}
			}
			return false
		}, 15*time.Second, 200*time.Millisecond)
		for _, e := range events {
			require.JSONEq(t, `"orders"`, string(e.Attributes["topic"]))
			if g, ok := e.Attributes["group"]; ok {
				require.JSONEq(t, `"billing"`, string(g))
			}
		}
	}
	evs, err := acme.c.Trace(ctx, "orders", globex.sent.MessageID)
	require.NoError(t, err)
	require.Empty(t, evs, "the trace of another namespace's message is empty")

	// Names of another namespace cannot be written: % is no name character.
	a := call(t, http.MethodGet, url+"/v1/topics/globex%25orders", acme.key.Secret, nil)
	require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
	require.Equal(t, "INVALID_NAME", a.code())

	// Errors name the tenant's resources as the tenant knows them.
	_, err = acme.c.Send(ctx, "nothing", []client.Message{{Body: []byte("x")}})
	requireAPIError(t, err, http.StatusNotFound, "TOPIC_NOT_FOUND")
	require.Contains(t, err.Error(), "nothing")

	for _, tn := range tenants {
		tn.rec.requireNoneContains(t, "acme%", "globex%", "%DLQ%acme", "%DLQ%globex")
	}
	acme.rec.requireNoneContains(t, "globex")
	globex.rec.requireNoneContains(t, "acme")

	// Permissions name the tenant's resources: produce on topic:orders of acme reaches
	// acme's orders, and nothing else.
	app := createNamespacedKey(t, url, acme.key.Secret, "acme-app", "acme", perm("produce", "topic:orders"), perm("read", "topic:orders"))
	ac := client.New(url, client.WithAPIKey(app.Secret))
	_, err = ac.Send(ctx, "orders", []client.Message{{Body: []byte("by app"), Keys: []string{"order-2"}}})
	require.NoError(t, err)
	byKey, err := acme.c.MessagesByKey(ctx, "orders", "order-2")
	require.NoError(t, err)
	require.Len(t, byKey, 1)
	byKey, err = globex.c.MessagesByKey(ctx, "orders", "order-2")
	require.NoError(t, err)
	require.Empty(t, byKey)
	_, err = ac.Send(ctx, "payments", []client.Message{{Body: []byte("x")}})
	requireAPIError(t, err, http.StatusForbidden, "FORBIDDEN")

	// Keys: a tenant's admin sees and manages its namespace's keys only.
	a = call(t, http.MethodGet, url+"/v1/keys", acme.key.Secret, nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Contains(t, string(a.body), app.ID)
	require.NotContains(t, string(a.body), globex.key.ID)
	a = call(t, http.MethodPost, url+"/v1/keys", acme.key.Secret, auth.CreateKeyRequest{Name: "sneaky", Namespace: "globex",
		Permissions: []auth.Permission{perm("admin", "*")}})
	require.Equal(t, http.StatusForbidden, a.status, string(a.body))
	require.Equal(t, http.StatusNotFound, call(t, http.MethodDelete, url+"/v1/keys/"+globex.key.ID, acme.key.Secret, nil).status)
	require.Equal(t, http.StatusNotFound, call(t, http.MethodPost, url+"/v1/keys/"+globex.key.ID+"/rotate", acme.key.Secret, nil).status)
	_, err = globex.c.ListTopics(ctx)
	require.NoError(t, err, "globex's key still works")

	// The operator (admin on * in the default namespace) lists every namespace under the
	// stored names; a key of the default namespace that reads every topic sees its own.
	a = call(t, http.MethodGet, url+"/v1/topics", bootstrapKey, nil)
	require.Equal(t, http.StatusOK, a.status)
	for _, n := range []string{`"acme%orders"`, `"globex%orders"`, `"%DLQ%acme%billing"`} {
		require.Contains(t, string(a.body), n)
	}
	reader := createKey(t, url, "default-reader", perm("read", "topic:*"), perm("read", "group:*"))
	a = call(t, http.MethodGet, url+"/v1/topics", reader.Secret, nil)
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"topics":[]}`, string(a.body))
	a = call(t, http.MethodGet, url+"/v1/groups", reader.Secret, nil)
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"groups":[]}`, string(a.body))
	a = call(t, http.MethodGet, url+"/v1/topics/acme%25orders", reader.Secret, nil)
	require.Equal(t, http.StatusBadRequest, a.status, "a default-namespace key cannot name acme's topic: %s", a.body)
	require.Equal(t, "INVALID_NAME", a.code())
	a = call(t, http.MethodGet, url+"/v1/topics/%25DLQ%25acme%25billing/queues/0/messages", reader.Secret, nil)
	require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
	require.False(t, strings.Contains(string(a.body), "body of"))
}
