//! The database's own counters around a run: `pg_stat_database` (cache,
//! temporary files), `pg_stat_wal` and the WAL position, the checkpointer's
//! view (`pg_stat_checkpointer` from PostgreSQL 17, `pg_stat_bgwriter`
//! before) and `pg_stat_user_tables` for the target table. A run takes one
//! [`ServerStats`] before its pipeline starts, one a second while it runs
//! (to see when checkpoints happened) and one after its pipeline stopped:
//! the report's figures are differences between them, computed in
//! [`crate::analyse::activity`]. A view the user may not read leaves its
//! figures out with the reason in [`ServerStats::unread`]; nothing is
//! estimated.

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::error::ReportError;

/// PostgreSQL 14 added `pg_stat_wal`.
const FIRST_WITH_STAT_WAL: i32 = 140_000;
/// PostgreSQL 17 moved the checkpoint counters to `pg_stat_checkpointer`.
const FIRST_WITH_CHECKPOINTER: i32 = 170_000;

/// One reading of the server's counters.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// When it was read (local clock), Unix µs.
    pub at_us: i64,
    /// `server_version_num`.
    pub server_version_num: i32,
    /// Cache counters of the current database.
    pub cache: Option<CacheCounters>,
    /// `pg_stat_wal`, from PostgreSQL 14.
    pub wal: Option<WalCounters>,
    /// `pg_current_wal_lsn()` as bytes from `0/0` (any version; not on a
    /// standby).
    pub wal_position_bytes: Option<i64>,
    /// Checkpoints completed since the statistics were reset.
    pub checkpoints: Option<CheckpointCounters>,
    /// The target table's counters; `None` when it does not exist yet.
    pub table: Option<TableCounters>,
    /// Each figure that could not be read, with the database's reason.
    pub unread: Vec<String>,
}

/// `pg_stat_database` of the current database.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct CacheCounters {
    /// Blocks found in shared buffers.
    pub blks_hit: i64,
    /// Blocks read from the operating system.
    pub blks_read: i64,
    /// Temporary files created by queries.
    pub temp_files: i64,
    /// Bytes written to temporary files.
    pub temp_bytes: i64,
}

/// `pg_stat_wal` (cluster-wide).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct WalCounters {
    /// WAL records.
    pub records: i64,
    /// Full-page images.
    pub full_page_images: i64,
    /// WAL bytes.
    pub bytes: i64,
}

/// Checkpoints completed so far and their cost (cluster-wide).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct CheckpointCounters {
    /// Checkpoints started by `checkpoint_timeout`.
    pub timed: i64,
    /// Checkpoints requested (`max_wal_size` reached, `CHECKPOINT`).
    pub requested: i64,
    /// Time spent writing buffers, ms.
    pub write_ms: f64,
    /// Time spent in fsync, ms.
    pub sync_ms: f64,
    /// Buffers the checkpoints wrote.
    pub buffers_written: i64,
}

/// `pg_stat_user_tables` of the target table.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct TableCounters {
    /// Rows inserted.
    pub inserted: i64,
    /// Rows updated (HOT or not).
    pub updated: i64,
    /// Rows updated in place (HOT: no index touched).
    pub hot_updated: i64,
    /// Dead tuples now.
    pub dead: i64,
    /// Autovacuum runs on the table.
    pub autovacuum_runs: i64,
    /// Autoanalyze runs on the table.
    pub autoanalyze_runs: i64,
}

