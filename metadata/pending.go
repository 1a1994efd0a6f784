package metadata

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// pendingRun is a run of stored records waiting to be appended to its queue.
type pendingRun struct {
	queueRef     int64
	topic        string
	segmentID    int64
	byteOffset   int64
	byteLength   int64
	skip, count  int
	minStoreTime time.Time
	maxStoreTime time.Time
	bloom        []byte
}

// appendRuns appends runs to their queues inside tx: it locks the queues in id order,
// advances their offsets and inserts one index row per run pointing at the stored bytes,
// then notifies the topics. It returns the topics written.
func appendRuns(ctx context.Context, tx pgx.Tx, runs []pendingRun) ([]string, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	totals := map[int64]int64{}
	topicSet := map[string]bool{}
	for _, r := range runs {
		totals[r.queueRef] += int64(r.count)
		topicSet[r.topic] = true
	}
	refs := make([]int64, 0, len(totals))
	for ref := range totals {
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i] < refs[j] })
	counts := make([]int64, len(refs))
	for i, ref := range refs {
		counts[i] = totals[ref]
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM queues WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, refs); err != nil {
		return nil, fmt.Errorf("locking queues: %w", err)
	}
	rows, err := tx.Query(ctx, `UPDATE queues q SET next_offset = q.next_offset + v.n, last_write_at = now()
		FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n) WHERE q.id = v.id RETURNING q.id, q.next_offset - v.n`, refs, counts)
	if err != nil {
		return nil, fmt.Errorf("advancing offsets: %w", err)
	}
	start := map[int64]int64{}
	for rows.Next() {
		var id, first int64
		if err := rows.Scan(&id, &first); err != nil {
			rows.Close()
			return nil, err
		}
		start[id] = first
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("advancing offsets: %w", err)
	}
	// Segments may differ per run: one insert per segment keeps chunkRows simple.
	bySeg := map[int64]*chunkRows{}
	var segs []int64
	for _, r := range runs {
		ix := bySeg[r.segmentID]
		if ix == nil {
			ix = &chunkRows{}
			bySeg[r.segmentID] = ix
			segs = append(segs, r.segmentID)
		}
		ix.add(r.queueRef, start[r.queueRef], r.skip, ChunkCommit{Count: r.count, ByteOffset: r.byteOffset, ByteLength: r.byteLength,
			MinStoreTime: r.minStoreTime, MaxStoreTime: r.maxStoreTime, Bloom: r.bloom})
		start[r.queueRef] += int64(r.count)
	}
	for _, seg := range segs {
		if err := bySeg[seg].insert(ctx, tx, seg); err != nil {
			return nil, fmt.Errorf("indexing: %w", err)
		}
	}
	if err := markReady(ctx, tx, refs); err != nil {
		return nil, err
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChannelCommits, commitPayload(topics)); err != nil {
		return nil, fmt.Errorf("notifying: %w", err)
	}
	return topics, nil
}

// TimersFire appends up to limit due timers to their queues in ONE transaction and deletes
// them, so a timer fires exactly once even with several compactors (SKIP LOCKED). It
// returns how many messages became visible and how late the latest-due one was.
func (s *Store) TimersFire(ctx context.Context, limit int) (messages int, maxLateness time.Duration, err error) {
	err = s.inTx(ctx, "timers_fire", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.queue_ref, q.topic, t.segment_id, t.byte_offset, t.byte_length, t.record_skip,
				t.record_count, t.min_store_time, t.max_store_time, t.bloom, extract(epoch FROM now() - t.due_at)::float8
			FROM timers t JOIN queues q ON q.id = t.queue_ref
			WHERE t.due_at <= now() ORDER BY t.due_at, t.id LIMIT $1 FOR UPDATE OF t SKIP LOCKED`, limit)
		if err != nil {
			return fmt.Errorf("claiming due timers: %w", err)
		}
		var ids []int64
		var runs []pendingRun
		for rows.Next() {
			var id int64
			var r pendingRun
			var late float64
			if err := rows.Scan(&id, &r.queueRef, &r.topic, &r.segmentID, &r.byteOffset, &r.byteLength, &r.skip, &r.count,
				&r.minStoreTime, &r.maxStoreTime, &r.bloom, &late); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			runs = append(runs, r)
			messages += r.count
			maxLateness = max(maxLateness, time.Duration(late*float64(time.Second)))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claiming due timers: %w", err)
		}
		if len(runs) == 0 {
			return nil
		}
		runs, recalled, err := withoutRecalled(ctx, tx, ids, runs)
		if err != nil {
			return err
		}
		messages -= recalled
		if _, err := appendRuns(ctx, tx, runs); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM timers WHERE id = ANY($1)`, ids)
		return err
	})
	return messages, maxLateness, err
}

