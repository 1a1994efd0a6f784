package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/client"
)

// Config is one chaos run on a cluster.
type Config struct {
	// Name prefixes the run's topics and groups, so several runs can share a cluster.
	Name string
	// Seed draws the fault schedule and the workload's choices.
	Seed uint64
	// Duration is how long producers send and faults are applied, before the final heal.
	Duration time.Duration
	// FaultKinds are the kinds of fault to schedule (default AllFaultKinds); empty with
	// NoFaults for a run without faults.
	FaultKinds []FaultKind
	// NoFaults runs the workload without faults.
	NoFaults bool
	// QuietMin and QuietMax bound the quiet period between faults (default 3–8 s).
	QuietMin, QuietMax time.Duration
	// FaultMin and FaultMax bound how long a fault lasts (default 2–8 s).
	FaultMin, FaultMax time.Duration
	// Overlap is the chance that a second fault joins one (default 0.2).
	Overlap float64
	// DrainTimeout bounds the drain after the final heal (default 60 s).
	DrainTimeout time.Duration
	// DelayMax bounds how far ahead delayed messages are scheduled (default 6 s).
	DelayMax time.Duration
	// InjectLoss, when "index", deletes the index row (chunks) of one acknowledged normal
	// message halfway through the run, to prove that the checker catches a loss.
	InjectLoss string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Result is what a run produced.
type Result struct {
	Schedule []Fault
	History  *History
	Report   *Report
	// UnexpectedExits counts floe process exits the harness did not cause, per process.
	UnexpectedExits map[string]int
	Elapsed         time.Duration
}

func (cfg *Config) defaults() {
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("run%d", cfg.Seed)
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if len(cfg.FaultKinds) == 0 && !cfg.NoFaults {
		cfg.FaultKinds = AllFaultKinds
	}
	if cfg.QuietMax == 0 {
		cfg.QuietMin, cfg.QuietMax = 3*time.Second, 8*time.Second
	}
	if cfg.FaultMax == 0 {
		cfg.FaultMin, cfg.FaultMax = 2*time.Second, 8*time.Second
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = 0.2
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 60 * time.Second
	}
	if cfg.DelayMax == 0 {
		cfg.DelayMax = 6 * time.Second
	}
}

// ScheduleFor returns the fault schedule a run with cfg on a cluster with these floe
// processes applies.
func ScheduleFor(cfg Config, procs []string) []Fault {
	cfg.defaults()
	if cfg.NoFaults {
		return nil
	}
	return Schedule(cfg.Seed, ScheduleConfig{
		Duration: cfg.Duration, Warmup: 5 * time.Second,
		QuietMin: cfg.QuietMin, QuietMax: cfg.QuietMax, FaultMin: cfg.FaultMin, FaultMax: cfg.FaultMax,
		Overlap: cfg.Overlap, Kinds: cfg.FaultKinds, Procs: procs,
	})
}

// RunOn runs the workload and the fault schedule on a running cluster, heals everything,
// drains the consumers, reads every queue and checks the history.
func RunOn(ctx context.Context, c *Cluster, cfg Config) (*Result, error) {
	cfg.defaults()
	begin := time.Now()
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.Log, stamp()+" "+format+"\n", args...) }
	h := &History{}
	w := &workload{
		h: h, run: cfg.Name, seed: cfg.Seed, topics: map[Kind]TopicRun{},
		delayMin: time.Second, delayMax: cfg.DelayMax, dropRate: 0.02,
		stopProduce: make(chan struct{}), stopConsume: make(chan struct{}),
	}
	for _, u := range c.URLs("ingest") {
		w.ingest = append(w.ingest, client.New(u))
	}
	for _, u := range c.URLs("reader") {
		w.readers = append(w.readers, client.New(u))
	}
	if err := setup(ctx, w); err != nil {
		return nil, err
	}
	for _, k := range Kinds {
		h.Topics = append(h.Topics, w.topics[k])
	}
	schedule := ScheduleFor(cfg, c.ProcNames())
	logf("run %s: seed %d, %s of load, %d faults:\n%s", cfg.Name, cfg.Seed, cfg.Duration, len(schedule), FormatSchedule(schedule))

	start := time.Now()
	w.start()
	var faults sync.WaitGroup
	for _, f := range schedule {
		faults.Go(func() {
			if !sleepCtx(ctx, time.Until(start.Add(f.At))) {
				return
			}
			ev := FaultEvent{Fault: f, Start: time.Now()}
			logf("fault  %s", f)
			err := c.Apply(f)
			sleepCtx(ctx, f.Duration)
			if herr := c.Heal(f); herr != nil {
				err = errors.Join(err, herr)
			}
			ev.End = time.Now()
			if err != nil {
				ev.Err = err.Error()
				logf("fault  %s: %v", f, err)
			}
			logf("healed %s %s", f.Kind, f.Target)
			h.withLock(func() { h.Faults = append(h.Faults, ev) })
		})
	}
	if cfg.InjectLoss != "" {
		faults.Go(func() {
			if sleepCtx(ctx, cfg.Duration/2) {
				if err := injectLoss(ctx, c, h, w.topics[KindNormal].Topic, cfg.InjectLoss); err != nil {
					logf("injecting a loss: %v", err)
				}
			}
		})
	}
	progress := time.NewTicker(15 * time.Second)
	for sleeping := true; sleeping; {
		select {
		case <-progress.C:
			logf("%s", progressLine(h))
		case <-time.After(time.Until(start.Add(cfg.Duration))):
			sleeping = false
		case <-ctx.Done():
			sleeping = false
		}
	}
	progress.Stop()
	faults.Wait()
	slices.SortFunc(h.Faults, func(a, b FaultEvent) int { return a.Start.Compare(b.Start) })
	logf("final heal")
	if err := c.HealAll(ctx); err != nil {
		logf("final heal: %v", err)
	}
	close(w.stopProduce)
	w.producers.Wait()
	logf("producers stopped: %s", progressLine(h))

	drain(ctx, c, w, cfg, logf)
	close(w.stopConsume)
	w.consumers.Wait()
	if err := finalRead(ctx, w, h); err != nil {
		return nil, err
	}
	h.End = time.Now()
	h.MergedSegments = mergedSegments(ctx, c)
	res := &Result{Schedule: schedule, History: h, Report: Check(h), UnexpectedExits: c.UnexpectedExits(), Elapsed: time.Since(begin)}
	logf("checked: %s", progressLine(h))
	return res, nil
}

