-- PRIORITY topics: a message carries a priority 0..max_priority and is stored in one of the
-- queues of its level (queue q holds priority q % (max_priority + 1)), so a priority costs
-- no row per message: a receive orders the queues it may lock by their head message's
-- priority and age (see metadata.ReceiveParams.Priority), not the messages themselves.
ALTER TABLE topics DROP CONSTRAINT topics_type_check;
ALTER TABLE topics ADD CONSTRAINT topics_type_check
    CHECK (type IN ('NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY'));
-- max_priority is the highest priority a message of a PRIORITY topic may carry (0 for
-- other types); priority_aging_seconds is how long a message waits to rise by one level
-- against newer messages (the rule that keeps low priorities from starving).
ALTER TABLE topics ADD COLUMN max_priority int NOT NULL DEFAULT 0 CHECK (max_priority BETWEEN 0 AND 99);
ALTER TABLE topics ADD COLUMN priority_aging_seconds int NOT NULL DEFAULT 0 CHECK (priority_aging_seconds >= 0);
