package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/services"
)

// folderConfig is a node with every role on a fresh database and a bucket folder: the
// operator's tools need no S3 feature, and the folder store spares MinIO.
func folderConfig(t *testing.T) services.Config {
	t.Helper()
	var cfg services.Config
	cfg.Roles = "all"
	cfg.Listen = "127.0.0.1:0"
	cfg.DatabaseURL = testenv.Database(t)
	cfg.Migrate = true
	cfg.ObjectStore = "folder"
	cfg.FolderDir = t.TempDir()
	cfg.Linger = 10 * time.Millisecond
	cfg.FlushBytes = 8 << 20
	cfg.MaxBufferedBytes = 64 << 20
	cfg.MaxUploads = 4
	cfg.CacheBytes = 64 << 20
	cfg.MinInvisible = time.Second
	return cfg
}

func opDecode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(a.body, &v), string(a.body))
	return v
}

func opCall(t *testing.T, want int, method, url string, in any) answer {
	t.Helper()
	a := call(t, method, url, "", in)
	require.Equal(t, want, a.status, "%s %s: %s", method, url, a.body)
	return a
}

// sendN sends n messages with bodies m0..m(n-1) and returns their ids.
func opSend(t *testing.T, base, topic string, n int, tag string) []string {
	t.Helper()
	var msgs []map[string]any
	for i := range n {
		msgs = append(msgs, map[string]any{"body": []byte(fmt.Sprintf("m%d", i)), "tag": tag, "keys": []string{fmt.Sprintf("k%d", i)},
			"properties": map[string]string{"i": fmt.Sprint(i)}})
	}
	res := opDecode[httpapi.SendResponse](t, opCall(t, 200, "POST", base+"/v1/topics/"+topic+"/messages", map[string]any{"messages": msgs}))
	ids := make([]string, len(res.Messages))
	for i, m := range res.Messages {
		ids[i] = m.MessageID
	}
	return ids
}

// receiveAll receives until n messages came or the deadline passed, and returns their ids
// with their receipt handles.
func opReceive(t *testing.T, base, group, topic string, n int, ack bool) map[string]string {
	t.Helper()
	got := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		a := opCall(t, 200, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/receive",
			map[string]any{"maxMessages": 32, "invisibleSeconds": 30, "waitSeconds": 1})
		r := opDecode[httpapi.ReceiveResponse](t, a)
		var handles []string
		for _, m := range r.Messages {
			got[m.MessageID] = m.ReceiptHandle
			handles = append(handles, m.ReceiptHandle)
		}
		if ack && len(handles) > 0 {
			opCall(t, 200, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/ack", map[string]any{"receiptHandles": handles})
		}
	}
	return got
}

