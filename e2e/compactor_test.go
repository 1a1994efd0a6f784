package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
	"github.com/floemq/floe/compactor"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/pglocal"
)

// Merging while producers, consumers and readers run: readers never fail and never see a
// message move; every acknowledged message is consumed and, at the end, readable at the
// (queue, offset) its ack named with its body; the bucket ends up holding exactly the
// indexed objects.
func TestCompactionWhileProducingAndConsuming(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	cfg := b.config("ingest,reader")
	cfg.MinInvisible = time.Second
	_, c := startNode(t, cfg)
	ccfg := b.config("compactor")
	ccfg.CompactorInterval = 200 * time.Millisecond
	ccfg.CompactorMergeAge = 500 * time.Millisecond
	ccfg.CompactorSettleAge = 2 * time.Second
	ccfg.CompactorTargetChunkBytes = 32 << 10
	ccfg.CompactorReadGrace = 3 * time.Second
	cnode, _ := startNode(t, ccfg)
	ctx := context.Background()
	off := false
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 4, Trace: &off})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "g"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "g", "orders", client.SubscriptionSpec{Filter: "*"}))

	var mu sync.Mutex
	acks := map[string]acked{}
	received := map[string]bool{}
	stop := make(chan struct{})
	var producers, others sync.WaitGroup
	var readErrs atomic.Int64
	for p := range 4 {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var msgs []client.Message
				for j := range 10 {
					msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("p%d-r%d-m%d-%s", p, i, j, strings.Repeat("x", 200)))})
				}
				res, err := c.Send(ctx, "orders", msgs)
				if err != nil {
					t.Errorf("send: %v", err)
					return
				}
				mu.Lock()
				for j, r := range res {
					acks[r.MessageID] = acked{id: r.MessageID, queue: r.QueueID, offset: r.Offset, body: string(msgs[j].Body)}
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	consumeDone := make(chan struct{})
	for range 2 {
		others.Add(1)
		go func() {
			defer others.Done()
			for {
				select {
				case <-consumeDone:
					return
				default:
				}
				msgs, err := c.Receive(ctx, "g", "orders", client.ReceiveRequest{MaxMessages: 64, InvisibleSeconds: 5, WaitSeconds: 1})
				if err != nil {
					t.Errorf("receive: %v", err)
					return
				}
				var hs []string
				mu.Lock()
				for _, m := range msgs {
					received[m.MessageID] = true
					hs = append(hs, m.ReceiptHandle)
				}
				mu.Unlock()
				if len(hs) > 0 {
					if _, err := c.Ack(ctx, "g", "orders", hs); err != nil {
						t.Errorf("ack: %v", err)
						return
					}
				}
			}
		}()
	}
	// A reader walks the queues from offset 0 over and over while merges swap its rows.
	others.Add(1)
	go func() {
		defer others.Done()
		for round := 0; ; round++ {
			select {
			case <-consumeDone:
				return
			default:
			}
			q := round % 4
			for off := int64(0); ; {
				views, err := c.ReadQueue(ctx, "orders", q, off, 500)
				if err != nil {
					readErrs.Add(1)
					t.Errorf("read during compaction: %v", err)
					return
				}
				if len(views) == 0 {
					break
				}
				mu.Lock()
				for _, v := range views {
					if a, ok := acks[v.MessageID]; ok && (a.queue != v.QueueID || a.offset != v.Offset || a.body != string(v.Body)) {
						t.Errorf("message %s read at %d/%d, acked at %d/%d", v.MessageID, v.QueueID, v.Offset, a.queue, a.offset)
					}
				}
				mu.Unlock()
				off = views[len(views)-1].Offset + 1
			}
		}
	}()

	// Produce until several merges have happened.
	metrics := client.New("http://" + cnode.Addr())
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if metricValue(t, metrics, "floe_compactor_merges_total", `result="ok"`) >= 5 &&
			metricValue(t, metrics, "floe_compactor_merge_written_bytes_total", `level="2"`) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	producers.Wait()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for id := range acks {
			if !received[id] {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "every acknowledged message is consumed")
	close(consumeDone)
	others.Wait()
	require.Zero(t, readErrs.Load())
	require.GreaterOrEqual(t, metricValue(t, metrics, "floe_compactor_merges_total", `result="ok"`), 5.0)
	t.Logf("%d messages; compactor: %.0f merges, %.0f bytes rewritten, %.0f objects deleted", len(acks),
		metricValue(t, metrics, "floe_compactor_merges_total", `result="ok"`),
		metricValue(t, metrics, "floe_compactor_merge_written_bytes_total", ""),
		metricValue(t, metrics, "floe_compactor_deleted_objects_total", ""))

	requireAllReadable(t, c, "orders", acks)
	bucket, _ := openBacking(t, b)
	require.Eventually(t, func() bool {
		return slices.Equal(bucketKeys(t, bucket), segmentKeys(t, b))
	}, 30*time.Second, 200*time.Millisecond, "the bucket ends up holding exactly the indexed objects")
	requireAllReadable(t, c, "orders", acks)
}

// A compactor process killed with SIGKILL between a merge's upload and its index swap:
// every message stays readable where it was; the next compactor finishes the work and
// deletes the dead one's object as an orphan.
func TestCompactorKilledMidMerge(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	_, c := startNode(t, b.config("ingest,reader"))
	ctx := context.Background()
	off := false
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 3, Trace: &off})
	require.NoError(t, err)
	acks := map[string]acked{}
	for i := range 30 {
		var msgs []client.Message
		for j := range 6 {
			msgs = append(msgs, client.Message{Body: []byte(fmt.Sprintf("r%d-m%d", i, j))})
		}
		res, err := c.Send(ctx, "orders", msgs)
		require.NoError(t, err)
		for j, r := range res {
			acks[r.MessageID] = acked{id: r.MessageID, queue: r.QueueID, offset: r.Offset, body: string(msgs[j].Body)}
		}
	}
	bucket, _ := openBacking(t, b)
	fast := []string{"FLOE_COMPACTOR_INTERVAL=100ms", "FLOE_COMPACTOR_MERGE_AGE=1ms", "FLOE_COMPACTOR_LEASE_TTL=2s",
		"FLOE_COMPACTOR_READ_GRACE=1s", "FLOE_COMPACTOR_ORPHAN_SCAN_INTERVAL=500ms"}
	dying := startCompactorProc(t, b, append(fast, "FLOE_COMPACTOR_SWAP_DELAY=10m", "FLOE_COMPACTOR_ORPHAN_GRACE=1h")...)
	var abandoned string
	require.Eventually(t, func() bool {
		for _, k := range bucketKeys(t, bucket) {
			if strings.Contains(k, "/c1-") {
				abandoned = k
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "the compactor uploads a merged object")
	require.NoError(t, dying.cmd.Process.Signal(syscall.SIGKILL))
	<-dying.done
	require.NotContains(t, segmentKeys(t, b), abandoned, "killed before its index swap")
	requireAllReadable(t, c, "orders", acks)

	startCompactorProc(t, b, append(fast, "FLOE_COMPACTOR_ORPHAN_GRACE=3s")...)
	require.Eventually(t, func() bool {
		keys := bucketKeys(t, bucket)
		return !slices.Contains(keys, abandoned) && slices.Equal(keys, segmentKeys(t, b)) && levelZeroSegments(t, b) == 0
	}, 60*time.Second, 200*time.Millisecond, "the next compactor merges everything and deletes the orphan")
	requireAllReadable(t, c, "orders", acks)
}

// Retention removes exactly the messages stored before now - retention: readers and a
// consumer group that was behind continue from the queue's new minimum offset. Orphans are
// deleted once older than their grace period; indexed objects never.
func TestRetentionAndOrphansOnMinIO(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	cfg := b.config("ingest,reader")
	cfg.MinInvisible = time.Second
	_, c := startNode(t, cfg)
	ctx := context.Background()
	off := false
	_, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: "short", Type: client.TopicNormal, Queues: 2, RetentionHours: 1, Trace: &off})
	require.NoError(t, err)
	_, _, err = c.CreateGroup(ctx, client.GroupSpec{Name: "late"})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, "late", "short", client.SubscriptionSpec{Filter: "*"}))

	send := func(prefix string, n int) map[string]acked {
		out := map[string]acked{}
		for i := range n {
			msgs := []client.Message{{Body: []byte(fmt.Sprintf("%s-%d-a", prefix, i))}, {Body: []byte(fmt.Sprintf("%s-%d-b", prefix, i))}}
			res, err := c.Send(ctx, "short", msgs)
			require.NoError(t, err)
			for j, r := range res {
				out[r.MessageID] = acked{id: r.MessageID, queue: r.QueueID, offset: r.Offset, body: string(msgs[j].Body)}
			}
		}
		return out
	}
	old := send("old", 10)
	oldDone := time.Now()
	time.Sleep(1500 * time.Millisecond)
	newStart := time.Now()
	recent := send("new", 10)
	time.Sleep(time.Second) // let every flush commit: the orphan scan below runs an hour ahead

	bucket, store := openBacking(t, b)
	require.NoError(t, bucket.Put(ctx, "segments/2020/01/01/00/dead-00000001.seg", []byte("never committed")))
	indexed := segmentKeys(t, b)
	// The compactor's clock runs an hour and a bit ahead: the cutoff falls between the two
	// batches.
	mid := oldDone.Add(newStart.Sub(oldDone) / 2)
	shift := time.Hour + mid.Sub(time.Now())
	comp, err := compactor.New(compactor.Config{
		Now: func() time.Time { return time.Now().Add(shift) }, OrphanGrace: 30 * time.Minute, Logger: quietLogger(),
	}, store, bucket, nil)
	require.NoError(t, err)
	rep, err := comp.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(len(old)), rep.RetentionMessages)
	require.Equal(t, 1, rep.OrphansDeleted)

	// Readers see exactly the recent batch, from the queues' new minimum offsets.
	qs, err := c.Queues(ctx, "short")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, q := range qs {
		views, err := c.ReadQueue(ctx, "short", q.QueueID, 0, 1000)
		require.NoError(t, err)
		for _, v := range views {
			require.GreaterOrEqual(t, v.Offset, q.MinOffset)
			a, ok := recent[v.MessageID]
			require.True(t, ok, "message %s (%s) is past retention", v.MessageID, v.Body)
			require.Equal(t, a.offset, v.Offset)
			seen[v.MessageID] = true
		}
	}
	require.Len(t, seen, len(recent))
	for _, a := range old {
		require.Less(t, a.offset, qs[a.queue].MinOffset)
	}
	// The group that never consumed continues from the minimum offset.
	got := map[string]bool{}
	require.Eventually(t, func() bool {
		msgs := receive(t, c, "late", "short", 64, 30, 1)
		for _, m := range msgs {
			require.Contains(t, recent, m.MessageID, "a message past retention was delivered")
			got[m.MessageID] = true
		}
		ackAll(t, c, "late", "short", msgs)
		return len(got) == len(recent)
	}, 30*time.Second, 10*time.Millisecond)

	// The orphan went; every indexed object stayed (the expired ones wait out ReadGrace).
	keys := bucketKeys(t, bucket)
	require.NotContains(t, keys, "segments/2020/01/01/00/dead-00000001.seg")
	for _, k := range indexed {
		require.Contains(t, keys, k)
	}
}

