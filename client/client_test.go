package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// exchange is one request the fake server expects and the answer it gives.
type exchange struct {
	method string
	// path is the escaped request path.
	path string
	// query is the expected query; nil expects none.
	query url.Values
	// reqBody is the expected JSON body; empty expects no body.
	reqBody string
	status  int
	// respBody is sent as is, with a JSON content type.
	respBody string
}

// fakeServer starts a server that asserts every request matches ex and answers it.
// Assertions in the handler use assert, since require must not stop the test from a
// goroutine other than the test's.
func fakeServer(t testing.TB, ex exchange, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, ex.method, r.Method, "method")
		assert.Equal(t, ex.path, r.URL.EscapedPath(), "path")
		if ex.query == nil {
			assert.Empty(t, r.URL.RawQuery, "query")
		} else {
			assert.Equal(t, ex.query, r.URL.Query(), "query")
		}
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		if ex.reqBody == "" {
			assert.Empty(t, body, "request body")
		} else {
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.JSONEq(t, ex.reqBody, string(body), "request body")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ex.status)
		_, _ = io.WriteString(w, ex.respBody)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL+"/", opts...) // a trailing slash must not double up
}

var (
	t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(1500 * time.Millisecond)
)

// viewJSON and view are the same message view, in JSON and decoded.
const viewJSON = `{"messageId":"m1","topic":"orders","queueId":3,"offset":17,"tag":"TagA",
	"keys":["order-1"],"properties":{"region":"eu"},"body":"aGVsbG8=","messageGroup":"user-7",
	"liteTopic":"chat-42","bornTime":"2026-11-25T10:00:00Z","storeTime":"2026-11-25T10:00:01.5Z"}`

var view = client.MessageView{
	MessageID: "m1", Topic: "orders", QueueID: 3, Offset: 17, Tag: "TagA",
	Keys: []string{"order-1"}, Properties: map[string]string{"region": "eu"},
	Body: []byte("hello"), MessageGroup: "user-7", LiteTopic: "chat-42",
	BornTime: t0, StoreTime: t1,
}

