-- Message traces are stored as messages of the system topic %TRACE%: each holds the events
-- of one produce, receive or ack call, keyed by the message ids it covers, so a trace costs
-- no Postgres row per message. Topics choose whether their messages are traced.
ALTER TABLE topics ADD COLUMN trace boolean NOT NULL DEFAULT true;

INSERT INTO topics (name, type, queue_count, retention_hours, trace) VALUES ('%TRACE%', 'NORMAL', 4, 72, false)
ON CONFLICT (name) DO NOTHING;
INSERT INTO queues (topic, queue_id) SELECT '%TRACE%', g FROM generate_series(0, 3) g
ON CONFLICT DO NOTHING;
