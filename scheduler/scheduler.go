// Package scheduler is the part of the compactor role that acts on time: it fires due
// delayed messages into their queues and resolves transactions whose checks ran out.
//
// Both act through Postgres with SKIP LOCKED, so any number of compactor nodes may run it:
// a timer fires exactly once (its index row is appended and the timer deleted in one
// transaction), and a transaction is resolved once.
package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/metadata"
)

// Config tunes the scheduler.
type Config struct {
	// TimerPoll is how often due timers are looked for; default 100 ms.
	TimerPoll time.Duration
	// FireBatch bounds the timers fired in one transaction; default 1000.
	FireBatch int
	// TransactionPoll is how often expired transactions are looked for; default 1 s.
	TransactionPoll time.Duration
	// TransactionMaxChecks is how often a producer group is asked before the policy
	// applies; default 15 (must match the ingest role's).
	TransactionMaxChecks int
	// TransactionTimeout resolves a transaction by policy when it is this old and still
	// pending, checked or not; default 6 s + 15 × 30 s.
	TransactionTimeout time.Duration
	// CommitUnresolved makes the policy commit instead of roll back; default false.
	CommitUnresolved bool
	// LitePoll is how often lite topics past their TTL are looked for; default 10 s.
	LitePoll time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Service runs the timer and transaction loops.
type Service struct {
	cfg      Config
	store    *metadata.Store
	fired    prometheus.Counter
	lateness prometheus.Histogram
	resolved *prometheus.CounterVec
	expired  prometheus.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the scheduler.
func New(cfg Config, store *metadata.Store, reg prometheus.Registerer) (*Service, error) {
	cfg.TimerPoll = cmp.Or(cfg.TimerPoll, 100*time.Millisecond)
	cfg.FireBatch = cmp.Or(cfg.FireBatch, 1000)
	cfg.TransactionPoll = cmp.Or(cfg.TransactionPoll, time.Second)
	cfg.TransactionMaxChecks = cmp.Or(cfg.TransactionMaxChecks, 15)
	cfg.LitePoll = cmp.Or(cfg.LitePoll, 10*time.Second)
	cfg.TransactionTimeout = cmp.Or(cfg.TransactionTimeout, 6*time.Second+15*30*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg:   cfg,
		store: store,
		fired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_scheduler_timer_messages_fired_total", Help: "Delayed messages made visible in their queues.",
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "floe_scheduler_timer_lateness_seconds", Help: "How late each fired timer was, past its due time.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_scheduler_lite_topics_expired_total", Help: "Lite topics removed after their TTL without messages.",
		}),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_scheduler_transactions_resolved_total", Help: "Transactions resolved by policy after their checks ran out.",
		}, []string{"state"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.fired, s.lateness, s.resolved, s.expired} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering scheduler metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Start launches the loops.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go s.loop(ctx, s.cfg.TimerPoll, s.fireDue)
	go s.loop(ctx, s.cfg.TransactionPoll, s.resolveExpired)
	go s.loop(ctx, s.cfg.LitePoll, s.expireLite)
}

// Stop ends the loops and waits for them.
func (s *Service) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

func (s *Service) loop(ctx context.Context, every time.Duration, fn func(context.Context) error) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.cfg.Logger.Warn("scheduler step failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fireDue fires due timers until none is left.
func (s *Service) fireDue(ctx context.Context) error {
	for {
		n, late, err := s.store.TimersFire(ctx, s.cfg.FireBatch)
		if err != nil {
			return fmt.Errorf("firing timers: %w", err)
		}
		if n == 0 {
			return nil
		}
		s.fired.Add(float64(n))
		s.lateness.Observe(late.Seconds())
		if n < s.cfg.FireBatch {
			return nil
		}
	}
}

// resolveExpired applies the policy to transactions whose checks ran out.
func (s *Service) resolveExpired(ctx context.Context) error {
	ids, err := s.store.TransactionsExpired(ctx, s.cfg.TransactionMaxChecks, s.cfg.TransactionTimeout, 100)
	if err != nil {
		return err
	}
	for _, id := range ids {
		state, err := s.store.TransactionResolve(ctx, id, s.cfg.CommitUnresolved)
		if errors.Is(err, metadata.ErrTransactionResolved) {
			continue // the producer answered meanwhile
		}
		if err != nil {
			return fmt.Errorf("resolving transaction %s: %w", id, err)
		}
		s.resolved.WithLabelValues(state).Inc()
		s.cfg.Logger.Info("transaction resolved by policy", "id", id, "state", state)
	}
	return nil
}

// expireLite removes lite topics that outlived their TTL without messages.
func (s *Service) expireLite(ctx context.Context) error {
	for {
		n, err := s.store.LiteTopicsExpire(ctx, 1000)
		if err != nil {
			return err
		}
		s.expired.Add(float64(n))
		if n < 1000 {
			return nil
		}
	}
}
