package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/client"
)

// LiteConfig describes the lite-topic workload: create LiteTopics lite topics with
// MessagesEach messages each, then have a group subscribed to Subscribed of them receive
// while Active of them get traffic.
type LiteConfig struct {
	Topic        string
	Group        string
	LiteTopics   int
	MessagesEach int
	MessageSize  int
	PerRequest   int // lite topics per send request
	Producers    int
	Subscribed   int
	Active       int
	ReceiveFor   time.Duration
}

func (cfg LiteConfig) withDefaults() LiteConfig {
	cfg.Topic = cmp.Or(cfg.Topic, "bench-lite")
	cfg.Group = cmp.Or(cfg.Group, "bench-lite")
	cfg.LiteTopics = cmp.Or(cfg.LiteTopics, 1_000_000)
	cfg.MessagesEach = cmp.Or(cfg.MessagesEach, 10)
	cfg.MessageSize = cmp.Or(cfg.MessageSize, 100)
	cfg.PerRequest = cmp.Or(cfg.PerRequest, 100)
	cfg.Producers = cmp.Or(cfg.Producers, 16)
	cfg.Subscribed = cmp.Or(cfg.Subscribed, 10_000)
	cfg.Active = cmp.Or(cfg.Active, 5)
	cfg.ReceiveFor = cmp.Or(cfg.ReceiveFor, 30*time.Second)
	return cfg
}

// LiteResult is what the lite-topic workload measured.
type LiteResult struct {
	Config        LiteConfig
	CreateTime    time.Duration
	Messages      int64
	Errors        int64
	MsgsPerSec    float64
	Received      int64
	EndToEnd      Percentiles
	ReceiveCall   Percentiles
	ReceiveCalls  int64
	SubscribeTime time.Duration
}

func liteName(i int) string { return fmt.Sprintf("lt-%07d", i) }

// RunLite runs the lite-topic workload.
func RunLite(ctx context.Context, c *client.Client, cfg LiteConfig, progress io.Writer) (LiteResult, error) {
	cfg = cfg.withDefaults()
	res := LiteResult{Config: cfg}
	if _, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: cfg.Topic, Type: client.TopicLite}); err != nil && !client.IsStatus(err, 409) {
		return res, err
	}
	// Phase 1: create the lite topics by sending to them.
	start := time.Now()
	var next, sent, errs atomic.Int64
	var wg sync.WaitGroup
	for p := 0; p < cfg.Producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, cfg.MessageSize)
			for ctx.Err() == nil {
				first := int(next.Add(int64(cfg.PerRequest))) - cfg.PerRequest
				if first >= cfg.LiteTopics {
					return
				}
				var msgs []client.Message
				for i := first; i < min(first+cfg.PerRequest, cfg.LiteTopics); i++ {
					for m := 0; m < cfg.MessagesEach; m++ {
						msgs = append(msgs, client.Message{Body: body, LiteTopic: liteName(i)})
					}
				}
				if _, err := c.Send(ctx, cfg.Topic, msgs); err != nil {
					errs.Add(1)
					continue
				}
				sent.Add(int64(len(msgs)))
			}
		}()
	}
	stop := startProgress(progress, 5*time.Second, func(now time.Time, _ time.Duration) string {
		return fmt.Sprintf("%6.0fs lite topics %8d messages %9d errors %d", now.Sub(start).Seconds(),
			min(next.Load(), int64(cfg.LiteTopics)), sent.Load(), errs.Load())
	})
	wg.Wait()
	stop()
	res.CreateTime = time.Since(start)
	res.Messages, res.Errors = sent.Load(), errs.Load()
	res.MsgsPerSec = perSecond(float64(res.Messages), res.CreateTime)

	// Phase 2: a group subscribed to many lite topics, few of them active.
	if _, _, err := c.CreateGroup(ctx, client.GroupSpec{Name: cfg.Group}); err != nil && !client.IsStatus(err, 409) {
		return res, err
	}
	subs := make([]string, 0, cfg.Subscribed)
	for i := 0; i < cfg.Subscribed; i++ {
		subs = append(subs, liteName(i*max(1, cfg.LiteTopics/cfg.Subscribed)%cfg.LiteTopics))
	}
	t0 := time.Now()
	if err := c.Subscribe(ctx, cfg.Group, cfg.Topic, client.SubscriptionSpec{LiteTopics: subs}); err != nil {
		return res, err
	}
	res.SubscribeTime = time.Since(t0)
	rctx, cancel := context.WithTimeout(ctx, cfg.ReceiveFor)
	defer cancel()
	var e2e, call Histogram
	var mu sync.Mutex
	var received, calls atomic.Int64
	var cwg sync.WaitGroup
	cwg.Add(1)
	go func() {
		defer cwg.Done()
		for rctx.Err() == nil {
			t := time.Now()
			msgs, err := c.Receive(rctx, cfg.Group, cfg.Topic, client.ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 5})
			if err != nil {
				continue
			}
			now := time.Now()
			mu.Lock()
			calls.Add(1)
			if len(msgs) > 0 {
				call.Record(now.Sub(t))
			}
			var hs []string
			for _, m := range msgs {
				hs = append(hs, m.ReceiptHandle)
				if len(m.Body) >= 8 {
					sentAt := time.Unix(0, int64(binary.BigEndian.Uint64(m.Body)))
					e2e.Record(now.Sub(sentAt))
					received.Add(1)
				}
			}
			mu.Unlock()
			if len(hs) > 0 {
				_, _ = c.Ack(rctx, cfg.Group, cfg.Topic, hs)
			}
		}
	}()
	for i := 0; rctx.Err() == nil; i++ {
		lite := subs[i%cfg.Active]
		body := make([]byte, max(cfg.MessageSize, 8))
		binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		_, _ = c.Send(rctx, cfg.Topic, []client.Message{{Body: body, LiteTopic: lite}})
		select {
		case <-rctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	cwg.Wait()
	res.Received, res.ReceiveCalls = received.Load(), calls.Load()
	res.EndToEnd, res.ReceiveCall = e2e.Percentiles(), call.Percentiles()
	return res, nil
}

// Markdown renders the result as a table.
func (r LiteResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| lite topics | |\n|---|---|\n")
	fmt.Fprintf(&b, "| lite topics created | %d, %d messages each of %d B, %d per request |\n", r.Config.LiteTopics, r.Config.MessagesEach, r.Config.MessageSize, r.Config.PerRequest)
	fmt.Fprintf(&b, "| creation time | %s (%d messages, %.0f msg/s, %d failed requests) |\n", r.CreateTime.Round(time.Millisecond), r.Messages, r.MsgsPerSec, r.Errors)
	fmt.Fprintf(&b, "| group subscribed to | %d lite topics (PUT took %s), %d active |\n", r.Config.Subscribed, r.SubscribeTime.Round(time.Millisecond), r.Config.Active)
	fmt.Fprintf(&b, "| messages received | %d in %d receive calls |\n", r.Received, r.ReceiveCalls)
	fmt.Fprintf(&b, "| send → receive p50 / p99 / max | %s / %s / %s |\n", formatLatency(r.EndToEnd.P50), formatLatency(r.EndToEnd.P99), formatLatency(r.EndToEnd.Max))
	fmt.Fprintf(&b, "| receive call (with messages) p50 / p99 | %s / %s |\n", formatLatency(r.ReceiveCall.P50), formatLatency(r.ReceiveCall.P99))
	return b.String()
}
