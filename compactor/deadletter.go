package compactor

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/segment"
)

// DeadLetterConfig configures the DeadLetterSweeper.
type DeadLetterConfig struct {
	// Interval is the time between two sweeps; default 1 s. A message whose last attempt
	// failed reaches its dead-letter topic within about this long.
	Interval time.Duration
	// Batch bounds the delivery rows one sweep (one transaction) takes; default 1000.
	Batch int
	// Logger gets failed sweeps; default slog.Default().
	Logger *slog.Logger
}

// DeadLetterSweeper moves messages whose last delivery attempt failed (nacked, or its
// invisible time over) to their group's dead-letter topic without waiting for a receive:
// a group whose consumers stopped would otherwise keep them as lag forever. One Postgres
// transaction per sweep (metadata.Store.SweepDeadLetters), however many messages it moves.
type DeadLetterSweeper struct {
	cfg    DeadLetterConfig
	store  *metadata.Store
	bucket objstore.Bucket
	moved  prometheus.Counter
	sweeps *prometheus.CounterVec
	cancel context.CancelFunc
	done   chan struct{}
}

// NewDeadLetterSweeper builds a sweeper; its metrics are registered on reg (nil: not
// registered).
func NewDeadLetterSweeper(cfg DeadLetterConfig, store *metadata.Store, bucket objstore.Bucket, reg prometheus.Registerer) (*DeadLetterSweeper, error) {
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.Batch = cmp.Or(cfg.Batch, 1000)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &DeadLetterSweeper{
		cfg: cfg, store: store, bucket: bucket,
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_dead_letters_total",
			Help: "Messages the compactor moved to a dead-letter topic after their last attempt, without a receive.",
		}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_dead_letter_sweeps_total",
			Help: "Dead-letter sweeps (one Postgres transaction each), by result (ok, error).",
		}, []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.moved, s.sweeps} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering dead-letter metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Start sweeps every Interval until Stop.
func (s *DeadLetterSweeper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("dead-letter sweep failed", "err", err)
			}
		}
	}()
}

// Stop ends the loop and waits for the sweep in progress.
func (s *DeadLetterSweeper) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}

// SweepOnce runs one sweep and returns the messages it moved.
func (s *DeadLetterSweeper) SweepOnce(ctx context.Context) ([]metadata.SweptDeadLetter, error) {
	type stored struct {
		key    string
		offset int64
	}
	// A sweep's messages often share chunks: each is read once.
	chunks := map[stored][]segment.Record{}
	describe := func(ctx context.Context, m metadata.DeadLetterMessage) (metadata.DeadLetterRecord, error) {
		at := stored{m.Chunk.ObjectKey, m.Chunk.ByteOffset}
		recs, ok := chunks[at]
		if !ok {
			b, err := s.bucket.GetRange(ctx, m.Chunk.ObjectKey, m.Chunk.ByteOffset, m.Chunk.ByteLength)
			if err != nil {
				return metadata.DeadLetterRecord{}, fmt.Errorf("reading %s@%d to dead-letter: %w", m.Chunk.ObjectKey, m.Chunk.ByteOffset, err)
			}
			if recs, err = segment.DecodeChunk(b); err != nil {
				return metadata.DeadLetterRecord{}, fmt.Errorf("decoding %s@%d to dead-letter: %w", m.Chunk.ObjectKey, m.Chunk.ByteOffset, err)
			}
			chunks[at] = recs
		}
		if m.Index >= len(recs) {
			return metadata.DeadLetterRecord{}, fmt.Errorf("chunk %s@%d holds %d records, the index wants record %d", m.Chunk.ObjectKey, m.Chunk.ByteOffset, len(recs), m.Index)
		}
		rec := &recs[m.Index]
		return metadata.DeadLetterRecord{MessageID: rec.MessageID, StoreTime: rec.StoreTime, Bloom: bloom.OfMessage(rec.MessageID, rec.Keys)}, nil
	}
	swept, err := s.store.SweepDeadLetters(ctx, s.cfg.Batch, describe)
	if err != nil {
		s.sweeps.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("sweeping dead letters: %w", err)
	}
	s.sweeps.WithLabelValues("ok").Inc()
	s.moved.Add(float64(len(swept)))
	return swept, nil
}
