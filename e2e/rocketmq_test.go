package e2e_test

// Acceptance tests of the gRPC front end with the official Apache RocketMQ 5 Go client,
// unchanged, against a node on a real Postgres and MinIO.

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/services"
)

var sdkLogOnce sync.Once

// sdkNode starts a node with every role and its gRPC listener, and points the SDK's log
// files into a temp folder (it writes to ~/logs by default).
func sdkNode(t *testing.T) (*services.Node, *client.Client, string) {
	t.Helper()
	sdkLogs(t)
	b := newBacking(t)
	cfg := b.config("ingest,reader,compactor")
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.MinInvisible = time.Second
	cfg.TransactionFirstCheck = time.Second
	cfg.TransactionCheckInterval = time.Second
	cfg.TransactionMaxChecks = 10
	cfg.TransactionPolicy = "rollback"
	n, c := startNode(t, cfg)
	require.NotNil(t, n.GRPCAddr())
	return n, c, n.GRPCAddr().String()
}

// sdkLogs points the SDK's log files into a temp folder, once per test binary.
func sdkLogs(t *testing.T) {
	t.Helper()
	sdkLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "floe-rmq-logs-")
		require.NoError(t, err)
		os.Setenv("rocketmq.client.logRoot", dir)
		if testing.Verbose() {
			os.Setenv("mq.consoleAppender.enabled", "true")
			os.Setenv("rocketmq.client.logLevel", "warn")
		} else {
			os.Setenv("rocketmq.client.logLevel", "error")
		}
		rmq.ResetLogger()
	})
}

func sdkConfig(endpoint, group string) *rmq.Config {
	return &rmq.Config{Endpoint: endpoint, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

func startProducer(t *testing.T, endpoint string, opts ...rmq.ProducerOption) rmq.Producer {
	t.Helper()
	p, err := rmq.NewProducer(sdkConfig(endpoint, ""), opts...)
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.GracefulStop() })
	return p
}

func startSimpleConsumer(t *testing.T, endpoint, group, topic, filter string) rmq.SimpleConsumer {
	t.Helper()
	sc, err := rmq.NewSimpleConsumer(sdkConfig(endpoint, group), rmq.WithSimpleAwaitDuration(2*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.NewFilterExpression(filter)}))
	require.NoError(t, err)
	require.NoError(t, sc.Start())
	t.Cleanup(func() { _ = sc.GracefulStop() })
	return sc
}

// receiveAll receives until want messages came or the deadline passed, acking each unless
// ack is false.
func receiveAll(t *testing.T, sc rmq.SimpleConsumer, want int, invisible time.Duration, ack bool) []*rmq.MessageView {
	t.Helper()
	var out []*rmq.MessageView
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		mvs, err := sc.Receive(context.Background(), 16, invisible)
		if err != nil {
			var rpc *rmq.ErrRpcStatus
			require.True(t, errors.As(err, &rpc) && rpc.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND), "receive: %v", err)
			continue
		}
		for _, mv := range mvs {
			out = append(out, mv)
			if ack {
				require.NoError(t, sc.Ack(context.Background(), mv))
			}
		}
	}
	return out
}

