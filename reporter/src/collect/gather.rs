//! The database side: every query the report runs, and the code that runs
//! them.
//!
//! The SQL lives in named constants and small functions (the table names are
//! configurable, so those queries are built around a quoted identifier) so it
//! can be read, reviewed and run by hand in `psql`. Every query restricts
//! itself to the manifest's files with `source_file = ANY($1::text[])`: the
//! tables may hold other runs.
//!
//! Memory stays small whatever the table size: rows are never fetched one by
//! one; the latency query groups them by `(source_file, commit time)` and the
//! histogram records each group with its count.

use tokio_postgres::Client;

use crate::collect::clock::{ClockSample, CLOCK_SAMPLES};
use crate::collect::database::gather_database;
use crate::error::ReportError;
use crate::stats::{BatchRecord, CommitGroup};
use crate::summary::{DatabaseSummary, QuarantinedFile, ReasonCount};

/// Reject reasons listed in the report (largest groups first).
pub const REJECT_REASON_GROUPS: i64 = 10;
/// File names listed in the report per list (quarantined, missing).
pub const LISTED_FILES: usize = 50;

/// Name of the batch bookkeeping table (fixed by the migration).
pub const BATCHES_TABLE: &str = "sluice_batches";
/// Name of the quarantine bookkeeping table (fixed by the migration).
pub const QUARANTINE_TABLE: &str = "sluice_quarantine";

/// `true` when the relation exists. `$1` is the quoted name, so the lookup
/// follows the same rules (case, search_path) as the queries that use it.
pub const SQL_RELATION_EXISTS: &str = "SELECT to_regclass($1::text) IS NOT NULL";

/// `on` or `off`. `current_setting` rather than `SHOW`: it is an ordinary
/// query, so it runs through the extended protocol like everything else.
pub const SQL_TRACK_COMMIT_TIMESTAMP: &str = "SELECT current_setting('track_commit_timestamp')";

/// The server's wall clock now, Unix µs. `clock_timestamp()`, not `now()`:
/// `now()` is the start of the transaction.
pub const SQL_SERVER_CLOCK_US: &str =
    "SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint";

/// Manifest files the pipeline quarantined (could not read at all), one row
/// per file even if a replay recorded it twice.
pub const SQL_QUARANTINED_FILES: &str = "SELECT DISTINCT ON (source_file) source_file, reason \
     FROM sluice_quarantine \
     WHERE source_file = ANY($1::text[]) \
     ORDER BY source_file, quarantined_at";

/// The micro-batches that carried at least one manifest file. Times as Unix
/// µs: `started_at` comes from the pipeline's clock, `committed_at` from the
/// server's (`clock_timestamp()` default).
pub const SQL_BATCHES: &str = "SELECT batch_id, file_count::bigint, files_quarantined::bigint, \
            rows_read, rows_rejected, rows_deduped, rows_upserted, \
            (extract(epoch FROM started_at) * 1000000)::bigint, \
            (extract(epoch FROM committed_at) * 1000000)::bigint, \
            parse_ms, transform_ms, write_ms, checkpoint_id \
     FROM sluice_batches b \
     WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(b.files) f \
                   WHERE f->>'name' = ANY($1::text[])) \
     ORDER BY batch_id";

/// Each manifest file as the batch that carried it recorded it:
/// `sluice_batches` expanded by `jsonb_array_elements(files)`, joined to the
/// manifest's names. Times as Unix µs: `discovered_at_us` and the file's
/// start (its own `started_at_us`, which a file that joined an open batch on
/// arrival has, else the batch's `started_at`) from the pipeline's clock, `committed_at` from the server's. A name
/// recorded by two batches (two runs with the same file names) keeps its
/// first commit.
pub const SQL_FILE_STAGES: &str = "SELECT DISTINCT ON (f->>'name') \
            f->>'name', b.batch_id, \
            COALESCE((f->>'rows')::bigint, 0), COALESCE((f->>'rejected')::bigint, 0), \
            (f->>'discovered_at_us')::bigint, \
            COALESCE((f->>'started_at_us')::bigint, \
                     (extract(epoch FROM b.started_at) * 1000000)::bigint), \
            (extract(epoch FROM b.committed_at) * 1000000)::bigint, \
            f->>'quarantined' IS NOT NULL \
     FROM sluice_batches b CROSS JOIN LATERAL jsonb_array_elements(b.files) AS f \
     WHERE f->>'name' = ANY($1::text[]) \
     ORDER BY f->>'name', b.committed_at, b.batch_id";

