package compactor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.PostgresCleanup()
	os.Exit(code)
}

// clock is real time shifted by an offset that tests move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// env is a store and a bucket for one test.
type env struct {
	url    string
	store  *metadata.Store
	bucket objstore.Bucket
	clock  *clock
	seq    int
	// flushedBytes sums the flush segments written.
	flushedBytes int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := testenv.Database(t)
	st := testenv.Store(t, metadata.Config{URL: url}, nil)
	b, err := objstore.NewFolder(t.TempDir())
	require.NoError(t, err)
	return &env{url: url, store: st, bucket: b, clock: &clock{}}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// compactor returns a compactor over the env with test-sized settings on top of cfg.
func (e *env) compactor(t testing.TB, cfg Config) *Service {
	t.Helper()
	cfg.Now = e.clock.Now
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	s, err := New(cfg, e.store, e.bucket, nil)
	require.NoError(t, err)
	return s
}

func (e *env) topic(t testing.TB, name string, queues, retentionHours int) []metadata.Queue {
	t.Helper()
	ctx := context.Background()
	_, _, err := e.store.TopicCreate(ctx, metadata.Topic{Name: name, Type: metadata.TopicNormal, Queues: queues, RetentionHours: retentionHours})
	require.NoError(t, err)
	qs, err := e.store.QueueList(ctx, name)
	require.NoError(t, err)
	return qs
}

// stored is what a test wrote to a queue, by offset.
type stored map[int64]map[int64]segment.Record

// flush writes one segment as an ingest flush does: one chunk per queue with perQueue
// messages of bodySize bytes stored at st, PUT, then committed.
func (e *env) flush(t testing.TB, qs []metadata.Queue, perQueue, bodySize int, st time.Time, want stored) string {
	t.Helper()
	counts := make([]int, len(qs))
	for i := range counts {
		counts[i] = perQueue
	}
	return e.flushCounts(t, qs, counts, bodySize, st, want)
}

// flushCounts is flush with a message count per queue; queues with none are left out.
func (e *env) flushCounts(t testing.TB, all []metadata.Queue, counts []int, bodySize int, st time.Time, want stored) string {
	t.Helper()
	ctx := context.Background()
	e.seq++
	key := fmt.Sprintf("segments/%s/test-%08d.seg", st.UTC().Format("2006/01/02/15"), e.seq)
	var qs []metadata.Queue
	var perQueue []int
	for i, q := range all {
		if counts[i] > 0 {
			qs = append(qs, q)
			perQueue = append(perQueue, counts[i])
		}
	}
	inputs := make([]segment.ChunkInput, len(qs))
	for i, q := range qs {
		recs := make([]segment.Record, perQueue[i])
		for j := range recs {
			body := make([]byte, bodySize)
			for k := range body {
				body[k] = byte('a' + rand.IntN(8))
			}
			recs[j] = segment.Record{MessageID: fmt.Sprintf("m-%d-%d-%d", e.seq, q.Ref, j), Keys: []string{fmt.Sprintf("k%d", j)},
				Body: body, StoreTime: st, BornTime: st}
		}
		inputs[i] = segment.ChunkInput{Topic: q.Topic, QueueID: int32(q.QueueID), Records: recs}
	}
	obj, infos, err := segment.Encode(inputs)
	require.NoError(t, err)
	require.NoError(t, e.bucket.Put(ctx, key, obj))
	e.flushedBytes += int64(len(obj))
	commits := make([]metadata.ChunkCommit, len(qs))
	for i, q := range qs {
		f := bloom.New(2 * perQueue[i])
		for _, r := range inputs[i].Records {
			f.Add(bloom.IDItem(r.MessageID))
		}
		commits[i] = metadata.ChunkCommit{QueueRef: q.Ref, Count: perQueue[i], ByteOffset: infos[i].Offset, ByteLength: infos[i].Length,
			MinStoreTime: st, MaxStoreTime: st, Bloom: f.Bytes()}
	}
	firsts, err := e.store.SegmentCommit(ctx, metadata.SegmentCommitParams{ObjectKey: key, SizeBytes: int64(len(obj)), Chunks: commits})
	require.NoError(t, err)
	if want != nil {
		for i, q := range qs {
			if want[q.Ref] == nil {
				want[q.Ref] = map[int64]segment.Record{}
			}
			// What a reader gets back: the decoded form.
			recs, err := segment.DecodeChunk(obj[infos[i].Offset : infos[i].Offset+infos[i].Length])
			require.NoError(t, err)
			for j, r := range recs {
				want[q.Ref][firsts[i]+int64(j)] = r
			}
		}
	}
	return key
}

// read returns every readable message of a queue (from its min offset), by offset, and
// how many index rows (GETs for a cold reader) that took.
func (e *env) read(t testing.TB, q metadata.Queue) (map[int64]segment.Record, int) {
	out, gets, _ := e.readCost(t, q)
	return out, gets
}

// readCost is read, also returning the stored bytes fetched.
func (e *env) readCost(t testing.TB, q metadata.Queue) (map[int64]segment.Record, int, int64) {
	t.Helper()
	ctx := context.Background()
	cur, err := e.store.QueueGet(ctx, q.Topic, q.QueueID)
	require.NoError(t, err)
	out := map[int64]segment.Record{}
	gets, fetched := 0, int64(0)
	for off := cur.MinOffset; off < cur.NextOffset; {
		chunks, err := e.store.ChunksFrom(ctx, q.Ref, off, 64)
		require.NoError(t, err)
		require.NotEmpty(t, chunks, "queue %d: no index row at offset %d (next %d)", q.Ref, off, cur.NextOffset)
		for _, ch := range chunks {
			require.LessOrEqual(t, ch.FirstOffset, off, "queue %d: gap before %d", q.Ref, ch.FirstOffset)
			b, err := e.bucket.GetRange(ctx, ch.ObjectKey, ch.ByteOffset, ch.ByteLength)
			require.NoError(t, err, "reading %s", ch.ObjectKey)
			gets++
			fetched += ch.ByteLength
			recs, err := segment.DecodeChunk(b)
			require.NoError(t, err)
			require.LessOrEqual(t, ch.Skip+ch.Count, len(recs))
			for i := int(off - ch.FirstOffset); i < ch.Count; i++ {
				out[ch.FirstOffset+int64(i)] = recs[ch.Skip+i]
			}
			off = ch.FirstOffset + int64(ch.Count)
		}
	}
	return out, gets, fetched
}

// requireSame checks that every queue holds exactly the messages written, at the same
// offsets, from its min offset on.
func (e *env) requireSame(t testing.TB, qs []metadata.Queue, want stored) {
	t.Helper()
	for _, q := range qs {
		got, _ := e.read(t, q)
		cur, err := e.store.QueueGet(context.Background(), q.Topic, q.QueueID)
		require.NoError(t, err)
		n := 0
		for off, w := range want[q.Ref] {
			if off < cur.MinOffset {
				continue
			}
			n++
			g, ok := got[off]
			require.True(t, ok, "queue %d: message %d lost", q.Ref, off)
			require.Equal(t, w.MessageID, g.MessageID, "queue %d offset %d names another message", q.Ref, off)
			require.Equal(t, w.Body, g.Body, "queue %d offset %d", q.Ref, off)
			require.Equal(t, w.StoreTime, g.StoreTime)
			require.Equal(t, w.Keys, g.Keys)
		}
		require.Len(t, got, n, "queue %d holds messages nobody wrote", q.Ref)
	}
}

// objects lists the bucket's keys.
func (e *env) objects(t testing.TB) []string {
	t.Helper()
	var keys []string
	require.NoError(t, e.bucket.List(context.Background(), "", func(o objstore.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}))
	sort.Strings(keys)
	return keys
}

// indexedKeys lists the object keys of the segments table.
func (e *env) indexedKeys(t testing.TB) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT object_key FROM segments ORDER BY object_key`)
	require.NoError(t, err)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return keys
}

func (e *env) allQueues(t testing.TB) []metadata.Queue {
	t.Helper()
	ts, err := e.store.TopicList(context.Background())
	require.NoError(t, err)
	var out []metadata.Queue
	for _, tp := range ts {
		qs, err := e.store.QueueList(context.Background(), tp.Name)
		require.NoError(t, err)
		out = append(out, qs...)
	}
	return out
}

// rowCount counts a queue's index rows.
func (e *env) rowCount(t testing.TB, q metadata.Queue) int {
	t.Helper()
	chunks, err := e.store.ChunksFrom(context.Background(), q.Ref, 0, 1<<20)
	require.NoError(t, err)
	return len(chunks)
}