// rawClient dials the gRPC port directly, over TLS (the self-signed certificate is not
// verified, as the SDKs do by default) or plaintext.
func rawClient(t *testing.T, ep string, plaintext bool) v2.MessagingServiceClient {
	t.Helper()
	creds := grpc.WithTransportCredentials(grpccreds.NewTLS(&tls.Config{InsecureSkipVerify: true}))
	if plaintext {
		creds = grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	conn, err := grpc.NewClient(ep, creds)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return v2.NewMessagingServiceClient(conn)
}

func TestRocketMQSDKNormalMessagesBothWays(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 4})
	require.NoError(t, err)

	// The group does not exist: the consumer's settings create it and its subscription.
	sc := startSimpleConsumer(t, ep, "billing", "orders", "*")
	g, err := hc.GetGroup(ctx, "billing")
	require.NoError(t, err)
	require.Len(t, g.Subscriptions, 1)

	// An HTTP consumer group on the same topic, to receive what the SDK sends.
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "http-billing"})
	require.NoError(t, err)
	require.NoError(t, hc.Subscribe(ctx, "http-billing", "orders", client.SubscriptionSpec{Filter: "*"}))

	p := startProducer(t, ep, rmq.WithTopics("orders"))
	sent := map[string]string{}
	for i := 0; i < 20; i++ {
		m := &rmq.Message{Topic: "orders", Body: []byte(fmt.Sprintf("order-%d", i))}
		m.SetTag("TagA")
		m.SetKeys(fmt.Sprintf("key-%d", i))
		m.AddProperty("region", "eu")
		rs, err := p.Send(ctx, m)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		sent[rs[0].MessageID] = string(m.Body)
	}
	// And one over HTTP, which the SDK consumer must see too.
	hres, err := hc.Send(ctx, "orders", []client.Message{{Body: []byte("from-http"), Tag: "TagA"}})
	require.NoError(t, err)
	sent[hres[0].MessageID] = "from-http"

	got := receiveAll(t, sc, len(sent), 20*time.Second, true)
	require.Len(t, got, len(sent))
	for _, mv := range got {
		body, ok := sent[mv.GetMessageId()]
		require.True(t, ok, "unknown message id %s", mv.GetMessageId())
		require.Equal(t, body, string(mv.GetBody()))
		require.Equal(t, "TagA", *mv.GetTag())
		require.Equal(t, int32(1), mv.GetDeliveryAttempt())
		if body != "from-http" {
			require.Equal(t, "eu", mv.GetProperties()["region"])
			require.Len(t, mv.GetKeys(), 1)
		}
	}
	// The HTTP group receives every message, the SDK's under the ids the SDK chose.
	overHTTP := map[string]string{}
	deadline := time.Now().Add(30 * time.Second)
	for len(overHTTP) < len(sent) && time.Now().Before(deadline) {
		ms, err := hc.Receive(ctx, "http-billing", "orders", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 2})
		require.NoError(t, err)
		for _, m := range ms {
			overHTTP[m.MessageID] = string(m.Body)
		}
	}
	require.Equal(t, sent, overHTTP)
	// A message the SDK sent is readable over HTTP under the id the SDK chose.
	for id, body := range sent {
		if body == "from-http" {
			continue
		}
		v, err := hc.GetMessage(ctx, "orders", id)
		require.NoError(t, err)
		require.Equal(t, body, string(v.Body))
		break
	}
	// Everything was acked: nothing more comes.
	_, err = sc.Receive(ctx, 16, 20*time.Second)
	var rpc *rmq.ErrRpcStatus
	require.True(t, errors.As(err, &rpc), "want MESSAGE_NOT_FOUND, got %v", err)
	require.Equal(t, int32(v2.Code_MESSAGE_NOT_FOUND), rpc.GetCode())
}

