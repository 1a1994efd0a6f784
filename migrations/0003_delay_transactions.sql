-- Delayed and transactional messages are stored in segments like any other, but are not
-- yet in their queue: these tables hold references to their bytes until they become
-- visible. Making one visible appends an index row (chunks) that points at the same bytes.

-- A timer is a run of records of one stored chunk that fall due together (grouped by a
-- short time bucket), not a row per message.
CREATE TABLE timers (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_ref      bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    segment_id     bigint NOT NULL REFERENCES segments (id),
    byte_offset    bigint NOT NULL,
    byte_length    bigint NOT NULL,
    record_skip    int    NOT NULL,
    record_count   int    NOT NULL CHECK (record_count > 0),
    min_store_time timestamptz NOT NULL,
    max_store_time timestamptz NOT NULL,
    bloom          bytea  NOT NULL,
    due_at         timestamptz NOT NULL
);
CREATE INDEX timers_due_at ON timers (due_at);
CREATE INDEX timers_segment_id ON timers (segment_id);

-- A transaction's half messages stay invisible until commit; rollback drops them.
CREATE TABLE transactions (
    id             text PRIMARY KEY,
    topic          text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    producer_group text NOT NULL,
    state          text NOT NULL CHECK (state IN ('PENDING', 'COMMITTED', 'ROLLED_BACK')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    check_count    int NOT NULL DEFAULT 0,
    next_check_at  timestamptz NOT NULL
);
CREATE INDEX transactions_pending ON transactions (producer_group, next_check_at) WHERE state = 'PENDING';

CREATE TABLE transaction_chunks (
    transaction_id text   NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    queue_ref      bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    segment_id     bigint NOT NULL REFERENCES segments (id),
    byte_offset    bigint NOT NULL,
    byte_length    bigint NOT NULL,
    record_skip    int    NOT NULL,
    record_count   int    NOT NULL CHECK (record_count > 0),
    min_store_time timestamptz NOT NULL,
    max_store_time timestamptz NOT NULL,
    bloom          bytea  NOT NULL,
    PRIMARY KEY (transaction_id, queue_ref, byte_offset, record_skip)
);
CREATE INDEX transaction_chunks_segment_id ON transaction_chunks (segment_id);
