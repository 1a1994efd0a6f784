package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ResendToGroup makes one message of a queue due again for a group, at once, as a new
// delivery of attempt 0 (its next delivery is attempt 1): ApsaraMQ's "verify consumption".
// The message must have been handed to the group already (below its cursor: one at or past
// it comes anyway) and not be pending for it now. ErrNotFound when the group does not
// consume the queue or the message is gone; a *ConflictError otherwise.
func (s *Store) ResendToGroup(ctx context.Context, group string, queueRef, offset int64) error {
	return s.inTx(ctx, "resend_to_group", func(tx pgx.Tx) error {
		var cursor, minOffset int64
		err := tx.QueryRow(ctx, `SELECT gq.cursor, q.min_offset FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
			WHERE gq.group_name = $1 AND gq.queue_ref = $2 FOR UPDATE OF gq`, group, queueRef).Scan(&cursor, &minOffset)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("group %s does not consume queue %d: %w", group, queueRef, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("locking the cursor of %s: %w", group, err)
		}
		if offset < minOffset {
			return fmt.Errorf("message at offset %d is gone (retention): %w", offset, ErrNotFound)
		}
		if offset >= cursor {
			return conflictf("the message at offset %d was not handed to group %s yet; it will be delivered anyway", offset, group)
		}
		var pending bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE group_name = $1 AND queue_ref = $2
				AND first_offset <= $3 AND $3 < first_offset + record_count AND get_bit(done, ($3 - first_offset)::int) = 0)`,
			group, queueRef, offset).Scan(&pending); err != nil {
			return fmt.Errorf("checking pending deliveries of %s: %w", group, err)
		}
		if pending {
			return conflictf("the message at offset %d is still pending for group %s (in flight or due again)", offset, group)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (group_name, queue_ref, first_offset, record_count, done, attempt, visible_at)
			VALUES ($1, $2, $3, 1, $4, 0, now())`, group, queueRef, offset, NewDoneBitmap(1)); err != nil {
			return fmt.Errorf("resending offset %d to %s: %w", offset, group, err)
		}
		return nil
	})
}