func TestRocketMQSDKInvisibleTimeAndRedelivery(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	sc := startSimpleConsumer(t, ep, "workers", "jobs", "*")
	_, err = hc.Send(ctx, "jobs", []client.Message{{Body: []byte("job-1")}, {Body: []byte("job-2")}})
	require.NoError(t, err)

	first := receiveAll(t, sc, 2, 2*time.Second, false)
	require.Len(t, first, 2)
	// Keep job-1 hidden longer; let job-2's invisible time run out.
	var keep, drop *rmq.MessageView
	for _, mv := range first {
		if string(mv.GetBody()) == "job-1" {
			keep = mv
		} else {
			drop = mv
		}
	}
	require.NoError(t, sc.ChangeInvisibleDuration(keep, 30*time.Second))
	again := receiveAll(t, sc, 1, 20*time.Second, false)
	require.Len(t, again, 1)
	require.Equal(t, drop.GetMessageId(), again[0].GetMessageId())
	require.Equal(t, "job-2", string(again[0].GetBody()))
	require.Equal(t, int32(2), again[0].GetDeliveryAttempt())
	// The stale handle of the first delivery no longer acks (the SDK's Ack hides the
	// status, so ask over the raw protocol); the new one does.
	raw := rawClient(t, ep, false)
	resp, err := raw.AckMessage(ctx, &v2.AckMessageRequest{Group: &v2.Resource{Name: "workers"}, Topic: &v2.Resource{Name: "jobs"},
		Entries: []*v2.AckMessageEntry{{MessageId: drop.GetMessageId(), ReceiptHandle: drop.ReceiptHandle}}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, resp.GetStatus().GetCode())
	require.NoError(t, sc.Ack(ctx, again[0]))
	// The handle returned by ChangeInvisibleDuration acks job-1.
	require.NoError(t, sc.Ack(ctx, keep))
}

func TestRocketMQSDKTagFilter(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "events", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	sc := startSimpleConsumer(t, ep, "only-a", "events", "TagA || TagC")
	p := startProducer(t, ep, rmq.WithTopics("events"))
	for i, tag := range []string{"TagA", "TagB", "TagC", "TagB"} {
		m := &rmq.Message{Topic: "events", Body: []byte(fmt.Sprint(i))}
		m.SetTag(tag)
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}
	got := receiveAll(t, sc, 2, 20*time.Second, true)
	require.Len(t, got, 2)
	tags := []string{*got[0].GetTag(), *got[1].GetTag()}
	sort.Strings(tags)
	require.Equal(t, []string{"TagA", "TagC"}, tags)
	// Nothing else matches.
	more := receiveAll(t, sc, 1, 20*time.Second, true)
	require.Empty(t, more)
}

func TestRocketMQSDKSQL92Filter(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	sc, err := rmq.NewSimpleConsumer(sdkConfig(ep, "vip-orders"), rmq.WithSimpleAwaitDuration(2*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{
			"orders": rmq.NewFilterExpressionWithType("tier = 'vip' AND total > 50", rmq.SQL92)}))
	require.NoError(t, err)
	require.NoError(t, sc.Start())
	t.Cleanup(func() { _ = sc.GracefulStop() })
	p := startProducer(t, ep, rmq.WithTopics("orders"))
	for i, props := range []map[string]string{
		{"tier": "vip", "total": "99"}, {"tier": "vip", "total": "10"}, {"tier": "std", "total": "99"}, {"total": "99"}, {"tier": "vip", "total": "51.5"},
	} {
		m := &rmq.Message{Topic: "orders", Body: []byte(fmt.Sprint(i))}
		for k, v := range props {
			m.AddProperty(k, v)
		}
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}
	got := receiveAll(t, sc, 2, 20*time.Second, true)
	bodies := []string{}
	for _, m := range got {
		bodies = append(bodies, string(m.GetBody()))
	}
	sort.Strings(bodies)
	require.Equal(t, []string{"0", "4"}, bodies)
	require.Empty(t, receiveAll(t, sc, 1, 20*time.Second, true), "nothing else matches")
	g, err := hc.GetGroup(ctx, "vip-orders")
	require.NoError(t, err)
	require.Equal(t, "SQL92", g.Subscriptions[0].FilterType, "the SDK's subscription is stored as SQL92")
}

func TestRocketMQSDKDelayAndFIFO(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "reminders", Type: client.TopicDelay, Queues: 2})
	require.NoError(t, err)
	_, _, err = hc.CreateTopic(ctx, client.TopicSpec{Name: "ledger", Type: client.TopicFIFO, Queues: 4})
	require.NoError(t, err)
	dc := startSimpleConsumer(t, ep, "reminder-svc", "reminders", "*")
	fc := startSimpleConsumer(t, ep, "ledger-svc", "ledger", "*")
	p := startProducer(t, ep, rmq.WithTopics("reminders", "ledger"))

	due := time.Now().Add(3 * time.Second)
	m := &rmq.Message{Topic: "reminders", Body: []byte("wake up")}
	m.SetDelayTimestamp(due)
	_, err = p.Send(ctx, m)
	require.NoError(t, err)

	for i := 0; i < 10; i++ {
		m := &rmq.Message{Topic: "ledger", Body: []byte(fmt.Sprintf("%d", i))}
		m.SetMessageGroup(fmt.Sprintf("account-%d", i%2))
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}

	got := receiveAll(t, dc, 1, 20*time.Second, true)
	require.Len(t, got, 1)
	require.False(t, time.Now().Before(due), "a delayed message came early")
	require.Equal(t, "wake up", string(got[0].GetBody()))

	fifo := receiveAll(t, fc, 10, 20*time.Second, true)
	require.Len(t, fifo, 10)
	last := map[string]int{"account-0": -1, "account-1": -1}
	for _, mv := range fifo {
		var n int
		_, err := fmt.Sscan(string(mv.GetBody()), &n)
		require.NoError(t, err)
		g := *mv.GetMessageGroup()
		require.Greater(t, n, last[g], "message group %s out of order", g)
		last[g] = n
	}
}

