package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// userAgent sets the User-Agent of every request, as a client library does.
type userAgent struct {
	name string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.name)
	return u.next.RoundTrip(r)
}

// clientsNode is a node with every role, the gRPC listener and a short publish interval
// of its connected-clients list.
func clientsNode(t *testing.T) (*client.Client, string, string) {
	t.Helper()
	sdkLogs(t)
	cfg := folderConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.ClientsInterval = 200 * time.Millisecond
	n, hc := startNode(t, cfg)
	return hc, "http://" + n.Addr(), n.GRPCAddr().String()
}

func findClient(cs []client.ConnectedClient, protocol, id string) *client.ConnectedClient {
	for i := range cs {
		if cs[i].Protocol == protocol && (id == "" || cs[i].ClientID == id) {
			return &cs[i]
		}
	}
	return nil
}

// TestConnectedClients: an HTTP consumer, a RocketMQ SDK consumer of the same group and
// an SDK producer show up in the admin routes with what a user checks: protocol,
// address, SDK language and version or User-Agent, last seen, filter, counts.
func TestConnectedClients(t *testing.T) {
	hc, base, ep := clientsNode(t)
	ctx := context.Background()
	start := time.Now()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, hc.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "TagA"}))
	var msgs []client.Message
	for i := range 5 {
		msgs = append(msgs, client.Message{Body: []byte(fmt.Sprint(i)), Tag: "TagA"})
	}
	_, err = hc.Send(ctx, "orders", msgs)
	require.NoError(t, err)

	// An HTTP consumer that names itself takes the five, acks two and nacks one.
	worker := client.New(base, client.WithClientID("worker-1"),
		client.WithHTTPClient(&http.Client{Transport: userAgent{"billing-worker/2.1", http.DefaultTransport}}))
	var handles []string
	deadline := time.Now().Add(20 * time.Second)
	for len(handles) < 5 && time.Now().Before(deadline) {
		ms, err := worker.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 5, InvisibleSeconds: 60, WaitSeconds: 1})
		require.NoError(t, err)
		for _, m := range ms {
			handles = append(handles, m.ReceiptHandle)
		}
	}
	require.Len(t, handles, 5)
	_, err = worker.Ack(ctx, "billing", "orders", handles[:2])
	require.NoError(t, err)
	_, err = worker.Nack(ctx, "billing", "orders", handles[2:3])
	require.NoError(t, err)
	// An HTTP consumer without a name is known by its address and User-Agent.
	_, err = hc.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 1, InvisibleSeconds: 60})
	require.NoError(t, err)

	// A RocketMQ consumer of the same group, and a producer of the topic.
	sc := startSimpleConsumer(t, ep, "billing", "orders", "TagA")
	p := startProducer(t, ep, rmq.WithTopics("orders"))
	for i := range 3 {
		m := &rmq.Message{Topic: "orders", Body: []byte(fmt.Sprint("sdk-", i))}
		m.SetTag("TagA")
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}
	got := receiveAll(t, sc, 3, 20*time.Second, true)
	require.GreaterOrEqual(t, len(got), 3)

	var cs []client.ConnectedClient
	require.Eventually(t, func() bool {
		cs, err = hc.GroupClients(ctx, "billing")
		require.NoError(t, err)
		sdk := findClient(cs, "gRPC", "")
		return len(cs) == 3 && sdk != nil && sdk.Acked >= 3
	}, 15*time.Second, 100*time.Millisecond, "clients: %+v", cs)

	w := findClient(cs, "HTTP", "worker-1")
	require.NotNil(t, w, "%+v", cs)
	require.Equal(t, "127.0.0.1", w.Address)
	require.Equal(t, "CONSUMER", w.Type)
	require.Equal(t, "billing-worker/2.1", w.UserAgent)
	require.Equal(t, []string{"orders"}, w.Topics)
	require.Equal(t, []client.ClientSubscription{{Topic: "orders", FilterType: "TAG", Filter: "TagA"}}, w.Subscriptions)
	require.Equal(t, int64(5), w.Delivered)
	require.Equal(t, int64(2), w.Acked)
	require.Equal(t, int64(1), w.Nacked)
	require.Equal(t, int64(2), w.InFlight, "five handed out, three settled")
	require.WithinRange(t, w.LastSeen, start, time.Now())
	require.Len(t, w.Nodes, 1)

	var anon *client.ConnectedClient
	for i := range cs {
		if cs[i].Protocol == "HTTP" && cs[i].ClientID != "worker-1" {
			anon = &cs[i]
		}
	}
	require.NotNil(t, anon, "%+v", cs)
	require.True(t, strings.HasPrefix(anon.ClientID, "127.0.0.1/"), "an unnamed HTTP client: %+v", anon)
	require.Contains(t, anon.UserAgent, "Go-http-client")

	sdk := findClient(cs, "gRPC", "")
	require.Equal(t, "SIMPLE_CONSUMER", sdk.Type)
	require.Equal(t, "GOLANG", sdk.Language)
	require.NotEmpty(t, sdk.Version)
	require.True(t, strings.HasPrefix(sdk.Address, "127.0.0.1:"), "a gRPC client's address is its host and port: %q", sdk.Address)
	require.Equal(t, []client.ClientSubscription{{Topic: "orders", FilterType: "TAG", Filter: "TagA"}}, sdk.Subscriptions)
	require.Equal(t, sdk.Delivered, sdk.Acked)
	require.Zero(t, sdk.InFlight)
	require.WithinRange(t, sdk.LastSeen, start, time.Now())

	var ps []client.ConnectedClient
	require.Eventually(t, func() bool {
		ps, err = hc.TopicProducers(ctx, "orders")
		require.NoError(t, err)
		return len(ps) == 1 && ps[0].Sent == 3
	}, 15*time.Second, 100*time.Millisecond, "producers: %+v", ps)
	require.Equal(t, "gRPC", ps[0].Protocol)
	require.Equal(t, "PRODUCER", ps[0].Type)
	require.Equal(t, "GOLANG", ps[0].Language)
	require.Equal(t, []string{"orders"}, ps[0].Topics)

	// The CLI: a table, or JSON for scripts.
	out, errOut, code := floeCLI(t, base, "", "clients", "billing")
	require.Zero(t, code, errOut)
	require.Regexp(t, `worker-1\s+HTTP\s+127\.0\.0\.1\s+billing-worker/2\.1\s+\d+s ago\s+orders\(TagA\)\s+5\s+2\s+1\s+2`, out)
	require.Regexp(t, `gRPC\s+127\.0\.0\.1:\d+\s+GOLANG \S+`, out)
	out, errOut, code = floeCLI(t, base, "", "clients", "billing", "-o", "json")
	require.Zero(t, code, errOut)
	var fromCLI []client.ConnectedClient
	require.NoError(t, json.Unmarshal([]byte(out), &fromCLI))
	require.Len(t, fromCLI, 3)
	out, errOut, code = floeCLI(t, base, "", "clients", "--producers", "orders")
	require.Zero(t, code, errOut)
	require.Regexp(t, `gRPC\s+127\.0\.0\.1:\d+\s+GOLANG \S+\s+\d+s ago\s+3`, out)
	_, _, code = floeCLI(t, base, "", "clients", "nope")
	require.Equal(t, ExitNotFoundCode, code)

	// A group nobody consumes lists no one; unknown names are 404.
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "idle"})
	require.NoError(t, err)
	idle, err := hc.GroupClients(ctx, "idle")
	require.NoError(t, err)
	require.Empty(t, idle)
	a := call(t, "GET", base+"/v1/groups/nope/clients", "", nil)
	require.Equal(t, http.StatusNotFound, a.status)
	require.Contains(t, string(a.body), "GROUP_NOT_FOUND")
	a = call(t, "GET", base+"/v1/topics/nope/producers", "", nil)
	require.Equal(t, http.StatusNotFound, a.status)
	require.Contains(t, string(a.body), "TOPIC_NOT_FOUND")
	a = call(t, "GET", base+"/v1/groups/bad%20name/clients", "", nil)
	require.Equal(t, http.StatusBadRequest, a.status)
}
