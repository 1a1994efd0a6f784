package reader

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/metadata"
)

// LagMetricsConfig tunes the accumulation gauges.
type LagMetricsConfig struct {
	// Timeout bounds the Postgres reads of one scrape; default 2 s. Groups not read by then
	// are left out of that scrape (absent, not zero: an autoscaler must not read a slow
	// database as an empty backlog).
	Timeout time.Duration
	// MaxAge is how long a read is reused: scrapes within MaxAge of the last read (or of the
	// last failed one) cost Postgres nothing; default 5 s.
	MaxAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// lagSource is the part of metadata.Store the gauges read.
type lagSource interface {
	GroupList(ctx context.Context) ([]metadata.Group, error)
	GroupLag(ctx context.Context, group string) ([]metadata.QueueLag, error)
}

// LagCollector exports every consumer group's accumulation, per group and topic, as the
// Prometheus gauges an autoscaler acts on: the numbers of GET /v1/groups/{group}/lag
// summed over the topic's queues.
//
// The numbers are global (they come from Postgres), so every reader node exports the same
// series: aggregate them with max by (group, topic), never sum.
type LagCollector struct {
	cfg    LagMetricsConfig
	source lagSource

	lag, inflight, ready, oldest *prometheus.Desc
	priorityLag                  *prometheus.Desc
	readErrors                   prometheus.Counter

	mu     sync.Mutex // held across a read, so concurrent scrapes share one
	readAt time.Time  // when the cached result was read; zero before the first read
	topics []topicLag
}

// topicLag is one (group, topic) of a read. It keeps the oldest unacked message's time, not
// its age, so a cached result still reports an age that grows.
type topicLag struct {
	group, topic         string
	lag, inflight, ready int64
	oldestUnacked        time.Time // valid when hasOldest: something is unacked
	hasOldest            bool
	// priorityLag is the lag per priority of a PRIORITY topic (nil for other types).
	priorityLag map[int]int64
}

// NewLagCollector returns the accumulation gauges over store; register it on the node's
// registry.
func NewLagCollector(cfg LagMetricsConfig, store *metadata.Store) *LagCollector {
	return newLagCollector(cfg, store)
}

func newLagCollector(cfg LagMetricsConfig, source lagSource) *LagCollector {
	cfg.Timeout = cmp.Or(cfg.Timeout, 2*time.Second)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	labels := []string{"group", "topic"}
	return &LagCollector{
		cfg:    cfg,
		source: source,
		lag: prometheus.NewDesc("floe_group_lag_messages",
			"Messages of the topic the group has not acked yet: the sum over queues of maxOffset - consumedOffset.", labels, nil),
		inflight: prometheus.NewDesc("floe_group_inflight_messages",
			"Messages of the topic received by the group and hidden, not yet acked.", labels, nil),
		ready: prometheus.NewDesc("floe_group_ready_messages",
			"Messages of the topic the group could receive now (before tag filtering).", labels, nil),
		oldest: prometheus.NewDesc("floe_group_oldest_unacked_age_seconds",
			"Age of the oldest message of the topic the group has not acked (0 when none).", labels, nil),
		priorityLag: prometheus.NewDesc("floe_group_priority_lag_messages",
			"Messages of one priority of a PRIORITY topic the group has not acked yet.", []string{"group", "topic", "priority"}, nil),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_group_lag_read_errors_total",
			Help: "Scrapes of the group lag gauges that could not read every group from Postgres.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.inflight
	ch <- c.ready
	ch <- c.oldest
	ch <- c.priorityLag
	c.readErrors.Describe(ch)
}

// Collect implements prometheus.Collector: it reads Postgres at most once per MaxAge.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	topics := c.current()
	now := c.cfg.Now()
	for _, t := range topics {
		age := 0.0
		if t.hasOldest {
			age = max(now.Sub(t.oldestUnacked).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(t.lag), t.group, t.topic)
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(t.inflight), t.group, t.topic)
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, float64(t.ready), t.group, t.topic)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, t.group, t.topic)
		for p, lag := range t.priorityLag {
			ch <- prometheus.MustNewConstMetric(c.priorityLag, prometheus.GaugeValue, float64(lag), t.group, t.topic, strconv.Itoa(p))
		}
	}
	c.readErrors.Collect(ch)
}

// current returns the cached read, reading again when it is older than MaxAge.
func (c *LagCollector) current() []topicLag {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.cfg.MaxAge {
		return c.topics
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	topics, err := c.read(ctx)
	if err != nil {
		c.readErrors.Inc()
		c.cfg.Logger.Warn("reading group lag for metrics", "err", err, "groupsRead", groupsIn(topics))
	}
	// A failed read is cached too: a struggling Postgres gets no more load from scrapes.
	c.topics, c.readAt = topics, now
	return topics
}

// read returns the lag of every group per topic, in group and topic order. On an error it
// returns the groups read before it.
func (c *LagCollector) read(ctx context.Context) ([]topicLag, error) {
	groups, err := c.source.GroupList(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	var out []topicLag
	for _, g := range groups {
		rows, err := c.source.GroupLag(ctx, g.Name)
		if err != nil {
			return out, fmt.Errorf("reading lag of group %s (%d of %d groups read): %w", g.Name, groupsIn(out), len(groups), err)
		}
		start := len(out)
		for _, r := range rows {
			// GroupLag orders rows by topic, so one topic's queues are adjacent.
			if len(out) == start || out[len(out)-1].topic != r.Topic {
				out = append(out, topicLag{group: g.Name, topic: r.Topic})
			}
			t := &out[len(out)-1]
			t.lag += r.MaxOffset - r.ConsumedOffset
			t.inflight += r.Inflight
			t.ready += r.Ready
			if r.Priority != nil {
				if t.priorityLag == nil {
					t.priorityLag = map[int]int64{}
				}
				t.priorityLag[*r.Priority] += r.MaxOffset - r.ConsumedOffset
			}
			if !r.OldestUnacked.IsZero() && (!t.hasOldest || r.OldestUnacked.Before(t.oldestUnacked)) {
				t.oldestUnacked, t.hasOldest = r.OldestUnacked, true
			}
		}
	}
	return out, nil
}

// groupsIn counts the groups of a read.
func groupsIn(topics []topicLag) int {
	n := 0
	for i, t := range topics {
		if i == 0 || topics[i-1].group != t.group {
			n++
		}
	}
	return n
}
