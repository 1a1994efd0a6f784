-- A subscription's filter is a tag expression (TAG: `*`, `TagA || TagB`) or a SQL92
-- expression over message properties (SQL92: `region = 'eu' AND amount > 100`).
ALTER TABLE subscriptions ADD COLUMN filter_type text NOT NULL DEFAULT 'TAG'
    CHECK (filter_type IN ('TAG', 'SQL92'));
