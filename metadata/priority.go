package metadata

import "time"

// A PRIORITY topic stores each message in a queue of the message's priority level: with
// L = MaxPriority+1 levels, queue q holds priority q % L, so every level has Queues/L
// queues and a topic grows by whole levels. Nothing is stored per message: the order in
// which a receive takes work comes from the order in which it locks queues (see
// lockPrioritySQL), each queue being in store order already.

// PriorityLevels is the number of priorities of a PRIORITY topic (0 for other types).
func (t Topic) PriorityLevels() int {
	if t.Type != TopicPriority {
		return 0
	}
	return t.MaxPriority + 1
}

// PriorityOf returns the priority of the messages of queue queueID, and false for a
// topic of another type.
func (t Topic) PriorityOf(queueID int) (int, bool) {
	if t.Type != TopicPriority || queueID < 0 {
		return 0, false
	}
	return queueID % t.PriorityLevels(), true
}

// PriorityOrder is how a receive on a PRIORITY topic orders the queues it may lock.
//
// Each queue with work is ranked by its head: the earliest of the store time of its next
// new message and the time its earliest visible redelivery became due, moved earlier by
// priority × Aging. The receive locks the queue whose ranked head comes first. So among
// messages stored at about the same time the higher priority goes first, equal
// priorities keep store order (one level's queues are in store order), and a message of
// priority p waits behind a message of priority p+k only if that one was stored less than
// k × Aging after it: no message waits forever behind newer ones of higher priority.
type PriorityOrder struct {
	// Levels is the topic's number of priorities (MaxPriority+1).
	Levels int
	// Aging is how much earlier one level of priority ranks a message.
	Aging time.Duration
}

// PriorityOrderOf returns the receive order of a PRIORITY topic, nil for other types.
func PriorityOrderOf(t Topic) *PriorityOrder {
	if t.Type != TopicPriority {
		return nil
	}
	return &PriorityOrder{Levels: t.PriorityLevels(), Aging: time.Duration(t.PriorityAgingSeconds) * time.Second}
}

// lockPrioritySQL locks one of lockCandidatesSQL's queues, ranking them by PriorityOrder instead
// of at random ($4 levels, $5 aging in seconds); ties (queues of one level whose heads
// were stored by one flush) are broken at random, so that concurrent receives spread over
// a level's queues. The ranks cost an index probe of the chunk index and of the
// group's deliveries per candidate queue, and candidates are only queues with work.
const lockPrioritySQL = lockCandidatesSQL + `ORDER BY least(
	        CASE WHEN gq.cursor < q.next_offset THEN (SELECT c.min_store_time FROM chunks c
	            WHERE c.queue_ref = gq.queue_ref AND c.first_offset <= greatest(gq.cursor, q.min_offset)
	            ORDER BY c.first_offset DESC LIMIT 1) END,
	        (SELECT min(d.visible_at) FROM deliveries d
	            WHERE d.group_name = $1 AND d.queue_ref = gq.queue_ref AND d.visible_at <= now())
	    ) - make_interval(secs => (q.queue_id % $4::int) * $5::float8), random()
	LIMIT 1
	FOR UPDATE OF gq SKIP LOCKED`

// lockQueue returns the statement and arguments that lock the next queue of a receive.
func (p ReceiveParams) lockQueue(locked []int64) (string, []any) {
	if p.Priority != nil && p.Priority.Levels > 0 {
		return lockPrioritySQL, []any{p.Group, p.Topic, locked, p.Priority.Levels, p.Priority.Aging.Seconds()}
	}
	return lockQueueSQL, []any{p.Group, p.Topic, locked}
}
