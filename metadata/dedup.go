package metadata

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Deduplication ids (see migrations/0015_deduplication.sql): a send whose messages carry
// ids first claims them in one transaction (DedupClaim); the flush that stores the
// messages records where they went in its own commit transaction (SegmentCommitParams.
// Dedups), so a claim is done exactly when its messages are indexed; a failed send gives
// its claim up (DedupRelease), and a node that dies leaves its claim to lapse at its lease.

// DedupResult is where the message first sent with a deduplication id was stored.
type DedupResult struct {
	MessageID string
	QueueID   int
	Offset    int64
}

// DedupClaimResult is the outcome of DedupClaim.
type DedupClaimResult struct {
	// ClaimID is the claim row made for the ids not seen before (0: none was new).
	ClaimID int64
	// Claimed are the ids the claim holds, in the order given.
	Claimed []string
	// Done maps ids already stored within the window to the first send's result.
	Done map[string]DedupResult
	// Pending is true when some id is claimed by a send not yet stored (on this node or
	// another): nothing was claimed, and the caller asks again shortly.
	Pending bool
}

// DedupClaim claims deduplication ids of a topic in ONE transaction: ids stored within
// the window come back in Done; if any is claimed by a send still in flight, Pending is
// set and nothing is claimed; otherwise the others are claimed by one new row, valid for
// window and held for lease (past it, an unfinished claim counts as abandoned). Concurrent
// claims of one id serialize on an advisory lock of the id, so exactly one wins.
// It also drops up to 100 rows past their window, so the table stays the size of the
// windows' traffic without a sweeper.
func (s *Store) DedupClaim(ctx context.Context, topic string, ids []string, window, lease time.Duration) (DedupClaimResult, error) {
	out := DedupClaimResult{Done: map[string]DedupResult{}}
	locks := make([]int64, len(ids))
	for i, id := range ids {
		h := fnv.New64a()
		_, _ = h.Write([]byte(topic))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(id))
		locks[i] = int64(h.Sum64())
	}
	// In one order everywhere, so two claims cannot deadlock.
	slices.Sort(locks)
	locks = slices.Compact(locks)
	err := s.inTx(ctx, "dedup_claim", func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(`SELECT pg_advisory_xact_lock(h) FROM unnest($1::bigint[]) AS h`, locks)
		batch.Queue(`DELETE FROM dedup_claims WHERE id IN (SELECT id FROM dedup_claims WHERE expires_at < now() ORDER BY expires_at LIMIT 100)`)
		batch.Queue(`SELECT ids, done, coalesce(message_ids, '{}'), coalesce(queue_ids, '{}'), coalesce(offsets, '{}')
			FROM dedup_claims WHERE topic = $1 AND ids && $2 AND expires_at > now() AND (done OR lease_until > now())`, topic, ids)
		br := tx.SendBatch(ctx, batch)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("locking deduplication ids: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("dropping expired deduplication ids: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return fmt.Errorf("reading deduplication ids: %w", err)
		}
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		for rows.Next() {
			var got, mids []string
			var done bool
			var qids []int32
			var offs []int64
			if err := rows.Scan(&got, &done, &mids, &qids, &offs); err != nil {
				rows.Close()
				br.Close()
				return fmt.Errorf("reading deduplication ids: %w", err)
			}
			if !done {
				out.Pending = true
				continue
			}
			for i, id := range got {
				if want[id] && i < len(mids) && i < len(qids) && i < len(offs) {
					out.Done[id] = DedupResult{MessageID: mids[i], QueueID: int(qids[i]), Offset: offs[i]}
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			br.Close()
			return fmt.Errorf("reading deduplication ids: %w", err)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("claiming deduplication ids: %w", err)
		}
		if out.Pending {
			return nil
		}
		for _, id := range ids {
			if _, ok := out.Done[id]; !ok {
				out.Claimed = append(out.Claimed, id)
			}
		}
		if len(out.Claimed) == 0 {
			return nil
		}
		return tx.QueryRow(ctx, `INSERT INTO dedup_claims (topic, ids, lease_until, expires_at)
			VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $4)) RETURNING id`,
			topic, out.Claimed, lease.Seconds(), window.Seconds()).Scan(&out.ClaimID)
	})
	if err != nil {
		return DedupClaimResult{}, err
	}
	return out, nil
}

// DedupRelease gives up a claim whose messages were not stored, so that a retry may store
// them at once rather than after the lease. A claim already done stays.
func (s *Store) DedupRelease(ctx context.Context, claimID int64) error {
	return s.observe("dedup_release", func() error {
		if _, err := s.pool.Exec(ctx, `DELETE FROM dedup_claims WHERE id = $1 AND NOT done`, claimID); err != nil {
			return fmt.Errorf("releasing deduplication claim %d: %w", claimID, err)
		}
		return nil
	})
}

// DedupSent is a message of a flush sent with a deduplication id: its claim, its place
// in the claim's ids, and where it is in the flush (a visible chunk and a position in it).
type DedupSent struct {
	ClaimID   int64
	Ordinal   int
	Chunk     int
	Pos       int
	MessageID string
	QueueID   int
}

// completeDedup marks the claims of a flush's messages done with where each was stored,
// in the flush's transaction: one statement, whatever the number of messages.
func completeDedup(ctx context.Context, tx pgx.Tx, dedups []DedupSent, firsts []int64) error {
	if len(dedups) == 0 {
		return nil
	}
	claims := make([]int64, len(dedups))
	ordinals := make([]int32, len(dedups))
	mids := make([]string, len(dedups))
	qids := make([]int32, len(dedups))
	offs := make([]int64, len(dedups))
	for i, d := range dedups {
		claims[i], ordinals[i], mids[i], qids[i] = d.ClaimID, int32(d.Ordinal), d.MessageID, int32(d.QueueID)
		offs[i] = firsts[d.Chunk] + int64(d.Pos)
	}
	_, err := tx.Exec(ctx, `UPDATE dedup_claims c SET done = true, message_ids = v.mids, queue_ids = v.qids, offsets = v.offs
		FROM (SELECT claim, array_agg(mid ORDER BY ord) AS mids, array_agg(qid ORDER BY ord) AS qids, array_agg(off ORDER BY ord) AS offs
		      FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[], $5::bigint[]) AS t(claim, ord, mid, qid, off) GROUP BY claim) v
		WHERE c.id = v.claim`, claims, ordinals, mids, qids, offs)
	if err != nil {
		return fmt.Errorf("recording deduplication ids: %w", err)
	}
	return nil
}

// DefaultDedupWindowSeconds is how long a deduplication id is remembered unless the topic
// says otherwise: 5 minutes, as SQS FIFO queues do.
const DefaultDedupWindowSeconds = 300
