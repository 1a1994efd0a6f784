package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// Idempotent sends: concurrent retries of one deduplicationId on two ingest nodes store
// one message and all answer its result; a duplicate in a request with new messages is
// answered, the others stored; the ids survive a restart of an ingest node and lapse after
// the topic's window; bad ids are refused with nothing stored. It logs what the claims
// cost (the floe_metadata_transaction_duration_seconds of dedup_claim).
func TestDeduplicationAcrossIngestNodes(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	nodeA, a := startNode(t, b.config("ingest"))
	_, bc := startNode(t, b.config("ingest,reader"))
	ctx := context.Background()
	_, _, err := a.CreateTopic(ctx, client.TopicSpec{Name: "pay", Type: client.TopicNormal, Queues: 4, DeduplicationWindowSeconds: 4})
	require.NoError(t, err)
	_, _, err = a.CreateTopic(ctx, client.TopicSpec{Name: "later", Type: client.TopicDelay})
	require.NoError(t, err)
	top, err := bc.GetTopic(ctx, "pay")
	require.NoError(t, err)
	require.Equal(t, 4, top.DeduplicationWindowSeconds)

	stored := func() int64 {
		qs, err := bc.Queues(ctx, "pay")
		require.NoError(t, err)
		n := int64(0)
		for _, q := range qs {
			n += q.MaxOffset
		}
		return n
	}

	// Bad ids: 400, nothing stored.
	for _, msgs := range [][]client.Message{
		{{Body: []byte("x"), DeduplicationID: "has space"}},
		{{Body: []byte("x"), DeduplicationID: strings.Repeat("a", 129)}},
		{{Body: []byte("x"), DeduplicationID: "same"}, {Body: []byte("y"), DeduplicationID: "same"}},
	} {
		_, err := a.Send(ctx, "pay", msgs)
		require.True(t, client.IsCode(err, "BAD_REQUEST"), "%v", err)
		require.Contains(t, err.Error(), "deduplicationId")
	}
	_, err = a.Send(ctx, "later", []client.Message{{Body: []byte("x"), DeduplicationID: "d1", DeliveryTime: ptr(time.Now().Add(time.Minute))}})
	require.True(t, client.IsCode(err, "BAD_REQUEST"), "%v", err)
	require.Zero(t, stored())

	// Concurrent retries on both nodes: one message per id.
	const ids, retries = 6, 8
	for k := 0; k < ids; k++ {
		var wg sync.WaitGroup
		results := make([]client.SendResult, retries)
		errs := make([]error, retries)
		for r := 0; r < retries; r++ {
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				c := []*client.Client{a, bc}[r%2]
				res, err := c.Send(ctx, "pay", []client.Message{{Body: []byte(fmt.Sprintf("order-%d try %d", k, r)), DeduplicationID: fmt.Sprintf("order-%d", k)}})
				errs[r] = err
				if err == nil {
					results[r] = res[0]
				}
			}(r)
		}
		wg.Wait()
		firsts := 0
		for r := 0; r < retries; r++ {
			require.NoError(t, errs[r])
			require.Equal(t, results[0].MessageID, results[r].MessageID, "every retry answers the stored message")
			require.Equal(t, results[0].QueueID, results[r].QueueID)
			require.Equal(t, results[0].Offset, results[r].Offset)
			if !results[r].Duplicate {
				firsts++
			}
		}
		require.Equal(t, 1, firsts, "exactly one send stored order-%d", k)
	}
	require.EqualValues(t, ids, stored())

	// A request mixing a duplicate, a new id and no id: two stored, the duplicate answered.
	first, err := bc.GetMessage(ctx, "pay", mustSend(t, a, "order-0-again", "order-0").MessageID)
	require.NoError(t, err)
	res, err := bc.Send(ctx, "pay", []client.Message{
		{Body: []byte("fresh"), DeduplicationID: "order-new"},
		{Body: []byte("retry"), DeduplicationID: "order-0"},
		{Body: []byte("plain")},
	})
	require.NoError(t, err)
	require.False(t, res[0].Duplicate)
	require.True(t, res[1].Duplicate)
	require.Equal(t, first.MessageID, res[1].MessageID)
	require.False(t, res[2].Duplicate)
	require.EqualValues(t, ids+2, stored())
	v, err := bc.GetMessage(ctx, "pay", first.MessageID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(v.Body), "order-0 try "), "the first send's body stays")

	// The ids live in Postgres: a restarted ingest node still knows them.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	require.NoError(t, nodeA.Shutdown(sctx))
	cancel()
	_, a2 := startNode(t, b.config("ingest"))
	again := mustSend(t, a2, "after restart", "order-1")
	require.True(t, again.Duplicate)
	require.EqualValues(t, ids+2, stored())

	// Past the window (4 s), an id is new again.
	time.Sleep(4500 * time.Millisecond)
	late := mustSend(t, a2, "after the window", "order-1")
	require.False(t, late.Duplicate)
	require.NotEqual(t, again.MessageID, late.MessageID)
	require.EqualValues(t, ids+3, stored())

	claims := metricValue(t, bc, "floe_metadata_transaction_duration_seconds_count", `operation="dedup_claim"`)
	secs := metricValue(t, bc, "floe_metadata_transaction_duration_seconds_sum", `operation="dedup_claim"`)
	require.Positive(t, claims)
	t.Logf("dedup_claim on one node: %.0f transactions, %.2f ms each on average", claims, 1000*secs/claims)
}

// mustSend sends one message with a deduplication id and returns its result.
func mustSend(t *testing.T, c *client.Client, body, id string) client.SendResult {
	t.Helper()
	res, err := c.Send(context.Background(), "pay", []client.Message{{Body: []byte(body), DeduplicationID: id}})
	require.NoError(t, err)
	return res[0]
}