func TestOperatePatchTopicAndGroup(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	base := "http://" + n.Addr()
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "orders", "queues": 2})
	opCall(t, 201, "POST", base+"/v1/groups", map[string]any{"name": "billing"})
	opCall(t, 201, "PUT", base+"/v1/groups/billing/subscriptions/orders", map[string]any{"filter": "*"})
	opSend(t, base, "orders", 4, "a")

	// Queues grow, retention and trace change; the topic keeps its messages.
	top := opDecode[httpapi.Topic](t, opCall(t, 200, "PATCH", base+"/v1/topics/orders", map[string]any{"queues": 4, "retentionHours": 5, "trace": false}))
	require.Equal(t, 4, top.Queues)
	require.Equal(t, 5, top.RetentionHours)
	require.False(t, top.Trace)
	qs := opDecode[struct{ Queues []httpapi.QueueInfo }](t, opCall(t, 200, "GET", base+"/v1/topics/orders/queues", nil))
	require.Len(t, qs.Queues, 4)
	var stored int64
	for _, q := range qs.Queues {
		stored += q.MaxOffset
	}
	require.EqualValues(t, 4, stored)

	// The group reads the new queues from their start: messages sent there after the
	// change all arrive (the ingest node's topic cache may still route to the old two).
	time.Sleep(2 * time.Second)
	ids := opSend(t, base, "orders", 16, "b")
	got := opReceive(t, base, "billing", "orders", 16, true)
	for _, id := range ids {
		require.Contains(t, got, id)
	}

	// Refused changes: fewer queues, a setting out of range, unknown names.
	a := opCall(t, 409, "PATCH", base+"/v1/topics/orders", map[string]any{"queues": 2})
	require.Equal(t, "CONFLICT", a.code())
	require.Contains(t, string(a.body), "queues can be added, not removed")
	a = opCall(t, 400, "PATCH", base+"/v1/topics/orders", map[string]any{"retentionHours": 0})
	require.Contains(t, string(a.body), "retentionHours")
	a = opCall(t, 409, "PATCH", base+"/v1/topics/orders", map[string]any{"liteTtlMinutes": 5})
	require.Equal(t, "CONFLICT", a.code())
	require.Equal(t, "TOPIC_NOT_FOUND", opCall(t, 404, "PATCH", base+"/v1/topics/nope", map[string]any{"trace": true}).code())
	require.Equal(t, "MALFORMED_JSON", opCall(t, 400, "PATCH", base+"/v1/topics/orders", map[string]any{"type": "FIFO"}).code())

	// Group settings change in place; the delivery order only with nothing in flight.
	g := opDecode[httpapi.Group](t, opCall(t, 200, "PATCH", base+"/v1/groups/billing",
		map[string]any{"maxDeliveryAttempts": 3, "retryPolicy": map[string]any{"backoffSeconds": []int{1, 2}}}))
	require.Equal(t, 3, g.MaxDeliveryAttempts)
	require.Equal(t, []int{1, 2}, g.RetryPolicy.BackoffSeconds)
	require.Len(t, g.Subscriptions, 1, "subscriptions stay")
	opSend(t, base, "orders", 1, "c")
	require.Len(t, opReceive(t, base, "billing", "orders", 1, false), 1)
	a = opCall(t, 409, "PATCH", base+"/v1/groups/billing", map[string]any{"deliveryOrder": "ORDERLY"})
	require.Contains(t, string(a.body), "in flight")
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "PATCH", base+"/v1/groups/billing", map[string]any{"maxDeliveryAttempts": 0}).code())
	require.Equal(t, "GROUP_NOT_FOUND", opCall(t, 404, "PATCH", base+"/v1/groups/nope", map[string]any{"maxDeliveryAttempts": 2}).code())
	// The lag shows the group's offsets survived every change: nothing ready but the one in flight.
	lag := opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/billing/lag", nil))
	require.EqualValues(t, 1, lag.Totals.Inflight)
	require.EqualValues(t, 0, lag.Totals.Ready)
}