// openBacking opens the test's bucket and database directly.
func openBacking(t *testing.T, b backing) (objstore.Bucket, *metadata.Store) {
	t.Helper()
	ctx := context.Background()
	cfg := b.config("")
	bucket, err := objstore.NewS3(ctx, cfg.S3)
	require.NoError(t, err)
	return bucket, testenv.Store(t, metadata.Config{URL: b.dbURL, MaxConns: 4}, nil)
}

func bucketKeys(t *testing.T, bucket objstore.Bucket) []string {
	t.Helper()
	var keys []string
	require.NoError(t, bucket.List(context.Background(), "segments/", func(o objstore.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}))
	slices.Sort(keys)
	return keys
}

func segmentKeys(t *testing.T, b backing) []string {
	t.Helper()
	return querySQL(t, b, `SELECT object_key FROM segments ORDER BY object_key`)
}

func levelZeroSegments(t *testing.T, b backing) int {
	t.Helper()
	return len(querySQL(t, b, `SELECT object_key FROM segments WHERE level = 0`))
}

// querySQL runs a query of one text column on the test's database.
func querySQL(t *testing.T, b backing, sql string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), b.dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), sql)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// requireAllReadable reads every queue of a topic from offset 0 and checks that each
// acknowledged message sits at its offset with its body, offsets dense.
func requireAllReadable(t *testing.T, c *client.Client, topic string, acks map[string]acked) {
	t.Helper()
	ctx := context.Background()
	qs, err := c.Queues(ctx, topic)
	require.NoError(t, err)
	byQueue := map[int][]client.MessageView{}
	for _, q := range qs {
		var all []client.MessageView
		for off := int64(0); off < q.MaxOffset; {
			views, err := c.ReadQueue(ctx, topic, q.QueueID, off, 1000)
			require.NoError(t, err)
			require.NotEmpty(t, views, "queue %d ends at %d, reads stop at %d", q.QueueID, q.MaxOffset, off)
			all = append(all, views...)
			off = views[len(views)-1].Offset + 1
		}
		for i, v := range all {
			require.Equal(t, int64(i), v.Offset, "queue %d: offsets must be dense from 0", q.QueueID)
		}
		byQueue[q.QueueID] = all
	}
	for _, a := range acks {
		msgs := byQueue[a.queue]
		require.Less(t, a.offset, int64(len(msgs)), "acknowledged message %s at %d/%d is lost", a.id, a.queue, a.offset)
		v := msgs[a.offset]
		require.Equal(t, a.id, v.MessageID, "acknowledged offset %d/%d names another message", a.queue, a.offset)
		require.Equal(t, a.body, string(v.Body))
	}
}

// metricValue sums the samples of a metric family whose labels contain match.
func metricValue(t *testing.T, c *client.Client, name, match string) float64 {
	t.Helper()
	text, err := c.Metrics(context.Background())
	require.NoError(t, err)
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		if match != "" && !strings.Contains(line, match) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// startCompactorProc runs `floe serve --roles compactor` with extra FLOE_* settings.
func startCompactorProc(t *testing.T, b backing, extra ...string) *proc {
	t.Helper()
	port, err := pglocal.FreePort()
	require.NoError(t, err)
	cmd := exec.Command(floeBin, "serve")
	cmd.Env = append(append(os.Environ(), b.env("compactor")...), extra...)
	cmd.Env = append(cmd.Env, fmt.Sprintf("FLOE_LISTEN=127.0.0.1:%d", port), "FLOE_GRPC_LISTEN=127.0.0.1:0")
	logf, err := os.Create(filepath.Join(t.TempDir(), "floe.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("log of compactor (%s):\n%s", p.url, b)
		}
	})
	c := client.New(p.url)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Readyz(ctx) == nil
	}, 60*time.Second, 100*time.Millisecond, "floe compactor did not become ready")
	return p
}
