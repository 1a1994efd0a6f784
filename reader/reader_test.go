package reader_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/reader"
)

type countingBucket struct {
	objstore.Bucket
	ranged atomic.Int64
}

func (b *countingBucket) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b.ranged.Add(1)
	return b.Bucket.GetRange(ctx, key, off, n)
}

// openStore starts a migrated store on a private database and a counting folder bucket.
func openStore(t *testing.T) (store *metadata.Store, dbURL string, b *countingBucket) {
	t.Helper()
	dbURL = testenv.Database(t)
	store = testenv.Store(t, metadata.Config{URL: dbURL}, nil)
	folder, err := objstore.NewFolder(t.TempDir())
	require.NoError(t, err)
	return store, dbURL, &countingBucket{Bucket: folder}
}

func setup(t *testing.T) (*ingest.Service, *reader.Service, *countingBucket) {
	t.Helper()
	ctx := context.Background()
	store, _, b := openStore(t)
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	rd, err := reader.New(reader.Config{}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	_, _, err = store.TopicCreate(ctx, metadata.Topic{Name: "orders", Type: metadata.TopicNormal, Queues: 2, RetentionHours: 1})
	require.NoError(t, err)
	return in, rd, b
}

func TestReadQueueAcrossChunksInOffsetOrder(t *testing.T) {
	t.Parallel()
	in, rd, b := setup(t)
	ctx := context.Background()
	// Ten flushes, each of five messages keyed to land in one queue.
	var sent []domain.SendResult
	for f := 0; f < 10; f++ {
		var msgs []domain.Message
		for i := 0; i < 5; i++ {
			msgs = append(msgs, domain.Message{Body: []byte(fmt.Sprintf("m-%d-%d", f, i)), Keys: []string{"same-queue"}})
		}
		res, err := in.Produce(ctx, "orders", msgs)
		require.NoError(t, err)
		sent = append(sent, res...)
	}
	q := *sent[0].QueueID
	all, err := rd.ReadQueue(ctx, "orders", q, "", 0, 1000)
	require.NoError(t, err)
	require.Len(t, all, 50)
	for i, v := range all {
		require.Equal(t, int64(i), v.Offset)
		require.Equal(t, sent[i].MessageID, v.MessageID)
		require.Equal(t, fmt.Sprintf("m-%d-%d", i/5, i%5), string(v.Body))
		require.Equal(t, q, v.QueueID)
		require.Equal(t, "orders", v.Topic)
	}
	// A window in the middle, crossing chunk boundaries.
	mid, err := rd.ReadQueue(ctx, "orders", q, "", 13, 9)
	require.NoError(t, err)
	require.Len(t, mid, 9)
	require.Equal(t, int64(13), mid[0].Offset)
	require.Equal(t, int64(21), mid[8].Offset)
	// Past the end: nothing.
	end, err := rd.ReadQueue(ctx, "orders", q, "", 50, 10)
	require.NoError(t, err)
	require.Empty(t, end)

	// Cached chunks are not fetched again.
	before := b.ranged.Load()
	_, err = rd.ReadQueue(ctx, "orders", q, "", 0, 1000)
	require.NoError(t, err)
	require.Equal(t, before, b.ranged.Load(), "a second read of cached chunks must cost no GET")
}

func TestLookupByIDAndKey(t *testing.T) {
	t.Parallel()
	in, rd, _ := setup(t)
	ctx := context.Background()
	var ids []string
	for f := 0; f < 20; f++ {
		var msgs []domain.Message
		for i := 0; i < 10; i++ {
			msgs = append(msgs, domain.Message{Body: []byte(fmt.Sprint(f, "/", i)), Keys: []string{fmt.Sprintf("order-%d", f*10+i), "tenant-a"}})
		}
		res, err := in.Produce(ctx, "orders", msgs)
		require.NoError(t, err)
		for _, r := range res {
			ids = append(ids, r.MessageID)
		}
	}
	for i := 0; i < len(ids); i += 17 {
		v, err := rd.GetMessage(ctx, "orders", ids[i])
		require.NoError(t, err)
		require.Equal(t, ids[i], v.MessageID)
		require.Equal(t, fmt.Sprint(i/10, "/", i%10), string(v.Body))

		byKey, err := rd.MessagesByKey(ctx, "orders", fmt.Sprintf("order-%d", i))
		require.NoError(t, err)
		require.Len(t, byKey, 1)
		require.Equal(t, ids[i], byKey[0].MessageID)
	}
	many, err := rd.MessagesByKey(ctx, "orders", "tenant-a")
	require.NoError(t, err)
	require.Len(t, many, 100, "a key lookup returns at most 100 messages")

	none, err := rd.MessagesByKey(ctx, "orders", "order-999999")
	require.NoError(t, err)
	require.Empty(t, none)

	_, err = rd.GetMessage(ctx, "orders", "00000000000000000000000000000000")
	apiErr := httpapi.AnswerOf(err)
	require.NotNil(t, apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
	require.Equal(t, httpapi.CodeMessageNotFound, apiErr.Code)
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	_, rd, _ := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		topic         string
		queue         int
		offset        int64
		limit, status int
		code          string
	}{
		{"nope", 0, 0, 10, 404, httpapi.CodeTopicNotFound},
		{"orders", 7, 0, 10, 404, httpapi.CodeQueueNotFound},
		{"orders", 0, -1, 10, 400, httpapi.CodeBadRequest},
		{"orders", 0, 0, 0, 400, httpapi.CodeBadRequest},
		{"orders", 0, 0, 100000, 400, httpapi.CodeBadRequest},
	} {
		_, err := rd.ReadQueue(ctx, tc.topic, tc.queue, "", tc.offset, tc.limit)
		apiErr := httpapi.AnswerOf(err)
		require.NotNil(t, apiErr, "%+v", tc)
		require.Equal(t, tc.status, apiErr.Status, "%+v", tc)
		require.Equal(t, tc.code, apiErr.Code, "%+v", tc)
	}
}

// A gap in a queue's index (offsets removed meanwhile) is skipped, not a failure.
func TestReadQueueSkipsAGapInTheIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, url, folder := openStore(t)
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond}, store, folder, nil)
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	rd, err := reader.New(reader.Config{}, store, folder, nil)
	require.NoError(t, err)
	_, _, err = store.TopicCreate(ctx, metadata.Topic{Name: "t", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := in.Produce(ctx, "t", []domain.Message{{Body: []byte(fmt.Sprint(i))}, {Body: []byte(fmt.Sprint(i))}})
		require.NoError(t, err)
	}
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DELETE FROM chunks WHERE first_offset = 2`)
	require.NoError(t, err)
	views, err := rd.ReadQueue(ctx, "t", 0, "", 0, 100)
	require.NoError(t, err)
	var offs []int64
	for _, v := range views {
		offs = append(offs, v.Offset)
	}
	require.Equal(t, []int64{0, 1, 4, 5}, offs)
	mid, err := rd.ReadQueue(ctx, "t", 0, "", 3, 100)
	require.NoError(t, err)
	require.Equal(t, int64(4), mid[0].Offset)
}

func TestPrimedChunksAreReadWithoutGET(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, dbURL, b := openStore(t)
	reg := prometheus.NewRegistry()
	rd, err := reader.New(reader.Config{}, store, b, reg)
	require.NoError(t, err)
	// The ingest role of the same process primes the reader's cache, as services.Node does.
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond, Chunks: rd.Cache()}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	_, _, err = store.TopicCreate(ctx, metadata.Topic{Name: "orders", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)

	var sent []domain.SendResult
	for f := 0; f < 3; f++ {
		res, err := in.Produce(ctx, "orders", []domain.Message{{Body: []byte(fmt.Sprint("fresh-", f))}})
		require.NoError(t, err)
		sent = append(sent, res...)
	}
	got, err := rd.ReadQueue(ctx, "orders", 0, "", 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, v := range got {
		require.Equal(t, sent[i].MessageID, v.MessageID)
		require.Equal(t, fmt.Sprint("fresh-", i), string(v.Body))
	}
	require.Zero(t, b.ranged.Load(), "chunks this process wrote must be served without a GET")
	require.Equal(t, 3.0, testenv.MetricSum(t, reg, "floe_reader_cache_primed_total"))
	require.Zero(t, testenv.MetricSum(t, reg, "floe_reader_cache_misses_total"))

	// Primed bytes that do not decode (never the case for a real write) fall back to the
	// bucket's copy instead of failing the read.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var c chunkRange
	require.NoError(t, conn.QueryRow(ctx, `SELECT s.object_key, c.byte_offset, c.byte_length
		FROM chunks c JOIN segments s ON s.id = c.segment_id ORDER BY c.first_offset DESC LIMIT 1`).Scan(&c.key, &c.offset, &c.length))
	rd2, err := reader.New(reader.Config{}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	rd2.Cache().Prime(c.key, c.offset, make([]byte, c.length))
	recs, err := rd2.Cache().Get(ctx, metadata.Chunk{ObjectKey: c.key, ByteOffset: c.offset, ByteLength: c.length})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "fresh-2", string(recs[0].Body))
	require.Equal(t, int64(1), b.ranged.Load(), "the bad primed chunk costs one GET")
}

// A compactor in the same process asks the cache for the chunks it merges: Cached gives
// what the cache holds, primed or decoded, and never reads the bucket or counts as a
// consumer's hit.
func TestCachedGivesHeldChunksWithoutReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, dbURL, b := openStore(t)
	reg := prometheus.NewRegistry()
	rd, err := reader.New(reader.Config{}, store, b, reg)
	require.NoError(t, err)
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond, Chunks: rd.Cache()}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	_, _, err = store.TopicCreate(ctx, metadata.Topic{Name: "orders", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
	require.NoError(t, err)
	for f := range 2 {
		_, err := in.Produce(ctx, "orders", []domain.Message{{Body: []byte(fmt.Sprint("fresh-", f))}})
		require.NoError(t, err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT s.object_key, c.byte_offset, c.byte_length
		FROM chunks c JOIN segments s ON s.id = c.segment_id ORDER BY c.first_offset`)
	require.NoError(t, err)
	var chunks []chunkRange
	for rows.Next() {
		var c chunkRange
		require.NoError(t, rows.Scan(&c.key, &c.offset, &c.length))
		chunks = append(chunks, c)
	}
	require.NoError(t, rows.Err())
	require.Len(t, chunks, 2)
	cache := rd.Cache()

	// Primed and never read: decoded for the caller, still there for the consumers.
	recs, ok := cache.Cached(chunks[0].key, chunks[0].offset, chunks[0].length)
	require.True(t, ok)
	require.Len(t, recs, 1)
	require.Equal(t, "fresh-0", string(recs[0].Body))
	require.Zero(t, testenv.MetricSum(t, reg, "floe_reader_cache_hits_total"), "a compactor's look is not a consumer's hit")
	// Decoded by a consumer's read: the same records.
	got, err := cache.Get(ctx, metadata.Chunk{ObjectKey: chunks[1].key, ByteOffset: chunks[1].offset, ByteLength: chunks[1].length})
	require.NoError(t, err)
	recs, ok = cache.Cached(chunks[1].key, chunks[1].offset, chunks[1].length)
	require.True(t, ok)
	require.Equal(t, got, recs)
	// A chunk the cache does not hold (a wrong length names other bytes) is not read.
	_, ok = cache.Cached(chunks[0].key, chunks[0].offset, chunks[0].length+1)
	require.False(t, ok)
	require.Zero(t, b.ranged.Load(), "Cached never reads the bucket")
	// The primed chunk is still served without a GET.
	got, err = cache.Get(ctx, metadata.Chunk{ObjectKey: chunks[0].key, ByteOffset: chunks[0].offset, ByteLength: chunks[0].length})
	require.NoError(t, err)
	require.Equal(t, "fresh-0", string(got[0].Body))
	require.Zero(t, b.ranged.Load())
}