/// Quotes an identifier for SQL: `events` → `"events"`, `app.events` →
/// `"app"."events"` (a dot separates schema and table; identifiers are
/// validated before they reach the reporter), `"` doubled.
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// How the target's rows are tied to the manifest's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// By the table's `source_file` column: sluice's tables.
    SourceFileColumn,
    /// By the key: the generator's keys are the file's key prefix and a row
    /// number (`RUN-000001-00042`), so a table another pipeline wrote, with
    /// only the file's columns, still says which file each row came from.
    KeyPrefix,
}

impl Attribution {
    /// The name written to `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::SourceFileColumn => "source_file column",
            Attribution::KeyPrefix => "key prefix",
        }
    }
}

/// The manifest files' rows of the target table, as SQL: a FROM clause that
/// names each row `e`, the filter that keeps the manifest's files, and the
/// expression of a row's file. `$1` is the manifest's file names; by key,
/// `$2` is their key prefixes (parallel to `$1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRows {
    /// How rows are tied to files.
    pub attribution: Attribution,
    /// The target table, quoted.
    pub table: String,
    /// The key column, quoted.
    pub key: String,
    /// The table has sluice's `batch_id` and `sluice_batches` exists: a row's
    /// batch can stand in for a missing commit timestamp.
    pub with_batches: bool,
}

impl FileRows {
    /// The FROM items: the target as `e`, joined by key to the manifest
    /// files as `m`.
    fn relation(&self) -> String {
        match self.attribution {
            Attribution::SourceFileColumn => format!("{} e", self.table),
            // The key prefix is everything up to the last `-` before the
            // trailing row number; an equi-join on it is one hash join.
            Attribution::KeyPrefix => format!(
                "{} e JOIN unnest($1::text[], $2::text[]) AS m(file, key_prefix) \
                 ON m.key_prefix = substring(e.{}::text FROM '^(.*-)[0-9]+$')",
                self.table, self.key
            ),
        }
    }

    fn filter(&self) -> &'static str {
        match self.attribution {
            Attribution::SourceFileColumn => "e.source_file = ANY($1::text[])",
            Attribution::KeyPrefix => "true",
        }
    }

    fn file(&self) -> &'static str {
        match self.attribution {
            Attribution::SourceFileColumn => "e.source_file",
            Attribution::KeyPrefix => "m.file",
        }
    }

    /// The parameters of the queries on the target: the file names, and by
    /// key their key prefixes.
    fn params<'a>(
        &self,
        files: &'a Vec<String>,
        key_prefixes: &'a Vec<String>,
    ) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
        match self.attribution {
            Attribution::SourceFileColumn => vec![files],
            Attribution::KeyPrefix => vec![files, key_prefixes],
        }
    }
}

/// Rows found and distinct keys among them: found = `count(*)`, duplicates =
/// `count(*) − count(DISTINCT key)`.
pub fn sql_found(rows: &FileRows) -> String {
    format!(
        "SELECT count(*), count(DISTINCT e.{}) FROM {} WHERE {}",
        rows.key,
        rows.relation(),
        rows.filter()
    )
}

