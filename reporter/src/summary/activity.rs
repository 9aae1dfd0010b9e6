//! What the database did during the run, from its own counters: cache, WAL,
//! checkpoints and the target table's activity (see
//! [`crate::collect::activity`] for where each figure comes from).

use serde::{Deserialize, Serialize};

/// The run's database activity: differences between the counters read
/// before the pipeline started and after it stopped.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct DatabaseActivity {
    /// Seconds between the two readings.
    pub span_s: f64,
    /// `server_version_num`.
    pub server_version_num: i32,
    /// Shared-buffer hits and reads.
    pub cache: Option<CacheActivity>,
    /// WAL written.
    pub wal: Option<WalActivity>,
    /// Checkpoints completed.
    pub checkpoints: Option<CheckpointActivity>,
    /// The target table's activity.
    pub table: Option<TableActivity>,
    /// Each figure that could not be read, and why.
    pub unread: Vec<String>,
}

/// Shared-buffer hits and reads of the run's database.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct CacheActivity {
    /// Blocks found in shared buffers.
    pub blocks_hit: i64,
    /// Blocks read from the operating system (its cache or the disk).
    pub blocks_read: i64,
    /// hit / (hit + read), %; `None` when no block was touched.
    pub hit_ratio_pct: Option<f64>,
    /// Temporary files created.
    pub temp_files: i64,
    /// Bytes written to temporary files.
    pub temp_bytes: i64,
}

/// WAL written during the run (cluster-wide).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct WalActivity {
    /// Bytes between the WAL positions of the two readings (else from
    /// `pg_stat_wal`).
    pub bytes: i64,
    /// WAL bytes per 1 000 rows the pipeline upserted; `None` without rows.
    pub bytes_per_1000_rows: Option<f64>,
    /// `pg_stat_wal` only.
    pub records: Option<i64>,
    /// Full-page images (`pg_stat_wal` only).
    pub full_page_images: Option<i64>,
}

/// Checkpoints completed during the run (cluster-wide).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct CheckpointActivity {
    /// Started by `checkpoint_timeout`.
    pub timed: i64,
    /// Requested (`max_wal_size` reached, `CHECKPOINT`).
    pub requested: i64,
    /// Buffers written by them.
    pub buffers_written: i64,
    /// Time spent writing buffers, ms.
    pub write_ms: f64,
    /// Time spent in fsync, ms.
    pub sync_ms: f64,
    /// Each checkpoint seen ending between two one-second samples.
    pub events: Vec<CheckpointEvent>,
}

/// One checkpoint, as the samples saw it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct CheckpointEvent {
    /// When it had ended at the latest (the sample that saw it), Unix µs.
    pub ended_by_us: i64,
    /// When it started at the earliest: the previous sample's instant minus
    /// its write and sync time, Unix µs.
    pub started_after_us: i64,
    /// Time spent writing buffers, ms.
    pub write_ms: f64,
    /// Time spent in fsync, ms.
    pub sync_ms: f64,
    /// Requested (by a full `max_wal_size`, a `CHECKPOINT`) rather than timed.
    pub requested: bool,
}

impl CheckpointEvent {
    /// Whether the checkpoint may have run during [`from_us`, `to_us`).
    pub fn overlaps(&self, from_us: i64, to_us: i64) -> bool {
        self.started_after_us < to_us && from_us < self.ended_by_us
    }
}

/// The target table's counters over the run.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
pub struct TableActivity {
    /// Rows inserted.
    pub inserted: i64,
    /// Rows updated (HOT or not).
    pub updated: i64,
    /// Rows updated in place (HOT).
    pub hot_updated: i64,
    /// Dead tuples at the end of the run (a level, not a difference).
    pub dead_at_end: i64,
    /// Autovacuum runs.
    pub autovacuum_runs: i64,
    /// Autoanalyze runs.
    pub autoanalyze_runs: i64,
}
