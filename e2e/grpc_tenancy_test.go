package e2e_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
)

// signCall signs a raw gRPC call as the RocketMQ clients do, with the x-mq-namespace
// header ns.
func signCall(ctx context.Context, k auth.KeyView, ns string) context.Context {
	now := time.Now().UTC().Format("20060102T150405Z")
	mac := hmac.New(sha1.New, []byte(k.RocketMQSecret))
	mac.Write([]byte(now))
	return metadata.AppendToOutgoingContext(ctx, "x-mq-date-time", now, "x-mq-namespace", ns, "x-mq-client-id", "spy-"+k.ID,
		"authorization", fmt.Sprintf("MQv2-HMAC-SHA1 Credential=%s/cn/Rocketmq, SignedHeaders=x-mq-date-time, Signature=%s", k.ID, hex.EncodeToString(mac.Sum(nil))))
}

// TestGRPCNamesStayInTheCallersNamespace: keys of the default namespace with wide
// permissions ("topic:*", and prefix patterns such as "topic:t*") name tenant B's stored
// names ("tenb%orders", "tenb%billing") over gRPC, with raw protocol calls for every RPC
// that takes a name and with the official Go client. Every call is refused with a client
// code, nothing is stored (no message in B's topic, no group or subscription created), and
// B still reads exactly its own message. System topics are refused the same way.
func TestGRPCNamesStayInTheCallersNamespace(t *testing.T) {
	b := newBacking(t)
	cfg := b.config("ingest,reader")
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	cfg.GRPCListen = "127.0.0.1:0"
	n, _ := startNode(t, cfg)
	url, ep := "http://"+n.Addr(), n.GRPCAddr().String()
	ctx := context.Background()

	// Tenant B: topic orders, group billing subscribed, one message waiting.
	bAdmin := createNamespacedKey(t, url, bootstrapKey, "tenb-admin", "tenb", perm("admin", "*"))
	bc := client.New(url, client.WithAPIKey(bAdmin.Secret))
	_, _, err := bc.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 2})
	require.NoError(t, err)
	_, _, err = bc.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite})
	require.NoError(t, err)
	_, _, err = bc.CreateGroup(ctx, client.GroupSpec{Name: "billing"})
	require.NoError(t, err)
	require.NoError(t, bc.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "*"}))
	_, err = bc.Send(ctx, "orders", []client.Message{{Body: []byte("B's secret")}})
	require.NoError(t, err)

	// Spies of the default namespace: one with every name, one with prefix patterns that
	// "tenb%…" starts with.
	wide := createKey(t, url, "spy-wide", perm("produce", "topic:*"), perm("read", "topic:*"), perm("consume", "group:*"))
	prefix := createKey(t, url, "spy-prefix", perm("produce", "topic:t*"), perm("read", "topic:t*"), perm("consume", "group:t*"),
		perm("read", "topic:%*"))
	raw := rawClient(t, ep, true)
	eps := &v2.Endpoints{Addresses: []*v2.Address{{Host: "127.0.0.1", Port: 1}}}
	topicB, groupB := &v2.Resource{Name: "tenb%orders"}, &v2.Resource{Name: "tenb%billing"}
	illegal := []v2.Code{v2.Code_ILLEGAL_TOPIC, v2.Code_ILLEGAL_CONSUMER_GROUP}

	for _, spy := range []auth.KeyView{wide, prefix} {
		sctx := signCall(ctx, spy, "")
		route, err := raw.QueryRoute(sctx, &v2.QueryRouteRequest{Topic: topicB, Endpoints: eps})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, route.GetStatus().GetCode(), "QueryRoute: %v", route.GetStatus())
		require.Empty(t, route.GetMessageQueues())

		as, err := raw.QueryAssignment(sctx, &v2.QueryAssignmentRequest{Topic: topicB, Group: groupB, Endpoints: eps})
		require.NoError(t, err)
		require.Contains(t, illegal, as.GetStatus().GetCode(), "QueryAssignment: %v", as.GetStatus())

		sent, err := raw.SendMessage(sctx, &v2.SendMessageRequest{Messages: []*v2.Message{{Topic: topicB, Body: []byte("planted"),
			SystemProperties: &v2.SystemProperties{MessageId: "SPY1", MessageType: v2.MessageType_NORMAL}}}})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, sent.GetStatus().GetCode(), "SendMessage: %v", sent.GetStatus())

		stream, err := raw.ReceiveMessage(sctx, &v2.ReceiveMessageRequest{Group: groupB, MessageQueue: &v2.MessageQueue{Topic: topicB},
			BatchSize: 32, InvisibleDuration: durationpb.New(30 * time.Second), LongPollingTimeout: durationpb.New(time.Second)})
		require.NoError(t, err)
		first, err := stream.Recv()
		require.NoError(t, err)
		require.Nil(t, first.GetMessage(), "ReceiveMessage handed out a message of tenant B")
		require.Contains(t, illegal, first.GetStatus().GetCode(), "ReceiveMessage: %v", first.GetStatus())

		ack, err := raw.AckMessage(sctx, &v2.AckMessageRequest{Group: groupB, Topic: topicB,
			Entries: []*v2.AckMessageEntry{{MessageId: "X", ReceiptHandle: "h"}}})
		require.NoError(t, err)
		require.Contains(t, illegal, ack.GetStatus().GetCode(), "AckMessage: %v", ack.GetStatus())

		ci, err := raw.ChangeInvisibleDuration(sctx, &v2.ChangeInvisibleDurationRequest{Group: groupB, Topic: topicB,
			ReceiptHandle: "h", InvisibleDuration: durationpb.New(time.Minute)})
		require.NoError(t, err)
		require.Contains(t, illegal, ci.GetStatus().GetCode(), "ChangeInvisibleDuration: %v", ci.GetStatus())

		dlq, err := raw.ForwardMessageToDeadLetterQueue(sctx, &v2.ForwardMessageToDeadLetterQueueRequest{Group: groupB, Topic: topicB, ReceiptHandle: "h"})
		require.NoError(t, err)
		require.Contains(t, illegal, dlq.GetStatus().GetCode(), "ForwardMessageToDeadLetterQueue: %v", dlq.GetStatus())

		end, err := raw.EndTransaction(sctx, &v2.EndTransactionRequest{Topic: topicB, TransactionId: "T", Resolution: v2.TransactionResolution_COMMIT})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, end.GetStatus().GetCode(), "EndTransaction: %v", end.GetStatus())

		rc, err := raw.RecallMessage(sctx, &v2.RecallMessageRequest{Topic: topicB, RecallHandle: "h"})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, rc.GetStatus().GetCode(), "RecallMessage: %v", rc.GetStatus())

		lite, err := raw.SyncLiteSubscription(sctx, &v2.SyncLiteSubscriptionRequest{Group: groupB, Topic: &v2.Resource{Name: "tenb%chats"},
			Action: v2.LiteSubscriptionAction_PARTIAL_ADD, LiteTopicSet: []string{"c1"}})
		require.NoError(t, err)
		require.Contains(t, illegal, lite.GetStatus().GetCode(), "SyncLiteSubscription: %v", lite.GetStatus())

		// Telemetry settings of a consumer and a producer naming B's resources end the stream.
		for _, settings := range []*v2.Settings{
			{ClientType: v2.ClientType_SIMPLE_CONSUMER.Enum(), PubSub: &v2.Settings_Subscription{Subscription: &v2.Subscription{
				Group: groupB, Subscriptions: []*v2.SubscriptionEntry{{Topic: topicB, Expression: &v2.FilterExpression{Expression: "*"}}}}}},
			{ClientType: v2.ClientType_PRODUCER.Enum(), PubSub: &v2.Settings_Publishing{Publishing: &v2.Publishing{Topics: []*v2.Resource{topicB}}}},
		} {
			tel, err := raw.Telemetry(sctx)
			require.NoError(t, err)
			require.NoError(t, tel.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: settings}}))
			_, err = tel.Recv()
			require.Error(t, err, "Telemetry accepted settings naming tenant B")
			require.Contains(t, err.Error(), "ILLEGAL_")
		}

		// Naming B's namespace by header or on the resource is refused as well.
		route, err = raw.QueryRoute(signCall(ctx, spy, "tenb"), &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "orders"}, Endpoints: eps})
		require.NoError(t, err)
		require.Equal(t, v2.Code_FORBIDDEN, route.GetStatus().GetCode())
		route, err = raw.QueryRoute(sctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "orders", ResourceNamespace: "tenb"}, Endpoints: eps})
		require.NoError(t, err)
		require.Equal(t, v2.Code_FORBIDDEN, route.GetStatus().GetCode())

		// A NUL byte is bad input, not a storage failure.
		route, err = raw.QueryRoute(sctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "ord\x00ers"}, Endpoints: eps})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, route.GetStatus().GetCode())
		require.NotContains(t, route.GetStatus().GetMessage(), "SQLSTATE")

		// System topics: %TRACE% is no topic to read; a refused receive creates nothing.
		stream, err = raw.ReceiveMessage(sctx, &v2.ReceiveMessageRequest{Group: &v2.Resource{Name: "spy"},
			MessageQueue: &v2.MessageQueue{Topic: &v2.Resource{Name: "%TRACE%"}}, BatchSize: 1,
			InvisibleDuration: durationpb.New(30 * time.Second), LongPollingTimeout: durationpb.New(time.Second)})
		require.NoError(t, err)
		first, err = stream.Recv()
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, first.GetStatus().GetCode())
		route, err = raw.QueryRoute(sctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "%TRACE%"}, Endpoints: eps})
		require.NoError(t, err)
		require.Equal(t, v2.Code_ILLEGAL_TOPIC, route.GetStatus().GetCode())
	}
	a := call(t, http.MethodGet, url+"/v1/groups/spy", bootstrapKey, nil)
	require.Equal(t, http.StatusNotFound, a.status, "a refused receive created group spy: %s", a.body)

	// A key may ask the route of a dead-letter topic only if it may read it.
	_, _, err = client.New(url, client.WithAPIKey(bootstrapKey)).CreateGroup(ctx, client.GroupSpec{Name: "audit"})
	require.NoError(t, err)
	narrow := createKey(t, url, "narrow", perm("read", "topic:orders"))
	route, err := raw.QueryRoute(signCall(ctx, narrow, ""), &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "%DLQ%audit"}, Endpoints: eps})
	require.NoError(t, err)
	require.Equal(t, v2.Code_FORBIDDEN, route.GetStatus().GetCode())

	// The official Go client, signed with the wide key, names B's stored names.
	sdkQuietLogs(t)
	signed := func(k auth.KeyView, group string) *rmq.Config {
		return &rmq.Config{Endpoint: ep, ConsumerGroup: group,
			Credentials: &credentials.SessionCredentials{AccessKey: k.ID, AccessSecret: k.RocketMQSecret}}
	}
	p, err := rmq.NewProducer(signed(wide, ""), rmq.WithTopics("tenb%orders"))
	require.NoError(t, err)
	if err := p.Start(); err == nil {
		t.Cleanup(func() { _ = p.GracefulStop() })
		sendCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = p.Send(sendCtx, &rmq.Message{Topic: "tenb%orders", Body: []byte("planted by the SDK")})
		require.Error(t, err, "the SDK producer sent to tenant B's topic")
	}
	sc, err := rmq.NewSimpleConsumer(signed(wide, "tenb%billing"), rmq.WithSimpleAwaitDuration(time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{"tenb%orders": rmq.SUB_ALL}))
	require.NoError(t, err)
	if err := sc.Start(); err == nil {
		t.Cleanup(func() { _ = sc.GracefulStop() })
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		mvs, err := sc.Receive(rctx, 32, 30*time.Second)
		require.Error(t, err, "the SDK consumer received tenant B's messages: %d", len(mvs))
	}

	// B is untouched: one message stored, and its group still receives exactly it.
	qs, err := bc.Queues(ctx, "orders")
	require.NoError(t, err)
	total := int64(0)
	for _, q := range qs {
		total += q.MaxOffset
	}
	require.Equal(t, int64(1), total, "a message was planted in tenant B's topic")
	got, err := bc.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 2})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "B's secret", string(got[0].Body))
	gv := call(t, http.MethodGet, url+"/v1/groups/billing", bAdmin.Secret, nil)
	require.Equal(t, http.StatusOK, gv.status)
	require.NotContains(t, string(gv.body), "chats", "a refused lite sync subscribed B's group")
}

// sdkQuietLogs points the SDK's log files into a temp folder.
func sdkQuietLogs(t *testing.T) {
	sdkLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "floe-rmq-logs-")
		require.NoError(t, err)
		os.Setenv("rocketmq.client.logRoot", dir)
		os.Setenv("rocketmq.client.logLevel", "error")
		rmq.ResetLogger()
	})
}
