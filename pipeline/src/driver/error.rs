//! Why a run stops with an error: each message names the problem and the fix.

use std::path::PathBuf;
use std::time::Duration;

use crate::batch::BatchError;
use crate::checkpoint::CheckpointError;
use crate::db::DbError;
use crate::discover::DiscoverError;
use crate::schema::SchemaError;
use crate::transform::TransformError;

/// Why a run stopped with an error (data problems are not errors: they are
/// counted in the summary).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid table configuration: {0}")]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(
        "the database stayed unreachable for {waited:?} (deadline {deadline:?}); last error: {last_error}. \
         Start PostgreSQL or fix the URL, then run again{}",
        interrupted.map_or(String::new(), |batch| format!(": the interrupted batch {batch} is replayed exactly"))
    )]
    DatabaseUnavailable {
        waited: Duration,
        deadline: Duration,
        last_error: String,
        /// The batch that was in flight, if one was.
        interrupted: Option<u64>,
    },
    #[error(
        "the database did not answer at start within {waited:?}: {last_error}. Start PostgreSQL or \
         fix the URL (--database-url or DATABASE_URL), then run again; for a database that starts \
         after sluice, raise retry.startup (now {startup:?})"
    )]
    DatabaseUnreachableAtStart {
        waited: Duration,
        startup: Duration,
        last_error: String,
    },
    /// SIGTERM or Ctrl-C arrived while the run waited for the database
    /// outside a batch (at start, or recording a commit): nothing was left
    /// half-done, and the run ends as a stop does.
    #[error("stopped while waiting for the database")]
    StoppedWaiting,
    #[error(
        "{rows} rows were rejected and {files} files quarantined, and --fail-on-rejects is set"
    )]
    Rejects { rows: u64, files: u64 },
    #[error(
        "the table {table} is missing or empty, but checkpoint folder {checkpoint} ingested {rows} \
         rows into it: the files it holds as done would not be read again. Restore the table, or \
         start over with --reset-checkpoint (moves the folder aside) to ingest again every file \
         still in the input folder"
    )]
    TargetLost {
        table: String,
        checkpoint: PathBuf,
        rows: i64,
    },
}