/// Reads every counter it can. Fails only when the server does not answer
/// at all; a view it may not read is noted in [`ServerStats::unread`].
pub async fn read_server_stats(client: &Client, table: &str) -> Result<ServerStats, ReportError> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(ReportError::db("reading the server version"))?
        .get(0);
    let mut stats = ServerStats {
        at_us: chrono::Utc::now().timestamp_micros(),
        server_version_num: version,
        ..ServerStats::default()
    };
    let mut unread = Vec::new();
    stats.cache = read(
        client,
        SQL_CACHE,
        &[],
        "cache hits (pg_stat_database)",
        &mut unread,
    )
    .await
    .map(|r| CacheCounters {
        blks_hit: r.get(0),
        blks_read: r.get(1),
        temp_files: r.get(2),
        temp_bytes: r.get(3),
    });
    stats.wal = if version >= FIRST_WITH_STAT_WAL {
        read(
            client,
            SQL_WAL,
            &[],
            "WAL records (pg_stat_wal)",
            &mut unread,
        )
        .await
        .map(|r| WalCounters {
            records: r.get(0),
            full_page_images: r.get(1),
            bytes: r.get(2),
        })
    } else {
        unread.push(format!(
            "WAL records and full-page images: pg_stat_wal exists from PostgreSQL 14 (this server: \
             {version}); WAL bytes come from the WAL position"
        ));
        None
    };
    stats.wal_position_bytes = read(
        client,
        SQL_WAL_POSITION,
        &[],
        "WAL position (pg_current_wal_lsn)",
        &mut unread,
    )
    .await
    .map(|r| r.get(0));
    let (checkpoint_sql, view) = if version >= FIRST_WITH_CHECKPOINTER {
        (SQL_CHECKPOINTER, "checkpoints (pg_stat_checkpointer)")
    } else {
        (SQL_BGWRITER, "checkpoints (pg_stat_bgwriter)")
    };
    stats.checkpoints = read(client, checkpoint_sql, &[], view, &mut unread)
        .await
        .map(|r| CheckpointCounters {
            timed: r.get(0),
            requested: r.get(1),
            write_ms: r.get(2),
            sync_ms: r.get(3),
            buffers_written: r.get(4),
        });
    stats.table = read_table(client, table, &mut unread).await;
    stats.unread = unread;
    Ok(stats)
}

const SQL_CACHE: &str = "SELECT blks_hit, blks_read, temp_files, temp_bytes \
                         FROM pg_stat_database WHERE datname = current_database()";
const SQL_WAL: &str = "SELECT wal_records, wal_fpi, wal_bytes::bigint FROM pg_stat_wal";
const SQL_WAL_POSITION: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";
const SQL_CHECKPOINTER: &str = "SELECT num_timed, num_requested, write_time, sync_time, \
                                buffers_written FROM pg_stat_checkpointer";
const SQL_BGWRITER: &str = "SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, \
                            checkpoint_sync_time, buffers_checkpoint FROM pg_stat_bgwriter";
const SQL_TABLE: &str = "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, \
                         autovacuum_count, autoanalyze_count \
                         FROM pg_stat_user_tables WHERE relid = to_regclass($1)";

/// The table's counters; `None` (and nothing unread) while it does not exist.
async fn read_table(
    client: &Client,
    table: &str,
    unread: &mut Vec<String>,
) -> Option<TableCounters> {
    match client.query_opt(SQL_TABLE, &[&table]).await {
        Ok(row) => row.map(|r| TableCounters {
            inserted: r.get(0),
            updated: r.get(1),
            hot_updated: r.get(2),
            dead: r.get(3),
            autovacuum_runs: r.get(4),
            autoanalyze_runs: r.get(5),
        }),
        Err(error) => {
            unread.push(format!(
                "table activity (pg_stat_user_tables): {}",
                unread_reason(&error)
            ));
            None
        }
    }
}

/// One row of `sql`, or `None` with `what` and the reason added to `unread`.
async fn read(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    what: &str,
    unread: &mut Vec<String>,
) -> Option<tokio_postgres::Row> {
    match client.query_one(sql, params).await {
        Ok(row) => Some(row),
        Err(error) => {
            unread.push(format!("{what}: {}", unread_reason(&error)));
            None
        }
    }
}

/// The database's own words, with what to do when it is a permission.
fn unread_reason(error: &tokio_postgres::Error) -> String {
    let message = error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_string());
    if error.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        format!("{message} (grant the user the pg_monitor role to read it)")
    } else {
        message
    }
}

/// The readings of one run: before its pipeline started, once a second
/// while it ran, and after its pipeline stopped.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ActivityRecord {
    /// Before the pipeline started.
    pub before: ServerStats,
    /// Once a second while it ran.
    pub samples: Vec<ServerStats>,
    /// After the pipeline stopped.
    pub after: ServerStats,
}
