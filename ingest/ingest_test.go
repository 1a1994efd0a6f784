package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

// flakyBucket wraps a bucket: it counts PUTs, can fail them, and can hold them.
type flakyBucket struct {
	objstore.Bucket
	puts    atomic.Int64
	failing atomic.Bool
	hold    chan struct{} // when non-nil, Put waits for it to close
}

func (b *flakyBucket) Put(ctx context.Context, key string, data []byte) error {
	b.puts.Add(1)
	if h := b.hold; h != nil {
		select {
		case <-h:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if b.failing.Load() {
		return errors.New("injected: bucket unavailable")
	}
	return b.Bucket.Put(ctx, key, data)
}

type env struct {
	store  *metadata.Store
	bucket *flakyBucket
	svc    *ingest.Service
	reg    *prometheus.Registry
}

func newEnv(t *testing.T, cfg ingest.Config, hold chan struct{}) *env {
	t.Helper()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	store := testenv.Store(t, metadata.Config{}, reg)
	folder, err := objstore.NewFolder(t.TempDir())
	require.NoError(t, err)
	b := &flakyBucket{Bucket: folder, hold: hold}
	svc, err := ingest.New(cfg, store, b, reg)
	require.NoError(t, err)
	svc.Start()
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	for _, tt := range []metadata.Topic{
		{Name: "normal", Type: metadata.TopicNormal, Queues: 4, RetentionHours: 1},
		{Name: "fifo", Type: metadata.TopicFIFO, Queues: 4, RetentionHours: 1},
		{Name: "delay", Type: metadata.TopicDelay, Queues: 1, RetentionHours: 1},
		{Name: "tx", Type: metadata.TopicTransaction, Queues: 1, RetentionHours: 1},
		{Name: "lite", Type: metadata.TopicLite, Queues: 1, RetentionHours: 1},
	} {
		_, _, err := store.TopicCreate(ctx, tt)
		require.NoError(t, err)
	}
	return &env{store: store, bucket: b, svc: svc, reg: reg}
}

func msg(body string) domain.Message { return domain.Message{Body: []byte(body)} }

// readAll decodes every committed message of a queue straight from the bucket, by the index.
func (e *env) readAll(t *testing.T, topic string, queueID int) []segment.Record {
	t.Helper()
	ctx := context.Background()
	q, err := e.store.QueueGet(ctx, topic, queueID)
	require.NoError(t, err)
	chunks, err := e.store.ChunksFrom(ctx, q.Ref, 0, 100000)
	require.NoError(t, err)
	var out []segment.Record
	for _, c := range chunks {
		require.Equal(t, int64(len(out)), c.FirstOffset, "index rows must be contiguous")
		b, err := e.bucket.GetRange(ctx, c.ObjectKey, c.ByteOffset, c.ByteLength)
		require.NoError(t, err)
		recs, err := segment.DecodeChunk(b)
		require.NoError(t, err)
		require.Len(t, recs, c.Count)
		out = append(out, recs...)
	}
	require.Equal(t, q.NextOffset, int64(len(out)))
	return out
}

func (e *env) totalStored(t *testing.T) int64 {
	t.Helper()
	var n int64
	for _, topic := range []string{"normal", "fifo", "delay", "tx", "lite"} {
		qs, err := e.store.QueueList(context.Background(), topic)
		require.NoError(t, err)
		for _, q := range qs {
			n += q.NextOffset
		}
	}
	return n
}

func TestProduceAcksWithOffsetsThatHoldTheMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 20 * time.Millisecond}, nil)
	ctx := context.Background()
	res, err := e.svc.Produce(ctx, "normal", []domain.Message{
		{Body: []byte("a"), Tag: "TagA", Keys: []string{"k1"}, Properties: map[string]string{"p": "v"}},
		msg("b"), msg("c"),
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	for _, r := range res {
		require.NotEmpty(t, r.MessageID)
		recs := e.readAll(t, "normal", *r.QueueID)
		require.Less(t, *r.Offset, int64(len(recs)))
		require.Equal(t, r.MessageID, recs[*r.Offset].MessageID)
	}
	first := e.readAll(t, "normal", *res[0].QueueID)[*res[0].Offset]
	require.Equal(t, "a", string(first.Body))
	require.Equal(t, "TagA", first.Tag)
	require.Equal(t, []string{"k1"}, first.Keys)
	require.Equal(t, map[string]string{"p": "v"}, first.Properties)
	require.False(t, first.StoreTime.IsZero())
}

// The cost invariant: one PUT and one Postgres commit per flush, however many senders.
func TestOnePutAndOneCommitPerFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 200 * time.Millisecond}, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.svc.Produce(ctx, "normal", []domain.Message{msg(fmt.Sprint("m", i))})
			require.NoError(t, err)
		}(i)
	}
	wg.Wait()
	flushes := 0.0
	for _, reason := range []string{"size", "linger", "shutdown"} {
		flushes += testenv.MetricSum(t, e.reg, "floe_ingest_flushes_total", reason)
	}
	commits := testenv.MetricSum(t, e.reg, "floe_metadata_transactions_total", "segment_commit", "ok")
	require.GreaterOrEqual(t, flushes, 1.0)
	require.LessOrEqual(t, flushes, 3.0, "100 sends inside one linger window should take very few flushes")
	require.Equal(t, flushes, float64(e.bucket.puts.Load()), "one PUT per flush")
	require.Equal(t, flushes, commits, "one commit per flush")
	require.Equal(t, int64(100), e.totalStored(t))
}

