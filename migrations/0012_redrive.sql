-- Dead-letter redrive tasks: moving a group's dead letters back to a topic, a batch at a
-- time, by reference (a new index row pointing at the stored bytes, never a copy). The
-- task's position advances in the same transaction that appends a batch, so a node that
-- dies mid-task leaves it where its last batch committed and another node carries on:
-- every message is redriven once per task.
CREATE TABLE redrive_tasks (
    id             text PRIMARY KEY,
    group_name     text   NOT NULL REFERENCES consumer_groups (name) ON DELETE CASCADE,
    target_topic   text   NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    -- offsets are the chosen dead letters' offsets in the group's dead-letter queue; NULL
    -- means every offset from start_pos up to end_pos.
    offsets        bigint[],
    start_pos      bigint NOT NULL,
    pos            bigint NOT NULL,
    end_pos        bigint NOT NULL,
    moved          bigint NOT NULL DEFAULT 0,
    -- skipped counts dead letters that were gone (retention) when their turn came.
    skipped        bigint NOT NULL DEFAULT 0,
    rate_per_second int   NOT NULL CHECK (rate_per_second > 0),
    state          text   NOT NULL CHECK (state IN ('RUNNING', 'SUCCEEDED', 'CANCELLED', 'FAILED')),
    error          text   NOT NULL DEFAULT '',
    -- next_run_at spaces the batches so the task keeps its rate whichever node runs it.
    next_run_at    timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX redrive_tasks_group ON redrive_tasks (group_name, created_at);
CREATE INDEX redrive_tasks_running ON redrive_tasks (next_run_at) WHERE state = 'RUNNING';
