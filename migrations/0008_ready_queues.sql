-- ready_queues lists the (group, queue) pairs that may have new messages, so that a receive
-- looks only at those instead of every queue the group consumes (a group may consume
-- thousands of lite topics of which a few are active). Every commit that appends to a queue
-- upserts the pair and bumps seq; a receive that drained the queue deletes the row only if
-- seq is still the one it saw, so a commit racing with it is never lost.
CREATE TABLE ready_queues (
    group_name text   NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    queue_ref  bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    topic      text   NOT NULL,
    seq        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_name, queue_ref)
);
CREATE INDEX ready_queues_group_topic ON ready_queues (group_name, topic);
CREATE INDEX group_queues_queue_ref ON group_queues (queue_ref);
CREATE INDEX deliveries_group_visible ON deliveries (group_name, visible_at);

INSERT INTO ready_queues (group_name, queue_ref, topic)
SELECT gq.group_name, gq.queue_ref, q.topic FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
WHERE gq.cursor < q.next_offset;