// setup creates the run's topics and groups, retrying while the cluster settles.
func setup(ctx context.Context, w *workload) error {
	specs := []struct {
		kind  Kind
		typ   client.TopicType
		order client.DeliveryOrder
	}{
		{KindNormal, client.TopicNormal, client.Concurrent},
		{KindFIFO, client.TopicFIFO, client.Orderly},
		{KindDelay, client.TopicDelay, client.Concurrent},
		{KindTx, client.TopicTransaction, client.Concurrent},
	}
	admin := w.readers[0]
	for _, s := range specs {
		tr := TopicRun{Kind: s.kind, Topic: w.run + "-" + string(s.kind), Group: w.run + "-g-" + string(s.kind), Orderly: s.order == client.Orderly}
		err := retry(ctx, 60*time.Second, func(ctx context.Context) error {
			if _, _, err := admin.CreateTopic(ctx, client.TopicSpec{Name: tr.Topic, Type: s.typ, Queues: 4}); err != nil {
				return err
			}
			// Every delivery attempt but the drops: nothing is dead-lettered, so every
			// message must reach the group.
			if _, _, err := admin.CreateGroup(ctx, client.GroupSpec{Name: tr.Group, DeliveryOrder: s.order, MaxDeliveryAttempts: 1000,
				RetryPolicy: client.RetryPolicy{BackoffSeconds: []int{1}}}); err != nil {
				return err
			}
			return admin.Subscribe(ctx, tr.Group, tr.Topic, client.SubscriptionSpec{Filter: "*"})
		})
		if err != nil {
			return fmt.Errorf("setting up %s: %w", tr.Topic, err)
		}
		w.topics[s.kind] = tr
	}
	return nil
}

