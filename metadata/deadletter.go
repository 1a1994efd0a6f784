package metadata

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeadLetterMessage is one message the sweep found past its group's last attempt, as it
// asks the caller to describe it: where it is stored.
type DeadLetterMessage struct {
	Group  string
	Topic  string
	Offset int64
	// Chunk is the index row holding the message; Index is its record index inside the
	// stored chunk.
	Chunk Chunk
	Index int
}

// DeadLetterRecord is what the sweep needs of a stored message to index it in the
// dead-letter topic: its store time and the Bloom filter of its id and keys.
type DeadLetterRecord struct {
	MessageID string
	StoreTime time.Time
	Bloom     []byte
}

// SweptDeadLetter is one message the sweep moved to its group's dead-letter topic.
type SweptDeadLetter struct {
	Group, Topic, MessageID string
}

// SweepDeadLetters moves to their groups' dead-letter topics, in ONE transaction, the
// messages whose last delivery attempt failed: delivery rows whose attempt reached the
// group's maxDeliveryAttempts and whose invisible time is over (a nack of the last attempt
// makes its message visible at once). A receive would move them too, but only the group's
// next one, and never if the consumers stopped; until then they count as lag.
//
// At most limit delivery rows are taken, oldest due first; rows a receive or an ack holds
// are skipped (SKIP LOCKED), so the sweep never waits on consumers. describe reads each
// message's record (the caller reads the bucket); messages whose index rows are gone
// (retention) are only marked finished.
func (s *Store) SweepDeadLetters(ctx context.Context, limit int, describe func(ctx context.Context, m DeadLetterMessage) (DeadLetterRecord, error)) ([]SweptDeadLetter, error) {
	var swept []SweptDeadLetter
	err := s.inTx(ctx, "sweep_dead_letters", func(tx pgx.Tx) error {
		swept = nil
		rows, err := tx.Query(ctx, dueDeadLettersSQL, limit)
		if err != nil {
			return fmt.Errorf("finding messages past their last attempt: %w", err)
		}
		type due struct {
			Delivery
			group, topic string
		}
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			err := r.Scan(&d.ID, &d.QueueRef, &d.FirstOffset, &d.Count, &d.Done, &d.Attempt, &d.Version, &d.VisibleAt, &d.group, &d.topic)
			return d, err
		})
		if err != nil {
			return fmt.Errorf("finding messages past their last attempt: %w", err)
		}
		if len(dues) == 0 {
			return nil
		}
		letters := map[string][]DeadLetter{}
		for _, d := range dues {
			var chunks []Chunk
			for i := 0; i < d.Count; i++ {
				if d.IsDone(i) {
					continue
				}
				off := d.FirstOffset + int64(i)
				ch, ok := chunkHolding(chunks, off)
				if !ok {
					if chunks, err = chunksFrom(ctx, tx, d.QueueRef, off, 4); err != nil {
						return err
					}
					if ch, ok = chunkHolding(chunks, off); !ok {
						continue // past retention: nothing left to dead-letter
					}
				}
				m := DeadLetterMessage{Group: d.group, Topic: d.topic, Offset: off, Chunk: ch, Index: ch.Skip + int(off-ch.FirstOffset)}
				rec, err := describe(ctx, m)
				if err != nil {
					return err
				}
				letters[d.group] = append(letters[d.group], DeadLetter{Source: ch, Index: m.Index, StoreTime: rec.StoreTime, Bloom: rec.Bloom})
				swept = append(swept, SweptDeadLetter{Group: d.group, Topic: d.topic, MessageID: rec.MessageID})
			}
		}
		ids := make([]int64, len(dues))
		for i, d := range dues {
			ids[i] = d.ID
		}
		// Every message of the rows is finished now: dead-lettered, or gone with retention.
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE id = ANY($1)`, ids); err != nil {
			return fmt.Errorf("removing dead-lettered deliveries: %w", err)
		}
		// Groups in name order: two sweeps lock the dead-letter queues in one order.
		groups := make([]string, 0, len(letters))
		for g := range letters {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		for _, g := range groups {
			if err := appendDeadLetters(ctx, tx, g, letters[g]); err != nil {
				return err
			}
		}
		return nil
	})
	return swept, err
}

// dueDeadLettersSQL finds and locks up to $1 delivery rows past their group's last
// attempt and visible again, per group through the deliveries_group_visible index. The
// outer conditions are checked again on a row that changed before it was locked (a
// change-invisible of the last attempt's receipt keeps its message).
const dueDeadLettersSQL = `SELECT d.id, d.queue_ref, d.first_offset, d.record_count, d.done, d.attempt, d.version, d.visible_at,
		d.group_name, q.topic
	FROM deliveries d JOIN queues q ON q.id = d.queue_ref JOIN consumer_groups cg ON cg.name = d.group_name
	WHERE d.visible_at <= now() AND d.attempt >= cg.max_delivery_attempts AND d.id IN (
		SELECT due.id FROM consumer_groups g CROSS JOIN LATERAL (
			SELECT d2.id, d2.visible_at FROM deliveries d2
			WHERE d2.group_name = g.name AND d2.visible_at <= now() AND d2.attempt >= g.max_delivery_attempts
			ORDER BY d2.visible_at LIMIT $1) due
		ORDER BY due.visible_at LIMIT $1)
	ORDER BY d.id
	FOR UPDATE OF d SKIP LOCKED`

// chunkHolding returns the chunk of chunks that holds offset off.
func chunkHolding(chunks []Chunk, off int64) (Chunk, bool) {
	i := slices.IndexFunc(chunks, func(c Chunk) bool { return off >= c.FirstOffset && off < c.FirstOffset+int64(c.Count) })
	if i < 0 {
		return Chunk{}, false
	}
	return chunks[i], true
}
