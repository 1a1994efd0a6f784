package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

func TestSendAndReadOverHTTPOnMinIO(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	_, c := startNode(t, b.config("all"))
	ctx := context.Background()

	topic, created, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 4})
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, 4, topic.Queues)
	_, created, err = c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 4})
	require.NoError(t, err)
	require.False(t, created, "the same topic again is not created twice")
	_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicFIFO, Queues: 4})
	require.True(t, client.IsStatus(err, 409), "other settings conflict: %v", err)

	var sent []client.SendResult
	var bodies []string
	for i := 0; i < 5; i++ {
		var msgs []client.Message
		for j := 0; j < 20; j++ {
			body := fmt.Sprintf("order %d/%d", i, j)
			bodies = append(bodies, body)
			msgs = append(msgs, client.Message{Body: []byte(body), Tag: "created", Keys: []string{fmt.Sprint("order-", i*20+j)},
				Properties: map[string]string{"region": "eu"}})
		}
		res, err := c.Send(ctx, "orders", msgs)
		require.NoError(t, err)
		sent = append(sent, res...)
	}

	// Every acknowledged message is where its ack says, with its body.
	qs, err := c.Queues(ctx, "orders")
	require.NoError(t, err)
	var total int64
	for _, q := range qs {
		total += q.MaxOffset
		views, err := c.ReadQueue(ctx, "orders", q.QueueID, 0, 1000)
		require.NoError(t, err)
		require.Len(t, views, int(q.MaxOffset))
	}
	require.Equal(t, int64(len(sent)), total)
	for i, s := range sent {
		views, err := c.ReadQueue(ctx, "orders", s.QueueID, s.Offset, 1)
		require.NoError(t, err)
		require.Len(t, views, 1)
		v := views[0]
		require.Equal(t, s.MessageID, v.MessageID)
		require.Equal(t, bodies[i], string(v.Body))
		require.Equal(t, "created", v.Tag)
		require.Equal(t, map[string]string{"region": "eu"}, v.Properties)
		require.False(t, v.StoreTime.Before(v.BornTime))
	}
	byKey, err := c.MessagesByKey(ctx, "orders", "order-42")
	require.NoError(t, err)
	require.Len(t, byKey, 1)
	require.Equal(t, bodies[42], string(byKey[0].Body))
	one, err := c.GetMessage(ctx, "orders", sent[77].MessageID)
	require.NoError(t, err)
	require.Equal(t, bodies[77], string(one.Body))

	require.NoError(t, c.Readyz(ctx))
	metrics, err := c.Metrics(ctx)
	require.NoError(t, err)
	for _, name := range []string{"floe_objstore_requests_total", "floe_objstore_bytes_total", "floe_ingest_flushes_total",
		"floe_metadata_transactions_total", "floe_reader_cache_hits_total", "floe_reader_cache_misses_total",
		"floe_ingest_produce_duration_seconds", "floe_ingest_buffered_bytes"} {
		require.Contains(t, metrics, name)
	}
}

// Bad input gets a clear 4xx with the contract's error shape and stores nothing.
func TestBadRequestsGetClearErrorsAndStoreNothing(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	n, c := startNode(t, b.config("all"))
	ctx := context.Background()
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)
	base := "http://" + n.Addr()
	big := `{"messages":[{"body":"` + strings.Repeat("A", 70<<20) + `"}]}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/topics/orders/messages", `{"messages":[`, 400, "MALFORMED_JSON"},
		{"unknown field", "POST", "/v1/topics/orders/messages", `{"messages":[{"body":"aGk=","colour":"red"}]}`, 400, "MALFORMED_JSON"},
		{"bad base64", "POST", "/v1/topics/orders/messages", `{"messages":[{"body":"***"}]}`, 400, "MALFORMED_JSON"},
		{"trailing data", "POST", "/v1/topics/orders/messages", `{"messages":[{"body":"aGk="}]} {}`, 400, "MALFORMED_JSON"},
		{"empty body", "POST", "/v1/topics/orders/messages", ``, 400, "MALFORMED_JSON"},
		{"request too large", "POST", "/v1/topics/orders/messages", big, 413, "REQUEST_TOO_LARGE"},
		{"unknown topic", "POST", "/v1/topics/nope/messages", `{"messages":[{"body":"aGk="}]}`, 404, "TOPIC_NOT_FOUND"},
		{"bad topic name", "POST", "/v1/topics", `{"name":"a b","type":"NORMAL"}`, 400, "INVALID_NAME"},
		{"bad topic type", "POST", "/v1/topics", `{"name":"x","type":"WEIRD"}`, 400, "BAD_REQUEST"},
		{"too many queues", "POST", "/v1/topics", `{"name":"x","queues":100000}`, 400, "BAD_REQUEST"},
		{"unknown route", "GET", "/v1/nothing", ``, 404, "NOT_FOUND"},
		{"bad queue id", "GET", "/v1/topics/orders/queues/x/messages", ``, 400, "BAD_REQUEST"},
		{"missing key", "GET", "/v1/topics/orders/messages", ``, 400, "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, bytes.NewBufferString(tc.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			require.Equal(t, tc.status, resp.StatusCode, string(raw))
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(raw, &body), string(raw))
			require.Equal(t, tc.code, body.Error.Code, string(raw))
			require.NotEmpty(t, body.Error.Message)
		})
	}
	qs, err := c.Queues(ctx, "orders")
	require.NoError(t, err)
	for _, q := range qs {
		require.Zero(t, q.MaxOffset, "a rejected request must store nothing")
	}
	_, err = c.GetTopic(ctx, "x")
	require.True(t, client.IsStatus(err, 404), "no topic may be created by a rejected request")
}