func TestMethods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type result struct {
		value any
		flag  bool
	}
	tests := []struct {
		name string
		ex   exchange
		call func(c *client.Client) (result, error)
		want result
	}{
		{
			name: "CreateTopic new",
			ex: exchange{method: "POST", path: "/v1/topics",
				reqBody:  `{"name":"orders","type":"NORMAL","queues":8,"retentionHours":72}`,
				status:   201,
				respBody: `{"name":"orders","type":"NORMAL","queues":8,"retentionHours":72}`},
			call: func(c *client.Client) (result, error) {
				topic, created, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 8, RetentionHours: 72})
				return result{topic, created}, err
			},
			want: result{client.Topic{Name: "orders", Type: client.TopicNormal, Queues: 8, RetentionHours: 72}, true},
		},
		{
			name: "CreateTopic existing lite",
			ex: exchange{method: "POST", path: "/v1/topics",
				reqBody:  `{"name":"chat","type":"LITE","liteTtlMinutes":30}`,
				status:   200,
				respBody: `{"name":"chat","type":"LITE","queues":1,"retentionHours":72,"liteTtlMinutes":30}`},
			call: func(c *client.Client) (result, error) {
				topic, created, err := c.CreateTopic(ctx, client.TopicSpec{Name: "chat", Type: client.TopicLite, LiteTTLMinutes: 30})
				return result{topic, created}, err
			},
			want: result{client.Topic{Name: "chat", Type: client.TopicLite, Queues: 1, RetentionHours: 72, LiteTTLMinutes: 30}, false},
		},
		{
			name: "GetTopic",
			ex: exchange{method: "GET", path: "/v1/topics/orders", status: 200,
				respBody: `{"name":"orders","type":"FIFO","queues":4,"retentionHours":24,"createdAt":"2026-11-25T10:00:00Z"}`},
			call: func(c *client.Client) (result, error) {
				topic, err := c.GetTopic(ctx, "orders")
				return result{value: topic}, err
			},
			want: result{value: client.Topic{Name: "orders", Type: client.TopicFIFO, Queues: 4, RetentionHours: 24, CreatedAt: t0}},
		},
		{
			name: "GetTopic escapes a system topic",
			ex: exchange{method: "GET", path: "/v1/topics/%25DLQ%25billing", status: 200,
				respBody: `{"name":"%DLQ%billing","type":"NORMAL","queues":1,"retentionHours":72}`},
			call: func(c *client.Client) (result, error) {
				topic, err := c.GetTopic(ctx, "%DLQ%billing")
				return result{value: topic}, err
			},
			want: result{value: client.Topic{Name: "%DLQ%billing", Type: client.TopicNormal, Queues: 1, RetentionHours: 72}},
		},
		{
			name: "ListTopics",
			ex: exchange{method: "GET", path: "/v1/topics", status: 200,
				respBody: `{"topics":[{"name":"a","type":"NORMAL","queues":1,"retentionHours":1},
					{"name":"b","type":"DELAY","queues":2,"retentionHours":2}]}`},
			call: func(c *client.Client) (result, error) {
				topics, err := c.ListTopics(ctx)
				return result{value: topics}, err
			},
			want: result{value: []client.Topic{
				{Name: "a", Type: client.TopicNormal, Queues: 1, RetentionHours: 1},
				{Name: "b", Type: client.TopicDelay, Queues: 2, RetentionHours: 2},
			}},
		},
		{
			name: "DeleteTopic",
			ex:   exchange{method: "DELETE", path: "/v1/topics/orders", status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.DeleteTopic(ctx, "orders")
			},
		},
		{
			name: "Queues",
			ex: exchange{method: "GET", path: "/v1/topics/orders/queues", status: 200,
				respBody: `{"queues":[{"queueId":0,"minOffset":0,"maxOffset":120},{"queueId":1,"liteTopic":"chat-42","minOffset":5,"maxOffset":7}]}`},
			call: func(c *client.Client) (result, error) {
				queues, err := c.Queues(ctx, "orders")
				return result{value: queues}, err
			},
			want: result{value: []client.QueueInfo{{QueueID: 0, MinOffset: 0, MaxOffset: 120}, {QueueID: 1, LiteTopic: "chat-42", MinOffset: 5, MaxOffset: 7}}},
		},
		{
			name: "Send",
			ex: exchange{method: "POST", path: "/v1/topics/orders/messages",
				reqBody: `{"messages":[
					{"body":"aGVsbG8=","tag":"TagA","keys":["order-1"],"properties":{"region":"eu"},
					 "messageGroup":"user-7","deliveryTime":"2026-11-25T10:00:00Z","liteTopic":"chat-42"},
					{"body":"AAE="}]}`,
				status: 200,
				respBody: `{"messages":[{"messageId":"m1","deliveryTime":"2026-11-25T10:00:00Z"},
					{"messageId":"m2","queueId":3,"offset":17}]}`},
			call: func(c *client.Client) (result, error) {
				results, err := c.Send(ctx, "orders", []client.Message{
					{Body: []byte("hello"), Tag: "TagA", Keys: []string{"order-1"}, Properties: map[string]string{"region": "eu"},
						MessageGroup: "user-7", DeliveryTime: &t0, LiteTopic: "chat-42"},
					{Body: []byte{0, 1}},
				})
				return result{value: results}, err
			},
			want: result{value: []client.SendResult{
				{MessageID: "m1", DeliveryTime: &t0},
				{MessageID: "m2", QueueID: 3, Offset: 17},
			}},
		},
		{
			name: "SendTransaction",
			ex: exchange{method: "POST", path: "/v1/topics/payments/transactions",
				reqBody:  `{"producerGroup":"pg","messages":[{"body":"aGVsbG8="}]}`,
				status:   200,
				respBody: `{"transactionId":"tx1","messages":[{"messageId":"m1"}]}`},
			call: func(c *client.Client) (result, error) {
				res, err := c.SendTransaction(ctx, "payments", "pg", []client.Message{{Body: []byte("hello")}})
				return result{value: res}, err
			},
			want: result{value: client.TransactionResult{TransactionID: "tx1", Messages: []client.HalfMessage{{MessageID: "m1"}}}},
		},
		{
			name: "Commit",
			ex:   exchange{method: "POST", path: "/v1/transactions/tx1/commit", status: 200, respBody: `{"status":"COMMITTED"}`},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Commit(ctx, "tx1")
			},
		},
		{
			name: "Rollback",
			ex:   exchange{method: "POST", path: "/v1/transactions/tx1/rollback", status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Rollback(ctx, "tx1")
			},
		},
		{
			name: "TransactionChecks",
			ex: exchange{method: "GET", path: "/v1/producer-groups/pg/transaction-checks",
				query: url.Values{"waitSeconds": {"10"}}, status: 200,
				respBody: `{"checks":[{"transactionId":"tx1","topic":"orders","messages":[` + viewJSON + `]}]}`},
			call: func(c *client.Client) (result, error) {
				checks, err := c.TransactionChecks(ctx, "pg", 10*time.Second)
				return result{value: checks}, err
			},
			want: result{value: []client.TransactionCheck{{TransactionID: "tx1", Topic: "orders", Messages: []client.MessageView{view}}}},
		},
		{
			name: "CreateGroup full",
			ex: exchange{method: "POST", path: "/v1/groups",
				reqBody: `{"name":"billing","deliveryOrder":"CONCURRENT","maxDeliveryAttempts":16,
					"retryPolicy":{"backoffSeconds":[10,30,60]}}`,
				status: 201,
				respBody: `{"name":"billing","deliveryOrder":"CONCURRENT","maxDeliveryAttempts":16,
					"retryPolicy":{"backoffSeconds":[10,30,60]}}`},
			call: func(c *client.Client) (result, error) {
				group, created, err := c.CreateGroup(ctx, client.GroupSpec{Name: "billing", DeliveryOrder: client.Concurrent,
					MaxDeliveryAttempts: 16, RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{10, 30, 60}}})
				return result{group, created}, err
			},
			want: result{client.Group{Name: "billing", DeliveryOrder: client.Concurrent, MaxDeliveryAttempts: 16,
				RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{10, 30, 60}}}, true},
		},
		{
			name: "CreateGroup defaults leave fields out",
			ex: exchange{method: "POST", path: "/v1/groups", reqBody: `{"name":"audit"}`, status: 200,
				respBody: `{"name":"audit","deliveryOrder":"CONCURRENT","maxDeliveryAttempts":16,"retryPolicy":{"backoffSeconds":[10,7200]}}`},
			call: func(c *client.Client) (result, error) {
				group, created, err := c.CreateGroup(ctx, client.GroupSpec{Name: "audit"})
				return result{group, created}, err
			},
			want: result{client.Group{Name: "audit", DeliveryOrder: client.Concurrent, MaxDeliveryAttempts: 16,
				RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{10, 7200}}}, false},
		},
		{
			name: "GetGroup",
			ex: exchange{method: "GET", path: "/v1/groups/billing", status: 200,
				respBody: `{"name":"billing","deliveryOrder":"ORDERLY","maxDeliveryAttempts":3,"retryPolicy":{"backoffSeconds":[1]},
					"subscriptions":[{"topic":"orders","filter":"TagA || TagB"},{"topic":"chat","liteTopics":["c1"]}],
					"createdAt":"2026-11-25T10:00:01.5Z"}`},
			call: func(c *client.Client) (result, error) {
				group, err := c.GetGroup(ctx, "billing")
				return result{value: group}, err
			},
			want: result{value: client.Group{Name: "billing", DeliveryOrder: client.Orderly, MaxDeliveryAttempts: 3,
				RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{1}},
				Subscriptions: []client.Subscription{
					{Topic: "orders", Filter: "TagA || TagB"},
					{Topic: "chat", LiteTopics: []string{"c1"}},
				},
				CreatedAt: t1}},
		},
		{
			name: "DeleteGroup",
			ex:   exchange{method: "DELETE", path: "/v1/groups/billing", status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.DeleteGroup(ctx, "billing")
			},
		},
		{
			name: "Subscribe filter",
			ex: exchange{method: "PUT", path: "/v1/groups/billing/subscriptions/orders",
				reqBody: `{"filter":"TagA || TagB"}`, status: 200, respBody: `{"topic":"orders","filter":"TagA || TagB"}`},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Subscribe(ctx, "billing", "orders", client.SubscriptionSpec{Filter: "TagA || TagB"})
			},
		},
		{
			name: "Subscribe lite topics",
			ex: exchange{method: "PUT", path: "/v1/groups/billing/subscriptions/chat",
				reqBody: `{"liteTopics":["chat-42","chat-43"]}`, status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Subscribe(ctx, "billing", "chat", client.SubscriptionSpec{LiteTopics: []string{"chat-42", "chat-43"}})
			},
		},
		{
			name: "UpdateLiteSubscription",
			ex: exchange{method: "PATCH", path: "/v1/groups/billing/subscriptions/chat",
				reqBody: `{"addLiteTopics":["chat-44"],"removeLiteTopics":["chat-42"]}`, status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.UpdateLiteSubscription(ctx, "billing", "chat", []string{"chat-44"}, []string{"chat-42"})
			},
		},
		{
			name: "Unsubscribe",
			ex:   exchange{method: "DELETE", path: "/v1/groups/billing/subscriptions/orders", status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Unsubscribe(ctx, "billing", "orders")
			},
		},
		{
			name: "Receive",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/receive",
				reqBody: `{"maxMessages":32,"invisibleSeconds":30,"waitSeconds":10}`, status: 200,
				respBody: `{"messages":[` + strings.TrimSuffix(viewJSON, "}") + `,"deliveryAttempt":2,"receiptHandle":"h1"}]}`},
			call: func(c *client.Client) (result, error) {
				msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 10})
				return result{value: msgs}, err
			},
			want: result{value: []client.ReceivedMessage{{MessageView: view, DeliveryAttempt: 2, ReceiptHandle: "h1"}}},
		},
		{
			name: "Receive empty",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/receive",
				reqBody: `{"maxMessages":1}`, status: 200, respBody: `{"messages":[]}`},
			call: func(c *client.Client) (result, error) {
				msgs, err := c.Receive(ctx, "billing", "orders", client.ReceiveRequest{MaxMessages: 1})
				return result{value: msgs}, err
			},
			want: result{value: []client.ReceivedMessage{}},
		},
		{
			name: "Ack",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/ack",
				reqBody: `{"receiptHandles":["h1","h2","h3"]}`, status: 200,
				respBody: `{"results":[{"receiptHandle":"h1","status":"OK"},{"receiptHandle":"h2","status":"EXPIRED"},
					{"receiptHandle":"h3","status":"INVALID"}]}`},
			call: func(c *client.Client) (result, error) {
				res, err := c.Ack(ctx, "billing", "orders", []string{"h1", "h2", "h3"})
				return result{value: res}, err
			},
			want: result{value: []client.AckResult{
				{ReceiptHandle: "h1", Status: client.AckOK},
				{ReceiptHandle: "h2", Status: client.AckExpired},
				{ReceiptHandle: "h3", Status: client.AckInvalid},
			}},
		},
		{
			name: "Nack with results",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/nack",
				reqBody: `{"receiptHandles":["h1"]}`, status: 200,
				respBody: `{"results":[{"receiptHandle":"h1","status":"OK"}]}`},
			call: func(c *client.Client) (result, error) {
				res, err := c.Nack(ctx, "billing", "orders", []string{"h1"})
				return result{value: res}, err
			},
			want: result{value: []client.AckResult{{ReceiptHandle: "h1", Status: client.AckOK}}},
		},
		{
			name: "Nack without body",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/nack",
				reqBody: `{"receiptHandles":["h1"]}`, status: 204},
			call: func(c *client.Client) (result, error) {
				res, err := c.Nack(ctx, "billing", "orders", []string{"h1"})
				return result{value: res}, err
			},
			want: result{value: []client.AckResult(nil)},
		},
		{
			name: "ChangeInvisible",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/change-invisible",
				reqBody: `{"receiptHandle":"h1","invisibleSeconds":60}`, status: 200, respBody: `{"receiptHandle":"h2"}`},
			call: func(c *client.Client) (result, error) {
				handle, err := c.ChangeInvisible(ctx, "billing", "orders", "h1", 60)
				return result{value: handle}, err
			},
			want: result{value: "h2"},
		},
		{
			name: "Reset",
			ex: exchange{method: "POST", path: "/v1/groups/billing/topics/orders/reset",
				reqBody: `{"timestamp":"2026-11-25T10:00:01.5Z"}`, status: 204},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Reset(ctx, "billing", "orders", t1)
			},
		},
		{
			name: "Lag",
			ex: exchange{method: "GET", path: "/v1/groups/billing/lag", status: 200,
				respBody: `{"group":"billing","topics":[{"topic":"orders","queues":[
					{"queueId":0,"maxOffset":120,"consumedOffset":100,"inflight":5,"ready":15,"oldestUnackedAge":12.5},
					{"queueId":1,"liteTopic":"chat-42","maxOffset":3,"consumedOffset":3,"inflight":0,"ready":0,"oldestUnackedAge":0}],
					"lag":20,"inflight":5,"ready":15,"oldestUnackedAge":12.5}],
					"totals":{"lag":20,"inflight":5,"ready":15,"oldestUnackedAge":12.5}}`},
			call: func(c *client.Client) (result, error) {
				lag, err := c.Lag(ctx, "billing")
				return result{value: lag}, err
			},
			want: result{value: client.Lag{
				Group: "billing",
				Topics: []client.TopicLag{{
					Topic: "orders",
					Queues: []client.QueueLag{
						{QueueID: 0, MaxOffset: 120, ConsumedOffset: 100, Inflight: 5, Ready: 15, OldestUnackedAge: 12.5},
						{QueueID: 1, LiteTopic: "chat-42", MaxOffset: 3, ConsumedOffset: 3},
					},
					LagTotals: client.LagTotals{Lag: 20, Inflight: 5, Ready: 15, OldestUnackedAge: 12.5},
				}},
				Totals: client.LagTotals{Lag: 20, Inflight: 5, Ready: 15, OldestUnackedAge: 12.5},
			}},
		},
		{
			name: "ReadQueue",
			ex: exchange{method: "GET", path: "/v1/topics/orders/queues/3/messages",
				query: url.Values{"offset": {"17"}, "limit": {"100"}}, status: 200,
				respBody: `{"messages":[` + viewJSON + `]}`},
			call: func(c *client.Client) (result, error) {
				msgs, err := c.ReadQueue(ctx, "orders", 3, 17, 100)
				return result{value: msgs}, err
			},
			want: result{value: []client.MessageView{view}},
		},
		{
			name: "ReadQueue default limit",
			ex: exchange{method: "GET", path: "/v1/topics/orders/queues/0/messages",
				query: url.Values{"offset": {"0"}}, status: 200, respBody: `{"messages":[]}`},
			call: func(c *client.Client) (result, error) {
				msgs, err := c.ReadQueue(ctx, "orders", 0, 0, 0)
				return result{value: msgs}, err
			},
			want: result{value: []client.MessageView{}},
		},
		{
			name: "GetMessage",
			ex: exchange{method: "GET", path: "/v1/topics/orders/messages/m1", status: 200,
				respBody: strings.TrimSuffix(viewJSON, "}") + `,"deliveryTime":"2026-11-25T10:00:00Z"}`},
			call: func(c *client.Client) (result, error) {
				msg, err := c.GetMessage(ctx, "orders", "m1")
				return result{value: msg}, err
			},
			want: result{value: func() client.MessageView { v := view; v.DeliveryTime = &t0; return v }()},
		},
		{
			name: "MessagesByKey",
			ex: exchange{method: "GET", path: "/v1/topics/orders/messages",
				query: url.Values{"key": {"order 1&2"}}, status: 200, respBody: `{"messages":[` + viewJSON + `]}`},
			call: func(c *client.Client) (result, error) {
				msgs, err := c.MessagesByKey(ctx, "orders", "order 1&2")
				return result{value: msgs}, err
			},
			want: result{value: []client.MessageView{view}},
		},
		{
			name: "Trace",
			ex: exchange{method: "GET", path: "/v1/topics/orders/messages/m1/trace", status: 200,
				respBody: `{"events":[{"type":"PRODUCED","time":"2026-11-25T10:00:00Z"},
					{"type":"DELIVERED","time":"2026-11-25T10:00:01.5Z","group":"billing","deliveryAttempt":1}]}`},
			call: func(c *client.Client) (result, error) {
				events, err := c.Trace(ctx, "orders", "m1")
				return result{value: events}, err
			},
			want: result{value: []client.TraceEvent{
				{Type: client.TraceProduced, Time: t0},
				{Type: client.TraceDelivered, Time: t1, Attributes: map[string]json.RawMessage{
					"group": json.RawMessage(`"billing"`), "deliveryAttempt": json.RawMessage(`1`),
				}},
			}},
		},
		{
			name: "Healthz",
			ex:   exchange{method: "GET", path: "/healthz", status: 200, respBody: "ok"},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Healthz(ctx)
			},
		},
		{
			name: "Readyz",
			ex:   exchange{method: "GET", path: "/readyz", status: 200, respBody: `{"status":"ready"}`},
			call: func(c *client.Client) (result, error) {
				return result{}, c.Readyz(ctx)
			},
		},
		{
			name: "Metrics",
			ex: exchange{method: "GET", path: "/metrics", status: 200,
				respBody: "# TYPE floe_ingest_flushes_total counter\nfloe_ingest_flushes_total 3\n"},
			call: func(c *client.Client) (result, error) {
				text, err := c.Metrics(ctx)
				return result{value: text}, err
			},
			want: result{value: "# TYPE floe_ingest_flushes_total counter\nfloe_ingest_flushes_total 3\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeServer(t, tt.ex)
			got, err := tt.call(c)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		respBody string
		want     client.APIError
	}{
		{
			name:     "contract envelope",
			status:   404,
			respBody: `{"error":{"code":"TOPIC_NOT_FOUND","message":"topic orders does not exist"}}`,
			want:     client.APIError{Status: 404, Code: "TOPIC_NOT_FOUND", Message: "topic orders does not exist"},
		},
		{
			name:     "plain text",
			status:   502,
			respBody: "bad gateway\n",
			want:     client.APIError{Status: 502, Code: "HTTP_502", Message: "bad gateway"},
		},
		{
			name:     "other JSON",
			status:   500,
			respBody: `{"message":"boom"}`,
			want:     client.APIError{Status: 500, Code: "HTTP_500", Message: `{"message":"boom"}`},
		},
		{
			name:   "empty body",
			status: 503,
			want:   client.APIError{Status: 503, Code: "HTTP_503", Message: "Service Unavailable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeServer(t, exchange{method: "GET", path: "/v1/topics/orders", status: tt.status, respBody: tt.respBody})
			_, err := c.GetTopic(context.Background(), "orders")
			require.Error(t, err)
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tt.want, *apiErr)
			require.True(t, client.IsCode(err, tt.want.Code))
			require.False(t, client.IsCode(err, "SOMETHING_ELSE"))
			require.True(t, client.IsStatus(err, tt.status))
			require.Contains(t, err.Error(), "getting topic orders")
		})
	}
}

