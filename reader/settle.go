package reader

import (
	"context"
	"errors"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/trace"
)

// Statuses of a settled receipt handle.
const (
	StatusOK      = "OK"
	StatusExpired = "EXPIRED"
	StatusInvalid = "INVALID"
)

// maxHandlesPerCall bounds one ack or nack.
const maxHandlesPerCall = 1024

func (c *Consumer) decodeAll(group, topic string, handles []string) ([]Receipt, []bool, error) {
	if len(handles) == 0 || len(handles) > maxHandlesPerCall {
		return nil, nil, domain.Errorf(domain.ErrBadRequest, "receiptHandles must hold 1-%d handles", maxHandlesPerCall)
	}
	rs := make([]Receipt, len(handles))
	valid := make([]bool, len(handles))
	for i, h := range handles {
		r, err := c.signer.Decode(group, topic, h)
		if err == nil {
			rs[i], valid[i] = r, true
		}
	}
	return rs, valid, nil
}

// Ack finishes messages for a group in one Postgres transaction, shared with the
// group's acks that run at the same time on this node. A forged or altered
// handle, or one issued to another group or topic, is INVALID; one whose message was
// handed out again since and is not finished is EXPIRED. Acking a finished message again
// is OK (idempotent: a retried ack is no failure).
func (c *Consumer) Ack(ctx context.Context, group, topic string, handles []string) ([]domain.HandleResult, error) {
	tg, err := c.resolve(ctx, group, topic)
	if err != nil {
		return nil, err
	}
	rs, valid, err := c.decodeAll(group, topic, handles)
	if err != nil {
		return nil, err
	}
	var items []metadata.AckItem
	var idx []int
	for i, r := range rs {
		if valid[i] {
			items = append(items, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset})
			idx = append(idx, i)
		}
	}
	out := make([]domain.HandleResult, len(handles))
	for i, h := range handles {
		out[i] = domain.HandleResult{ReceiptHandle: h, Status: StatusInvalid}
	}
	if len(items) > 0 {
		statuses, err := c.ackShared(ctx, group, items, tg.orderly)
		if err != nil {
			return nil, unavailable(err)
		}
		for j, st := range statuses {
			out[idx[j]].Status = st
		}
	}
	for _, r := range out {
		c.metrics.acks.WithLabelValues(r.Status).Inc()
	}
	c.traceSettled(tg, trace.Acked, rs, out)
	if tg.orderly {
		c.waker.Wake(group)
	}
	return out, nil
}

// Nack reports failed consumption: each message becomes visible again after the group's
// backoff for its attempt (and is dead-lettered at its next delivery if that was its last).
func (c *Consumer) Nack(ctx context.Context, group, topic string, handles []string) ([]domain.HandleResult, error) {
	tg, err := c.resolve(ctx, group, topic)
	if err != nil {
		return nil, err
	}
	rs, valid, err := c.decodeAll(group, topic, handles)
	if err != nil {
		return nil, err
	}
	out := make([]domain.HandleResult, len(handles))
	for i, h := range handles {
		out[i] = domain.HandleResult{ReceiptHandle: h, Status: StatusInvalid}
		if !valid[i] {
			continue
		}
		r := rs[i]
		hide := func(attempt int) time.Duration {
			if attempt >= tg.group.MaxDeliveryAttempts {
				return 0 // the last attempt failed: dead-letter at once
			}
			return Backoff(tg.group.BackoffSeconds, attempt)
		}
		_, _, ok, err := c.store.Requeue(ctx, group, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset}, hide)
		if err != nil {
			return nil, unavailable(err)
		}
		out[i].Status = StatusExpired
		if ok {
			out[i].Status = StatusOK
			c.metrics.nacks.Inc()
		}
	}
	c.waker.Wake(topic)
	c.traceSettled(tg, trace.Nacked, rs, out)
	return out, nil
}

// Backoff is the wait after failed attempt number attempt (1-based): backoff[attempt-1],
// the last value repeating.
func Backoff(backoffSeconds []int, attempt int) time.Duration {
	if len(backoffSeconds) == 0 {
		return 0
	}
	i := min(max(attempt-1, 0), len(backoffSeconds)-1)
	return time.Duration(backoffSeconds[i]) * time.Second
}