func TestOperateOffsetTools(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	base := "http://" + n.Addr()
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "orders", "queues": 2})
	for _, g := range []string{"g1", "g2"} {
		opCall(t, 201, "POST", base+"/v1/groups", map[string]any{"name": g})
		opCall(t, 201, "PUT", base+"/v1/groups/"+g+"/subscriptions/orders", map[string]any{"filter": "*"})
	}
	before := time.Now()
	time.Sleep(20 * time.Millisecond)
	opSend(t, base, "orders", 10, "a")
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	opSend(t, base, "orders", 10, "b")

	// Offsets for a time: every queue's first offset at or after it.
	off := opDecode[httpapi.OffsetsForTimeResponse](t, opCall(t, 200, "GET", base+"/v1/topics/orders/offsets?time="+url.QueryEscape(mid.Format(time.RFC3339Nano)), nil))
	require.Len(t, off.Queues, 2)
	var sum int64
	for _, q := range off.Queues {
		sum += q.Offset
	}
	require.EqualValues(t, 10, sum, "10 messages were stored before mid")
	off = opDecode[httpapi.OffsetsForTimeResponse](t, opCall(t, 200, "GET", base+"/v1/topics/orders/offsets?time="+url.QueryEscape(before.Format(time.RFC3339Nano)), nil))
	for _, q := range off.Queues {
		require.Zero(t, q.Offset)
	}
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "GET", base+"/v1/topics/orders/offsets?time=yesterday", nil).code())
	require.Equal(t, "TOPIC_NOT_FOUND", opCall(t, 404, "GET", base+"/v1/topics/nope/offsets?time="+url.QueryEscape(mid.Format(time.RFC3339)), nil).code())

	// g1 consumes everything; g2 copies g1's offsets and has nothing left.
	require.Len(t, opReceive(t, base, "g1", "orders", 20, true), 20)
	moved := opDecode[httpapi.OffsetsResponse](t, opCall(t, 200, "POST", base+"/v1/groups/g2/copy-offsets/g1", nil))
	require.Len(t, moved.Queues, 2)
	lag := opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g2/lag", nil))
	require.EqualValues(t, 0, lag.Totals.Ready)
	require.Equal(t, "GROUP_NOT_FOUND", opCall(t, 404, "POST", base+"/v1/groups/g2/copy-offsets/nope", nil).code())
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "POST", base+"/v1/groups/g2/copy-offsets/g2", nil).code())

	// Reset one queue of g2 to its start: exactly that queue's messages come again.
	qs := opDecode[struct{ Queues []httpapi.QueueInfo }](t, opCall(t, 200, "GET", base+"/v1/topics/orders/queues", nil))
	q0 := qs.Queues[0]
	opCall(t, 200, "PUT", base+"/v1/groups/g2/topics/orders/queues/0/offset", map[string]any{"offset": 0})
	require.Len(t, opReceive(t, base, "g2", "orders", int(q0.MaxOffset), true), int(q0.MaxOffset))
	a := opCall(t, 400, "PUT", base+"/v1/groups/g2/topics/orders/queues/0/offset", map[string]any{"offset": q0.MaxOffset + 1})
	require.Contains(t, string(a.body), "offset must be within")
	require.Equal(t, "QUEUE_NOT_FOUND", opCall(t, 404, "PUT", base+"/v1/groups/g2/topics/orders/queues/9/offset", map[string]any{"offset": 0}).code())
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "PUT", base+"/v1/groups/g2/topics/orders/queues/0/offset", map[string]any{}).code())

	// Skip the backlog: new messages are skipped, the lag drops to zero.
	opSend(t, base, "orders", 6, "c")
	lag = opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g1/lag", nil))
	require.EqualValues(t, 6, lag.Totals.Ready)
	opCall(t, 200, "POST", base+"/v1/groups/g1/skip-backlog", map[string]any{"topic": "orders"})
	lag = opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g1/lag", nil))
	require.EqualValues(t, 0, lag.Totals.Ready)
	require.Equal(t, "SUBSCRIPTION_NOT_FOUND", func() string {
		opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "other"})
		return opCall(t, 404, "POST", base+"/v1/groups/g1/skip-backlog", map[string]any{"topic": "other"}).code()
	}())

	// Browse by time, newest first, in pages, with filters.
	var pages [][]domain.MessageView
	cursor := ""
	for {
		u := base + "/v1/topics/orders/browse?limit=7&from=" + url.QueryEscape(before.Format(time.RFC3339Nano))
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		r := opDecode[httpapi.BrowseResponse](t, opCall(t, 200, "GET", u, nil))
		pages = append(pages, r.Messages)
		if r.NextCursor == "" {
			break
		}
		cursor = r.NextCursor
	}
	seen := map[string]bool{}
	var all []domain.MessageView
	for _, p := range pages {
		require.LessOrEqual(t, len(p), 7)
		for _, m := range p {
			require.False(t, seen[m.MessageID], "message %s on two pages", m.MessageID)
			seen[m.MessageID] = true
			all = append(all, m)
		}
	}
	require.Len(t, all, 26)
	for i := 1; i < len(all); i++ {
		require.False(t, all[i].StoreTime.After(all[i-1].StoreTime), "newest first")
	}
	r := opDecode[httpapi.BrowseResponse](t, opCall(t, 200, "GET", base+"/v1/topics/orders/browse?order=oldest&tag=b&limit=100&from="+url.QueryEscape(before.Format(time.RFC3339Nano)), nil))
	require.Len(t, r.Messages, 10)
	require.Equal(t, "b", r.Messages[0].Tag)
	r = opDecode[httpapi.BrowseResponse](t, opCall(t, 200, "GET", base+"/v1/topics/orders/browse?key=k3&property=i%3D3&from="+url.QueryEscape(before.Format(time.RFC3339Nano)), nil))
	require.Len(t, r.Messages, 3, "k3 was sent in each of three batches")
	r = opDecode[httpapi.BrowseResponse](t, opCall(t, 200, "GET", base+"/v1/topics/orders/browse?from="+url.QueryEscape(before.Add(-time.Hour).Format(time.RFC3339))+"&to="+url.QueryEscape(before.Format(time.RFC3339Nano)), nil))
	require.Empty(t, r.Messages)
	for _, bad := range []string{"order=up", "limit=0", "limit=501", "from=x", "cursor=zz", "property=novalue"} {
		a := opCall(t, 400, "GET", base+"/v1/topics/orders/browse?"+bad, nil)
		require.Equal(t, "BAD_REQUEST", a.code(), bad)
	}
}

