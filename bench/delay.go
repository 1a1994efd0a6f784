package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/client"
)

// DelayConfig describes the scheduled-message workload: messages sent at Rate per second
// for Duration, each due Delay after it was sent, received and acked by Consumers.
type DelayConfig struct {
	Topic       string
	Group       string
	Queues      int
	Rate        int
	Duration    time.Duration
	Delay       time.Duration
	MessageSize int
	BatchSize   int
	Producers   int
	Consumers   int
}

func (cfg DelayConfig) withDefaults() DelayConfig {
	cfg.Topic = cmp.Or(cfg.Topic, "bench-delay")
	cfg.Group = cmp.Or(cfg.Group, "bench-delay")
	cfg.Queues = cmp.Or(cfg.Queues, 8)
	cfg.Rate = cmp.Or(cfg.Rate, 5000)
	cfg.Duration = cmp.Or(cfg.Duration, time.Minute)
	cfg.Delay = cmp.Or(cfg.Delay, 10*time.Second)
	cfg.MessageSize = cmp.Or(cfg.MessageSize, 1024)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 50)
	cfg.Producers = cmp.Or(cfg.Producers, 16)
	cfg.Consumers = cmp.Or(cfg.Consumers, 16)
	return cfg
}

// DelayResult is what the scheduled-message workload measured.
type DelayResult struct {
	Config    DelayConfig
	Scheduled int64
	Received  int64
	Early     int64
	Errors    int64
	// Lateness is receive time minus delivery time, over every received message.
	Lateness   Percentiles
	PgTxPerSec float64
	// PgTxPerScheduledMessage is the Postgres transactions of the whole run divided by
	// the messages scheduled: the Postgres cost per scheduled message.
	PgTxPerScheduledMessage float64
	Notes                   []string
}

// RunDelay runs the scheduled-message workload against a server.
func RunDelay(ctx context.Context, c *client.Client, cfg DelayConfig, progress io.Writer) (DelayResult, error) {
	cfg = cfg.withDefaults()
	res := DelayResult{Config: cfg}
	if _, _, err := c.CreateTopic(ctx, client.TopicSpec{Name: cfg.Topic, Type: client.TopicDelay, Queues: cfg.Queues}); err != nil && !client.IsStatus(err, 409) {
		return res, err
	}
	if _, _, err := c.CreateGroup(ctx, client.GroupSpec{Name: cfg.Group}); err != nil && !client.IsStatus(err, 409) {
		return res, err
	}
	if err := c.Subscribe(ctx, cfg.Group, cfg.Topic, client.SubscriptionSpec{Filter: "*"}); err != nil {
		return res, err
	}
	txCounter := []counter{metricPgTx}
	before := scrapeCounters(ctx, c, txCounter)
	start := time.Now()

	var scheduled, received, early, errs atomic.Int64
	var mu sync.Mutex
	var hist Histogram
	stopProducing := start.Add(cfg.Duration)
	// Consumers run until every scheduled message arrived or the last one is long overdue.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cwg sync.WaitGroup
	for i := 0; i < cfg.Consumers; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			var local Histogram
			defer func() { mu.Lock(); hist.Merge(&local); mu.Unlock() }()
			for cctx.Err() == nil {
				msgs, err := c.Receive(cctx, cfg.Group, cfg.Topic, client.ReceiveRequest{MaxMessages: 64, InvisibleSeconds: 60, WaitSeconds: 1})
				if err != nil {
					if cctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				now := time.Now()
				var hs []string
				for _, m := range msgs {
					hs = append(hs, m.ReceiptHandle)
					if m.DeliveryTime == nil {
						continue
					}
					late := now.Sub(*m.DeliveryTime)
					if late < 0 {
						early.Add(1)
						late = 0
					}
					local.Record(late)
					received.Add(1)
				}
				if len(hs) > 0 {
					if _, err := c.Ack(cctx, cfg.Group, cfg.Topic, hs); err != nil && cctx.Err() == nil {
						errs.Add(1)
					}
				}
			}
		}()
	}

	interval := time.Duration(float64(time.Second) * float64(cfg.BatchSize*cfg.Producers) / float64(cfg.Rate))
	var pwg sync.WaitGroup
	for p := 0; p < cfg.Producers; p++ {
		pwg.Add(1)
		go func(p int) {
			defer pwg.Done()
			next := start.Add(time.Duration(p) * interval / time.Duration(cfg.Producers))
			for next.Before(stopProducing) && ctx.Err() == nil {
				time.Sleep(time.Until(next))
				due := time.Now().Add(cfg.Delay)
				msgs := make([]client.Message, cfg.BatchSize)
				for i := range msgs {
					body := make([]byte, cfg.MessageSize)
					_, _ = rand.Read(body)
					msgs[i] = client.Message{Body: body, DeliveryTime: &due}
				}
				if _, err := c.Send(ctx, cfg.Topic, msgs); err != nil {
					errs.Add(1)
				} else {
					scheduled.Add(int64(len(msgs)))
				}
				next = next.Add(interval)
			}
		}(p)
	}
	stopProgress := startProgress(progress, time.Second, func(now time.Time, dt time.Duration) string {
		return fmt.Sprintf("%6.0fs scheduled %8d received %8d early %d errors %d", now.Sub(start).Seconds(),
			scheduled.Load(), received.Load(), early.Load(), errs.Load())
	})
	pwg.Wait()
	deadline := time.Now().Add(cfg.Delay + 30*time.Second)
	for received.Load() < scheduled.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	cwg.Wait()
	stopProgress()
	elapsed := time.Since(start)
	after := scrapeCounters(ctx, c, txCounter)
	d := deltas(before, after, txCounter)
	tx := d.values[metricPgTx.String()]

	res.Scheduled, res.Received, res.Early, res.Errors = scheduled.Load(), received.Load(), early.Load(), errs.Load()
	res.Lateness = hist.Percentiles()
	res.PgTxPerSec = perSecond(tx, elapsed)
	res.PgTxPerScheduledMessage = ratio(tx, float64(res.Scheduled))
	res.Notes = append(res.Notes, "Postgres transactions include the consumers' receive and ack calls and every other call of the run.")
	return res, nil
}

// Markdown renders the result as a table.
func (r DelayResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scheduled messages | |\n|---|---|\n")
	fmt.Fprintf(&b, "| rate, duration, delay | %d msg/s, %s, %s |\n", r.Config.Rate, r.Config.Duration, r.Config.Delay)
	fmt.Fprintf(&b, "| scheduled / received | %d / %d |\n", r.Scheduled, r.Received)
	fmt.Fprintf(&b, "| delivered early | %d |\n", r.Early)
	fmt.Fprintf(&b, "| lateness p50 / p90 / p99 / max | %s / %s / %s / %s |\n", formatLatency(r.Lateness.P50),
		formatLatency(r.Lateness.P90), formatLatency(r.Lateness.P99), formatLatency(r.Lateness.Max))
	fmt.Fprintf(&b, "| Postgres transactions/s | %.1f |\n", r.PgTxPerSec)
	fmt.Fprintf(&b, "| Postgres transactions per scheduled message (all calls) | %.4f |\n", r.PgTxPerScheduledMessage)
	fmt.Fprintf(&b, "| errors | %d |\n", r.Errors)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}