func TestRocketMQSDKTransactions(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "payments", Type: client.TopicTransaction, Queues: 2})
	require.NoError(t, err)
	sc := startSimpleConsumer(t, ep, "payment-svc", "payments", "*")

	var checked sync.Map
	p := startProducer(t, ep, rmq.WithTopics("payments"), rmq.WithTransactionChecker(&rmq.TransactionChecker{
		Check: func(mv *rmq.MessageView) rmq.TransactionResolution {
			checked.Store(string(mv.GetBody()), true)
			if string(mv.GetBody()) == "orphan-commit" {
				return rmq.COMMIT
			}
			return rmq.ROLLBACK
		},
	}))
	send := func(body string) rmq.Transaction {
		tx := p.BeginTransaction()
		_, err := p.SendWithTransaction(ctx, &rmq.Message{Topic: "payments", Body: []byte(body)}, tx)
		require.NoError(t, err)
		return tx
	}
	require.NoError(t, send("committed").Commit())
	require.NoError(t, send("rolled-back").RollBack())
	send("orphan-commit")   // never resolved by the producer: the server asks its checker
	send("orphan-rollback") // likewise, and the checker says roll back

	got := receiveAll(t, sc, 2, 20*time.Second, true)
	bodies := []string{}
	for _, mv := range got {
		bodies = append(bodies, string(mv.GetBody()))
	}
	sort.Strings(bodies)
	require.Equal(t, []string{"committed", "orphan-commit"}, bodies)
	_, ok := checked.Load("orphan-commit")
	require.True(t, ok, "the checker was not asked")
	_, ok = checked.Load("orphan-rollback")
	require.True(t, ok, "the checker was not asked")
	// Nothing else becomes visible.
	require.Empty(t, receiveAll(t, sc, 1, 20*time.Second, true))
}

func TestRocketMQSDKPushConsumerRetriesAndDeadLetters(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "tasks", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, _, err = hc.CreateGroup(ctx, client.GroupSpec{Name: "task-runner", MaxDeliveryAttempts: 2,
		RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{1}}})
	require.NoError(t, err)

	var mu sync.Mutex
	attempts := map[string][]int32{}
	pc, err := rmq.NewPushConsumer(sdkConfig(ep, "task-runner"),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{"tasks": rmq.SUB_ALL}),
		rmq.WithPushAwaitDuration(2*time.Second),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: func(mv *rmq.MessageView) rmq.ConsumerResult {
			mu.Lock()
			attempts[string(mv.GetBody())] = append(attempts[string(mv.GetBody())], mv.GetDeliveryAttempt())
			mu.Unlock()
			if string(mv.GetBody()) == "poison" {
				return rmq.FAILURE
			}
			return rmq.SUCCESS
		}}))
	require.NoError(t, err)
	require.NoError(t, pc.Start())
	t.Cleanup(func() { _ = pc.GracefulStop() })

	_, err = hc.Send(ctx, "tasks", []client.Message{{Body: []byte("good")}, {Body: []byte("poison")}})
	require.NoError(t, err)

	// The poison message is tried twice, then lands in the group's dead-letter topic.
	require.Eventually(t, func() bool {
		dl, err := hc.ReadQueue(ctx, "%DLQ%task-runner", 0, 0, 10)
		return err == nil && len(dl) == 1 && string(dl[0].Body) == "poison"
	}, 60*time.Second, 500*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int32{1}, attempts["good"])
	require.Equal(t, []int32{1, 2}, attempts["poison"])
}

