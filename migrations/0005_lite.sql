-- Lite topics: each lite topic of a LITE topic is one queue (queues.lite_topic), created by
-- its first message. A group subscribes to a set of lite topics, which may not exist yet.

CREATE TABLE lite_subscriptions (
    group_name text NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    topic      text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    lite_topic text NOT NULL,
    PRIMARY KEY (group_name, topic, lite_topic)
);
CREATE INDEX lite_subscriptions_lite ON lite_subscriptions (topic, lite_topic);

-- Expiry looks for lite queues without traffic.
CREATE INDEX queues_lite_last_write ON queues (topic, last_write_at) WHERE lite_topic <> '';