/// Found rows grouped by file and commit time from
/// `pg_xact_commit_timestamp(xmin)`: the commit of the transaction that
/// wrote the row version, which for an upsert that skips identical rows is
/// the first time the row became visible.
///
/// A NULL commit timestamp (the transaction committed while
/// `track_commit_timestamp` was off, or its entry was truncated) falls back
/// per row to the batch's `committed_at` when the rows have batches; the
/// third column says which rows fell back.
pub fn sql_latency_commit_timestamp(rows: &FileRows) -> String {
    let commit = "(extract(epoch FROM pg_xact_commit_timestamp(e.xmin)) * 1000000)::bigint";
    let (file, from, filter) = (rows.file(), rows.relation(), rows.filter());
    if rows.with_batches {
        format!(
            "SELECT {file}, \
                    COALESCE({commit}, \
                             (extract(epoch FROM b.committed_at) * 1000000)::bigint) AS commit_us, \
                    pg_xact_commit_timestamp(e.xmin) IS NULL AS fell_back, \
                    count(*) \
             FROM {from} LEFT JOIN sluice_batches b ON b.batch_id = e.batch_id \
             WHERE {filter} \
             GROUP BY 1, 2, 3"
        )
    } else {
        format!(
            "SELECT {file}, {commit} AS commit_us, false AS fell_back, count(*) \
             FROM {from} \
             WHERE {filter} \
             GROUP BY 1, 2, 3"
        )
    }
}

/// Found rows grouped by file and the `committed_at` of the batch that wrote
/// them: the fallback when `track_commit_timestamp` is off (rows with
/// batches only).
pub fn sql_latency_batches(rows: &FileRows) -> String {
    format!(
        "SELECT {}, \
                (extract(epoch FROM b.committed_at) * 1000000)::bigint AS commit_us, \
                true AS fell_back, \
                count(*) \
         FROM {} LEFT JOIN sluice_batches b ON b.batch_id = e.batch_id \
         WHERE {} \
         GROUP BY 1, 2, 3",
        rows.file(),
        rows.relation(),
        rows.filter()
    )
}

/// Found rows per file with no commit time at all: neither source is available.
pub fn sql_latency_none(rows: &FileRows) -> String {
    format!(
        "SELECT {}, NULL::bigint AS commit_us, true AS fell_back, count(*) \
         FROM {} \
         WHERE {} \
         GROUP BY 1",
        rows.file(),
        rows.relation(),
        rows.filter()
    )
}

/// Rejected rows of the manifest's files. Every row of the rejects table is a
/// row reject (unreadable files go to `sluice_quarantine`), so all count.
pub fn sql_rejected(rejects: &str) -> String {
    format!("SELECT count(*) FROM {rejects} WHERE source_file = ANY($1::text[])")
}

/// Rejected rows grouped by the reason's label (the text before its first
/// `:`; the rest names the column and value, which would split every group),
/// largest groups first.
pub fn sql_rejected_by_reason(rejects: &str) -> String {
    format!(
        "SELECT btrim(split_part(reason, ':', 1)) AS label, count(*) AS n \
         FROM {rejects} \
         WHERE source_file = ANY($1::text[]) \
         GROUP BY 1 \
         ORDER BY 2 DESC, 1 \
         LIMIT {REJECT_REASON_GROUPS}"
    )
}

/// Where commit times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitTimeSource {
    /// `pg_xact_commit_timestamp(xmin)`: the true commit of each row.
    CommitTimestamp,
    /// `sluice_batches.committed_at`: `track_commit_timestamp` is off.
    BatchCommittedAt,
    /// Neither: `track_commit_timestamp` is off and `sluice_batches` is missing.
    Unavailable,
}

impl CommitTimeSource {
    /// The name written to `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitTimeSource::CommitTimestamp => "pg_xact_commit_timestamp",
            CommitTimeSource::BatchCommittedAt => "sluice_batches.committed_at",
            CommitTimeSource::Unavailable => "unavailable",
        }
    }
}

/// Which tables exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TablesPresent {
    /// The rejects table.
    pub rejects: bool,
    /// `sluice_batches`.
    pub batches: bool,
    /// `sluice_quarantine`.
    pub quarantine: bool,
}

