package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Notification channels.
const (
	// ChannelCommits carries, per flush commit, the comma-separated topics it wrote to
	// ("*" when the list would not fit a notification).
	ChannelCommits = "floe_commits"
	// ChannelAcks carries the group of an ack that may unblock an orderly message group.
	ChannelAcks = "floe_acks"
)

// commitPayload is the notification of a commit to topics.
func commitPayload(topics []string) string {
	p := strings.Join(topics, ",")
	if len(p) > 7000 {
		return "*"
	}
	return p
}

// Listen holds one connection that LISTENs on the channels and calls fn for every
// notification, until ctx ends. When the connection is lost it reconnects and calls
// fn(channel, "*") for each channel, since notifications may have been missed meanwhile.
func (s *Store) Listen(ctx context.Context, channels []string, fn func(channel, payload string)) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channels, fn)
		if ctx.Err() != nil {
			return
		}
		for _, ch := range channels {
			fn(ch, "*")
		}
		_ = err
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring listen connection: %w", err)
	}
	// The connection carries LISTEN state: take it out of the pool for good.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return fmt.Errorf("listening on %s: %w", ch, err)
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("waiting for notifications: %w", err)
		}
		fn(n.Channel, n.Payload)
	}
}

// markReady records, inside a transaction that appends to queues, that every group
// consuming them may have new messages there (see the ready_queues table). Its rows are
// locked in (group, queue) order, the order in which a receive clears the queues it
// drained: in any other order the two deadlock.
func markReady(ctx context.Context, tx conn, refs []int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO ready_queues (group_name, queue_ref, topic)
		SELECT gq.group_name, gq.queue_ref, q.topic FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
		WHERE gq.queue_ref = ANY($1)
		ORDER BY gq.group_name, gq.queue_ref
		ON CONFLICT (group_name, queue_ref) DO UPDATE SET seq = ready_queues.seq + 1`, refs)
	if err != nil {
		return fmt.Errorf("marking queues ready: %w", err)
	}
	return nil
}
