-- The compactor: segment levels, the grace clock of unreferenced segments, leases that share
-- work among compactor nodes, uploads in flight, run schedules and storage totals.

-- level counts how often a segment's bytes were rewritten: 0 for an ingest flush, 1 for a
-- merge of level-0 rows, 2 for a merge of small level-1 rows (the last level: compaction
-- rewrites a byte at most twice). mergeable is cleared once a segment can hold no more
-- merge work (no small rows left, or too old to wait for more), so the compactor's search
-- for work skips it. unreferenced_at starts a segment's grace period: set when the
-- compactor moves or drops index rows pointing at it, or first sees it unreferenced; the
-- object is deleted once no row of chunks, timers or transaction_chunks points at it and the
-- grace period after unreferenced_at has passed.
ALTER TABLE segments ADD COLUMN level smallint NOT NULL DEFAULT 0;
ALTER TABLE segments ADD COLUMN mergeable boolean NOT NULL DEFAULT true;
ALTER TABLE segments ADD COLUMN unreferenced_at timestamptz;
CREATE INDEX segments_unreferenced_at ON segments (unreferenced_at) WHERE unreferenced_at IS NOT NULL;
CREATE INDEX segments_mergeable ON segments (created_at) WHERE mergeable;

-- A lease gives one compactor a queue for a while (a merge or a retention pass); an expired
-- lease may be taken by anyone. Correctness never rests on a lease (index swaps check the
-- rows they replace); leases only keep two compactors from doing the same work.
CREATE TABLE compactor_leases (
    queue_ref  bigint PRIMARY KEY REFERENCES queues (id) ON DELETE CASCADE,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- A merged object being uploaded: registered before its PUT, removed by the index swap in
-- the same transaction that indexes it. The orphan collector leaves registered keys alone
-- until the registration is older than its grace period.
CREATE TABLE compactor_uploads (
    object_key text PRIMARY KEY,
    holder     text NOT NULL,
    started_at timestamptz NOT NULL
);

-- Jobs that one compactor of the cluster runs per period (the bucket listing of the orphan
-- collector, purges, storage accounting): a compactor claims a run by moving next_run_at.
CREATE TABLE compactor_jobs (
    name        text PRIMARY KEY,
    holder      text NOT NULL DEFAULT '',
    next_run_at timestamptz NOT NULL DEFAULT '-infinity'
);

-- Cluster-wide byte totals behind the write amplification gauge: ingested_bytes sums
-- level-0 segments up to accounted_until (by created_at), compacted_bytes sums merged
-- objects as their swaps commit. Kept in rows of their own so no ingest commit touches them.
CREATE TABLE compactor_totals (
    name            text PRIMARY KEY,
    value           bigint NOT NULL DEFAULT 0,
    accounted_until timestamptz
);
INSERT INTO compactor_totals (name, accounted_until) VALUES ('ingested_bytes', '1970-01-01 00:00:00+00'), ('compacted_bytes', NULL);