// drain waits for delayed messages to fall due and transactions to settle, then lets the
// consumers run until no delivery came for a while, reads every queue and repeats while
// some stored message has not reached its group, until cfg.DrainTimeout.
func drain(ctx context.Context, c *Cluster, w *workload, cfg Config, logf func(string, ...any)) {
	w.draining.Store(true)
	deadline := time.Now().Add(cfg.DrainTimeout)
	due := time.Unix(0, w.maxDue.Load()).Add(2 * time.Second)
	sleepCtx(ctx, min(time.Until(due), time.Until(deadline)))
	for round := 1; time.Now().Before(deadline) && ctx.Err() == nil; round++ {
		// Quiet: no delivery in the last 4 s (longer than the invisible time and backoff).
		for time.Now().Before(deadline) && time.Since(time.Unix(0, w.lastDelivery.Load())) < 4*time.Second {
			sleepCtx(ctx, 500*time.Millisecond)
		}
		if err := finalRead(ctx, w, w.h); err != nil {
			logf("drain round %d: reading queues: %v", round, err)
			continue
		}
		missing := undelivered(w.h)
		logf("drain round %d: %d stored messages not yet delivered", round, missing)
		if missing == 0 {
			return
		}
		sleepCtx(ctx, 2*time.Second)
	}
	logf("drain: timed out after %s", cfg.DrainTimeout)
}

// undelivered counts stored messages not delivered to their group yet.
func undelivered(h *History) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	group := map[string]string{}
	for _, t := range h.Topics {
		group[t.Topic] = t.Group
	}
	got := map[string]bool{}
	for _, d := range h.Deliveries {
		got[fmt.Sprint(d.Group, d.Topic, d.QueueID, d.Offset)] = true
	}
	n := 0
	for topic, views := range h.Stored {
		for _, v := range views {
			uid, _ := parseBody(v.Body)
			if intent, ok := txIntentOf(uid); ok && intent == TxRollback {
				continue
			}
			if !got[fmt.Sprint(group[topic], topic, v.QueueID, v.Offset)] {
				n++
			}
		}
	}
	return n
}

// finalRead reads every queue of the run's topics by offset, from its min to its max
// offset, into h.Stored and h.Queues.
func finalRead(ctx context.Context, w *workload, h *History) error {
	stored := map[string][]client.MessageView{}
	queues := map[string][]client.QueueInfo{}
	var readErrs []string
	for _, k := range Kinds {
		topic := w.topics[k].Topic
		var qs []client.QueueInfo
		err := retry(ctx, 30*time.Second, func(ctx context.Context) error {
			var err error
			qs, err = w.readers[0].Queues(ctx, topic)
			return err
		})
		if err != nil {
			return fmt.Errorf("listing queues of %s: %w", topic, err)
		}
		queues[topic] = qs
		for _, q := range qs {
			for off, n := q.MinOffset, 0; off < q.MaxOffset; n++ {
				var views []client.MessageView
				err := retry(ctx, 5*time.Second, func(ctx context.Context) error {
					var err error
					views, err = w.readers[n%len(w.readers)].ReadQueue(ctx, topic, q.QueueID, off, 500)
					return err
				})
				if err != nil || len(views) == 0 {
					// Go on one offset at a time, so that one bad range does not hide
					// the rest of the queue.
					var got []client.MessageView
					var bad []string
					got, bad, off = readSlowly(ctx, w, topic, q, off)
					stored[topic] = append(stored[topic], got...)
					for _, b := range bad {
						readErrs = append(readErrs, fmt.Sprintf("%s (first error: %v)", b, err))
					}
					continue
				}
				stored[topic] = append(stored[topic], views...)
				off = views[len(views)-1].Offset + 1
			}
		}
	}
	h.withLock(func() { h.Stored, h.Queues, h.ReadErrors = stored, queues, readErrs })
	return nil
}