func TestAPIErrorTemporary(t *testing.T) {
	t.Parallel()
	require.True(t, (&client.APIError{Status: 429}).Temporary())
	require.False(t, (&client.APIError{Status: 429, Code: "QUOTA_EXCEEDED"}).Temporary(), "waiting frees no quota")
	require.True(t, (&client.APIError{Status: 503}).Temporary())
	require.False(t, (&client.APIError{Status: 500}).Temporary())
	require.False(t, (&client.APIError{Status: 409}).Temporary())
}

func TestIsCodeOnOtherErrors(t *testing.T) {
	t.Parallel()
	require.False(t, client.IsCode(nil, "X"))
	require.False(t, client.IsCode(errors.New("X"), "X"))
}

func TestTransportErrorIsWrapped(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens any more

	_, err := client.New(addr).ListTopics(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "listing topics")
	var apiErr *client.APIError
	require.False(t, errors.As(err, &apiErr))
	var urlErr *url.Error
	require.ErrorAs(t, err, &urlErr)
}

func TestContextCancelStopsLongPoll(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.New(srv.URL).Receive(ctx, "g", "t", client.ReceiveRequest{WaitSeconds: 30})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)

	require.NoError(t, client.New(srv.URL, client.WithAPIKey("s3cret")).Healthz(context.Background()))
	require.Equal(t, "Bearer s3cret", got.Load())

	require.NoError(t, client.New(srv.URL).Healthz(context.Background()))
	require.Equal(t, "", got.Load())
}