/// One manifest file as the batch that carried it recorded it: a row of
/// `sluice_batches` expanded by `jsonb_array_elements(files)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileStageRecord {
    /// File name.
    pub file: String,
    /// The batch that carried it.
    pub batch_id: i64,
    /// Data rows read from the file (valid + rejected).
    pub rows: u64,
    /// Rows of the file rejected.
    pub rejected: u64,
    /// When the pipeline discovered it, Unix µs (pipeline clock); `None` when
    /// the record lacks it.
    pub discovered_us: Option<i64>,
    /// When its batch began to process it, Unix µs (pipeline clock).
    pub started_us: i64,
    /// Its batch's `committed_at`, Unix µs (server clock, uncorrected).
    pub committed_us: i64,
    /// The file was quarantined (no row of it was read).
    pub quarantined: bool,
}

impl FileStageRecord {
    /// Valid rows: the file's weight.
    pub fn valid_rows(&self) -> u64 {
        if self.quarantined {
            0
        } else {
            self.rows.saturating_sub(self.rejected)
        }
    }
}

/// Everything read from the database.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// Rows of the manifest's files in the target.
    pub found: u64,
    /// Distinct keys among them.
    pub distinct_keys: u64,
    /// How rows were tied to the manifest's files.
    pub attribution: Attribution,
    /// Found rows grouped by file and commit time.
    pub groups: Vec<CommitGroup>,
    /// Rows whose commit time came from `sluice_batches.committed_at` while
    /// the source is `pg_xact_commit_timestamp` (per-row fallback).
    pub fallback_rows: u64,
    /// Where commit times came from.
    pub commit_source: CommitTimeSource,
    /// Rows in the rejects table.
    pub rejected: u64,
    /// Rejected rows by reason label.
    pub rejected_by_reason: Vec<ReasonCount>,
    /// Quarantined manifest files.
    pub quarantined: Vec<QuarantinedFile>,
    /// The batches that carried manifest files.
    pub batches: Vec<BatchRecord>,
    /// Each manifest file as its batch recorded it (stage timings).
    pub file_stages: Vec<FileStageRecord>,
    /// The target table's size, indexes and query timings.
    pub database: Option<DatabaseSummary>,
    /// Clock round trips, when the database is on another host.
    pub clock_samples: Option<Vec<ClockSample>>,
    /// Optional tables that exist.
    pub tables: TablesPresent,
}

async fn relation_exists(client: &Client, quoted: &str) -> Result<bool, ReportError> {
    let row = client
        .query_one(SQL_RELATION_EXISTS, &[&quoted])
        .await
        .map_err(ReportError::db("looking up a table"))?;
    Ok(row.get(0))
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Measures [`CLOCK_SAMPLES`] round trips of [`SQL_SERVER_CLOCK_US`]. The
/// statement is prepared first so the round trips carry no parse time.
pub async fn measure_clock(client: &Client) -> Result<Vec<ClockSample>, ReportError> {
    let what = "measuring the clock offset to the database server";
    let stmt = client
        .prepare(SQL_SERVER_CLOCK_US)
        .await
        .map_err(ReportError::db(what))?;
    let mut samples = Vec::with_capacity(CLOCK_SAMPLES as usize);
    for _ in 0..CLOCK_SAMPLES {
        let local_before_us = chrono::Utc::now().timestamp_micros();
        let row = client
            .query_one(&stmt, &[])
            .await
            .map_err(ReportError::db(what))?;
        let local_after_us = chrono::Utc::now().timestamp_micros();
        samples.push(ClockSample {
            local_before_us,
            server_us: row.get(0),
            local_after_us,
        });
    }
    Ok(samples)
}

/// The columns of a relation, by name. `$1` is the quoted name.
pub const SQL_COLUMNS: &str = "SELECT attname::text FROM pg_attribute \
     WHERE attrelid = to_regclass($1::text) AND attnum > 0 AND NOT attisdropped";

/// What the report reads: the tables (unquoted names as validated) and the
/// manifest's files.
#[derive(Debug, Clone, Copy)]
pub struct GatherRequest<'a> {
    /// The target table.
    pub table: &'a str,
    /// Its key column (the generator's `event_id`).
    pub key_column: &'a str,
    /// The rejects table.
    pub rejects: &'a str,
    /// The manifest's file names.
    pub files: &'a [String],
    /// Their key prefixes, parallel to `files`.
    pub key_prefixes: &'a [String],
    /// The database runs on this host: no clock offset to measure.
    pub database_is_local: bool,
}

