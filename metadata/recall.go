package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// A recall takes a delayed message back before its delivery time. It writes a row in
// recalls while the message's timer still waits (holding the timer's row lock, so a
// concurrent TimersFire either fired it already or will see the recall); when the timer
// fires, its run is split around the recalled records (splitRun), so they never get a
// queue offset: no group sees them, and no consumer offset waits for them.

// ErrRecallTooLate is returned by MessageRecall when the message's delivery time has passed
// or its timer has fired: it is (or is about to be) visible.
var ErrRecallTooLate = fmt.Errorf("the message's delivery time has passed; it can no longer be recalled: %w", ErrConflict)

// MessageRecallParams names one delayed message by where it is stored.
type MessageRecallParams struct {
	// QueueRef is the queue the message was routed to.
	QueueRef int64
	// ObjectKey is the segment the producer's flush wrote.
	ObjectKey string
	// Record is the message's index among the records of the queue's delayed chunk in
	// that segment (sorted by delivery time).
	Record int
	// MessageID and DeliveryTime are kept with the recall.
	MessageID    string
	DeliveryTime time.Time
}

// MessageRecall recalls a delayed message. It returns already = true when it was recalled
// before (nothing changes), ErrRecallTooLate once its delivery time passed or its timer
// fired, and ErrNotFound when no such stored message waits (its topic was deleted).
func (s *Store) MessageRecall(ctx context.Context, p MessageRecallParams) (already bool, err error) {
	err = s.inTx(ctx, "message_recall", func(tx pgx.Tx) error {
		var seg *int64
		var due bool
		err := tx.QueryRow(ctx, `SELECT (SELECT id FROM segments WHERE object_key = $1), now() >= $2::timestamptz`,
			p.ObjectKey, p.DeliveryTime).Scan(&seg, &due)
		if err != nil {
			return fmt.Errorf("finding segment %s: %w", p.ObjectKey, err)
		}
		if seg == nil {
			if due {
				return ErrRecallTooLate
			}
			return fmt.Errorf("segment %s: %w", p.ObjectKey, ErrNotFound)
		}
		segID := *seg
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM recalls WHERE segment_id = $1 AND queue_ref = $2 AND record_index = $3`,
			segID, p.QueueRef, p.Record).Scan(&one)
		if err == nil {
			already = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("reading recall: %w", err)
		}
		if due {
			return ErrRecallTooLate
		}
		// Lock the timer that covers the record: TimersFire claims timers FOR UPDATE SKIP
		// LOCKED, so it cannot fire this one until the recall is committed, and a timer it
		// fired is gone by the time this lock is granted.
		err = tx.QueryRow(ctx, `SELECT 1 FROM timers WHERE segment_id = $1 AND queue_ref = $2
				AND record_skip <= $3 AND record_skip + record_count > $3 FOR UPDATE`, segID, p.QueueRef, p.Record).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM queues WHERE id = $1)`, p.QueueRef).Scan(&exists); err != nil {
				return fmt.Errorf("reading queue %d: %w", p.QueueRef, err)
			}
			if !exists {
				return fmt.Errorf("queue %d: %w", p.QueueRef, ErrNotFound)
			}
			return ErrRecallTooLate
		}
		if err != nil {
			return fmt.Errorf("locking the timer: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO recalls (segment_id, queue_ref, record_index, message_id, delivery_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, segID, p.QueueRef, p.Record, p.MessageID, p.DeliveryTime)
		if err != nil {
			return fmt.Errorf("recording recall: %w", err)
		}
		return nil
	})
	return already, err
}

// splitRun returns the parts of the run of records [skip, skip+count) that are not in
// recalled (record indexes, any order, outside ones ignored), as (skip, count) pairs in
// order.
func splitRun(skip, count int, recalled []int) [][2]int {
	rs := slices.Clone(recalled)
	slices.Sort(rs)
	var out [][2]int
	start, end := skip, skip+count
	for _, r := range rs {
		if r < start || r >= end {
			continue
		}
		if r > start {
			out = append(out, [2]int{start, r - start})
		}
		start = r + 1
	}
	if start < end {
		out = append(out, [2]int{start, end - start})
	}
	return out
}
