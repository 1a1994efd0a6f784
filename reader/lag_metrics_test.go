package reader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
)

// gauges is one scrape: metric name → "group/topic" → value.
type gauges map[string]map[string]float64

func scrape(t *testing.T, reg *prometheus.Registry) gauges {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := gauges{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if out[mf.GetName()] == nil {
				out[mf.GetName()] = map[string]float64{}
			}
			key := labels["group"] + "/" + labels["topic"]
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				out[mf.GetName()][key] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				out[mf.GetName()][key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// countingSource counts the reads a collector makes.
type countingSource struct {
	lagSource
	lists, lags atomic.Int64
}

func (s *countingSource) GroupList(ctx context.Context) ([]metadata.Group, error) {
	s.lists.Add(1)
	return s.lagSource.GroupList(ctx)
}

func (s *countingSource) GroupLag(ctx context.Context, group string) ([]metadata.QueueLag, error) {
	s.lags.Add(1)
	return s.lagSource.GroupLag(ctx, group)
}

// The gauges carry, per group and topic, the same numbers as GET /v1/groups/{group}/lag,
// from a real Postgres; scrapes within MaxAge reuse the last read, yet the oldest-unacked
// age keeps growing with the clock.
func TestLagCollectorMatchesTheLagEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := testenv.Store(t, metadata.Config{}, nil)
	bucket, err := objstore.NewFolder(t.TempDir())
	require.NoError(t, err)
	in, err := ingest.New(ingest.Config{Linger: 5 * time.Millisecond}, store, bucket, prometheus.NewRegistry())
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Stop(ctx) })
	rd, err := New(Config{}, store, bucket, prometheus.NewRegistry())
	require.NoError(t, err)
	signer, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	consumer, err := NewConsumer(ConsumerConfig{MinInvisible: time.Second}, store, rd.Cache(), signer, NewWaker(), prometheus.NewRegistry())
	require.NoError(t, err)

	for _, tp := range []metadata.Topic{
		{Name: "orders", Type: metadata.TopicNormal, Queues: 2, RetentionHours: 1},
		{Name: "events", Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1},
	} {
		_, _, err := store.TopicCreate(ctx, tp)
		require.NoError(t, err)
	}
	for group, topics := range map[string][]string{"billing": {"orders", "events"}, "audit": {"orders"}, "idle": nil} {
		_, _, err := store.GroupCreate(ctx, metadata.Group{Name: group, DeliveryOrder: metadata.OrderConcurrent, MaxDeliveryAttempts: 16, BackoffSeconds: []int{1}})
		require.NoError(t, err)
		for _, topic := range topics {
			_, _, err := store.SubscriptionPut(ctx, group, topic, "TAG", "*")
			require.NoError(t, err)
		}
	}
	send := func(topic string, n int) {
		var msgs []domain.Message
		for i := range n {
			msgs = append(msgs, domain.Message{Body: []byte(fmt.Sprint(topic, i))})
		}
		_, err := in.Produce(ctx, topic, msgs)
		require.NoError(t, err)
	}
	send("orders", 10)
	send("events", 3)
	receive := func(group, topic string, n int) []string {
		msgs, err := consumer.Receive(ctx, group, topic, ReceiveOptions{MaxMessages: n, Invisible: time.Minute})
		require.NoError(t, err)
		require.Len(t, msgs, n)
		var hs []string
		for _, m := range msgs {
			hs = append(hs, m.ReceiptHandle)
		}
		return hs
	}
	ack := func(group, topic string, hs []string) {
		res, err := consumer.Ack(ctx, group, topic, hs)
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, StatusOK, r.Status)
		}
	}
	// billing: 4 of orders in flight, all of events done; audit: nothing received.
	inflight := receive("billing", "orders", 4)
	ack("billing", "events", receive("billing", "events", 3))

	now := time.Now()
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	src := &countingSource{lagSource: store}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLagCollector(LagMetricsConfig{Now: clock}, src))

	first := scrape(t, reg)
	want := map[string][4]float64{ // lag, inflight, ready, has an unacked message
		"billing/orders": {10, 4, 6, 1},
		"billing/events": {0, 0, 0, 0},
		"audit/orders":   {10, 0, 10, 1},
	}
	for key, w := range want {
		require.Equal(t, w[0], first["floe_group_lag_messages"][key], "lag of %s", key)
		require.Equal(t, w[1], first["floe_group_inflight_messages"][key], "inflight of %s", key)
		require.Equal(t, w[2], first["floe_group_ready_messages"][key], "ready of %s", key)
		if w[3] == 0 {
			require.Zero(t, first["floe_group_oldest_unacked_age_seconds"][key], "age of %s", key)
		} else {
			require.Less(t, first["floe_group_oldest_unacked_age_seconds"][key], 60.0, "age of %s", key)
		}
	}
	require.Len(t, first["floe_group_lag_messages"], len(want), "one series per subscribed (group, topic); none for a group without subscriptions")
	require.Zero(t, first["floe_group_lag_read_errors_total"]["/"])
	require.Equal(t, int64(1), src.lists.Load())
	require.Equal(t, int64(3), src.lags.Load(), "one GroupLag per group")

	// The same numbers as the lag endpoint, summed per topic the same way.
	for _, group := range []string{"billing", "audit"} {
		lag, err := consumer.Lag(ctx, group)
		require.NoError(t, err)
		for _, tl := range lag.Topics {
			key := group + "/" + tl.Topic
			require.Equal(t, float64(tl.Lag), first["floe_group_lag_messages"][key], key)
			require.Equal(t, float64(tl.Inflight), first["floe_group_inflight_messages"][key], key)
			require.Equal(t, float64(tl.Ready), first["floe_group_ready_messages"][key], key)
			require.InDelta(t, tl.OldestUnackedAge, first["floe_group_oldest_unacked_age_seconds"][key], 2, key)
		}
	}

	// Within MaxAge: no read, the old numbers, an age that grew with the clock.
	ack("billing", "orders", inflight)
	advance(3 * time.Second)
	cached := scrape(t, reg)
	require.Equal(t, int64(1), src.lists.Load(), "a scrape within MaxAge must not read Postgres")
	require.Equal(t, 10.0, cached["floe_group_lag_messages"]["billing/orders"])
	require.InDelta(t, first["floe_group_oldest_unacked_age_seconds"]["audit/orders"]+3, cached["floe_group_oldest_unacked_age_seconds"]["audit/orders"], 1e-6)

	// Past MaxAge: read again, and see the ack.
	advance(3 * time.Second)
	fresh := scrape(t, reg)
	require.Equal(t, int64(2), src.lists.Load())
	require.Equal(t, 6.0, fresh["floe_group_lag_messages"]["billing/orders"])
	require.Zero(t, fresh["floe_group_inflight_messages"]["billing/orders"])
	require.Equal(t, 6.0, fresh["floe_group_ready_messages"]["billing/orders"])
}

