-- Clients seen by each node: every node keeps, in memory, the consumers and producers that
-- called it recently and publishes that table here every few seconds, one row per node and
-- consumer group or topic. The admin routes read the rows updated in the last minute and
-- merge them, so any node answers for clients connected to any other. Nothing here is
-- durable state: a lost row is rewritten by the next publish.
CREATE TABLE clients_seen (
    node       text NOT NULL,
    -- kind is 'group' (consumers of a consumer group) or 'topic' (producers of a topic).
    kind       text NOT NULL CHECK (kind IN ('group', 'topic')),
    -- name is the stored (namespaced) name of the group or topic.
    name       text NOT NULL,
    -- clients is a JSON array of the clients the node saw (presence.Client).
    clients    jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name, node)
);
CREATE INDEX clients_seen_updated ON clients_seen (updated_at);
