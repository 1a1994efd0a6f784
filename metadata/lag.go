package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// QueueLag is a group's progress on one queue.
type QueueLag struct {
	Topic     string
	QueueID   int
	LiteTopic string
	// MaxOffset is the queue's next offset to be written.
	MaxOffset int64
	// ConsumedOffset is the group's acked low watermark: every message below it is done.
	ConsumedOffset int64
	// Inflight counts messages delivered and hidden, not yet acked.
	Inflight int64
	// Ready counts messages the group could receive now (new ones and visible redeliveries),
	// before tag filtering.
	Ready int64
	// OldestUnacked is about when the message at ConsumedOffset was stored (zero if none).
	OldestUnacked time.Time
	// Priority is the priority of the queue's messages on a PRIORITY topic, nil otherwise.
	Priority *int
}

// GroupLag returns a group's progress on every queue it subscribes, in ONE query.
func (s *Store) GroupLag(ctx context.Context, group string) ([]QueueLag, error) {
	var out []QueueLag
	err := s.observe("group_lag", func() error {
		rows, err := s.pool.Query(ctx, `
			WITH d AS (
				SELECT d.queue_ref,
				       min(d.first_offset + (SELECT min(i) FROM generate_series(0, d.record_count - 1) i
				                             WHERE get_bit(d.done, i) = 0)) AS first_open,
				       sum(d.record_count - bit_count(d.done)) FILTER (WHERE d.visible_at > now()) AS hidden,
				       sum(d.record_count - bit_count(d.done)) FILTER (WHERE d.visible_at <= now()) AS visible
				FROM deliveries d WHERE d.group_name = $1 GROUP BY d.queue_ref
			), l AS (
				SELECT q.id, q.topic, q.queue_id, q.lite_topic, q.next_offset,
				       CASE WHEN t.type = 'PRIORITY' THEN q.queue_id % (t.max_priority + 1) END AS priority,
				       greatest(gq.cursor, q.min_offset) AS cursor,
				       least(coalesce(d.first_open, greatest(gq.cursor, q.min_offset)), greatest(gq.cursor, q.min_offset)) AS consumed,
				       coalesce(d.hidden, 0) AS hidden, coalesce(d.visible, 0) AS visible
				FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref JOIN topics t ON t.name = q.topic
				LEFT JOIN d ON d.queue_ref = gq.queue_ref
				WHERE gq.group_name = $1
			)
			SELECT l.topic, l.queue_id, l.lite_topic, l.next_offset, l.consumed, l.hidden,
			       (l.next_offset - l.cursor) + l.visible,
			       CASE WHEN l.consumed < l.next_offset THEN
			           (SELECT c.min_store_time FROM chunks c WHERE c.queue_ref = l.id AND c.first_offset <= l.consumed
			            ORDER BY c.first_offset DESC LIMIT 1) END,
			       l.priority
			FROM l ORDER BY l.topic, l.queue_id, l.lite_topic`, group)
		if err != nil {
			return fmt.Errorf("reading lag of %s: %w", group, err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueLag, error) {
			var l QueueLag
			var oldest *time.Time
			err := r.Scan(&l.Topic, &l.QueueID, &l.LiteTopic, &l.MaxOffset, &l.ConsumedOffset, &l.Inflight, &l.Ready, &oldest, &l.Priority)
			if oldest != nil {
				l.OldestUnacked = *oldest
			}
			return l, err
		})
		return err
	})
	return out, err
}

// ChunkAtTime returns the first index row of a queue holding a message stored at or after
// t, or ErrNotFound if every message is older.
func (s *Store) ChunkAtTime(ctx context.Context, queueRef int64, t time.Time) (Chunk, error) {
	var c Chunk
	err := s.observe("chunk_at_time", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+chunkColumns+` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.max_store_time >= $2 ORDER BY c.first_offset LIMIT 1`, queueRef, t)
		if err != nil {
			return fmt.Errorf("finding chunk at %s: %w", t, err)
		}
		c, err = pgx.CollectExactlyOneRow(rows, scanChunk)
		if err == pgx.ErrNoRows {
			return ErrNotFound
		}
		return err
	})
	return c, err
}

// ResetCursors moves a group's cursors on the given queues and forgets its deliveries
// there: the group consumes again from those offsets.
func (s *Store) ResetCursors(ctx context.Context, group string, moves []CursorMove) error {
	return s.inTx(ctx, "reset_cursors", func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		refs := make([]int64, 0, len(moves))
		for _, m := range moves {
			batch.Queue(`UPDATE group_queues SET cursor = $3 WHERE group_name = $1 AND queue_ref = $2`, group, m.QueueRef, m.Cursor)
			batch.Queue(`DELETE FROM deliveries WHERE group_name = $1 AND queue_ref = $2`, group, m.QueueRef)
			refs = append(refs, m.QueueRef)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		return markReady(ctx, tx, refs)
	})
}

// GroupQueues returns the refs of the queues a group consumes on a topic.
func (s *Store) GroupQueues(ctx context.Context, group, topic string) ([]Queue, error) {
	var out []Queue
	err := s.observe("group_queues", func() error {
		rows, err := s.pool.Query(ctx, `SELECT q.id, q.topic, q.queue_id, q.lite_topic, q.min_offset, q.next_offset
			FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
			WHERE gq.group_name = $1 AND q.topic = $2 ORDER BY q.queue_id, q.lite_topic`, group, topic)
		if err != nil {
			return fmt.Errorf("listing queues of %s on %s: %w", group, topic, err)
		}
		out, err = pgx.CollectRows(rows, scanQueue)
		return err
	})
	return out, err
}