var quiet = slog.New(slog.DiscardHandler)

// fakeSource serves fixed groups; GroupLag of slow blocks until its context ends.
type fakeSource struct {
	listErr error
	slow    string
	// only, when set, are the groups listed instead of a, b and c.
	only  []string
	lists atomic.Int64
}

func (f *fakeSource) GroupList(ctx context.Context) ([]metadata.Group, error) {
	f.lists.Add(1)
	time.Sleep(20 * time.Millisecond) // long enough for concurrent scrapes to overlap
	if f.listErr != nil {
		return nil, f.listErr
	}
	if f.only != nil {
		var out []metadata.Group
		for _, g := range f.only {
			out = append(out, metadata.Group{Name: g})
		}
		return out, nil
	}
	return []metadata.Group{{Name: "a"}, {Name: "b"}, {Name: "c"}}, nil
}

func (f *fakeSource) GroupLag(ctx context.Context, group string) ([]metadata.QueueLag, error) {
	if group == f.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []metadata.QueueLag{
		{Topic: "t", QueueID: 0, MaxOffset: 7, ConsumedOffset: 2, Inflight: 1, Ready: 4},
		{Topic: "t", QueueID: 1, MaxOffset: 5, ConsumedOffset: 5},
		{Topic: "u", QueueID: 0, MaxOffset: 1},
	}, nil
}

// A slow Postgres costs a scrape at most Timeout, leaves out the groups not read (absent,
// never zero), counts an error, and is not asked again before MaxAge.
func TestLagCollectorTimesOutAndCachesFailures(t *testing.T) {
	t.Parallel()
	src := &fakeSource{slow: "b"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLagCollector(LagMetricsConfig{Timeout: 200 * time.Millisecond, MaxAge: time.Hour, Logger: quiet}, src))
	start := time.Now()
	got := scrape(t, reg)
	require.Less(t, time.Since(start), 2*time.Second)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Equal(t, map[string]float64{"a/t": 5, "a/u": 1}, got["floe_group_lag_messages"], "group a read, b timed out, c never reached")
	require.Equal(t, map[string]float64{"a/t": 1, "a/u": 0}, got["floe_group_inflight_messages"])
	require.Equal(t, map[string]float64{"a/t": 4, "a/u": 0}, got["floe_group_ready_messages"])
	require.Equal(t, 1.0, got["floe_group_lag_read_errors_total"]["/"])

	again := scrape(t, reg)
	require.Equal(t, int64(1), src.lists.Load(), "a failed read is cached too")
	require.Equal(t, got, again)

	// Postgres down: no lag series at all, and an error.
	down := &fakeSource{listErr: errors.New("connection refused")}
	reg = prometheus.NewRegistry()
	reg.MustRegister(newLagCollector(LagMetricsConfig{Logger: quiet}, down))
	got = scrape(t, reg)
	require.Empty(t, got["floe_group_lag_messages"])
	require.Equal(t, 1.0, got["floe_group_lag_read_errors_total"]["/"])
}

// Concurrent scrapes (several Prometheus servers, say) share one read.
func TestLagCollectorConcurrentScrapesShareARead(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLagCollector(LagMetricsConfig{}, src))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(1), src.lists.Load())
}
