package ingest

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// Idempotent sends (SQS FIFO's MessageDeduplicationId): a message may carry a
// deduplicationId, and a send of an id the topic has stored within its window
// (deduplicationWindowSeconds, default 5 minutes) answers the first send's result and
// stores nothing, whichever ingest node either send reached, across restarts.
//
// Cost: a send whose messages carry ids costs one more Postgres transaction before it is
// buffered (the claim: an advisory lock per id, a GIN-indexed lookup, one row for the
// request's ids), and the flush that stores it one more statement in its commit (one per
// flush, whatever the number of requests and messages). Sends without ids cost nothing
// more. No row per message: one per request that carries ids, dropped after the window.

// maxDedupIDLen bounds a deduplicationId, as SQS does.
const maxDedupIDLen = 128

// checkDedupID checks message i's deduplication id: 1-128 printable ASCII characters, on a
// message delivered at once (a delayed or transactional message has no place to answer
// with until it is visible).
func checkDedupID(i int, m *domain.Message, half, delayed bool) error {
	if m.DeduplicationID == "" {
		return nil
	}
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.ErrBadRequest, "message %d: %s", i, fmt.Sprintf(format, args...))
	}
	if len(m.DeduplicationID) > maxDedupIDLen {
		return bad("deduplicationId must be 1-%d characters, got %d", maxDedupIDLen, len(m.DeduplicationID))
	}
	for _, c := range []byte(m.DeduplicationID) {
		if c < '!' || c > '~' {
			return bad("deduplicationId must be printable ASCII (no spaces), got %q", m.DeduplicationID)
		}
	}
	if half || delayed {
		return bad("deduplicationId applies to messages delivered at once, not to delayed or transactional ones")
	}
	return nil
}

// dedupSend is a send whose messages carry deduplication ids, after its claim.
type dedupSend struct {
	// all are the request's messages; store are those to store (the others are
	// duplicates), with index their positions in all.
	all   []domain.Message
	store []domain.Message
	index []int
	claim metadata.DedupClaimResult
	// ordinal maps a claimed id to its place in the claim.
	ordinal map[string]int
	// handedOff is set once the messages are in a batch: the batch's commit completes the
	// claim (or its failure is reported), so the claim must not be given up before.
	handedOff bool
	// batchFailed is set when their batch failed: nothing was stored.
	batchFailed bool
}

// dedupLease is how long a claim holds its ids for a send in flight: longer than a send can
// take to be answered (buffer wait, upload, commit), so a claim is never taken over while
// its messages may still be committed.
func (s *Service) dedupLease() time.Duration {
	return s.cfg.BufferWait + s.cfg.Linger + s.cfg.PutTimeout + s.cfg.CommitTimeout + 5*time.Second
}

// claimDedup claims the deduplication ids of a send's messages (nil when none carries
// one). While another send holds one of the ids (on any node), it waits for that send to
// be stored or given up, polling.
func (s *Service) claimDedup(ctx context.Context, t metadata.Topic, msgs []domain.Message) (*dedupSend, error) {
	var ids []string
	seen := map[string]int{}
	for i := range msgs {
		id := msgs[i].DeduplicationID
		if id == "" {
			continue
		}
		if j, ok := seen[id]; ok {
			return nil, domain.Errorf(domain.ErrBadRequest,
				"message %d: deduplicationId %q is also message %d's: one request sends an id once", i, id, j)
		}
		seen[id] = i
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	window := time.Duration(cmp.Or(t.DedupWindowSeconds, metadata.DefaultDedupWindowSeconds)) * time.Second
	wait := 20 * time.Millisecond
	waited := false
	for {
		claim, err := s.store.DedupClaim(ctx, t.Name, ids, window, s.dedupLease())
		if err != nil {
			return nil, unavailable("checking deduplication ids: %v", err)
		}
		if !claim.Pending {
			if waited {
				s.metrics.dedup.WithLabelValues("waited").Inc()
			}
			d := &dedupSend{all: msgs, claim: claim, ordinal: map[string]int{}}
			for i, id := range claim.Claimed {
				d.ordinal[id] = i
			}
			for i := range msgs {
				if _, dup := claim.Done[msgs[i].DeduplicationID]; dup && msgs[i].DeduplicationID != "" {
					continue
				}
				d.store = append(d.store, msgs[i])
				d.index = append(d.index, i)
			}
			s.metrics.dedup.WithLabelValues("duplicate").Add(float64(len(claim.Done)))
			s.metrics.dedup.WithLabelValues("claimed").Add(float64(len(claim.Claimed)))
			return d, nil
		}
		// Another send holds an id: it is stored (or fails) within its lease.
		waited = true
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// results returns the answer for every message of the send: stored are the results of
// d.store, in order; duplicates answer the first send's result.
func (d *dedupSend) results(stored []domain.SendResult) []domain.SendResult {
	out := make([]domain.SendResult, len(d.all))
	for j, i := range d.index {
		out[i] = stored[j]
	}
	for i := range d.all {
		r, dup := d.claim.Done[d.all[i].DeduplicationID]
		if !dup || d.all[i].DeduplicationID == "" {
			continue
		}
		qid, off := r.QueueID, r.Offset
		out[i] = domain.SendResult{MessageID: r.MessageID, QueueID: &qid, Offset: &off, Duplicate: true}
	}
	return out
}

// releaseDedup gives the claim up when the send's messages were not stored: before they
// reached a batch, or when their batch failed. A send whose caller left while its batch
// was in flight keeps its claim: the batch may still commit it. Best effort: a claim not
// given up lapses at its lease.
func (s *Service) releaseDedup(d *dedupSend) {
	if d.claim.ClaimID == 0 || (d.handedOff && !d.batchFailed) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.DedupRelease(ctx, d.claim.ClaimID); err != nil {
		s.cfg.Logger.Warn("releasing a deduplication claim; it lapses at its lease", "claim", d.claim.ClaimID, "err", err)
	}
}

// pendingDedup is a message of a batch sent with a claimed deduplication id.
type pendingDedup struct {
	qc  *queueChunk
	pos int
	ds  metadata.DedupSent
}

// dedupCommits places a batch's deduplicated messages in its chunks, for the commit.
func (b *batch) dedupCommits() []metadata.DedupSent {
	if len(b.dedups) == 0 {
		return nil
	}
	chunkOf := make(map[*queueChunk]int, len(b.order))
	for i, qc := range b.order {
		chunkOf[qc] = i
	}
	out := make([]metadata.DedupSent, len(b.dedups))
	for i, p := range b.dedups {
		out[i] = p.ds
		out[i].Chunk, out[i].Pos = chunkOf[p.qc], p.pos
	}
	return out
}

func newDedupMetric() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_ingest_dedup_messages_total",
		Help: "Messages sent with a deduplication id, by outcome: claimed (new, to be stored), duplicate (answered with the first send's result, nothing stored), waited (sends that waited for another send of an id to finish).",
	}, []string{"result"})
}