func TestRocketMQSDKLitePushConsumer(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := context.Background()
	_, _, err := hc.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite})
	require.NoError(t, err)

	received := make(chan string, 10)
	lc, err := rmq.NewLitePushConsumer(sdkConfig(ep, "chat-ui"), rmq.NewLitePushConsumerConfig("chats", 20*time.Second),
		rmq.WithPushAwaitDuration(2*time.Second),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: func(mv *rmq.MessageView) rmq.ConsumerResult {
			received <- mv.GetLiteTopic() + ":" + string(mv.GetBody())
			return rmq.SUCCESS
		}}))
	require.NoError(t, err)
	require.NoError(t, lc.Start())
	t.Cleanup(func() { _ = lc.GracefulStop() })
	require.NoError(t, lc.SubscribeLite("room-1"))

	p := startProducer(t, ep, rmq.WithTopics("chats"))
	for _, room := range []string{"room-1", "room-2", "room-1"} {
		m := &rmq.Message{Topic: "chats", Body: []byte("hi " + room)}
		m.SetLiteTopic(room)
		_, err := p.Send(ctx, m)
		require.NoError(t, err)
	}
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case s := <-received:
			got = append(got, s)
		case <-timeout:
			t.Fatalf("lite consumer got %v, want two messages of room-1", got)
		}
	}
	require.Equal(t, []string{"room-1:hi room-1", "room-1:hi room-1"}, got)
	select {
	case s := <-received:
		t.Fatalf("unsubscribed lite topic delivered: %s", s)
	case <-time.After(2 * time.Second):
	}
}

func TestRocketMQProtocolPlaintextAndBadInput(t *testing.T) {
	_, hc, ep := sdkNode(t)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-mq-client-id", "raw-client-1")
	_, _, err := hc.CreateTopic(context.Background(), client.TopicSpec{Name: "plain", Type: client.TopicNormal, Queues: 3})
	require.NoError(t, err)
	for _, plaintext := range []bool{true, false} {
		raw := rawClient(t, ep, plaintext)
		route, err := raw.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "plain"},
			Endpoints: &v2.Endpoints{Scheme: v2.AddressScheme_IPv4, Addresses: []*v2.Address{{Host: "127.0.0.1", Port: 1}}}})
		require.NoError(t, err)
		require.Equal(t, v2.Code_OK, route.GetStatus().GetCode())
		require.Len(t, route.GetMessageQueues(), 3)
		require.Equal(t, []v2.MessageType{v2.MessageType_NORMAL}, route.GetMessageQueues()[0].GetAcceptMessageTypes())
	}
	raw := rawClient(t, ep, true)
	route, err := raw.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "missing"},
		Endpoints: &v2.Endpoints{Addresses: []*v2.Address{{Host: "127.0.0.1", Port: 1}}}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_TOPIC_NOT_FOUND, route.GetStatus().GetCode())

	// A client that never sent settings is told to send them.
	hb, err := raw.Heartbeat(ctx, &v2.HeartbeatRequest{ClientType: v2.ClientType_PRODUCER})
	require.NoError(t, err)
	require.Equal(t, v2.Code_UNRECOGNIZED_CLIENT_TYPE, hb.GetStatus().GetCode())

	send := func(topic string, sp *v2.SystemProperties, body []byte) v2.Code {
		resp, err := raw.SendMessage(ctx, &v2.SendMessageRequest{Messages: []*v2.Message{{Topic: &v2.Resource{Name: topic}, SystemProperties: sp, Body: body}}})
		require.NoError(t, err)
		return resp.GetStatus().GetCode()
	}
	require.Equal(t, v2.Code_TOPIC_NOT_FOUND, send("missing", &v2.SystemProperties{MessageId: "A1", MessageType: v2.MessageType_NORMAL}, []byte("x")))
	group := "g"
	require.Equal(t, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, send("plain", &v2.SystemProperties{MessageId: "A2", MessageType: v2.MessageType_FIFO, MessageGroup: &group}, []byte("x")))
	require.Equal(t, v2.Code_MESSAGE_BODY_EMPTY, send("plain", &v2.SystemProperties{MessageId: "A3", MessageType: v2.MessageType_NORMAL}, nil))
	require.Equal(t, v2.Code_MESSAGE_CORRUPTED, send("plain", &v2.SystemProperties{MessageId: "A4", MessageType: v2.MessageType_NORMAL,
		BodyDigest: &v2.Digest{Type: v2.DigestType_MD5, Checksum: "00000000000000000000000000000000"}}, []byte("x")))
	require.Equal(t, v2.Code_BAD_REQUEST, send("plain", &v2.SystemProperties{MessageId: "bad id!", MessageType: v2.MessageType_NORMAL}, []byte("x")))
	// None of it was stored.
	qs, err := hc.Queues(context.Background(), "plain")
	require.NoError(t, err)
	for _, q := range qs {
		require.Zero(t, q.MaxOffset)
	}

	// An invisible time below the node's minimum (1 s here) is refused with the protocol's code.
	stream, err := raw.ReceiveMessage(ctx, &v2.ReceiveMessageRequest{Group: &v2.Resource{Name: "g1"},
		MessageQueue: &v2.MessageQueue{Topic: &v2.Resource{Name: "plain"}}, BatchSize: 1,
		InvisibleDuration: durationpb.New(100 * time.Millisecond)})
	require.NoError(t, err)
	r, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, v2.Code_ILLEGAL_INVISIBLE_TIME, r.GetStatus().GetCode())

	// A SQL92 filter that does not parse is refused with the protocol's code.
	stream, err = raw.ReceiveMessage(ctx, &v2.ReceiveMessageRequest{Group: &v2.Resource{Name: "sql-group"},
		MessageQueue: &v2.MessageQueue{Topic: &v2.Resource{Name: "plain"}}, BatchSize: 1,
		FilterExpression: &v2.FilterExpression{Type: v2.FilterType_SQL, Expression: "a > "}})
	require.NoError(t, err)
	r, err = stream.Recv()
	require.NoError(t, err)
	require.Equal(t, v2.Code_ILLEGAL_FILTER_EXPRESSION, r.GetStatus().GetCode())
}

