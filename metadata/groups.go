package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery orders of a consumer group.
const (
	OrderConcurrent = "CONCURRENT"
	OrderOrderly    = "ORDERLY"
)

// Group is a consumer group's stored settings.
type Group struct {
	Name                string
	DeliveryOrder       string
	MaxDeliveryAttempts int
	BackoffSeconds      []int
	CreatedAt           time.Time
}

// Subscription is a group's rule for one topic.
type Subscription struct {
	Group string
	Topic string
	// FilterType is TAG (Filter is `*` or `TagA || TagB`) or SQL92 (Filter is an
	// expression over message properties).
	FilterType string
	Filter     string
	CreatedAt  time.Time
}

// GroupCreate creates a consumer group. Same name and settings again returns the stored
// group with created = false; other settings give ErrConflict; a new group past its
// namespace's quota, a *QuotaError (ErrQuotaExceeded).
func (s *Store) GroupCreate(ctx context.Context, g Group) (Group, bool, error) {
	var out Group
	created := false
	err := s.inTx(ctx, "group_create", func(tx pgx.Tx) error {
		if err := s.checkCountQuota(ctx, tx, QuotaGroups, "consumer_groups", g.Name, s.quotas.Groups); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO consumer_groups (name, delivery_order, max_delivery_attempts, backoff_seconds)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`, g.Name, g.DeliveryOrder, g.MaxDeliveryAttempts, g.BackoffSeconds)
		if err != nil {
			return fmt.Errorf("inserting group %s: %w", g.Name, err)
		}
		created = tag.RowsAffected() == 1
		out, err = getGroup(ctx, tx, g.Name)
		return err
	})
	if err != nil {
		return Group{}, false, err
	}
	if !created && (out.DeliveryOrder != g.DeliveryOrder || out.MaxDeliveryAttempts != g.MaxDeliveryAttempts || !slices.Equal(out.BackoffSeconds, g.BackoffSeconds)) {
		return out, false, fmt.Errorf("group %s exists with other settings: %w", g.Name, ErrConflict)
	}
	return out, created, nil
}

// GroupGet returns a group, or ErrNotFound.
func (s *Store) GroupGet(ctx context.Context, name string) (Group, error) {
	var g Group
	err := s.observe("group_get", func() error {
		var err error
		g, err = getGroup(ctx, s.pool, name)
		return err
	})
	return g, err
}

func getGroup(ctx context.Context, q querier, name string) (Group, error) {
	var g Group
	err := q.QueryRow(ctx, `SELECT name, delivery_order, max_delivery_attempts, backoff_seconds, created_at
		FROM consumer_groups WHERE name = $1`, name).Scan(&g.Name, &g.DeliveryOrder, &g.MaxDeliveryAttempts, &g.BackoffSeconds, &g.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, fmt.Errorf("group %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Group{}, fmt.Errorf("reading group %s: %w", name, err)
	}
	return g, nil
}

// GroupList returns every group by name.
func (s *Store) GroupList(ctx context.Context) ([]Group, error) {
	var out []Group
	err := s.observe("group_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT name, delivery_order, max_delivery_attempts, backoff_seconds, created_at
			FROM consumer_groups ORDER BY name`)
		if err != nil {
			return fmt.Errorf("listing groups: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) {
			var g Group
			err := r.Scan(&g.Name, &g.DeliveryOrder, &g.MaxDeliveryAttempts, &g.BackoffSeconds, &g.CreatedAt)
			return g, err
		})
		return err
	})
	return out, err
}