// deadLetters makes n dead letters of group g on topic: a group with one attempt whose
// messages are nacked.
func opDeadLetters(t *testing.T, base, topic, group string, n int) []string {
	t.Helper()
	ids := opSend(t, base, topic, n, "dl")
	got := opReceive(t, base, group, topic, n, false)
	var handles []string
	for _, h := range got {
		handles = append(handles, h)
	}
	opCall(t, 200, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/nack", map[string]any{"receiptHandles": handles})
	// The next receives move them to %DLQ%group.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		opCall(t, 200, "POST", base+"/v1/groups/"+group+"/topics/"+topic+"/receive", map[string]any{"maxMessages": 32, "waitSeconds": 0})
		qs := opDecode[struct{ Queues []httpapi.QueueInfo }](t, opCall(t, 200, "GET", base+"/v1/topics/%25DLQ%25"+group+"/queues", nil))
		if len(qs.Queues) == 1 && qs.Queues[0].MaxOffset-qs.Queues[0].MinOffset == int64(n) {
			return ids
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d messages did not reach the dead-letter topic", n)
	return nil
}

func opWaitTask(t *testing.T, base, group, id string, want string) httpapi.RedriveTask {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		task := opDecode[httpapi.RedriveTask](t, opCall(t, 200, "GET", base+"/v1/groups/"+group+"/dead-letters/redrive/"+id, nil))
		if task.State == want || time.Now().After(deadline) {
			require.Equal(t, want, task.State, "task %+v", task)
			return task
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOperateRedrive(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	base := "http://" + n.Addr()
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "orders", "queues": 2})
	opCall(t, 201, "POST", base+"/v1/groups", map[string]any{"name": "g", "maxDeliveryAttempts": 1})
	opCall(t, 201, "PUT", base+"/v1/groups/g/subscriptions/orders", map[string]any{"filter": "*"})

	// An empty dead-letter topic: a task that ended at once.
	task := opDecode[httpapi.RedriveTask](t, opCall(t, 202, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{}))
	require.Equal(t, "SUCCEEDED", task.State)
	require.Zero(t, task.Moved)
	require.Zero(t, task.Total)

	ids := opDeadLetters(t, base, "orders", "g", 5)

	// Bad input.
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"ratePerSecond": 0}).code())
	require.Equal(t, "BAD_REQUEST", opCall(t, 400, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"messageIds": []string{}}).code())
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "elsewhere"})
	a := opCall(t, 400, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"targetTopic": "elsewhere"})
	require.Contains(t, string(a.body), "targetTopic")
	require.Equal(t, "MESSAGE_NOT_FOUND", opCall(t, 404, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"messageIds": []string{"nope"}}).code())
	require.Equal(t, "GROUP_NOT_FOUND", opCall(t, 404, "POST", base+"/v1/groups/nope/dead-letters/redrive", map[string]any{}).code())
	require.Equal(t, "TASK_NOT_FOUND", opCall(t, 404, "GET", base+"/v1/groups/g/dead-letters/redrive/nope", nil).code())

	// One chosen message first: it comes back to the group, the others stay dead.
	task = opDecode[httpapi.RedriveTask](t, opCall(t, 202, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"messageIds": []string{ids[0], ids[0]}}))
	require.EqualValues(t, 1, task.Total)
	task = opWaitTask(t, base, "g", task.ID, "SUCCEEDED")
	require.EqualValues(t, 1, task.Moved)
	got := opReceive(t, base, "g", "orders", 1, true)
	require.Contains(t, got, ids[0])

	// Then all of them, at a bounded rate: 5 messages at 2/s take about two seconds.
	start := time.Now()
	task = opDecode[httpapi.RedriveTask](t, opCall(t, 202, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"ratePerSecond": 2}))
	require.Equal(t, "RUNNING", task.State)
	require.EqualValues(t, 5, task.Total)
	task = opWaitTask(t, base, "g", task.ID, "SUCCEEDED")
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "the rate bounds the task")
	require.EqualValues(t, 5, task.Moved)
	got = opReceive(t, base, "g", "orders", 5, true)
	for _, id := range ids {
		require.Contains(t, got, id)
	}
	// Moved out of the dead-letter topic, once each.
	qs := opDecode[struct{ Queues []httpapi.QueueInfo }](t, opCall(t, 200, "GET", base+"/v1/topics/%25DLQ%25g/queues", nil))
	require.Equal(t, qs.Queues[0].MaxOffset, qs.Queues[0].MinOffset)
	lag := opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g/lag", nil))
	require.EqualValues(t, 0, lag.Totals.Ready)
	tasks := opDecode[httpapi.RedriveTasksResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g/dead-letters/redrive", nil))
	require.Len(t, tasks.Tasks, 3)

	// The trace shows the redrive.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr := opDecode[struct{ Events []struct{ Type string } }](t, opCall(t, 200, "GET", base+"/v1/topics/orders/messages/"+ids[2]+"/trace", nil))
		var types []string
		for _, e := range tr.Events {
			types = append(types, e.Type)
		}
		if slices.Contains(types, "REDRIVEN") || time.Now().After(deadline) {
			require.Contains(t, types, "REDRIVEN")
			require.Contains(t, types, "DEAD_LETTERED")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestOperateRedriveSurvivesRestart stops the only node mid-task: a new node finishes the
// task, and every message arrives exactly once.
func TestOperateRedriveSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := folderConfig(t)
	n, err := services.StartNode(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	base := "http://" + n.Addr()
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "orders", "queues": 2})
	opCall(t, 201, "POST", base+"/v1/groups", map[string]any{"name": "g", "maxDeliveryAttempts": 1})
	opCall(t, 201, "PUT", base+"/v1/groups/g/subscriptions/orders", map[string]any{"filter": "*"})
	ids := opDeadLetters(t, base, "orders", "g", 8)
	task := opDecode[httpapi.RedriveTask](t, opCall(t, 202, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"ratePerSecond": 2}))
	time.Sleep(1500 * time.Millisecond)
	mid := opDecode[httpapi.RedriveTask](t, opCall(t, 200, "GET", base+"/v1/groups/g/dead-letters/redrive/"+task.ID, nil))
	require.Equal(t, "RUNNING", mid.State)
	require.Greater(t, mid.Moved, int64(0))
	opStop(t, n)

	n2, _ := startNode(t, cfg)
	base = "http://" + n2.Addr()
	task = opWaitTask(t, base, "g", task.ID, "SUCCEEDED")
	require.EqualValues(t, 8, task.Moved)
	qs := opDecode[struct{ Queues []httpapi.QueueInfo }](t, opCall(t, 200, "GET", base+"/v1/topics/orders/queues", nil))
	var stored int64
	for _, q := range qs.Queues {
		stored += q.MaxOffset
	}
	require.EqualValues(t, 16, stored, "8 sent and 8 redriven, none twice")
	got := opReceive(t, base, "g", "orders", 8, true)
	for _, id := range ids {
		require.Contains(t, got, id)
	}

	// Cancel: a slow task stops where it is.
	opDeadLetters(t, base, "orders", "g", 6)
	task = opDecode[httpapi.RedriveTask](t, opCall(t, 202, "POST", base+"/v1/groups/g/dead-letters/redrive", map[string]any{"ratePerSecond": 1}))
	time.Sleep(1200 * time.Millisecond)
	c := opDecode[httpapi.RedriveTask](t, opCall(t, 200, "POST", base+"/v1/groups/g/dead-letters/redrive/"+task.ID+"/cancel", nil))
	require.Equal(t, "CANCELLED", c.State)
	require.Less(t, c.Moved, int64(6))
	time.Sleep(1500 * time.Millisecond)
	again := opDecode[httpapi.RedriveTask](t, opCall(t, 200, "GET", base+"/v1/groups/g/dead-letters/redrive/"+task.ID, nil))
	require.Equal(t, c.Moved, again.Moved, "nothing moves after a cancel")
}

