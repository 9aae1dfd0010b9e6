-- An independent check of a run with psql alone, not sluice: what the table
-- holds of the generator's files and the rows' latency, computed from the
-- manifest and PostgreSQL's own commit timestamps. Compare it with the
-- run's report.md (Data integrity, Latency).
--
--   psql "$DATABASE_URL" -v table=events -f sql/check_run.sql < runs/RUN-ID/manifest.jsonl
--
-- `table` defaults to events. Latency needs `track_commit_timestamp = on`
-- (the embedded server sets it). Rows are tied to their files by the table's
-- `source_file` column, or, with `-v key=event_id` (a table another pipeline
-- wrote), by the key: each file's `key_prefix` in the manifest (else its
-- name without the extension and a `-`) is what its rows' keys begin with.
-- Percentiles are nearest rank (`percentile_disc`), the report's convention.
\set ON_ERROR_STOP on
\if :{?table}
\else
  \set table events
\endif

CREATE TEMP TABLE manifest_line (entry jsonb);
-- One JSON object per line; delimiter and quote bytes that JSON never holds
-- keep COPY from interpreting the text.
\copy manifest_line FROM pstdin WITH (FORMAT csv, DELIMITER E'\x02', QUOTE E'\x01')

CREATE TEMP TABLE manifest AS
SELECT entry->>'file' AS file,
       (entry->>'created_at_us')::bigint AS created_us,
       (entry->>'rows')::bigint AS rows,
       (entry->>'bad_rows')::bigint AS bad_rows,
       (entry->>'dup_rows')::bigint AS dup_rows,
       COALESCE(entry->>'key_prefix',
                regexp_replace(entry->>'file', '\.[^.]*$', '') || '-') AS key_prefix
FROM manifest_line;

SELECT count(*) AS files,
       sum(rows) AS rows_generated,
       sum(rows - bad_rows - dup_rows) AS rows_expected
FROM manifest;

SELECT count(*) AS rows_found,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_us) / 1000.0, 3) AS p50_ms,
       round(percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_us) / 1000.0, 3) AS p95_ms,
       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY latency_us) / 1000.0, 3) AS p99_ms,
       round(max(latency_us) / 1000.0, 3) AS max_ms
FROM (
    SELECT (extract(epoch FROM pg_xact_commit_timestamp(t.xmin)) * 1e6)::bigint
           - m.created_us AS latency_us
    FROM :"table" t
\if :{?key}
    JOIN manifest m ON m.key_prefix = substring(t.:"key"::text FROM '^(.*-)[0-9]+$')
\else
    JOIN manifest m ON m.file = t.source_file
\endif
) AS latency;
