-- Consumer groups, subscriptions and consumption state, kept as ranges: one cursor row per
-- (group, queue) and one row per delivered batch, never a row per message.

CREATE TABLE consumer_groups (
    name                  text PRIMARY KEY,
    delivery_order        text NOT NULL CHECK (delivery_order IN ('CONCURRENT', 'ORDERLY')),
    max_delivery_attempts int  NOT NULL CHECK (max_delivery_attempts >= 1),
    backoff_seconds       int[] NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    group_name text NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    topic      text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    filter     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_name, topic)
);

-- cursor is the next offset of the queue never yet handed to the group.
CREATE TABLE group_queues (
    group_name text   NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    queue_ref  bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    cursor     bigint NOT NULL,
    PRIMARY KEY (group_name, queue_ref)
);

-- A delivery is a range of a queue's offsets below the cursor that the group has not
-- finished: done has bit i set (get_bit numbering) when offset first_offset+i is acked,
-- filtered out or dead-lettered. The range is hidden until visible_at; after that its
-- unfinished messages are ready again (redelivery). attempt is the delivery attempt of the
-- range's latest delivery (0: not delivered yet); version grows with each delivery, and a
-- receipt handle names the version it was issued for.
CREATE TABLE deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_name   text   NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    queue_ref    bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    first_offset bigint NOT NULL,
    record_count int    NOT NULL CHECK (record_count > 0),
    done         bytea  NOT NULL,
    attempt      int    NOT NULL,
    version      int    NOT NULL DEFAULT 1,
    visible_at   timestamptz NOT NULL,
    delivered_at timestamptz
);
CREATE INDEX deliveries_group_queue ON deliveries (group_name, queue_ref, visible_at);

-- Server secrets (the receipt handle key), generated once by the first node.
CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

-- floe_set_bits sets the given bit positions (get_bit numbering) of a bitmap.
CREATE FUNCTION floe_set_bits(b bytea, positions int[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    p int;
BEGIN
    FOREACH p IN ARRAY positions LOOP
        IF p >= 0 AND p < length(b) * 8 THEN
            b := set_bit(b, p, 1);
        END IF;
    END LOOP;
    RETURN b;
END
$$;
