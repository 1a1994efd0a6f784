package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ConflictError is an ErrConflict with the reason a change cannot be applied, for the
// caller to show.
type ConflictError struct{ Reason string }

func (e *ConflictError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

func conflictf(format string, args ...any) error {
	return &ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// TopicChange is a change of a topic's settings in place; nil fields stay as they are.
type TopicChange struct {
	// Queues may grow a topic's queue count, never shrink it: a removed queue would take
	// its stored messages and every group's offsets with it.
	Queues         *int
	RetentionHours *int
	LiteTTLMinutes *int
	Trace          *bool
}

// TopicUpdate changes a topic's settings in ONE transaction. New queues start empty, and
// every group subscribed to the topic gets a cursor on them at offset 0, so no message
// sent to them is missed. Offsets and in-flight state of existing queues are untouched.
// ErrNotFound for an unknown topic; a *ConflictError for a change that cannot apply.
func (s *Store) TopicUpdate(ctx context.Context, name string, ch TopicChange) (Topic, error) {
	var out Topic
	err := s.inTx(ctx, "topic_update", func(tx pgx.Tx) error {
		var t Topic
		err := tx.QueryRow(ctx, `SELECT `+topicColumns+` FROM topics WHERE name = $1 FOR UPDATE`, name).Scan(topicFields(&t)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("topic %s: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("locking topic %s: %w", name, err)
		}
		if ch.Queues != nil && *ch.Queues != t.Queues {
			if t.Type == TopicLite {
				return conflictf("a LITE topic has one queue per lite topic; its queue count cannot change")
			}
			if t.Type == TopicPriority && *ch.Queues%t.PriorityLevels() != 0 {
				return conflictf("a PRIORITY topic has the same number of queues for each of its %d priority levels: queues must be a multiple of %d", t.PriorityLevels(), t.PriorityLevels())
			}
			if *ch.Queues < t.Queues {
				return conflictf("topic %s has %d queues: queues can be added, not removed (removing one would drop its messages and offsets)", name, t.Queues)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO queues (topic, queue_id) SELECT $1, g FROM generate_series($2::int, $3::int - 1) g
				ON CONFLICT DO NOTHING`, name, t.Queues, *ch.Queues); err != nil {
				return fmt.Errorf("adding queues to %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO group_queues (group_name, queue_ref, cursor)
				SELECT s.group_name, q.id, 0 FROM subscriptions s JOIN queues q ON q.topic = s.topic
				WHERE s.topic = $1 AND q.queue_id >= $2 AND q.lite_topic = ''
				ON CONFLICT DO NOTHING`, name, t.Queues); err != nil {
				return fmt.Errorf("starting cursors on the new queues of %s: %w", name, err)
			}
			t.Queues = *ch.Queues
		}
		if ch.LiteTTLMinutes != nil {
			if t.Type != TopicLite && *ch.LiteTTLMinutes != 0 {
				return conflictf("liteTtlMinutes applies to LITE topics only; %s is %s", name, t.Type)
			}
			t.LiteTTLMinutes = *ch.LiteTTLMinutes
		}
		if ch.RetentionHours != nil {
			t.RetentionHours = *ch.RetentionHours
		}
		if ch.Trace != nil {
			t.Trace = *ch.Trace
		}
		if _, err := tx.Exec(ctx, `UPDATE topics SET queue_count = $2, retention_hours = $3, lite_ttl_minutes = $4, trace = $5 WHERE name = $1`,
			name, t.Queues, t.RetentionHours, t.LiteTTLMinutes, t.Trace); err != nil {
			return fmt.Errorf("updating topic %s: %w", name, err)
		}
		out = t
		return nil
	})
	return out, err
}

// GroupChange is a change of a group's settings in place; nil fields stay as they are.
type GroupChange struct {
	DeliveryOrder       *string
	MaxDeliveryAttempts *int
	BackoffSeconds      []int
}

// GroupUpdate changes a group's settings in ONE transaction; its subscriptions, offsets
// and in-flight messages stay. The delivery order changes only while no message is in
// flight: an orderly group's guarantee (the next message of a message group only after the
// previous is acked) cannot be granted halfway through a delivery made without it.
// ErrNotFound for an unknown group; a *ConflictError for a change that cannot apply now.
func (s *Store) GroupUpdate(ctx context.Context, name string, ch GroupChange) (Group, error) {
	var out Group
	err := s.inTx(ctx, "group_update", func(tx pgx.Tx) error {
		var g Group
		err := tx.QueryRow(ctx, `SELECT name, delivery_order, max_delivery_attempts, backoff_seconds, created_at
			FROM consumer_groups WHERE name = $1 FOR UPDATE`, name).Scan(&g.Name, &g.DeliveryOrder, &g.MaxDeliveryAttempts, &g.BackoffSeconds, &g.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("group %s: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("locking group %s: %w", name, err)
		}
		if ch.DeliveryOrder != nil && *ch.DeliveryOrder != g.DeliveryOrder {
			var inflight int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(sum(record_count - bit_count(done)), 0) FROM deliveries
				WHERE group_name = $1 AND attempt > 0 AND visible_at > now()`, name).Scan(&inflight); err != nil {
				return fmt.Errorf("counting in-flight messages of %s: %w", name, err)
			}
			if inflight > 0 {
				return conflictf("group %s has %d messages in flight; the delivery order can change once they are acked or visible again", name, inflight)
			}
			g.DeliveryOrder = *ch.DeliveryOrder
		}
		if ch.MaxDeliveryAttempts != nil {
			g.MaxDeliveryAttempts = *ch.MaxDeliveryAttempts
		}
		if ch.BackoffSeconds != nil {
			g.BackoffSeconds = ch.BackoffSeconds
		}
		if _, err := tx.Exec(ctx, `UPDATE consumer_groups SET delivery_order = $2, max_delivery_attempts = $3, backoff_seconds = $4 WHERE name = $1`,
			name, g.DeliveryOrder, g.MaxDeliveryAttempts, g.BackoffSeconds); err != nil {
			return fmt.Errorf("updating group %s: %w", name, err)
		}
		out = g
		return nil
	})
	return out, err
}

// GroupQueuesAll returns every queue a group consumes, on every topic, by topic, queue id
// and lite topic.
func (s *Store) GroupQueuesAll(ctx context.Context, group string) ([]Queue, error) {
	var out []Queue
	err := s.observe("group_queues_all", func() error {
		rows, err := s.pool.Query(ctx, `SELECT q.id, q.topic, q.queue_id, q.lite_topic, q.min_offset, q.next_offset
			FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
			WHERE gq.group_name = $1 ORDER BY q.topic, q.queue_id, q.lite_topic`, group)
		if err != nil {
			return fmt.Errorf("listing queues of %s: %w", group, err)
		}
		out, err = pgx.CollectRows(rows, scanQueue)
		return err
	})
	return out, err
}