// readSlowly reads a queue one offset at a time from off, for up to 2000 offsets, and
// returns what it read, the unreadable ranges and where to go on.
func readSlowly(ctx context.Context, w *workload, topic string, q client.QueueInfo, off int64) ([]client.MessageView, []string, int64) {
	var got []client.MessageView
	var bad []string
	end := min(q.MaxOffset, off+2000)
	badFrom := int64(-1)
	for p := off; p < end; p++ {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		views, err := w.readers[int(p)%len(w.readers)].ReadQueue(cctx, topic, q.QueueID, p, 1)
		cancel()
		ok := err == nil && len(views) == 1 && views[0].Offset == p
		if ok {
			got = append(got, views[0])
		}
		switch {
		case !ok && badFrom < 0:
			badFrom = p
		case ok && badFrom >= 0:
			bad = append(bad, fmt.Sprintf("%s/%d offsets %d..%d unreadable", topic, q.QueueID, badFrom, p-1))
			badFrom = -1
		}
	}
	if badFrom >= 0 {
		bad = append(bad, fmt.Sprintf("%s/%d offsets %d..%d unreadable", topic, q.QueueID, badFrom, end-1))
	}
	return got, bad, end
}

// mergedSegments counts the segments that compactor merges wrote (segments.level > 0),
// or -1 when the schema has no levels or the query fails.
func mergedSegments(ctx context.Context, c *Cluster) int {
	conn, err := pgx.Connect(ctx, c.DatabaseURL())
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM segments WHERE level > 0`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// injectLoss deletes the index row holding one acknowledged normal message (acked at least
// a second ago), which loses every message of that chunk.
func injectLoss(ctx context.Context, c *Cluster, h *History, topic, mode string) error {
	if mode != "index" {
		return fmt.Errorf("unknown loss injection %q (want index)", mode)
	}
	var victim *SentMessage
	h.withLock(func() {
		for _, m := range h.Sent {
			if m.Kind == KindNormal && m.Status == Acked {
				victim = m
			}
		}
	})
	if victim == nil {
		return errors.New("no acknowledged normal message yet")
	}
	conn, err := pgx.Connect(ctx, c.DatabaseURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `DELETE FROM chunks c USING queues q WHERE c.queue_ref = q.id AND q.topic = $1 AND q.lite_topic = ''
		AND q.queue_id = $2 AND c.first_offset <= $3 AND c.first_offset + c.record_count > $3`, topic, victim.QueueID, victim.Offset)
	if err != nil {
		return fmt.Errorf("deleting the index row of %s: %w", victim.UID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("deleting the index row of %s at %d/%d: %d rows", victim.UID, victim.QueueID, victim.Offset, tag.RowsAffected())
	}
	h.withLock(func() {
		h.Injections = append(h.Injections, Injection{Mode: mode, Topic: topic, Queue: victim.QueueID, Offset: victim.Offset, UID: victim.UID, At: time.Now()})
	})
	fmt.Fprintf(os.Stderr, "%s injected a loss: deleted the index row of %s (%s/%d@%d)\n", stamp(), victim.UID, topic, victim.QueueID, victim.Offset)
	return nil
}

func progressLine(h *History) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	acked, maybe, okOps, failedOps := 0, 0, 0, 0
	for _, m := range h.Sent {
		switch m.Status {
		case Acked:
			acked++
		case Maybe:
			maybe++
		}
	}
	for _, op := range h.Ops {
		if op.OK {
			okOps++
		} else {
			failedOps++
		}
	}
	return fmt.Sprintf("%d messages sent (%d acked, %d maybe), %d deliveries, %d requests ok, %d failed, %d faults done",
		len(h.Sent), acked, maybe, len(h.Deliveries), okOps, failedOps, len(h.Faults))
}

// retry calls f with a 10 s timeout until it succeeds or timeout passes.
func retry(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f(cctx)
		cancel()
		if err == nil || rejected(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BuildFloe builds the floe binary into dir and returns its path. repoRoot is the module's
// root folder.
func BuildFloe(repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "floe")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/floe")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building floe: %w\n%s", err, out)
	}
	return bin, nil
}
