package reader

import (
	"context"
	"slices"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// claimsAhead reports whether receives of the target may claim messages ahead of demand
// (the prefetch pool). Orderly targets may not (a claimed message blocks its message
// group), nor PRIORITY topics: a message claimed ahead would be handed out after newer
// messages of higher priority had arrived, so each of their receives asks Postgres for
// the highest-ranked work there is at that moment.
func (t *target) claimsAhead() bool {
	return !t.orderly && t.topic.Type != metadata.TopicPriority
}

// withPriority sets a view's priority when its topic is a PRIORITY topic: the priority is
// not stored with the message, it is the level of the queue the message is in.
func withPriority(t metadata.Topic, v domain.MessageView) domain.MessageView {
	if p, ok := t.PriorityOf(v.QueueID); ok {
		v.Priority = &p
	}
	return v
}

// addPriorityLag adds a queue of a PRIORITY topic to its priority's sums, keeping the
// priorities highest first.
func addPriorityLag(tl *domain.TopicLag, q domain.QueueLag) {
	i := slices.IndexFunc(tl.Priorities, func(p domain.PriorityLag) bool { return p.Priority <= *q.Priority })
	if i < 0 || tl.Priorities[i].Priority != *q.Priority {
		if i < 0 {
			i = len(tl.Priorities)
		}
		tl.Priorities = slices.Insert(tl.Priorities, i, domain.PriorityLag{Priority: *q.Priority})
	}
	p := &tl.Priorities[i]
	p.Lag += q.MaxOffset - q.ConsumedOffset
	p.Inflight += q.Inflight
	p.Ready += q.Ready
	p.OldestUnackedAge = max(p.OldestUnackedAge, q.OldestUnackedAge)
}

// withPriorities sets the priorities of views of one topic when it is a PRIORITY topic.
// A lookup that cannot read the topic leaves them unset rather than failing.
func (s *Service) withPriorities(ctx context.Context, topic string, views []domain.MessageView) []domain.MessageView {
	if len(views) == 0 {
		return views
	}
	t, err := s.store.TopicGet(ctx, topic)
	if err != nil || t.Type != metadata.TopicPriority {
		return views
	}
	for i := range views {
		views[i] = withPriority(t, views[i])
	}
	return views
}