func TestAMissReadsTheNeighbouringChunksInTheSameGET(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _, b := openStore(t)
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	_, _, err = store.TopicCreate(ctx, metadata.Topic{Name: "orders", Type: metadata.TopicNormal, Queues: 4, RetentionHours: 1})
	require.NoError(t, err)
	// One produce call, one flush: the messages go round the queues, so the segment holds
	// a chunk for each of the four.
	var batch []domain.Message
	for i := range 4 {
		batch = append(batch, domain.Message{Body: []byte(fmt.Sprint("message-", i))})
	}
	_, err = in.Produce(ctx, "orders", batch)
	require.NoError(t, err)

	readAll := func(rd *reader.Service) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bodies []string
		for q := range 4 {
			wg.Go(func() {
				got, err := rd.ReadQueue(ctx, "orders", q, "", 0, 10)
				assert.NoError(t, err)
				if assert.Len(t, got, 1) {
					mu.Lock()
					bodies = append(bodies, string(got[0].Body))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.ElementsMatch(t, []string{"message-0", "message-1", "message-2", "message-3"}, bodies)
	}

	// Four queues read at once by a node that did not write them: one GET.
	reg := prometheus.NewRegistry()
	rd, err := reader.New(reader.Config{}, store, b, reg)
	require.NoError(t, err)
	before := b.ranged.Load()
	readAll(rd)
	require.Equal(t, int64(1), b.ranged.Load()-before, "one GET for the whole flush")
	require.Equal(t, 3.0, testenv.MetricSum(t, reg, "floe_reader_cache_read_ahead_total"))
	require.Equal(t, 1.0, testenv.MetricSum(t, reg, "floe_reader_cache_misses_total"))

	// Without read-ahead, a GET per chunk.
	rd, err = reader.New(reader.Config{ReadAheadBytes: -1}, store, b, prometheus.NewRegistry())
	require.NoError(t, err)
	before = b.ranged.Load()
	readAll(rd)
	require.Equal(t, int64(4), b.ranged.Load()-before)
}

type chunkRange struct {
	key            string
	offset, length int64
}