func TestFlushBySize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: time.Hour, FlushBytes: 1000}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: make([]byte, 1000)}})
	require.NoError(t, err, "a batch at FlushBytes must flush without waiting for the linger")
	require.Len(t, res, 1)
	require.Equal(t, 1.0, testenv.MetricSum(t, e.reg, "floe_ingest_flushes_total", "size"))
}

// Durability: a failed PUT is never acknowledged, nothing is indexed, and the node recovers
// by itself when the bucket comes back.
func TestFailedUploadIsNotAcknowledgedAndRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 10 * time.Millisecond, PutTimeout: 300 * time.Millisecond}, nil)
	ctx := context.Background()
	e.bucket.failing.Store(true)
	start := time.Now()
	_, err := e.svc.Produce(ctx, "normal", []domain.Message{msg("lost?")})
	apiErr := httpapi.AnswerOf(err)
	require.NotNil(t, apiErr)
	require.Equal(t, http.StatusServiceUnavailable, apiErr.Status)
	require.Less(t, time.Since(start), 5*time.Second, "the failure must come within a bounded time")
	require.Zero(t, e.totalStored(t), "nothing may be indexed for a failed upload")

	e.bucket.failing.Store(false)
	res, err := e.svc.Produce(ctx, "normal", []domain.Message{msg("kept")})
	require.NoError(t, err)
	require.Equal(t, int64(0), *res[0].Offset, "offsets stay dense after a failed flush")
}

// A commit that fails because the topic vanished acknowledges nothing.
func TestCommitFailureIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	e := newEnv(t, ingest.Config{Linger: 10 * time.Millisecond}, hold)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := e.svc.Produce(ctx, "normal", []domain.Message{msg("x")})
		errc <- err
	}()
	require.Eventually(t, func() bool { return e.bucket.puts.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, e.store.TopicDelete(ctx, "normal"))
	close(hold)
	err := <-errc
	apiErr := httpapi.AnswerOf(err)
	require.NotNil(t, apiErr)
	require.Equal(t, http.StatusConflict, apiErr.Status)
}

// Backpressure: past MaxBufferedBytes a send waits, then gets 429; memory stays bounded.
func TestBufferFullGets429(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	e := newEnv(t, ingest.Config{Linger: time.Millisecond, MaxBufferedBytes: 1000, BufferWait: 100 * time.Millisecond}, hold)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: make([]byte, 900)}})
		errc <- err
	}()
	require.Eventually(t, func() bool { return e.bucket.puts.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	_, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: make([]byte, 200)}})
	apiErr := httpapi.AnswerOf(err)
	require.NotNil(t, apiErr)
	require.Equal(t, http.StatusTooManyRequests, apiErr.Status)
	close(hold)
	require.NoError(t, <-errc)
	_, err = e.svc.Produce(ctx, "normal", []domain.Message{{Body: make([]byte, 200)}})
	require.NoError(t, err, "space freed by the finished flush is usable again")
}

// FIFO: messages of one message group share a queue and keep their send order.
func TestFIFORoutesAMessageGroupToOneQueueInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 5 * time.Millisecond}, nil)
	ctx := context.Background()
	var queue = -1
	for i := 0; i < 20; i++ {
		res, err := e.svc.Produce(ctx, "fifo", []domain.Message{
			{Body: []byte(fmt.Sprint(i, "a")), MessageGroup: "user-7"},
			{Body: []byte(fmt.Sprint(i, "b")), MessageGroup: "user-7"},
		})
		require.NoError(t, err)
		if queue == -1 {
			queue = *res[0].QueueID
		}
		require.Equal(t, queue, *res[0].QueueID)
		require.Equal(t, queue, *res[1].QueueID)
		require.Equal(t, *res[0].Offset+1, *res[1].Offset)
	}
	recs := e.readAll(t, "fifo", queue)
	require.Len(t, recs, 40)
	for i, r := range recs {
		require.Equal(t, fmt.Sprint(i/2, string(rune('a'+i%2))), string(r.Body))
	}
}