// withoutRecalled splits the runs of claimed timers (ids[i] fires runs[i]) around their
// recalled records, read by an index range scan of recalls per timer. It returns the runs
// to append and how many records were left out.
func withoutRecalled(ctx context.Context, tx pgx.Tx, ids []int64, runs []pendingRun) ([]pendingRun, int, error) {
	rows, err := tx.Query(ctx, `SELECT t.id, r.record_index FROM timers t
		JOIN recalls r ON r.segment_id = t.segment_id AND r.queue_ref = t.queue_ref
			AND r.record_index >= t.record_skip AND r.record_index < t.record_skip + t.record_count
		WHERE t.id = ANY($1)`, ids)
	if err != nil {
		return nil, 0, fmt.Errorf("reading recalls of due timers: %w", err)
	}
	byTimer := map[int64][]int{}
	for rows.Next() {
		var id int64
		var rec int
		if err := rows.Scan(&id, &rec); err != nil {
			rows.Close()
			return nil, 0, err
		}
		byTimer[id] = append(byTimer[id], rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading recalls of due timers: %w", err)
	}
	if len(byTimer) == 0 {
		return runs, 0, nil
	}
	out := make([]pendingRun, 0, len(runs))
	left := 0
	for i, r := range runs {
		recs, ok := byTimer[ids[i]]
		if !ok {
			out = append(out, r)
			continue
		}
		kept := 0
		for _, part := range splitRun(r.skip, r.count, recs) {
			p := r
			p.skip, p.count = part[0], part[1]
			out = append(out, p)
			kept += p.count
		}
		left += r.count - kept
	}
	return out, left, nil
}

// TimersPending counts messages waiting in timers (less the recalled ones) and says when
// the next falls due.
func (s *Store) TimersPending(ctx context.Context) (messages int64, next time.Time, err error) {
	err = s.observe("timers_pending", func() error {
		var n *time.Time
		// Recalled records still in their timers are not waiting.
		err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(record_count), 0) - (SELECT count(*) FROM timers t JOIN recalls r
				ON r.segment_id = t.segment_id AND r.queue_ref = t.queue_ref
				AND r.record_index >= t.record_skip AND r.record_index < t.record_skip + t.record_count),
			min(due_at) FROM timers`).Scan(&messages, &n)
		if n != nil {
			next = *n
		}
		return err
	})
	return messages, next, err
}

// Transaction states.
const (
	TxPending    = "PENDING"
	TxCommitted  = "COMMITTED"
	TxRolledBack = "ROLLED_BACK"
)

// ErrTransactionResolved is returned when a transaction was already resolved the other way.
var ErrTransactionResolved = fmt.Errorf("transaction already resolved the other way: %w", ErrConflict)

// TransactionResolve commits (appending every half message to its queue, all in ONE
// transaction, so all or none become visible) or rolls back a pending transaction.
// Resolving it again the same way is a no-op; the other way is ErrTransactionResolved.
func (s *Store) TransactionResolve(ctx context.Context, id string, commit bool) (state string, err error) {
	err = s.inTx(ctx, "transaction_resolve", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT state FROM transactions WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("transaction %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading transaction %s: %w", id, err)
		}
		want := TxRolledBack
		if commit {
			want = TxCommitted
		}
		if state == want {
			return nil
		}
		if state != TxPending {
			return ErrTransactionResolved
		}
		if commit {
			rows, err := tx.Query(ctx, `SELECT c.queue_ref, q.topic, c.segment_id, c.byte_offset, c.byte_length, c.record_skip,
					c.record_count, c.min_store_time, c.max_store_time, c.bloom
				FROM transaction_chunks c JOIN queues q ON q.id = c.queue_ref
				WHERE c.transaction_id = $1 ORDER BY c.queue_ref, c.byte_offset, c.record_skip`, id)
			if err != nil {
				return fmt.Errorf("reading half messages of %s: %w", id, err)
			}
			runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pendingRun, error) {
				var p pendingRun
				err := r.Scan(&p.queueRef, &p.topic, &p.segmentID, &p.byteOffset, &p.byteLength, &p.skip, &p.count,
					&p.minStoreTime, &p.maxStoreTime, &p.bloom)
				return p, err
			})
			if err != nil {
				return fmt.Errorf("reading half messages of %s: %w", id, err)
			}
			if _, err := appendRuns(ctx, tx, runs); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM transaction_chunks WHERE transaction_id = $1`, id); err != nil {
			return fmt.Errorf("dropping half messages of %s: %w", id, err)
		}
		state = want
		_, err = tx.Exec(ctx, `UPDATE transactions SET state = $2, resolved_at = now() WHERE id = $1`, id, want)
		return err
	})
	return state, err
}