// GroupDelete removes a group with its subscriptions and consumption state.
func (s *Store) GroupDelete(ctx context.Context, name string) error {
	return s.observe("group_delete", func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM consumer_groups WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("deleting group %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("group %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

// SubscriptionPut creates or updates a group's subscription to a topic with a filter of
// filterType (TAG or SQL92; checked by the caller). A new subscription starts at each
// queue's current end: the group sees messages sent from now on.
func (s *Store) SubscriptionPut(ctx context.Context, group, topic, filterType, filter string) (Subscription, bool, error) {
	var out Subscription
	created := false
	err := s.inTx(ctx, "subscription_put", func(tx pgx.Tx) error {
		if _, err := getGroup(ctx, tx, group); err != nil {
			return err
		}
		if _, err := getTopic(ctx, tx, topic); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO subscriptions (group_name, topic, filter_type, filter) VALUES ($1, $2, $3, $4)
			ON CONFLICT (group_name, topic) DO NOTHING`, group, topic, filterType, filter)
		if err != nil {
			return fmt.Errorf("inserting subscription %s/%s: %w", group, topic, err)
		}
		created = tag.RowsAffected() == 1
		if created {
			if _, err := tx.Exec(ctx, `INSERT INTO group_queues (group_name, queue_ref, cursor)
				SELECT $1, id, next_offset FROM queues WHERE topic = $2
				ON CONFLICT DO NOTHING`, group, topic); err != nil {
				return fmt.Errorf("starting cursors of %s on %s: %w", group, topic, err)
			}
		} else if _, err := tx.Exec(ctx, `UPDATE subscriptions SET filter_type = $3, filter = $4 WHERE group_name = $1 AND topic = $2`,
			group, topic, filterType, filter); err != nil {
			return fmt.Errorf("updating subscription %s/%s: %w", group, topic, err)
		}
		return tx.QueryRow(ctx, `SELECT group_name, topic, filter_type, filter, created_at FROM subscriptions WHERE group_name = $1 AND topic = $2`,
			group, topic).Scan(&out.Group, &out.Topic, &out.FilterType, &out.Filter, &out.CreatedAt)
	})
	return out, created, err
}

// SubscriptionGet returns a group's subscription to a topic, or ErrNotFound.
func (s *Store) SubscriptionGet(ctx context.Context, group, topic string) (Subscription, error) {
	var out Subscription
	err := s.observe("subscription_get", func() error {
		err := s.pool.QueryRow(ctx, `SELECT group_name, topic, filter_type, filter, created_at FROM subscriptions WHERE group_name = $1 AND topic = $2`,
			group, topic).Scan(&out.Group, &out.Topic, &out.FilterType, &out.Filter, &out.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("subscription %s/%s: %w", group, topic, ErrNotFound)
		}
		return err
	})
	return out, err
}

// SubscriptionList returns a group's subscriptions by topic.
func (s *Store) SubscriptionList(ctx context.Context, group string) ([]Subscription, error) {
	var out []Subscription
	err := s.observe("subscription_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT group_name, topic, filter_type, filter, created_at FROM subscriptions WHERE group_name = $1 ORDER BY topic`, group)
		if err != nil {
			return fmt.Errorf("listing subscriptions of %s: %w", group, err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) {
			var sub Subscription
			err := r.Scan(&sub.Group, &sub.Topic, &sub.FilterType, &sub.Filter, &sub.CreatedAt)
			return sub, err
		})
		return err
	})
	return out, err
}

// SubscriptionDelete removes a subscription with the group's state on that topic's queues.
func (s *Store) SubscriptionDelete(ctx context.Context, group, topic string) error {
	return s.inTx(ctx, "subscription_delete", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE group_name = $1 AND topic = $2`, group, topic)
		if err != nil {
			return fmt.Errorf("deleting subscription %s/%s: %w", group, topic, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("subscription %s/%s: %w", group, topic, ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE group_name = $1 AND queue_ref IN (SELECT id FROM queues WHERE topic = $2)`, group, topic); err != nil {
			return fmt.Errorf("deleting deliveries: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM group_queues WHERE group_name = $1 AND queue_ref IN (SELECT id FROM queues WHERE topic = $2)`, group, topic); err != nil {
			return fmt.Errorf("deleting cursors: %w", err)
		}
		return nil
	})
}

// SecretGet returns a named server secret, storing candidate first if there is none yet,
// so every node ends up with the same value.
func (s *Store) SecretGet(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var out []byte
	err := s.observe("secret_get", func() error {
		return s.pool.QueryRow(ctx, `WITH ins AS (
				INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
			SELECT value FROM ins UNION ALL SELECT value FROM secrets WHERE name = $1 LIMIT 1`, name, candidate).Scan(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return out, nil
}
