package admin

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/trace"
)

// Messages reads stored messages; the reader role provides it (reader.Service). A node
// without it cannot choose dead letters by id, and its redrive steps record no trace.
type Messages interface {
	GetMessage(ctx context.Context, topic, id string) (domain.MessageView, error)
	ReadQueue(ctx context.Context, topic string, queueID int, lite string, offset int64, limit int) ([]domain.MessageView, error)
}

// SetMessages gives the service a reader of stored messages.
func (s *Service) SetMessages(m Messages) { s.messages = m }

// Tracer records message trace events (trace.Recorder).
type Tracer interface {
	Record(events []trace.Event)
}

// RedriverConfig tunes the redrive runner.
type RedriverConfig struct {
	// Interval is how often an idle runner looks for due tasks; default 1 s (an idle
	// compactor node costs one Postgres transaction a second).
	Interval time.Duration
	// Messages reads the dead letters' message groups and lite topics, which choose their
	// queues in a FIFO or LITE target, and the redriven messages' ids for their REDRIVEN
	// trace events. Without it, tasks into FIFO and LITE topics wait for a node that has it.
	Messages Messages
	// Tracer records REDRIVEN events (nil: none).
	Tracer Tracer
	Logger *slog.Logger
}

// Redriver runs redrive tasks: every node that runs one shares the due tasks through
// Postgres (SKIP LOCKED), so tasks go on after a node restarts or dies.
type Redriver struct {
	cfg    RedriverConfig
	store  *metadata.Store
	moved  prometheus.Counter
	steps  *prometheus.CounterVec
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRedriver returns a runner; Start starts it.
func NewRedriver(cfg RedriverConfig, store *metadata.Store, reg prometheus.Registerer) (*Redriver, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Redriver{cfg: cfg, store: store,
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_admin_redriven_messages_total", Help: "Dead letters moved back to a topic by redrive tasks.",
		}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_admin_redrive_steps_total", Help: "Redrive batches applied, by result (ok, error).",
		}, []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.moved, r.steps} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// Start runs the loop until Stop.
func (r *Redriver) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(ctx)
}

// Stop ends the loop; a batch being applied commits or rolls back as a whole. A nil
// runner stops at once.
func (r *Redriver) Stop() {
	if r == nil || r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
}

func (r *Redriver) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		// Drain what is due, then wait for the next tick.
		for ctx.Err() == nil {
			did, err := r.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.cfg.Logger.Warn("redrive step failed", "err", err)
				}
				break
			}
			if !did {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce applies one due batch, if any, and reports whether it did.
func (r *Redriver) RunOnce(ctx context.Context) (bool, error) {
	var route metadata.RedriveRouter
	if r.cfg.Messages != nil {
		route = r.routes
	}
	b, ok, err := r.store.RedriveStep(ctx, redriveBatch, route)
	if err != nil {
		r.steps.WithLabelValues("error").Inc()
		return false, err
	}
	if !ok {
		return false, nil
	}
	r.steps.WithLabelValues("ok").Inc()
	r.moved.Add(float64(len(b.Moved)))
	r.trace(ctx, b)
	if b.Task.State != metadata.RedriveRunning {
		r.cfg.Logger.Info("redrive task ended", "task", b.Task.ID, "group", b.Task.Group, "state", b.Task.State,
			"moved", b.Task.Moved, "skipped", b.Task.Skipped)
	}
	return true, nil
}

// routes reads the message group and lite topic of a group's dead letters, by offset, a
// range of the dead-letter queue at a time.
func (r *Redriver) routes(ctx context.Context, group string, offsets []int64) (map[int64]metadata.RedriveRoute, error) {
	out := make(map[int64]metadata.RedriveRoute, len(offsets))
	want := slices.Sorted(slices.Values(offsets))
	for i := 0; i < len(want); {
		if _, ok := out[want[i]]; ok {
			i++
			continue
		}
		first := want[i]
		n := int(min(want[len(want)-1]-first+1, maxRouteRead))
		views, err := r.cfg.Messages.ReadQueue(ctx, metadata.DLQTopic(group), 0, "", first, n)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			out[v.Offset] = metadata.RedriveRoute{MessageGroup: v.MessageGroup, LiteTopic: v.LiteTopic}
		}
		// Past what this read covered: offsets it did not return are gone (retention).
		for i < len(want) && want[i] < first+int64(n) {
			i++
		}
	}
	return out, nil
}

// maxRouteRead bounds one read of dead letters for their routes (the reader's limit).
const maxRouteRead = 1000

// trace records a REDRIVEN event for each moved message of a traced topic, reading the
// ids from the target queues (one read per queue touched).
func (r *Redriver) trace(ctx context.Context, b metadata.RedriveBatch) {
	if r.cfg.Tracer == nil || r.cfg.Messages == nil || len(b.Moved) == 0 {
		return
	}
	t, err := r.store.TopicGet(ctx, b.Task.TargetTopic)
	if err != nil || !t.Trace {
		return
	}
	type queue struct {
		id   int
		lite string
	}
	byQueue := map[queue][]metadata.Redriven{}
	for _, m := range b.Moved {
		q := queue{m.QueueID, m.LiteTopic}
		byQueue[q] = append(byQueue[q], m)
	}
	now := time.Now()
	var evs []trace.Event
	for qid, ms := range byQueue {
		first, last := ms[0].Offset, ms[0].Offset
		for _, m := range ms {
			first, last = min(first, m.Offset), max(last, m.Offset)
		}
		views, err := r.cfg.Messages.ReadQueue(ctx, b.Task.TargetTopic, qid.id, qid.lite, first, int(last-first+1))
		if err != nil {
			r.cfg.Logger.Warn("reading redriven messages for their trace", "task", b.Task.ID, "err", err)
			continue
		}
		for _, v := range views {
			q, off := v.QueueID, v.Offset
			evs = append(evs, trace.Event{MessageID: v.MessageID, Topic: b.Task.TargetTopic, Type: trace.Redriven, Time: now,
				QueueID: &q, Offset: &off, Group: b.Task.Group})
		}
	}
	r.cfg.Tracer.Record(evs)
}

// Limits of a redrive.
const (
	DefaultRedriveRate = 100
	MaxRedriveRate     = 10_000
	// MaxRedriveMessageIDs bounds the dead letters one task may choose by id.
	MaxRedriveMessageIDs = 1000
	// redriveBatch bounds the messages one step moves in its transaction.
	redriveBatch = 500
)

// Messages returns the reader of stored messages SetMessages gave, or nil.
func (s *Service) Messages() Messages { return s.messages }