// countingTransport counts the requests it forwards.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	return ct.next.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	t.Parallel()
	ct := &countingTransport{next: http.DefaultTransport}
	c := fakeServer(t, exchange{method: "GET", path: "/healthz", status: 200}, client.WithHTTPClient(&http.Client{Transport: ct}))
	require.NoError(t, c.Healthz(context.Background()))
	require.NoError(t, c.Healthz(context.Background()))
	require.Equal(t, int64(2), ct.n.Load())
}

// TestConnectionsAreReused checks that bodies are drained and closed: answers the client
// does not read (an unused body, an error, trailing bytes after the JSON) still leave the
// connection reusable, so sequential calls use one connection.
func TestConnectionsAreReused(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/transactions/tx/commit":
			_, _ = io.WriteString(w, `{"status":"COMMITTED","padding":"`+strings.Repeat("x", 100<<10)+`"}`)
		case "/v1/topics/missing":
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"code":"TOPIC_NOT_FOUND","message":"no"}}`)
		default:
			_, _ = io.WriteString(w, `{"topics":[]}`+"\n"+strings.Repeat(" ", 10<<10))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c := client.New(srv.URL)
	ctx := context.Background()
	for range 5 {
		require.NoError(t, c.Commit(ctx, "tx"))
		_, err := c.GetTopic(ctx, "missing")
		require.True(t, client.IsCode(err, "TOPIC_NOT_FOUND"))
		_, err = c.ListTopics(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), conns.Load())
}

func TestTraceEventRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"type":"ACKED","time":"2026-11-25T10:00:00Z","group":"billing","node":"reader-1"}`
	var ev client.TraceEvent
	require.NoError(t, json.Unmarshal([]byte(in), &ev))
	require.Equal(t, client.TraceAcked, ev.Type)
	require.Equal(t, t0, ev.Time)
	require.Len(t, ev.Attributes, 2)
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, in, string(out))
}