// TransactionCheck is a pending transaction offered to its producer group's checker.
type TransactionCheck struct {
	ID     string
	Topic  string
	Chunks []Chunk
}

// TransactionChecksClaim takes up to limit pending transactions of a producer group whose
// check is due (and that have not run out of checks), counts the check and schedules the
// next one after interval. It returns them with the references of their half messages.
func (s *Store) TransactionChecksClaim(ctx context.Context, producerGroup string, maxChecks, limit int, interval time.Duration) ([]TransactionCheck, error) {
	var out []TransactionCheck
	err := s.inTx(ctx, "transaction_checks", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE transactions SET check_count = check_count + 1, next_check_at = now() + make_interval(secs => $4)
			WHERE id IN (SELECT id FROM transactions WHERE producer_group = $1 AND state = 'PENDING' AND next_check_at <= now()
				AND check_count < $2 ORDER BY next_check_at LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING id, topic`, producerGroup, maxChecks, limit, interval.Seconds())
		if err != nil {
			return fmt.Errorf("claiming transaction checks: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TransactionCheck, error) {
			var c TransactionCheck
			err := r.Scan(&c.ID, &c.Topic)
			return c, err
		})
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		byID := map[string]*TransactionCheck{}
		for i := range out {
			ids[i] = out[i].ID
			byID[out[i].ID] = &out[i]
		}
		crows, err := tx.Query(ctx, `SELECT c.transaction_id, c.queue_ref, c.segment_id, c.record_skip, c.record_count, s.object_key,
				c.byte_offset, c.byte_length, c.min_store_time, c.max_store_time
			FROM transaction_chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.transaction_id = ANY($1) ORDER BY c.transaction_id, c.queue_ref, c.byte_offset`, ids)
		if err != nil {
			return fmt.Errorf("reading half messages: %w", err)
		}
		defer crows.Close()
		for crows.Next() {
			var txID string
			var c Chunk
			if err := crows.Scan(&txID, &c.QueueRef, &c.SegmentID, &c.Skip, &c.Count, &c.ObjectKey, &c.ByteOffset, &c.ByteLength,
				&c.MinStoreTime, &c.MaxStoreTime); err != nil {
				return err
			}
			byID[txID].Chunks = append(byID[txID].Chunks, c)
		}
		return crows.Err()
	})
	return out, err
}

// TransactionsExpired returns pending transactions that ran out of checks, or whose checks
// never came within timeout of their creation: the policy resolves them.
func (s *Store) TransactionsExpired(ctx context.Context, maxChecks int, timeout time.Duration, limit int) ([]string, error) {
	var ids []string
	err := s.observe("transactions_expired", func() error {
		rows, err := s.pool.Query(ctx, `SELECT id FROM transactions WHERE state = 'PENDING'
			AND ((check_count >= $1 AND next_check_at <= now()) OR created_at < now() - make_interval(secs => $2))
			ORDER BY created_at LIMIT $3`, maxChecks, timeout.Seconds(), limit)
		if err != nil {
			return fmt.Errorf("finding expired transactions: %w", err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, err
}

// TransactionGet returns a transaction's state and topic, or ErrNotFound.
func (s *Store) TransactionGet(ctx context.Context, id string) (state, topic string, err error) {
	err = s.observe("transaction_get", func() error {
		err := s.pool.QueryRow(ctx, `SELECT state, topic FROM transactions WHERE id = $1`, id).Scan(&state, &topic)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("transaction %s: %w", id, ErrNotFound)
		}
		return err
	})
	return state, topic, err
}
