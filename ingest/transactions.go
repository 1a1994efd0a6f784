package ingest

import (
	"context"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/internal/view"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

// Transaction checks: how a producer group's checker is asked about unresolved
// transactions (the compactor role applies the policy once the checks run out).
const (
	maxChecksPerPoll = 32
	// MaxCheckWait bounds how long a transaction-checks call waits for a check.
	MaxCheckWait = 30 * time.Second
)

// TransactionChecks offers a producer group's due, unresolved transactions to its checker,
// waiting up to wait for one to fall due.
func (s *Service) TransactionChecks(ctx context.Context, producerGroup string, wait time.Duration) ([]domain.TransactionCheck, error) {
	deadline := time.Now().Add(wait)
	for {
		claimed, err := s.store.TransactionChecksClaim(ctx, producerGroup, s.cfg.TransactionMaxChecks, maxChecksPerPoll, s.cfg.TransactionCheckInterval)
		if err != nil {
			return nil, unavailable("claiming transaction checks: %v", err)
		}
		if len(claimed) > 0 || !time.Now().Before(deadline) {
			out := make([]domain.TransactionCheck, 0, len(claimed))
			for _, tc := range claimed {
				views, err := s.halfMessages(ctx, tc)
				if err != nil {
					return nil, err
				}
				out = append(out, domain.TransactionCheck{TransactionID: tc.ID, Topic: tc.Topic, Messages: views})
			}
			return out, nil
		}
		// Checks fall due on a schedule of seconds: a short poll is cheap and timely enough.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(500*time.Millisecond, time.Until(deadline))):
		}
	}
}

// halfMessages reads a transaction's half messages from the bucket.
func (s *Service) halfMessages(ctx context.Context, tc metadata.TransactionCheck) ([]domain.MessageView, error) {
	ti, err := s.topics.get(ctx, tc.Topic)
	if err != nil {
		return nil, unavailable("reading topic %s: %v", tc.Topic, err)
	}
	queueIDs := map[int64]int{}
	for _, q := range ti.queues {
		queueIDs[q.Ref] = q.QueueID
	}
	views := []domain.MessageView{}
	for _, ch := range tc.Chunks {
		b, err := s.bucket.GetRange(ctx, ch.ObjectKey, ch.ByteOffset, ch.ByteLength)
		if err != nil {
			return nil, unavailable("reading half messages: %v", err)
		}
		recs, err := segment.DecodeChunk(b)
		if err != nil {
			return nil, unavailable("decoding half messages: %v", err)
		}
		if ch.Skip+ch.Count > len(recs) {
			return nil, unavailable("half messages of %s: index and chunk disagree", tc.ID)
		}
		for i := ch.Skip; i < ch.Skip+ch.Count; i++ {
			// Not in the queue yet: no offset.
			views = append(views, view.Of(tc.Topic, queueIDs[ch.QueueRef], -1, &recs[i]))
		}
	}
	return views, nil
}
