package ingest

import (
	"context"
	"errors"
	"sync"
	"time"
)

var errBufferFull = errors.New("buffer full")

// byteSemaphore bounds the message bytes a node holds. A request larger than the whole
// limit is let through alone, so it is not refused forever.
type byteSemaphore struct {
	mu    sync.Mutex
	limit int64
	inUse int64
	freed chan struct{} // closed and replaced on each release
}

func newByteSemaphore(limit int64) *byteSemaphore {
	return &byteSemaphore{limit: limit, freed: make(chan struct{})}
}

func (s *byteSemaphore) acquire(ctx context.Context, n int64, wait time.Duration) error {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.inUse+n <= s.limit || s.inUse == 0 {
			s.inUse += n
			s.mu.Unlock()
			return nil
		}
		freed := s.freed
		s.mu.Unlock()
		select {
		case <-freed:
		case <-deadline.C:
			return errBufferFull
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *byteSemaphore) release(n int64) {
	s.mu.Lock()
	s.inUse -= n
	close(s.freed)
	s.freed = make(chan struct{})
	s.mu.Unlock()
}

func (s *byteSemaphore) used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse
}
