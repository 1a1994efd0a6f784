package ingest

import (
	"math/rand/v2"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// checkPriority checks message i's priority against its topic: a PRIORITY topic needs one
// from 0 to its maxPriority (RocketMQ's clients take any priority from 0 up; a topic's
// levels are fixed when it is made, so a higher one is refused rather than folded into
// the top level, where it would silently lose its meaning); other topics take none.
func checkPriority(t metadata.Topic, i int, m *domain.Message) error {
	if t.Type != metadata.TopicPriority {
		if m.Priority != nil {
			return domain.Errorf(domain.ErrMessageTypeMismatch,
				"message %d: priority applies to PRIORITY topics; %s is %s", i, t.Name, t.Type)
		}
		return nil
	}
	if m.Priority == nil || m.MessageGroup != "" || m.DeliveryTime != nil || m.LiteTopic != "" {
		return domain.Errorf(domain.ErrMessageTypeMismatch,
			"message %d: a PRIORITY topic needs a priority (0-%d) and takes no messageGroup, deliveryTime or liteTopic", i, t.MaxPriority)
	}
	if p := *m.Priority; p < 0 || p > t.MaxPriority {
		return domain.Errorf(domain.ErrInvalidPriority,
			"message %d: priority must be 0-%d (topic %s has %d priority levels, higher is delivered first), got %d", i, t.MaxPriority, t.Name, t.PriorityLevels(), p)
	}
	return nil
}

// routePriority picks a queue of the message's priority level (queue q holds priority
// q % levels): by its first key, else at random among the level's queues.
func routePriority(ti *topicInfo, m *domain.Message) metadata.Queue {
	levels := ti.topic.PriorityLevels()
	perLevel := uint64(max(len(ti.queues)/levels, 1))
	var k uint64
	if len(m.Keys) > 0 {
		k = uint64(fnvHash(m.Keys[0])) % perLevel
	} else {
		// At random, not from the topic's round-robin counter: senders that cycle
		// through the levels would otherwise pin each level to one of its queues.
		k = rand.Uint64N(perLevel)
	}
	i := uint64(*m.Priority) + k*uint64(levels)
	if i < uint64(len(ti.queues)) && ti.queues[i].QueueID == int(i) {
		return ti.queues[i]
	}
	// Queues are listed by id, so the index is the id; should the list have a gap, any
	// queue of the level will do.
	for _, q := range ti.queues {
		if q.QueueID%levels == *m.Priority {
			return q
		}
	}
	return ti.queues[0]
}
