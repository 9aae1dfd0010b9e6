-- sluice bookkeeping tables, version 2: many workers on one folder.
-- Workers started with `--pipeline NAME` claim files here; the database is
-- their only coordinator (see ARCHITECTURE.md, "Many workers").

-- One row per file a pipeline's workers claimed. A claim lasts until
-- `lease_until` unless its worker renews it; an expired claim may be taken
-- over. A batch moves its files from 'claimed' to 'committed' in its own
-- transaction, and only while this worker still holds them: the primary key
-- and that guard make a second commit of a file impossible.
CREATE TABLE IF NOT EXISTS sluice_files (
    pipeline     text        NOT NULL,
    name         text        NOT NULL,
    size         bigint      NOT NULL,
    mtime_us     bigint      NOT NULL,
    state        text        NOT NULL CHECK (state IN ('claimed', 'committed')),
    worker       text        NOT NULL,  -- the claiming (then committing) worker's checkpoint id
    lease_until  timestamptz NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    batch_id     bigint,
    committed_at timestamptz,
    PRIMARY KEY (pipeline, name)
);
CREATE INDEX IF NOT EXISTS sluice_files_claims_idx
    ON sluice_files (pipeline, worker) WHERE state = 'claimed';

-- One row per worker of a pipeline: its heartbeat and what it last saw, so
-- `sluice status` reads the fleet from the database alone.
CREATE TABLE IF NOT EXISTS sluice_workers (
    pipeline       text        NOT NULL,
    worker         text        NOT NULL,
    host           text        NOT NULL,
    pid            integer     NOT NULL,
    checkpoint     text        NOT NULL,
    started_at     timestamptz NOT NULL,
    heartbeat_at   timestamptz NOT NULL,
    stopped_at     timestamptz,
    backlog_files  bigint      NOT NULL DEFAULT 0,
    oldest_waiting timestamptz,            -- modification time of its oldest waiting file
    batches        bigint      NOT NULL DEFAULT 0,
    rows_upserted  bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (pipeline, worker)
);