func opStop(t *testing.T, n *services.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
}

func TestOperateResend(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	base := "http://" + n.Addr()
	opCall(t, 201, "POST", base+"/v1/topics", map[string]any{"name": "orders", "queues": 2})
	opCall(t, 201, "POST", base+"/v1/groups", map[string]any{"name": "g"})
	opCall(t, 201, "PUT", base+"/v1/groups/g/subscriptions/orders", map[string]any{"filter": "*"})
	ids := opSend(t, base, "orders", 3, "a")
	got := opReceive(t, base, "g", "orders", 3, false)
	require.Len(t, got, 3)

	// In flight: refused; acked: resent once, delivered again, then done.
	a := opCall(t, 409, "POST", base+"/v1/groups/g/topics/orders/messages/"+ids[1]+"/resend", nil)
	require.Contains(t, string(a.body), "still pending")
	var handles []string
	for _, h := range got {
		handles = append(handles, h)
	}
	opCall(t, 200, "POST", base+"/v1/groups/g/topics/orders/ack", map[string]any{"receiptHandles": handles})
	r := opDecode[httpapi.ResendResponse](t, opCall(t, 202, "POST", base+"/v1/groups/g/topics/orders/messages/"+ids[1]+"/resend", nil))
	require.Equal(t, ids[1], r.MessageID)
	again := opDecode[httpapi.ReceiveResponse](t, opCall(t, 200, "POST", base+"/v1/groups/g/topics/orders/receive", map[string]any{"maxMessages": 10, "waitSeconds": 1}))
	require.Len(t, again.Messages, 1)
	require.Equal(t, ids[1], again.Messages[0].MessageID)
	require.Equal(t, 1, again.Messages[0].DeliveryAttempt)
	opCall(t, 200, "POST", base+"/v1/groups/g/topics/orders/ack", map[string]any{"receiptHandles": []string{again.Messages[0].ReceiptHandle}})
	lag := opDecode[domain.LagResponse](t, opCall(t, 200, "GET", base+"/v1/groups/g/lag", nil))
	require.EqualValues(t, 0, lag.Totals.Ready+lag.Totals.Inflight)

	// Not handed out yet, unknown message, unknown group.
	later := opSend(t, base, "orders", 1, "b")
	require.Equal(t, "CONFLICT", opCall(t, 409, "POST", base+"/v1/groups/g/topics/orders/messages/"+later[0]+"/resend", nil).code())
	require.Equal(t, "MESSAGE_NOT_FOUND", opCall(t, 404, "POST", base+"/v1/groups/g/topics/orders/messages/nope/resend", nil).code())
	require.Equal(t, "GROUP_NOT_FOUND", opCall(t, 404, "POST", base+"/v1/groups/nope/topics/orders/messages/"+ids[0]+"/resend", nil).code())
}