// BenchmarkRocketMQSDKSendReceive sends b.N 1 KiB messages with the official Go client
// from 256 goroutines, then receives and acks them all with 16 simple consumers (batches of
// 32, one Ack call per message, each consumer acking its batch one message after the
// other), against a node on Postgres and MinIO. It reports both rates.
//
//	go test -run '^$' -bench RocketMQSDK -benchtime 20000x ./e2e/
func BenchmarkRocketMQSDKSendReceive(b *testing.B) {
	benchmarkSDK(b, false)
}

// BenchmarkRocketMQSDKConcurrentAcks is BenchmarkRocketMQSDKSendReceive with each
// consumer handing every message of a batch to its own goroutine, which acks it (still one
// Ack call per message): the way an application that processes messages in parallel acks.
// An ack is answered once it is durable, so a consumer that acks one message after the
// other waits for one Postgres commit per message; concurrent acks share commits.
func BenchmarkRocketMQSDKConcurrentAcks(b *testing.B) {
	benchmarkSDK(b, true)
}

func benchmarkSDK(b *testing.B, concurrentAcks bool) {
	sdkLogOnce.Do(func() {
		dir, _ := os.MkdirTemp("", "floe-rmq-logs-")
		os.Setenv("rocketmq.client.logRoot", dir)
		os.Setenv("rocketmq.client.logLevel", "error")
		rmq.ResetLogger()
	})
	bk := newBacking(b)
	cfg := bk.config("ingest,reader")
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.Linger = 50 * time.Millisecond
	n, err := services.StartNode(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(b, err)
	defer func() { _ = n.Shutdown(context.Background()) }()
	hc := client.New("http://" + n.Addr())
	ep := n.GRPCAddr().String()
	ctx := context.Background()
	_, _, err = hc.CreateTopic(ctx, client.TopicSpec{Name: "bench", Type: client.TopicNormal, Queues: 16})
	require.NoError(b, err)
	consumers := make([]rmq.SimpleConsumer, 16)
	for i := range consumers {
		sc, err := rmq.NewSimpleConsumer(sdkConfig(ep, "bench-group"), rmq.WithSimpleAwaitDuration(2*time.Second),
			rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{"bench": rmq.SUB_ALL}))
		require.NoError(b, err)
		require.NoError(b, sc.Start())
		defer sc.GracefulStop()
		consumers[i] = sc
	}
	p, err := rmq.NewProducer(sdkConfig(ep, ""), rmq.WithTopics("bench"))
	require.NoError(b, err)
	require.NoError(b, p.Start())
	defer p.GracefulStop()
	body := make([]byte, 1024)

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	for g := 0; g < 256; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if _, err := p.Send(ctx, &rmq.Message{Topic: "bench", Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sendSecs := time.Since(start).Seconds()
	start = time.Now()
	var got sync.WaitGroup
	var mu sync.Mutex
	var ackErrors atomic.Int64
	left := b.N
	var drained time.Time
	for _, sc := range consumers {
		got.Add(1)
		go func() {
			defer got.Done()
			for {
				mu.Lock()
				done := left <= 0
				mu.Unlock()
				if done || time.Since(start) > 5*time.Minute {
					return
				}
				mvs, err := sc.Receive(ctx, 32, 30*time.Second)
				if err != nil {
					continue
				}
				if concurrentAcks {
					var acks sync.WaitGroup
					for _, mv := range mvs {
						acks.Add(1)
						go func() {
							defer acks.Done()
							if sc.Ack(ctx, mv) != nil {
								ackErrors.Add(1)
							}
						}()
					}
					acks.Wait()
				} else {
					for _, mv := range mvs {
						if sc.Ack(ctx, mv) != nil {
							ackErrors.Add(1)
						}
					}
				}
				mu.Lock()
				left -= len(mvs)
				if left <= 0 && drained.IsZero() {
					drained = time.Now()
				}
				mu.Unlock()
			}
		}()
	}
	got.Wait()
	// The last ack ends the measurement: consumers that found nothing left are still in
	// their long poll, which says nothing about the rate.
	recvSecs := drained.Sub(start).Seconds()
	b.StopTimer()
	require.LessOrEqual(b, left, 0, "not every message was received")
	require.Zero(b, ackErrors.Load(), "acks failed")
	b.ReportMetric(float64(b.N)/sendSecs, "sent/s")
	b.ReportMetric(float64(b.N)/recvSecs, "received+acked/s")
}

// TestRocketMQSDKSignaturesPermissionsAndNamespaces runs a node that requires keys: the
// SDK signs with a key's id and rocketmqSecret; its namespace resolves names; permissions
// allow exactly what they name; unsigned or wrongly signed calls are refused.
func TestRocketMQSDKSignaturesPermissionsAndNamespaces(t *testing.T) {
	b := newBacking(t)
	cfg := b.config("ingest,reader")
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.QuotaProduceRate = 5 // messages a second per key, over HTTP and gRPC alike
	n, _ := startNode(t, cfg)
	url, ep := "http://"+n.Addr(), n.GRPCAddr().String()
	sdkLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "floe-rmq-logs-")
		require.NoError(t, err)
		os.Setenv("rocketmq.client.logRoot", dir)
		os.Setenv("rocketmq.client.logLevel", "error")
		rmq.ResetLogger()
	})
	ctx := context.Background()

	admin := createNamespacedKey(t, url, bootstrapKey, "acme-admin", "acme", perm("admin", "*"))
	ac := client.New(url, client.WithAPIKey(admin.Secret))
	_, _, err := ac.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	require.NotEmpty(t, admin.RocketMQSecret)
	writer := createNamespacedKey(t, url, bootstrapKey, "acme-writer", "acme", perm("produce", "topic:orders"))
	reader := createNamespacedKey(t, url, bootstrapKey, "acme-reader", "acme",
		perm("consume", "group:billing"), perm("read", "topic:orders"))

	signed := func(k auth.KeyView, ns, group string) *rmq.Config {
		return &rmq.Config{Endpoint: ep, NameSpace: ns, ConsumerGroup: group,
			Credentials: &credentials.SessionCredentials{AccessKey: k.ID, AccessSecret: k.RocketMQSecret}}
	}
	// The reader subscribes first (a group sees messages from its subscription on).
	sc, err := rmq.NewSimpleConsumer(signed(reader, "acme", "billing"), rmq.WithSimpleAwaitDuration(2*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{"orders": rmq.SUB_ALL}))
	require.NoError(t, err)
	require.NoError(t, sc.Start())
	t.Cleanup(func() { _ = sc.GracefulStop() })

	p, err := rmq.NewProducer(signed(writer, "acme", ""), rmq.WithTopics("orders"))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.GracefulStop() })
	rs, err := p.Send(ctx, &rmq.Message{Topic: "orders", Body: []byte("signed")})
	require.NoError(t, err)
	// Stored in acme's orders: its admin finds it over HTTP; the default namespace has no orders.
	v, err := ac.GetMessage(ctx, "orders", rs[0].MessageID)
	require.NoError(t, err)
	require.Equal(t, "signed", string(v.Body))
	_, err = client.New(url, client.WithAPIKey(bootstrapKey)).GetTopic(ctx, "orders")
	require.Error(t, err, "the default namespace must not have acme's topic")

	got := receiveAll(t, sc, 1, 20*time.Second, true)
	require.Len(t, got, 1)
	require.Equal(t, "signed", string(got[0].GetBody()))

	// The writer may not consume: its consumer cannot start (settings refused).
	bad, err := rmq.NewSimpleConsumer(signed(writer, "acme", "billing"), rmq.WithSimpleAwaitDuration(time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{"orders": rmq.SUB_ALL}))
	require.NoError(t, err)
	err = bad.Start()
	require.Error(t, err)
	require.Contains(t, err.Error(), "FORBIDDEN")

	// The raw protocol: unsigned, wrongly signed and other-namespace calls are refused.
	raw := rawClient(t, ep, true)
	route := &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "orders"},
		Endpoints: &v2.Endpoints{Addresses: []*v2.Address{{Host: "127.0.0.1", Port: 1}}}}
	_, err = raw.QueryRoute(ctx, route)
	require.Equal(t, codes.Unauthenticated, grpcstatus.Code(err), "unsigned: %v", err)
	sign := func(ak, secret, ns string) context.Context {
		now := time.Now().UTC().Format("20060102T150405Z")
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(now))
		return metadata.AppendToOutgoingContext(ctx, "x-mq-date-time", now, "x-mq-namespace", ns, "x-mq-client-id", "raw",
			"authorization", fmt.Sprintf("MQv2-HMAC-SHA1 Credential=%s/cn/Rocketmq, SignedHeaders=x-mq-date-time, Signature=%s", ak, hex.EncodeToString(mac.Sum(nil))))
	}
	_, err = raw.QueryRoute(sign(writer.ID, "not-the-secret", "acme"), route)
	require.Equal(t, codes.Unauthenticated, grpcstatus.Code(err), "bad signature: %v", err)
	resp, err := raw.QueryRoute(sign(writer.ID, writer.RocketMQSecret, "acme"), route)
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
	resp, err = raw.QueryRoute(sign(writer.ID, writer.RocketMQSecret, "globex"), route)
	require.NoError(t, err)
	require.Equal(t, v2.Code_FORBIDDEN, resp.GetStatus().GetCode())
	sent, err := raw.SendMessage(sign(reader.ID, reader.RocketMQSecret, "acme"), &v2.SendMessageRequest{Messages: []*v2.Message{{
		Topic: &v2.Resource{Name: "orders"}, SystemProperties: &v2.SystemProperties{MessageId: "R1", MessageType: v2.MessageType_NORMAL}, Body: []byte("x")}}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_FORBIDDEN, sent.GetStatus().GetCode(), "a reader key must not produce")
	// Quotas: a batch past the bucket passes on a full bucket and leaves it in debt; the
	// next send is throttled until the bucket refills.
	batch := &v2.SendMessageRequest{}
	for i := 0; i < 10; i++ {
		batch.Messages = append(batch.Messages, &v2.Message{Topic: &v2.Resource{Name: "orders"},
			SystemProperties: &v2.SystemProperties{MessageId: fmt.Sprintf("Q%d", i), MessageType: v2.MessageType_NORMAL}, Body: []byte("q")})
	}
	sent, err = raw.SendMessage(sign(admin.ID, admin.RocketMQSecret, "acme"), batch)
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, sent.GetStatus().GetCode())
	batch.Messages = batch.Messages[:1]
	sent, err = raw.SendMessage(sign(admin.ID, admin.RocketMQSecret, "acme"), batch)
	require.NoError(t, err)
	require.Equal(t, v2.Code_TOO_MANY_REQUESTS, sent.GetStatus().GetCode())
	require.Eventually(t, func() bool {
		sent, err := raw.SendMessage(sign(admin.ID, admin.RocketMQSecret, "acme"), batch)
		return err == nil && sent.GetStatus().GetCode() == v2.Code_OK
	}, 10*time.Second, 250*time.Millisecond)

	// A revoked key stops working within the cache TTL.
	a := call(t, http.MethodDelete, url+"/v1/keys/"+writer.ID, bootstrapKey, nil)
	require.Equal(t, http.StatusNoContent, a.status)
	require.Eventually(t, func() bool {
		_, err := raw.QueryRoute(sign(writer.ID, writer.RocketMQSecret, "acme"), route)
		return grpcstatus.Code(err) == codes.Unauthenticated
	}, 10*time.Second, 200*time.Millisecond)
}