/// Decides how the target's rows are tied to files from its columns: by
/// `source_file` when it has one, else by the key. Fails naming the column
/// that is missing.
pub fn file_rows(
    table: &str,
    key_column: &str,
    columns: &[String],
    batches_table: bool,
) -> Result<FileRows, ReportError> {
    let has = |name: &str| columns.iter().any(|c| c == name);
    let quoted_key = quote_ident(key_column);
    if !has(key_column) {
        return Err(ReportError::ColumnMissing {
            table: table.to_string(),
            column: quoted_key,
            why: "duplicates are counted by the key, and a table without `source_file` ties \
                  rows to files by it",
        });
    }
    let attribution = if has("source_file") {
        Attribution::SourceFileColumn
    } else {
        Attribution::KeyPrefix
    };
    Ok(FileRows {
        attribution,
        table: table.to_string(),
        key: quoted_key,
        with_batches: attribution == Attribution::SourceFileColumn
            && has("batch_id")
            && batches_table,
    })
}

/// Runs every query of the report for the given files.
///
/// Fails with [`ReportError::TableMissing`] when the target table does not
/// exist and [`ReportError::ColumnMissing`] when it has no key column; the
/// bookkeeping tables are optional (a missing one is reported in
/// [`Gathered::tables`] and its figures are zero).
pub async fn gather(client: &Client, request: GatherRequest<'_>) -> Result<Gathered, ReportError> {
    let files = request.files;
    let target = quote_ident(request.table);
    let rejects_q = quote_ident(request.rejects);
    if !relation_exists(client, &target).await? {
        return Err(ReportError::TableMissing { table: target });
    }
    let tables = TablesPresent {
        rejects: relation_exists(client, &rejects_q).await?,
        batches: relation_exists(client, &quote_ident(BATCHES_TABLE)).await?,
        quarantine: relation_exists(client, &quote_ident(QUARANTINE_TABLE)).await?,
    };
    let columns: Vec<String> = client
        .query(SQL_COLUMNS, &[&target])
        .await
        .map_err(ReportError::db("reading the target table's columns"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let rows = file_rows(&target, request.key_column, &columns, tables.batches)?;
    let (files_param, prefixes_param) = (files.to_vec(), request.key_prefixes.to_vec());
    let params = rows.params(&files_param, &prefixes_param);

    // Measure the clock first, before the heavy queries load the server.
    let clock_samples = if request.database_is_local {
        None
    } else {
        Some(measure_clock(client).await?)
    };

    let row = client
        .query_one(&sql_found(&rows), &params)
        .await
        .map_err(ReportError::db("counting the rows of the manifest's files"))?;
    let found = count(row.get(0));
    let distinct_keys = count(row.get(1));
    let commits = commit_groups(client, &rows, &params).await?;
    let (rejected, rejected_by_reason) = if tables.rejects {
        rejected_rows(client, &rejects_q, files).await?
    } else {
        (0, Vec::new())
    };
    let quarantined = if tables.quarantine {
        quarantined_files(client, files).await?
    } else {
        Vec::new()
    };
    let (batches, file_stages) = if tables.batches {
        (
            batch_records(client, files).await?,
            file_stage_records(client, files).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };

    // Last: the timed queries load the server and warm its cache.
    let database = Some(gather_database(client, &target).await);

    Ok(Gathered {
        found,
        distinct_keys,
        attribution: rows.attribution,
        groups: commits.groups,
        fallback_rows: commits.fallback_rows,
        commit_source: commits.source,
        rejected,
        rejected_by_reason,
        quarantined,
        batches,
        file_stages,
        database,
        clock_samples,
        tables,
    })
}

/// The found rows grouped by file and commit instant, and where the commit
/// instants came from.
struct CommitGroups {
    source: CommitTimeSource,
    groups: Vec<CommitGroup>,
    /// Rows whose commit timestamp was gone and took their batch's instant.
    fallback_rows: u64,
}

/// Commit instants from `pg_xact_commit_timestamp` when the server tracks
/// them, else from the pipeline's batch records, else none.
async fn commit_groups(
    client: &Client,
    rows: &FileRows,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<CommitGroups, ReportError> {
    let track: String = client
        .query_one(SQL_TRACK_COMMIT_TIMESTAMP, &[])
        .await
        .map_err(ReportError::db("reading track_commit_timestamp"))?
        .get(0);
    let (source, latency_sql) = if track.trim() == "on" {
        (
            CommitTimeSource::CommitTimestamp,
            sql_latency_commit_timestamp(rows),
        )
    } else if rows.with_batches {
        (
            CommitTimeSource::BatchCommittedAt,
            sql_latency_batches(rows),
        )
    } else {
        (CommitTimeSource::Unavailable, sql_latency_none(rows))
    };
    let rows = client
        .query(&latency_sql, params)
        .await
        .map_err(ReportError::db(
            "reading the commit times of the found rows",
        ))?;
    let mut groups = Vec::with_capacity(rows.len());
    let mut fallback_rows = 0;
    for row in rows {
        let fell_back: bool = row.get(2);
        let group = CommitGroup {
            source_file: row.get(0),
            commit_us: row.get(1),
            rows: count(row.get(3)),
        };
        if fell_back && source == CommitTimeSource::CommitTimestamp {
            fallback_rows += group.rows;
        }
        groups.push(group);
    }
    Ok(CommitGroups {
        source,
        groups,
        fallback_rows,
    })
}

async fn rejected_rows(
    client: &Client,
    rejects_q: &str,
    files: &[String],
) -> Result<(u64, Vec<ReasonCount>), ReportError> {
    let rejected = client
        .query_one(&sql_rejected(rejects_q), &[&files])
        .await
        .map_err(ReportError::db("counting rejected rows"))?
        .get(0);
    let by_reason = client
        .query(&sql_rejected_by_reason(rejects_q), &[&files])
        .await
        .map_err(ReportError::db("grouping rejected rows by reason"))?
        .into_iter()
        .map(|r| ReasonCount {
            reason: r.get::<_, Option<String>>(0).unwrap_or_default(),
            count: count(r.get(1)),
        })
        .collect();
    Ok((count(rejected), by_reason))
}

async fn quarantined_files(
    client: &Client,
    files: &[String],
) -> Result<Vec<QuarantinedFile>, ReportError> {
    Ok(client
        .query(SQL_QUARANTINED_FILES, &[&files])
        .await
        .map_err(ReportError::db("listing quarantined files"))?
        .into_iter()
        .map(|r| QuarantinedFile {
            file: r.get(0),
            reason: r.get(1),
        })
        .collect())
}

async fn batch_records(client: &Client, files: &[String]) -> Result<Vec<BatchRecord>, ReportError> {
    Ok(client
        .query(SQL_BATCHES, &[&files])
        .await
        .map_err(ReportError::db("reading the batch records"))?
        .into_iter()
        .map(|r| BatchRecord {
            batch_id: r.get(0),
            file_count: count(r.get(1)),
            files_quarantined: count(r.get(2)),
            rows_read: count(r.get(3)),
            rows_rejected: count(r.get(4)),
            rows_deduped: count(r.get(5)),
            rows_upserted: count(r.get(6)),
            started_us: r.get(7),
            committed_us: r.get(8),
            parse_ms: r.get(9),
            transform_ms: r.get(10),
            write_ms: r.get(11),
            worker: r.get(12),
        })
        .collect())
}

async fn file_stage_records(
    client: &Client,
    files: &[String],
) -> Result<Vec<FileStageRecord>, ReportError> {
    Ok(client
        .query(SQL_FILE_STAGES, &[&files])
        .await
        .map_err(ReportError::db("reading the files' stage times"))?
        .into_iter()
        .map(|r| FileStageRecord {
            file: r.get(0),
            batch_id: r.get(1),
            rows: count(r.get(2)),
            rejected: count(r.get(3)),
            discovered_us: r.get(4),
            started_us: r.get(5),
            committed_us: r.get(6),
            quarantined: r.get(7),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("events"), "\"events\"");
        assert_eq!(quote_ident("app.events"), "\"app\".\"events\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn sluice_rows() -> FileRows {
        let cols = columns(&["event_id", "source_file", "batch_id"]);
        file_rows("\"events\"", "event_id", &cols, true).unwrap()
    }

    #[test]
    fn queries_use_the_quoted_table_and_the_file_filter() {
        let rows = sluice_rows();
        assert_eq!(rows.attribution, Attribution::SourceFileColumn);
        assert!(rows.with_batches);
        for sql in [
            sql_found(&rows),
            sql_latency_commit_timestamp(&rows),
            sql_latency_batches(&rows),
            sql_latency_none(&rows),
        ] {
            assert!(sql.contains("FROM \"events\" e"), "{sql}");
            assert!(sql.contains("e.source_file = ANY($1::text[])"), "{sql}");
        }
        let r = quote_ident("events_rejects");
        assert!(sql_rejected(&r)
            .contains("FROM \"events_rejects\" WHERE source_file = ANY($1::text[])"));
        assert!(sql_rejected_by_reason(&r).contains("LIMIT 10"));
        assert!(SQL_BATCHES.contains("f->>'name' = ANY($1::text[])"));
        assert!(SQL_FILE_STAGES.contains("jsonb_array_elements(b.files)"));
        assert!(SQL_FILE_STAGES.contains("f->>'name' = ANY($1::text[])"));
        assert!(SQL_QUARANTINED_FILES.contains("source_file = ANY($1::text[])"));
    }

    #[test]
    fn a_table_without_source_file_ties_rows_to_files_by_key() {
        let rows = file_rows("\"spark_events\"", "id", &columns(&["id", "price"]), true).unwrap();
        assert_eq!(rows.attribution, Attribution::KeyPrefix);
        assert!(
            !rows.with_batches,
            "no batch_id column: no batches to fall back on"
        );
        let sql = sql_latency_commit_timestamp(&rows);
        assert!(
            sql.contains("unnest($1::text[], $2::text[]) AS m(file, key_prefix)"),
            "{sql}"
        );
        assert!(
            sql.contains("substring(e.\"id\"::text FROM '^(.*-)[0-9]+$')"),
            "{sql}"
        );
        assert!(sql.starts_with("SELECT m.file,"), "{sql}");
        assert!(!sql.contains("sluice_batches"), "{sql}");
        assert!(sql_found(&rows).contains("count(DISTINCT e.\"id\")"));
        let (files, prefixes) = (vec!["a.csv".to_string()], vec!["a-".to_string()]);
        assert_eq!(rows.params(&files, &prefixes).len(), 2);
        assert_eq!(sluice_rows().params(&files, &prefixes).len(), 1);
    }

    #[test]
    fn a_table_without_the_key_column_is_refused_naming_it() {
        let error = file_rows("\"t\"", "event_id", &columns(&["id"]), false).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("has no column \"event_id\""), "{message}");
        assert!(message.contains("--key-column"), "{message}");
    }

    #[test]
    fn commit_timestamp_query_falls_back_per_row() {
        let sql = sql_latency_commit_timestamp(&sluice_rows());
        assert!(sql.contains("pg_xact_commit_timestamp(e.xmin)"));
        assert!(sql.contains("COALESCE("));
        assert!(sql.contains("b.committed_at"));
        assert!(sql_found(&sluice_rows()).contains("count(DISTINCT e.\"event_id\")"));
    }

    #[test]
    fn source_names() {
        assert_eq!(
            CommitTimeSource::CommitTimestamp.as_str(),
            "pg_xact_commit_timestamp"
        );
        assert_eq!(
            CommitTimeSource::BatchCommittedAt.as_str(),
            "sluice_batches.committed_at"
        );
    }
}
