package reader

import (
	"cmp"
	"context"
	"sync"
	"time"
)

// LagHistory keeps what the lag gauges read, every group's accumulation per topic, over the
// last hour: a sample every Interval, read as a scrape of the gauges reads it (one group
// list and one lag query per group), but on its own, so that it neither serves nor
// replaces the gauges' cached read. Each reader node keeps its own (the numbers are
// global); a node started a minute ago has a minute of history.
type LagHistory struct {
	collector *LagCollector
	interval  time.Duration
	keep      time.Duration
	now       func() time.Time

	mu     sync.Mutex
	groups map[string][]lagSample // by group, oldest first

	stop chan struct{}
	done chan struct{}
}

// lagSample is one group's sample.
type lagSample struct {
	at     time.Time
	topics []TopicLagSample
}

// LagSample is a group's accumulation per topic at a time.
type LagSample struct {
	Time   time.Time
	Topics []TopicLagSample
}

// TopicLagSample is one topic's totals in a sample (stored topic names).
type TopicLagSample struct {
	Topic                string
	Lag, Inflight, Ready int64
}

// NewLagHistory samples collector every interval (default 30 s) and keeps an hour.
func NewLagHistory(collector *LagCollector, interval time.Duration) *LagHistory {
	return &LagHistory{collector: collector, interval: cmp.Or(interval, 30*time.Second), keep: time.Hour,
		now: collector.cfg.Now, groups: map[string][]lagSample{}}
}

// Start samples at once, then every interval until Stop.
func (h *LagHistory) Start() {
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(h.interval)
		defer t.Stop()
		for {
			h.sample()
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the sampling.
func (h *LagHistory) Stop() {
	if h.stop != nil {
		close(h.stop)
		<-h.done
	}
}

// sample records a read of every group's lag. A failed read records the groups read
// before it failed (the gauges' rule: absent, never zero).
func (h *LagHistory) sample() {
	ctx, cancel := context.WithTimeout(context.Background(), h.collector.cfg.Timeout)
	topics, err := h.collector.read(ctx)
	cancel()
	if err != nil {
		h.collector.cfg.Logger.Warn("reading group lag for its history", "err", err)
	}
	now := h.now()
	byGroup := map[string][]TopicLagSample{}
	for _, t := range topics {
		byGroup[t.group] = append(byGroup[t.group], TopicLagSample{Topic: t.topic, Lag: t.lag, Inflight: t.inflight, Ready: t.ready})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for g, ts := range byGroup {
		h.groups[g] = append(h.groups[g], lagSample{at: now, topics: ts})
	}
	// Drop what is older than an hour, and the groups that were not seen for that long
	// (deleted).
	for g, ss := range h.groups {
		i := 0
		for i < len(ss) && now.Sub(ss[i].at) > h.keep {
			i++
		}
		if i == len(ss) {
			delete(h.groups, g)
		} else if i > 0 {
			h.groups[g] = append(ss[:0:0], ss[i:]...)
		}
	}
}

// Of returns a group's samples, oldest first, with stored topic names.
func (h *LagHistory) Of(group string) []LagSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []LagSample{}
	for _, s := range h.groups[group] {
		out = append(out, LagSample{Time: s.at, Topics: append([]TopicLagSample(nil), s.topics...)})
	}
	return out
}

// Interval is the time between samples.
func (h *LagHistory) Interval() time.Duration { return h.interval }
