package reader

import (
	"cmp"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/httpapi"
)

// LagHistory keeps what the lag gauges read, every group's accumulation per topic, over the
// last hour: a sample every Interval, from the collector's cached read, so it costs Postgres
// nothing more than a Prometheus scrape at that interval would. Each reader node keeps its
// own (the numbers are global); a node started a minute ago has a minute of history.
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
	topics []httpapi.LagHistoryTopic
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

// sample records the collector's current read.
func (h *LagHistory) sample() {
	topics := h.collector.current()
	now := h.now()
	byGroup := map[string][]httpapi.LagHistoryTopic{}
	for _, t := range topics {
		byGroup[t.group] = append(byGroup[t.group], httpapi.LagHistoryTopic{Topic: t.topic, Lag: t.lag, Inflight: t.inflight, Ready: t.ready})
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
func (h *LagHistory) Of(group string) []httpapi.LagHistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []httpapi.LagHistoryPoint{}
	for _, s := range h.groups[group] {
		out = append(out, httpapi.LagHistoryPoint{Time: s.at, Topics: append([]httpapi.LagHistoryTopic(nil), s.topics...)})
	}
	return out
}

// Register adds GET /v1/groups/{group}/lag/history; the group must exist.
func (h *LagHistory) Register(e *echo.Echo, c *Consumer) {
	e.GET("/v1/groups/:group/lag/history", func(ctx echo.Context) error {
		if err := httpapi.CheckName("group", ctx.Param("group")); err != nil {
			return err
		}
		tenant := httpapi.TenantOf(ctx)
		group, err := tenant.Param(ctx, "group")
		if err != nil {
			return err
		}
		if err := c.groupExists(ctx.Request().Context(), group); err != nil {
			return err
		}
		points := h.Of(group)
		for i := range points {
			for j := range points[i].Topics {
				points[i].Topics[j].Topic = tenant.Show(points[i].Topics[j].Topic)
			}
		}
		return ctx.JSON(http.StatusOK, httpapi.LagHistoryResponse{Group: ctx.Param("group"), IntervalSeconds: int(h.interval / time.Second), Points: points})
	})
}
