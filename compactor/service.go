package compactor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
)

// Service is the compactor role: merge, retention and garbage collection on a ticker.
type Service struct {
	cfg    Config
	store  *metadata.Store
	bucket objstore.Bucket
	m      *metrics
	// holder names this process in leases and upload registrations.
	holder string
	seq    atomic.Uint64
	times  *timeCache

	// afterPut, when set (tests), runs between a merge's PUT and its index swap; an error
	// abandons the merge there, as if the compactor died.
	afterPut func(key string) error

	mu            sync.Mutex
	lastRetention time.Time

	cancel context.CancelFunc
	done   chan struct{}
}

// New builds a compactor over a store and a bucket. Metrics are registered on reg (nil:
// not registered).
func New(cfg Config, store *metadata.Store, bucket objstore.Bucket, reg prometheus.Registerer) (*Service, error) {
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg:    cfg,
		store:  store,
		bucket: countingBucket{Bucket: bucket, m: m},
		m:      m,
		holder: cfg.NodeID + "-" + randomHex(3),
		times:  newTimeCache(4096),
	}, nil
}

// Start runs the compactor every Interval until Stop.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		for {
			if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("compactor run failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the loop and waits for the run in progress; a merge cut short leaves an
// unindexed object that garbage collection removes.
func (s *Service) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}

// Report says what one run did.
type Report struct {
	// Merges is how many merged objects were indexed; RowsMerged how many rows they
	// replaced; BytesWritten their size.
	Merges       int
	RowsMerged   int
	BytesWritten int64
	// RetentionMessages were removed from their queues.
	RetentionMessages int64
	// SegmentsDeleted are unreferenced segments deleted after their grace period;
	// OrphansDeleted objects no index knew.
	SegmentsDeleted int
	OrphansDeleted  int
	// TransactionsPurged are finished transactions deleted.
	TransactionsPurged int64
}

func (r *Report) add(o Report) {
	r.Merges += o.Merges
	r.RowsMerged += o.RowsMerged
	r.BytesWritten += o.BytesWritten
	r.RetentionMessages += o.RetentionMessages
	r.SegmentsDeleted += o.SegmentsDeleted
	r.OrphansDeleted += o.OrphansDeleted
	r.TransactionsPurged += o.TransactionsPurged
}

// RunOnce runs every job once: retention (at most every RetentionInterval), merges, then
// garbage collection. It goes on after a failed job and returns the errors joined.
func (s *Service) RunOnce(ctx context.Context) (Report, error) {
	var total Report
	var errs []error
	s.mu.Lock()
	dueRetention := s.lastRetention.IsZero() || s.cfg.Now().Sub(s.lastRetention) >= s.cfg.RetentionInterval
	if dueRetention {
		s.lastRetention = s.cfg.Now()
	}
	s.mu.Unlock()
	jobs := []struct {
		name string
		run  func(context.Context) (Report, error)
	}{
		{"retention", s.Retain},
		{"merge", s.Merge},
		{"gc", s.CollectGarbage},
	}
	for _, j := range jobs {
		if j.name == "retention" && !dueRetention {
			continue
		}
		r, err := s.observe(j.name, func() (Report, error) { return j.run(ctx) })
		total.add(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

func (s *Service) observe(job string, fn func() (Report, error)) (Report, error) {
	start := time.Now()
	r, err := fn()
	s.m.runSeconds.WithLabelValues(job).Observe(time.Since(start).Seconds())
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.m.runs.WithLabelValues(job, result).Inc()
	return r, err
}

// parallel calls fn(i) for i in [0, n) with at most Concurrency calls at once and returns
// the first error.
func (s *Service) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(i)
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		// The parent was cancelled.
		return ctx.Err()
	}
	return first
}
