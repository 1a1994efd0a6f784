package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LiteStartPolicy says where a group starts consuming a lite topic it newly subscribes
// (RocketMQ's OffsetOption of SyncLiteSubscription).
type LiteStartPolicy int

// Lite start policies.
const (
	// LiteStartLast keeps the group's progress, and starts at the end (new messages only)
	// when it has none: the behaviour without an option.
	LiteStartLast LiteStartPolicy = iota
	// LiteStartMin starts at the first message still stored.
	LiteStartMin
	// LiteStartMax starts at the end: only messages sent from now on.
	LiteStartMax
	// LiteStartOffset starts at LiteStart.Offset (within the stored range).
	LiteStartOffset
	// LiteStartTail starts LiteStart.Offset messages before the end: the last N.
	LiteStartTail
	// LiteStartTime starts at the first message stored at or after LiteStart.Time, to the
	// granularity of the chunk index (a compacted chunk may add messages stored a little
	// earlier).
	LiteStartTime
)

// LiteStart is where newly subscribed lite topics start. Lite topics not created yet start
// at offset 0 whatever it says (their every message is new).
type LiteStart struct {
	Policy LiteStartPolicy
	Offset int64
	Time   time.Time
}

// startLiteCursors moves the group's cursors of newly subscribed lite topics to where
// start says, forgetting their deliveries, and marks them ready.
func startLiteCursors(ctx context.Context, tx pgx.Tx, group, topic string, lites []string, start LiteStart) error {
	if len(lites) == 0 || start.Policy == LiteStartLast {
		return nil
	}
	var cursor string
	args := []any{group, topic, lites}
	switch start.Policy {
	case LiteStartMin:
		cursor = `q.min_offset`
	case LiteStartMax:
		cursor = `q.next_offset`
	case LiteStartOffset:
		cursor, args = `least(greatest($4::bigint, q.min_offset), q.next_offset)`, append(args, start.Offset)
	case LiteStartTail:
		cursor, args = `greatest(q.next_offset - $4::bigint, q.min_offset)`, append(args, start.Offset)
	case LiteStartTime:
		cursor = `greatest(coalesce((SELECT c.first_offset FROM chunks c WHERE c.queue_ref = q.id AND c.max_store_time >= $4
			ORDER BY c.first_offset LIMIT 1), q.next_offset), q.min_offset)`
		args = append(args, start.Time)
	default:
		return fmt.Errorf("unknown lite start policy %d", start.Policy)
	}
	rows, err := tx.Query(ctx, `UPDATE group_queues gq SET cursor = `+cursor+` FROM queues q
		WHERE q.id = gq.queue_ref AND gq.group_name = $1 AND q.topic = $2 AND q.lite_topic = ANY($3)
		RETURNING gq.queue_ref`, args...)
	if err != nil {
		return fmt.Errorf("starting the cursors of new lite subscriptions: %w", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("starting the cursors of new lite subscriptions: %w", err)
	}
	if len(refs) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE group_name = $1 AND queue_ref = ANY($2)`, group, refs); err != nil {
		return fmt.Errorf("starting the cursors of new lite subscriptions: %w", err)
	}
	return markReady(ctx, tx, refs)
}