// TestOperateRedriveIntoFIFOAndLiteTopics redrives dead letters into the topics that route
// by message: a FIFO topic's message group keeps its queue, a LITE topic's lite topic its
// own queue, as when they were first sent.
func TestOperateRedriveIntoFIFOAndLiteTopics(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	c := client.New("http://" + n.Addr())
	ctx := context.Background()

	// deadLetters receives n messages, nacks them, and waits until the next receives moved
	// them to the group's dead-letter topic.
	deadLetters := func(group, topic string, n int) {
		t.Helper()
		var handles []string
		for deadline := time.Now().Add(20 * time.Second); len(handles) < n && time.Now().Before(deadline); {
			for _, m := range receive(t, c, group, topic, 32, 30, 1) {
				handles = append(handles, m.ReceiptHandle)
			}
		}
		require.Len(t, handles, n)
		_, err := c.Nack(ctx, group, topic, handles)
		require.NoError(t, err)
		for deadline := time.Now().Add(20 * time.Second); ; {
			require.Empty(t, receive(t, c, group, topic, 32, 30, 0))
			qs, err := c.Queues(ctx, "%DLQ%"+group)
			if err == nil && len(qs) == 1 && qs[0].MaxOffset-qs[0].MinOffset == int64(n) {
				return
			}
			require.True(t, time.Now().Before(deadline), "%d messages did not reach the dead-letter topic of %s", n, group)
			time.Sleep(100 * time.Millisecond)
		}
	}
	redrive := func(group string, want int64) {
		t.Helper()
		task, err := c.StartRedrive(ctx, group, client.RedriveSpec{RatePerSecond: 1000})
		require.NoError(t, err)
		for deadline := time.Now().Add(20 * time.Second); task.State == "RUNNING" && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			task, err = c.GetRedrive(ctx, group, task.ID)
			require.NoError(t, err)
		}
		require.Equal(t, "SUCCEEDED", task.State, "task %+v", task)
		require.Equal(t, want, task.Moved)
	}

	// FIFO: three message groups over four queues.
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "jobs", Type: client.TopicFIFO, Queues: 4})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "workers", MaxDeliveryAttempts: 1})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "workers", "jobs", client.SubscriptionSpec{Filter: "*"}))
	queueOf := map[string]int{}
	for _, mg := range []string{"a", "b", "c"} {
		var msgs []client.Message
		for i := range 3 {
			msgs = append(msgs, client.Message{Body: []byte(fmt.Sprint(mg, i)), MessageGroup: mg})
		}
		res, err := c.Send(ctx, "jobs", msgs)
		require.NoError(t, err)
		for _, r := range res {
			queueOf[r.MessageID] = r.QueueID
		}
	}
	deadLetters("workers", "jobs", 9)
	redrive("workers", 9)
	// Each message is now twice in the queue it was sent to (the send, the redrive), and
	// nowhere else.
	seen := map[string][]int{}
	for q := range 4 {
		views, err := c.ReadQueue(ctx, "jobs", q, 0, 100)
		require.NoError(t, err)
		for _, v := range views {
			seen[v.MessageID] = append(seen[v.MessageID], q)
		}
	}
	require.Len(t, seen, 9)
	for id, qs := range seen {
		require.Equal(t, []int{queueOf[id], queueOf[id]}, qs, "message %s", id)
	}
	got := map[string]bool{}
	for deadline := time.Now().Add(20 * time.Second); len(got) < 9 && time.Now().Before(deadline); {
		msgs := receive(t, c, "workers", "jobs", 32, 30, 1)
		for _, m := range msgs {
			got[m.MessageID] = true
		}
		ackAll(t, c, "workers", "jobs", msgs)
	}
	require.Len(t, got, 9, "every redriven message is delivered again")

	// LITE: each dead letter goes back to its own lite topic's queue.
	_, _, err = c.CreateTopic(ctx, client.TopicSpec{Name: "chats", Type: client.TopicLite, LiteTTLMinutes: 60})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "agents", MaxDeliveryAttempts: 1})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "agents", "chats", client.SubscriptionSpec{LiteTopics: []string{"u1", "u2"}}))
	for _, lite := range []string{"u1", "u2"} {
		_, err := c.Send(ctx, "chats", []client.Message{{Body: []byte(lite + "-0"), LiteTopic: lite}, {Body: []byte(lite + "-1"), LiteTopic: lite}})
		require.NoError(t, err)
	}
	deadLetters("agents", "chats", 4)
	redrive("agents", 4)
	for _, lite := range []string{"u1", "u2"} {
		views, err := c.ReadLiteQueue(ctx, "chats", lite, 0, 10)
		require.NoError(t, err)
		require.Len(t, views, 4, "lite topic %s: its two sends and their two redrives", lite)
		for _, v := range views {
			require.Equal(t, lite, v.LiteTopic)
		}
	}
	byLite := map[string]int{}
	for deadline := time.Now().Add(20 * time.Second); byLite["u1"]+byLite["u2"] < 4 && time.Now().Before(deadline); {
		msgs := receive(t, c, "agents", "chats", 32, 30, 1)
		for _, m := range msgs {
			byLite[m.LiteTopic]++
		}
		ackAll(t, c, "agents", "chats", msgs)
	}
	require.Equal(t, map[string]int{"u1": 2, "u2": 2}, byLite)
}
