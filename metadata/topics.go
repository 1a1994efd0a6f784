package metadata

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Topic types, as stored and as the API names them.
const (
	TopicNormal      = "NORMAL"
	TopicFIFO        = "FIFO"
	TopicDelay       = "DELAY"
	TopicTransaction = "TRANSACTION"
	TopicLite        = "LITE"
	// TopicPriority holds messages that carry a priority (see priority.go).
	TopicPriority = "PRIORITY"
)

// Topic is a topic's stored settings.
type Topic struct {
	Name           string
	Type           string
	Queues         int
	RetentionHours int
	LiteTTLMinutes int
	// Trace records the path of the topic's messages in the trace topic.
	Trace bool
	// MaxPriority is the highest priority a message of a PRIORITY topic carries (0 for
	// other types); PriorityAgingSeconds is its aging step (see Topic.PriorityOf).
	MaxPriority          int
	PriorityAgingSeconds int
	// DedupWindowSeconds is how long a deduplication id of a message is remembered.
	DedupWindowSeconds int
	CreatedAt          time.Time
}

// Queue is one message queue of a topic.
type Queue struct {
	// Ref is the queue's internal id, used by the chunk index.
	Ref        int64
	Topic      string
	QueueID    int
	LiteTopic  string
	MinOffset  int64
	NextOffset int64
}

// TopicCreate creates a topic and its queues. If a topic of that name exists with the same
// settings it is returned with created = false; with other settings, ErrConflict. A new
// topic past its namespace's quota gives a *QuotaError (ErrQuotaExceeded).
func (s *Store) TopicCreate(ctx context.Context, t Topic) (Topic, bool, error) {
	var out Topic
	created := false
	err := s.inTx(ctx, "topic_create", func(tx pgx.Tx) error {
		if err := s.checkCountQuota(ctx, tx, QuotaTopics, "topics", t.Name, s.quotas.Topics); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO topics (name, type, queue_count, retention_hours, lite_ttl_minutes, trace,
				max_priority, priority_aging_seconds, dedup_window_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
			t.Name, t.Type, t.Queues, t.RetentionHours, t.LiteTTLMinutes, t.Trace, t.MaxPriority, t.PriorityAgingSeconds,
			cmp.Or(t.DedupWindowSeconds, DefaultDedupWindowSeconds))
		if err != nil {
			return fmt.Errorf("inserting topic %s: %w", t.Name, err)
		}
		if tag.RowsAffected() == 1 {
			created = true
			if t.Type != TopicLite {
				if _, err := tx.Exec(ctx, `INSERT INTO queues (topic, queue_id)
					SELECT $1, g FROM generate_series(0, $2 - 1) g`, t.Name, t.Queues); err != nil {
					return fmt.Errorf("inserting queues of %s: %w", t.Name, err)
				}
			}
		}
		out, err = getTopic(ctx, tx, t.Name)
		return err
	})
	if err != nil {
		return Topic{}, false, err
	}
	if !created && (out.Type != t.Type || out.Queues != t.Queues || out.RetentionHours != t.RetentionHours || out.LiteTTLMinutes != t.LiteTTLMinutes || out.Trace != t.Trace ||
		out.MaxPriority != t.MaxPriority || out.PriorityAgingSeconds != t.PriorityAgingSeconds ||
		out.DedupWindowSeconds != cmp.Or(t.DedupWindowSeconds, DefaultDedupWindowSeconds)) {
		return out, false, fmt.Errorf("topic %s exists with other settings: %w", t.Name, ErrConflict)
	}
	return out, created, nil
}

// TopicGet returns one topic, or ErrNotFound.
func (s *Store) TopicGet(ctx context.Context, name string) (Topic, error) {
	var t Topic
	err := s.observe("topic_get", func() error {
		var err error
		t, err = getTopic(ctx, s.pool, name)
		return err
	})
	return t, err
}

// topicColumns are the columns of a topic that topicFields scans.
const topicColumns = `name, type, queue_count, retention_hours, lite_ttl_minutes, trace, max_priority, priority_aging_seconds, dedup_window_seconds, created_at`

func topicFields(t *Topic) []any {
	return []any{&t.Name, &t.Type, &t.Queues, &t.RetentionHours, &t.LiteTTLMinutes, &t.Trace, &t.MaxPriority, &t.PriorityAgingSeconds, &t.DedupWindowSeconds, &t.CreatedAt}
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func getTopic(ctx context.Context, q querier, name string) (Topic, error) {
	var t Topic
	err := q.QueryRow(ctx, `SELECT `+topicColumns+` FROM topics WHERE name = $1`, name).Scan(topicFields(&t)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Topic{}, fmt.Errorf("topic %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Topic{}, fmt.Errorf("reading topic %s: %w", name, err)
	}
	return t, nil
}

// TopicList returns every topic, by name.
func (s *Store) TopicList(ctx context.Context) ([]Topic, error) {
	var out []Topic
	err := s.observe("topic_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+topicColumns+` FROM topics ORDER BY name`)
		if err != nil {
			return fmt.Errorf("listing topics: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Topic, error) {
			var t Topic
			err := r.Scan(topicFields(&t)...)
			return t, err
		})
		return err
	})
	return out, err
}

// TopicDelete removes a topic with its queues and index rows; the segment bytes are left
// to garbage collection. ErrNotFound if there is no such topic.
func (s *Store) TopicDelete(ctx context.Context, name string) error {
	return s.observe("topic_delete", func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM topics WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("deleting topic %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("topic %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

// QueueList returns a topic's queues (for a LITE topic: its lite topics' queues), by queue id
// then lite topic, with their offset ranges.
func (s *Store) QueueList(ctx context.Context, topic string) ([]Queue, error) {
	var out []Queue
	err := s.observe("queue_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT id, topic, queue_id, lite_topic, min_offset, next_offset
			FROM queues WHERE topic = $1 ORDER BY queue_id, lite_topic`, topic)
		if err != nil {
			return fmt.Errorf("listing queues of %s: %w", topic, err)
		}
		out, err = pgx.CollectRows(rows, scanQueue)
		return err
	})
	return out, err
}

// QueueGet returns one queue of a topic, or ErrNotFound.
func (s *Store) QueueGet(ctx context.Context, topic string, queueID int) (Queue, error) {
	var q Queue
	err := s.observe("queue_get", func() error {
		rows, err := s.pool.Query(ctx, `SELECT id, topic, queue_id, lite_topic, min_offset, next_offset
			FROM queues WHERE topic = $1 AND queue_id = $2 AND lite_topic = ''`, topic, queueID)
		if err != nil {
			return fmt.Errorf("reading queue %s/%d: %w", topic, queueID, err)
		}
		q, err = pgx.CollectExactlyOneRow(rows, scanQueue)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("queue %s/%d: %w", topic, queueID, ErrNotFound)
		}
		return err
	})
	return q, err
}

func scanQueue(r pgx.CollectableRow) (Queue, error) {
	var q Queue
	err := r.Scan(&q.Ref, &q.Topic, &q.QueueID, &q.LiteTopic, &q.MinOffset, &q.NextOffset)
	return q, err
}
