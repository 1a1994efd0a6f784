-- Idempotent sends: a message may carry a deduplication id; a send of the same id to the
-- same topic within the topic's window answers the first send's result and stores nothing.
-- State is kept per send request, not per message: one dedup_claims row holds the ids of
-- one request (found through a GIN index on the array), claimed before the request is
-- buffered and completed, with the messages' places, by the transaction of the flush that
-- stores them. A claim whose flush never committed (its node died) is abandoned at
-- lease_until, so a retry can store the message then.
ALTER TABLE topics ADD COLUMN dedup_window_seconds int NOT NULL DEFAULT 300
    CHECK (dedup_window_seconds BETWEEN 1 AND 86400);

CREATE TABLE dedup_claims (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text   NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    ids         text[] NOT NULL,
    -- Set by the flush's commit, aligned with ids: where each message was stored.
    done        boolean  NOT NULL DEFAULT false,
    message_ids text[],
    queue_ids   int[],
    offsets     bigint[],
    lease_until timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX dedup_claims_ids ON dedup_claims USING gin (ids);
CREATE INDEX dedup_claims_expires ON dedup_claims (expires_at);