// ChangeInvisible hides a received message for a new duration from now and returns a new
// handle; the old one stops working.
func (c *Consumer) ChangeInvisible(ctx context.Context, group, topic, handle string, invisible time.Duration) (string, error) {
	if err := c.checkInvisible(invisible); err != nil {
		return "", err
	}
	if _, err := c.resolve(ctx, group, topic); err != nil {
		return "", err
	}
	r, err := c.signer.Decode(group, topic, handle)
	if err != nil {
		return "", domain.Errorf(domain.ErrInvalidReceipt, "the receipt handle is not valid for this group and topic")
	}
	id, version, ok, err := c.store.Requeue(ctx, group, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset},
		func(int) time.Duration { return invisible })
	if err != nil {
		return "", unavailable(err)
	}
	if !ok {
		return "", domain.Errorf(domain.ErrReceiptExpired, "the message was acked or handed out again since this handle was issued")
	}
	return c.signer.Encode(group, topic, Receipt{DeliveryID: id, Version: version, QueueRef: r.QueueRef, Offset: r.Offset, MessageID: r.MessageID}), nil
}

// Reset makes a group consume a topic again from the first message stored at or after t,
// in every queue.
func (c *Consumer) Reset(ctx context.Context, group, topic string, t time.Time) error {
	if _, err := c.resolve(ctx, group, topic); err != nil {
		return err
	}
	qs, err := c.store.GroupQueues(ctx, group, topic)
	if err != nil {
		return unavailable(err)
	}
	var moves []metadata.CursorMove
	for _, q := range qs {
		off, err := c.offsetAt(ctx, q, t)
		if err != nil {
			return err
		}
		moves = append(moves, metadata.CursorMove{QueueRef: q.Ref, Cursor: off})
	}
	if err := c.store.ResetCursors(ctx, group, moves); err != nil {
		return unavailable(err)
	}
	c.waker.Wake(topic)
	return nil
}

// offsetAt finds the first offset of a queue stored at or after t (the queue's end if none).
func (c *Consumer) offsetAt(ctx context.Context, q metadata.Queue, t time.Time) (int64, error) {
	return offsetAt(ctx, c.store, c.cache, q, t)
}

// Lag returns a group's accumulation per topic and queue, with totals.
func (c *Consumer) Lag(ctx context.Context, group string) (domain.LagResponse, error) {
	var out domain.LagResponse
	out.Group = group
	out.Topics = []domain.TopicLag{}
	if err := c.GroupExists(ctx, group); err != nil {
		return out, err
	}
	rows, err := c.store.GroupLag(ctx, group)
	if err != nil {
		return out, unavailable(err)
	}
	now := time.Now()
	for _, r := range rows {
		if len(out.Topics) == 0 || out.Topics[len(out.Topics)-1].Topic != r.Topic {
			out.Topics = append(out.Topics, domain.TopicLag{Topic: r.Topic, Queues: []domain.QueueLag{}})
		}
		tl := &out.Topics[len(out.Topics)-1]
		age := 0.0
		if !r.OldestUnacked.IsZero() {
			age = max(now.Sub(r.OldestUnacked).Seconds(), 0)
		}
		ql := domain.QueueLag{QueueID: r.QueueID, LiteTopic: r.LiteTopic, MaxOffset: r.MaxOffset,
			ConsumedOffset: r.ConsumedOffset, Inflight: r.Inflight, Ready: r.Ready, OldestUnackedAge: age}
		if r.Priority != nil {
			ql.Priority = r.Priority
			addPriorityLag(tl, ql)
		}
		tl.Queues = append(tl.Queues, ql)
		tl.Lag += r.MaxOffset - r.ConsumedOffset
		tl.Inflight += r.Inflight
		tl.Ready += r.Ready
		tl.OldestUnackedAge = max(tl.OldestUnackedAge, age)
		out.Totals.Lag += r.MaxOffset - r.ConsumedOffset
		out.Totals.Inflight += r.Inflight
		out.Totals.Ready += r.Ready
		out.Totals.OldestUnackedAge = max(out.Totals.OldestUnackedAge, age)
	}
	return out, nil
}

// GroupExists answers domain.ErrGroupNotFound for an unknown group.
func (c *Consumer) GroupExists(ctx context.Context, group string) error {
	if _, err := c.store.GroupGet(ctx, group); errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrGroupNotFound, "consumer group %s does not exist", group)
	} else if err != nil {
		return unavailable(err)
	}
	return nil
}
