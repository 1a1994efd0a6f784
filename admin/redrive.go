package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/trace"
)

// Limits of a redrive.
const (
	DefaultRedriveRate = 100
	MaxRedriveRate     = 10_000
	// MaxRedriveMessageIDs bounds the dead letters one task may choose by id.
	MaxRedriveMessageIDs = 1000
	// redriveBatch bounds the messages one step moves in its transaction.
	redriveBatch = 500
)

// Messages reads stored messages; the reader role provides it (reader.Service). A node
// without it cannot choose dead letters by id, and its redrive steps record no trace.
type Messages interface {
	GetMessage(ctx context.Context, topic, id string) (domain.MessageView, error)
	ReadQueue(ctx context.Context, topic string, queueID int, lite string, offset int64, limit int) ([]domain.MessageView, error)
}

// SetMessages gives the service a reader of stored messages.
func (s *Service) SetMessages(m Messages) { s.messages = m }

func (s *Service) registerRedrive(e *echo.Echo) {
	e.POST("/v1/groups/:group/dead-letters/redrive", s.startRedrive)
	e.GET("/v1/groups/:group/dead-letters/redrive", s.listRedrives)
	e.GET("/v1/groups/:group/dead-letters/redrive/:task", s.getRedrive)
	e.POST("/v1/groups/:group/dead-letters/redrive/:task/cancel", s.cancelRedrive)
}

// startRedrive creates a task that moves the group's dead letters (all of them, or the
// chosen ones) to a topic the group subscribes to. The task runs on the compactor nodes;
// its id answers at once.
func (s *Service) startRedrive(c echo.Context) error {
	var req httpapi.RedriveRequest
	if err := httpapi.DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	tenant := httpapi.TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	rate := DefaultRedriveRate
	if req.RatePerSecond != nil {
		if *req.RatePerSecond < 1 || *req.RatePerSecond > MaxRedriveRate {
			return badRequest("ratePerSecond must be 1-%d", MaxRedriveRate)
		}
		rate = *req.RatePerSecond
	}
	if req.MessageIDs != nil && (len(req.MessageIDs) == 0 || len(req.MessageIDs) > MaxRedriveMessageIDs) {
		return badRequest("messageIds must hold 1-%d ids (omit it to redrive every dead letter)", MaxRedriveMessageIDs)
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return groupError(err)
	}
	subs, err := s.store.SubscriptionList(ctx, group)
	if err != nil {
		return storeError(err)
	}
	var target string
	if req.TargetTopic == "" {
		if len(subs) != 1 {
			return badRequest("targetTopic is required: group %s subscribes to %d topics", c.Param("group"), len(subs))
		}
		target = subs[0].Topic
	} else {
		if target, err = tenant.Resolve("topic", req.TargetTopic); err != nil {
			return err
		}
		found := false
		for _, sub := range subs {
			found = found || sub.Topic == target
		}
		if !found {
			// The group's admin may send its dead letters only where the group consumes:
			// writing into any other topic is a right over that topic.
			return badRequest("targetTopic must be a topic group %s subscribes to; %s is not", c.Param("group"), req.TargetTopic)
		}
	}
	t, err := s.store.TopicGet(ctx, target)
	if err != nil {
		return storeError(err)
	}
	if t.Type == metadata.TopicFIFO || t.Type == metadata.TopicLite {
		return domain.Errorf(domain.ErrConflict, "redrive into a %s topic is not supported: its messages are routed by message group or lite topic", t.Type)
	}
	p := metadata.RedriveCreateParams{ID: newTaskID(), Group: group, TargetTopic: target, RatePerSecond: rate}
	if req.MessageIDs != nil {
		if s.messages == nil {
			return domain.Errorf(domain.ErrUnavailable, "this node cannot read messages (no reader role); ask a reader node")
		}
		seen := map[int64]bool{}
		p.Offsets = []int64{}
		for _, id := range req.MessageIDs {
			v, err := s.messages.GetMessage(ctx, metadata.DLQTopic(group), id)
			if errors.Is(err, domain.ErrMessageNotFound) || errors.Is(err, domain.ErrTopicNotFound) || errors.Is(err, domain.ErrQueueNotFound) {
				return domain.Errorf(domain.ErrMessageNotFound, "no dead letter %s in group %s", id, c.Param("group"))
			}
			if err != nil {
				return err
			}
			if !seen[v.Offset] {
				seen[v.Offset] = true
				p.Offsets = append(p.Offsets, v.Offset)
			}
		}
	}
	task, err := s.store.RedriveCreate(ctx, p)
	if err != nil {
		return groupError(err)
	}
	return c.JSON(http.StatusAccepted, redriveView(tenant, task))
}

func newTaskID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redriveView(tenant httpapi.Tenant, t metadata.RedriveTask) httpapi.RedriveTask {
	return httpapi.RedriveTask{ID: t.ID, Group: tenant.Show(t.Group), TargetTopic: tenant.Show(t.TargetTopic), State: t.State,
		Total: t.Total(), Moved: t.Moved, Skipped: t.Skipped, RatePerSecond: t.RatePerSecond, Error: t.Error,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), FinishedAt: t.FinishedAt}
}

func (s *Service) listRedrives(c echo.Context) error {
	tenant := httpapi.TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(c.Request().Context(), group); err != nil {
		return groupError(err)
	}
	ts, err := s.store.RedriveList(c.Request().Context(), group, 100)
	if err != nil {
		return storeError(err)
	}
	out := httpapi.RedriveTasksResponse{Tasks: []httpapi.RedriveTask{}}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, redriveView(tenant, t))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Service) getRedrive(c echo.Context) error {
	return s.redriveTask(c, s.store.RedriveGet)
}

func (s *Service) cancelRedrive(c echo.Context) error {
	return s.redriveTask(c, s.store.RedriveCancel)
}

func (s *Service) redriveTask(c echo.Context, fn func(ctx context.Context, group, id string) (metadata.RedriveTask, error)) error {
	tenant := httpapi.TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	t, err := fn(c.Request().Context(), group, c.Param("task"))
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTaskNotFound, "group %s has no redrive task %s", c.Param("group"), c.Param("task"))
	}
	if err != nil {
		return storeError(err)
	}
	return c.JSON(http.StatusOK, redriveView(tenant, t))
}

// Tracer records message trace events (trace.Recorder).
type Tracer interface {
	Record(events []trace.Event)
}

// RedriverConfig tunes the redrive runner.
type RedriverConfig struct {
	// Interval is how often an idle runner looks for due tasks; default 1 s (an idle
	// compactor node costs one Postgres transaction a second).
	Interval time.Duration
	// Messages, when set, reads the redriven messages' ids for their REDRIVEN trace events.
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
	b, ok, err := r.store.RedriveStep(ctx, redriveBatch)
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
	byQueue := map[int][]metadata.Redriven{}
	for _, m := range b.Moved {
		byQueue[m.QueueID] = append(byQueue[m.QueueID], m)
	}
	now := time.Now()
	var evs []trace.Event
	for qid, ms := range byQueue {
		first, last := ms[0].Offset, ms[0].Offset
		for _, m := range ms {
			first, last = min(first, m.Offset), max(last, m.Offset)
		}
		views, err := r.cfg.Messages.ReadQueue(ctx, b.Task.TargetTopic, qid, "", first, int(last-first+1))
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
