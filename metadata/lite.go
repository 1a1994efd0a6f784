package metadata

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LiteQueuesEnsure returns the queues of several lite topics of one topic, creating the
// missing ones (with the cursors of groups already subscribed to them) in ONE transaction.
// When the new ones would take the namespace past its quota, none is created and the error
// is a *QuotaError (ErrQuotaExceeded).
func (s *Store) LiteQueuesEnsure(ctx context.Context, topic string, lites []string) (map[string]Queue, error) {
	var out map[string]Queue
	err := s.inTx(ctx, "lite_queues_ensure", func(tx pgx.Tx) (err error) {
		out, err = s.ensureLiteQueues(ctx, tx, topic, lites)
		return err
	})
	return out, err
}

// ensureLiteQueues is LiteQueuesEnsure within tx.
func (s *Store) ensureLiteQueues(ctx context.Context, tx pgx.Tx, topic string, lites []string) (map[string]Queue, error) {
	out := make(map[string]Queue, len(lites))
	if err := s.checkLiteQuota(ctx, tx, topic, lites); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `INSERT INTO queues (topic, queue_id, lite_topic, last_write_at)
		SELECT $1, 0, l, now() FROM unnest($2::text[]) AS l
		ON CONFLICT DO NOTHING RETURNING id`, topic, lites)
	if err != nil {
		if isForeignKeyViolation(err) {
			return nil, fmt.Errorf("topic %s: %w", topic, ErrNotFound)
		}
		return nil, fmt.Errorf("creating lite topics of %s: %w", topic, err)
	}
	created, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		if isForeignKeyViolation(err) {
			return nil, fmt.Errorf("topic %s: %w", topic, ErrNotFound)
		}
		return nil, fmt.Errorf("creating lite topics of %s: %w", topic, err)
	}
	if len(created) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO group_queues (group_name, queue_ref, cursor)
			SELECT l.group_name, q.id, 0 FROM queues q
			JOIN lite_subscriptions l ON l.topic = q.topic AND l.lite_topic = q.lite_topic
			WHERE q.id = ANY($1) ON CONFLICT DO NOTHING`, created); err != nil {
			return nil, fmt.Errorf("starting cursors of new lite topics of %s: %w", topic, err)
		}
	}
	rows, err = tx.Query(ctx, `SELECT id, topic, queue_id, lite_topic, min_offset, next_offset FROM queues
		WHERE topic = $1 AND lite_topic = ANY($2) AND queue_id = 0`, topic, lites)
	if err != nil {
		return nil, fmt.Errorf("reading lite topics of %s: %w", topic, err)
	}
	qs, err := pgx.CollectRows(rows, scanQueue)
	if err != nil {
		return nil, fmt.Errorf("reading lite topics of %s: %w", topic, err)
	}
	for _, q := range qs {
		out[q.LiteTopic] = q
	}
	return out, nil
}

// LiteSubscriptionChange adds and removes lite topics of a group's subscription to a LITE
// topic (creating the subscription itself if needed); with replace, the group ends up
// subscribed to exactly add. A group sees a lite topic's messages from the point it
// subscribed (offset 0 for a lite topic created later).
func (s *Store) LiteSubscriptionChange(ctx context.Context, group, topic string, add, remove []string, replace bool) error {
	return s.LiteSubscriptionChangeFrom(ctx, group, topic, add, remove, replace, LiteStart{})
}

// LiteSubscriptionChangeFrom is LiteSubscriptionChange where the lite topics this call
// newly subscribes start where start says (see LiteStart); lite topics already subscribed
// keep the group's progress.
func (s *Store) LiteSubscriptionChangeFrom(ctx context.Context, group, topic string, add, remove []string, replace bool, start LiteStart) error {
	return s.inTx(ctx, "lite_subscription_change", func(tx pgx.Tx) error {
		if _, err := getGroup(ctx, tx, group); err != nil {
			return err
		}
		if _, err := getTopic(ctx, tx, topic); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (group_name, topic, filter) VALUES ($1, $2, '*')
			ON CONFLICT (group_name, topic) DO NOTHING`, group, topic); err != nil {
			return fmt.Errorf("subscribing %s to %s: %w", group, topic, err)
		}
		if replace {
			rows, err := tx.Query(ctx, `SELECT lite_topic FROM lite_subscriptions WHERE group_name = $1 AND topic = $2
				AND NOT (lite_topic = ANY($3))`, group, topic, add)
			if err != nil {
				return fmt.Errorf("reading lite subscriptions: %w", err)
			}
			remove, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("reading lite subscriptions: %w", err)
			}
		}
		if len(remove) > 0 {
			batch := &pgx.Batch{}
			batch.Queue(`DELETE FROM lite_subscriptions WHERE group_name = $1 AND topic = $2 AND lite_topic = ANY($3)`, group, topic, remove)
			batch.Queue(`DELETE FROM deliveries WHERE group_name = $1 AND queue_ref IN
				(SELECT id FROM queues WHERE topic = $2 AND lite_topic = ANY($3))`, group, topic, remove)
			batch.Queue(`DELETE FROM group_queues WHERE group_name = $1 AND queue_ref IN
				(SELECT id FROM queues WHERE topic = $2 AND lite_topic = ANY($3))`, group, topic, remove)
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return fmt.Errorf("removing lite subscriptions: %w", err)
			}
		}
		if len(add) > 0 {
			rows, err := tx.Query(ctx, `INSERT INTO lite_subscriptions (group_name, topic, lite_topic) SELECT $1, $2, unnest($3::text[])
				ON CONFLICT DO NOTHING RETURNING lite_topic`, group, topic, add)
			if err != nil {
				return fmt.Errorf("adding lite subscriptions: %w", err)
			}
			added, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("adding lite subscriptions: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO group_queues (group_name, queue_ref, cursor)
				SELECT $1, id, next_offset FROM queues WHERE topic = $2 AND lite_topic = ANY($3)
				ON CONFLICT DO NOTHING`, group, topic, add); err != nil {
				return fmt.Errorf("adding lite subscriptions: %w", err)
			}
			if err := startLiteCursors(ctx, tx, group, topic, added, start); err != nil {
				return err
			}
		}
		return nil
	})
}

// LiteSubscriptionList returns the lite topics a group subscribes to under a topic.
func (s *Store) LiteSubscriptionList(ctx context.Context, group, topic string) ([]string, error) {
	var out []string
	err := s.observe("lite_subscription_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT lite_topic FROM lite_subscriptions WHERE group_name = $1 AND topic = $2
			ORDER BY lite_topic`, group, topic)
		if err != nil {
			return fmt.Errorf("listing lite subscriptions: %w", err)
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, err
}

// LiteQueueGet returns the queue of one lite topic, or ErrNotFound.
func (s *Store) LiteQueueGet(ctx context.Context, topic, lite string) (Queue, error) {
	var q Queue
	err := s.observe("lite_queue_get", func() error {
		rows, err := s.pool.Query(ctx, `SELECT id, topic, queue_id, lite_topic, min_offset, next_offset
			FROM queues WHERE topic = $1 AND lite_topic = $2 AND queue_id = 0`, topic, lite)
		if err != nil {
			return err
		}
		q, err = pgx.CollectExactlyOneRow(rows, scanQueue)
		if err == pgx.ErrNoRows {
			return fmt.Errorf("lite topic %s/%s: %w", topic, lite, ErrNotFound)
		}
		return err
	})
	return q, err
}

// LiteTopicsExpire removes up to limit lite topics whose LITE topic has a TTL and that had
// no message within it: their queue, index rows, cursors, deliveries and subscriptions.
// Their bytes go with the segments' garbage collection.
func (s *Store) LiteTopicsExpire(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, "lite_topics_expire", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM queues WHERE id IN (
				SELECT q.id FROM queues q JOIN topics t ON t.name = q.topic
				WHERE t.type = 'LITE' AND t.lite_ttl_minutes > 0 AND q.lite_topic <> ''
				  AND q.last_write_at < now() - make_interval(mins => t.lite_ttl_minutes)
				LIMIT $1 FOR UPDATE OF q SKIP LOCKED)
			RETURNING topic, lite_topic`, limit)
		if err != nil {
			return fmt.Errorf("expiring lite topics: %w", err)
		}
		var topics, lites []string
		for rows.Next() {
			var t, l string
			if err := rows.Scan(&t, &l); err != nil {
				rows.Close()
				return err
			}
			topics, lites = append(topics, t), append(lites, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(lites)
		if n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM lite_subscriptions l USING unnest($1::text[], $2::text[]) AS e(topic, lite)
			WHERE l.topic = e.topic AND l.lite_topic = e.lite`, topics, lites)
		return err
	})
	return n, err
}
