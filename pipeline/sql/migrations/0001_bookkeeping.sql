-- sluice bookkeeping tables, version 1.
-- `{rejects}` is replaced by the quoted name of the rejects table (`<table>_rejects`,
-- `events_rejects` by default). The target table itself is created from the
-- configured schema (see pipeline/src/schema.rs); its default is the contract's `events`.

-- Every input row that could not be ingested, with where it came from and why.
CREATE TABLE IF NOT EXISTS {rejects} (
    reject_id   bigserial PRIMARY KEY,
    source_file text        NOT NULL,
    line        bigint,                 -- 1-based line number of the row's first line
    raw         text,                   -- the row as read (lossy UTF-8, truncated)
    reason      text        NOT NULL,
    batch_id    bigint      NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS {rejects_file_index} ON {rejects} (source_file);

-- One row per committed micro-batch, written in the same transaction as its data.
-- Stage timings are stored where they were measured so the reporter can break
-- latency down: file visible → discovered → batch start → parsed → transformed
-- → written → committed.
CREATE TABLE IF NOT EXISTS sluice_batches (
    batch_id          bigint PRIMARY KEY,
    target_table      text        NOT NULL,
    -- The checkpoint folder that ran the batch: recovery reads only its own
    -- batches, so two input folders feeding one table never mix their files.
    checkpoint_id     text        NOT NULL,
    -- [{"name", "size", "mtime_us", "discovered_at_us", "rows", "rejected", "quarantined"}]
    files             jsonb       NOT NULL,
    file_count        integer     NOT NULL,
    files_quarantined integer     NOT NULL,
    rows_read         bigint      NOT NULL,  -- data rows read (valid + rejected)
    rows_rejected     bigint      NOT NULL,
    rows_deduped      bigint      NOT NULL,  -- removed by the transform (same key in the batch)
    rows_upserted     bigint      NOT NULL,  -- rows inserted or changed in the target
    planned_at        timestamptz NOT NULL,  -- plan written to the checkpoint log
    started_at        timestamptz NOT NULL,  -- trigger fired
    parse_ms          double precision NOT NULL,
    transform_ms      double precision NOT NULL,
    write_ms          double precision NOT NULL,
    committed_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS sluice_batches_checkpoint_idx ON sluice_batches (checkpoint_id, batch_id);

-- Files that could not be read at all (no or wrong header, not UTF-8, unreadable).
-- The file itself is moved to the quarantine folder with a `.reason.txt` beside it.
CREATE TABLE IF NOT EXISTS sluice_quarantine (
    source_file    text        NOT NULL,
    reason         text        NOT NULL,
    batch_id       bigint      NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source_file, batch_id)
);