// Bad input gets a clear 4xx and stores nothing.
func TestRejectedSendsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 5 * time.Millisecond, MaxBodyBytes: 100}, nil)
	ctx := context.Background()
	when := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name   string
		topic  string
		msgs   []domain.Message
		status int
		code   string
	}{
		{"unknown topic", "nope", []domain.Message{msg("x")}, 404, httpapi.CodeTopicNotFound},
		{"bad topic name", "no/pe", []domain.Message{msg("x")}, 400, httpapi.CodeInvalidName},
		{"no messages", "normal", nil, 400, httpapi.CodeBadRequest},
		{"empty body", "normal", []domain.Message{{}}, 400, "MESSAGE_BODY_EMPTY"},
		{"body too large", "normal", []domain.Message{{Body: make([]byte, 101)}}, 413, httpapi.CodeBodyTooLarge},
		{"bad tag", "normal", []domain.Message{{Body: []byte("x"), Tag: "a b"}}, 400, httpapi.CodeInvalidName},
		{"empty key", "normal", []domain.Message{{Body: []byte("x"), Keys: []string{""}}}, 400, httpapi.CodeBadRequest},
		{"group on normal", "normal", []domain.Message{{Body: []byte("x"), MessageGroup: "g"}}, 400, httpapi.CodeMessageTypeMismatch},
		{"delay on normal", "normal", []domain.Message{{Body: []byte("x"), DeliveryTime: &when}}, 400, httpapi.CodeMessageTypeMismatch},
		{"fifo without group", "fifo", []domain.Message{msg("x")}, 400, httpapi.CodeMessageTypeMismatch},
		{"delay without time", "delay", []domain.Message{msg("x")}, 400, httpapi.CodeMessageTypeMismatch},
		{"lite without lite topic", "lite", []domain.Message{msg("x")}, 400, httpapi.CodeMessageTypeMismatch},
		{"plain send to transaction topic", "tx", []domain.Message{msg("x")}, 400, httpapi.CodeMessageTypeMismatch},
		{"one bad message spoils the request", "normal", []domain.Message{msg("ok"), {Body: []byte("x"), MessageGroup: "g"}}, 400, httpapi.CodeMessageTypeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Produce(ctx, tc.topic, tc.msgs)
			apiErr := httpapi.AnswerOf(err)
			require.NotNil(t, apiErr)
			require.Equal(t, tc.status, apiErr.Status, apiErr.Message)
			require.Equal(t, tc.code, apiErr.Code, apiErr.Message)
		})
	}
	require.Zero(t, e.totalStored(t))
	require.Zero(t, e.bucket.puts.Load(), "no object may be written for rejected sends")
}

// Stop flushes what is buffered and commits it before returning.
func TestStopFlushesBufferedMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: time.Hour}, nil)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := e.svc.Produce(ctx, "normal", []domain.Message{msg("last words")})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, e.svc.Stop(ctx))
	require.NoError(t, <-errc)
	require.Equal(t, int64(1), e.totalStored(t))
	_, err := e.svc.Produce(ctx, "normal", []domain.Message{msg("too late")})
	require.Error(t, err)
}

// A node restarted with the same NodeID counts flushes from 1 again: its segments must not
// overwrite the acknowledged ones of its previous life.
func TestRestartWithTheSameNodeIDKeepsEarlierSegments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 5 * time.Millisecond, NodeID: "ingest-1"}, nil)
	ctx := context.Background()
	first, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: []byte("before"), Keys: []string{"k"}}})
	require.NoError(t, err)
	require.NoError(t, e.svc.Stop(ctx))

	again, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond, NodeID: "ingest-1"}, e.store, e.bucket, nil)
	require.NoError(t, err)
	again.Start()
	t.Cleanup(func() { _ = again.Stop(context.Background()) })
	second, err := again.Produce(ctx, "normal", []domain.Message{{Body: []byte("after"), Keys: []string{"k"}}})
	require.NoError(t, err)
	require.NotEqual(t, first[0].MessageID, second[0].MessageID)

	recs := e.readAll(t, "normal", *first[0].QueueID)
	require.Equal(t, "before", string(recs[*first[0].Offset].Body), "the first life's message was overwritten")
	require.Equal(t, "after", string(recs[*second[0].Offset].Body))
	require.Equal(t, *first[0].Offset+1, *second[0].Offset)
}
