-- A recalled delayed message is taken back before its delivery time: its timer still
-- covers it, but when the timer fires the run is split around it, so it never gets a queue
-- offset and no group ever sees it. A row names the record by where it is stored: its
-- segment, its queue's delayed chunk in that segment (one per queue and segment) and its
-- index among the chunk's records (sorted by delivery time, as the timers count them).
--
-- Keyed so that a firing timer (segment, queue, record_skip .. record_skip + record_count)
-- finds the recalled records it covers by an index range scan. Rows go with their topic
-- (queue) and with their segment, which is deleted only after retention and compaction
-- left no row pointing at it; a recall row does not keep a segment alive.
CREATE TABLE recalls (
    segment_id   bigint      NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    queue_ref    bigint      NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    record_index int         NOT NULL CHECK (record_index >= 0),
    message_id   text        NOT NULL,
    delivery_at  timestamptz NOT NULL,
    recalled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, queue_ref, record_index)
);
CREATE INDEX recalls_queue_ref ON recalls (queue_ref);
