-- Topics, their queues, and the chunk index: where each queue's messages sit in the bucket.

CREATE TABLE topics (
    name             text PRIMARY KEY,
    type             text NOT NULL CHECK (type IN ('NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE')),
    queue_count      int  NOT NULL CHECK (queue_count BETWEEN 1 AND 1024),
    retention_hours  int  NOT NULL CHECK (retention_hours > 0),
    lite_ttl_minutes int  NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per message queue. next_offset is the per-queue counter that flush commits advance
-- under a row lock: offsets are dense, start at 0 and are never reused (invariant 2).
CREATE TABLE queues (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic         text   NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    queue_id      int    NOT NULL,
    lite_topic    text   NOT NULL DEFAULT '',
    next_offset   bigint NOT NULL DEFAULT 0,
    min_offset    bigint NOT NULL DEFAULT 0,
    last_write_at timestamptz,
    UNIQUE (topic, lite_topic, queue_id)
);

-- One row per segment object in the bucket that an index row may point at.
CREATE TABLE segments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_key  text   NOT NULL UNIQUE,
    size_bytes  bigint NOT NULL,
    chunk_count int    NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per chunk: a run of consecutive offsets of one queue inside one segment object.
-- Offsets first_offset .. first_offset+record_count-1 are records record_skip ..
-- record_skip+record_count-1 of the chunk at byte_offset: a row may reference part of a
-- chunk, so a retry, dead letter or delayed message is an index row pointing at bytes
-- already stored, never a copy. bloom holds the chunk's message ids and keys (see package bloom) so lookups by id or key
-- touch only the chunks that may hold them, without a row per message.
CREATE TABLE chunks (
    queue_ref      bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    first_offset   bigint NOT NULL,
    record_count   int    NOT NULL CHECK (record_count > 0),
    record_skip    int    NOT NULL DEFAULT 0 CHECK (record_skip >= 0),
    segment_id     bigint NOT NULL REFERENCES segments (id),
    byte_offset    bigint NOT NULL,
    byte_length    bigint NOT NULL,
    min_store_time timestamptz NOT NULL,
    max_store_time timestamptz NOT NULL,
    bloom          bytea  NOT NULL,
    PRIMARY KEY (queue_ref, first_offset)
);
CREATE INDEX chunks_segment_id ON chunks (segment_id);

-- floe_bloom_has tells whether a bloom filter may hold an item whose two hashes are h1 and
-- h2, with k = 7 probes at bit (h1 + i*h2) mod m, bits numbered as get_bit numbers them.
-- It must match bloom.Filter in Go.
CREATE FUNCTION floe_bloom_has(bloom bytea, h1 bigint, h2 bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT length(bloom) > 0
       AND get_bit(bloom, ((h1 + 0 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 1 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 2 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 3 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 4 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 5 * h2) % (length(bloom)::bigint * 8))::int) = 1
       AND get_bit(bloom, ((h1 + 6 * h2) % (length(bloom)::bigint * 8))::int) = 1
$$;
