//! What a run tells the outside: its counters and the hooks a progress
//! display implements.

use std::time::Duration;

use serde::Serialize;

use crate::batch::BatchOutcome;
use crate::checkpoint::CheckpointIoSummary;

/// Counters of a run, printed at the end and handed to the reporter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub batches: u64,
    pub replayed_batches: u64,
    pub files: u64,
    pub files_quarantined: u64,
    pub rows_read: u64,
    pub rows_upserted: u64,
    pub rows_rejected: u64,
    pub rows_deduped: u64,
    /// Rows that were valid but changed nothing (identical replays and upstream duplicates).
    pub rows_unchanged: u64,
    pub database_retries: u64,
    /// Batches rolled back at shutdown because they outlasted the grace
    /// period; the next start replays them.
    pub rolled_back_batches: u64,
    /// Committed files found again with another size or modification time:
    /// reported, not ingested (a name is processed once).
    pub files_replaced: u64,
    /// With several workers (`--pipeline`): files this worker found already
    /// committed by another, and its batches rolled back because another
    /// worker had taken over one of their files (their lease ran out).
    pub files_committed_elsewhere: u64,
    pub claims_lost: u64,
    /// Bytes the pipeline's connections (the sink's, the checkpoint lock's,
    /// the migrations') sent to the database and received from it, below
    /// TLS: what crossed the network.
    pub database_bytes_sent: u64,
    pub database_bytes_received: u64,
    /// The checkpoint folder's writes, bytes and fsync times.
    #[serde(flatten)]
    pub checkpoint_io: CheckpointIoSummary,
}

impl IngestSummary {
    pub(super) fn add(&mut self, outcome: &BatchOutcome) {
        self.batches += 1;
        self.files += outcome.files.len() as u64;
        self.files_quarantined += outcome.files_quarantined() as u64;
        self.rows_read += outcome.rows_read;
        self.rows_upserted += outcome.rows_upserted;
        self.rows_rejected += outcome.rows_rejected;
        self.rows_deduped += outcome.rows_deduped;
        self.rows_unchanged += outcome.rows_read
            - outcome.rows_rejected
            - outcome.rows_deduped
            - outcome.rows_upserted.min(outcome.rows_read);
    }
}

/// Hooks for progress displays; every method has an empty default.
pub trait Observer: Send + Sync {
    /// A batch committed.
    fn batch_committed(&self, _outcome: &BatchOutcome) {}
    /// Files waiting after a discovery pass.
    fn backlog(&self, _pending: usize) {}
    /// The database failed; the batch is retried after `retry_in`.
    fn database_unavailable(&self, _error: &str, _retry_in: Duration) {}
    /// A worker of a shared pipeline claimed files: `claimed` are its own
    /// now, `committed_elsewhere` another worker had committed.
    fn files_claimed(&self, _claimed: usize, _committed_elsewhere: usize) {}
    /// A worker's batch rolled back: another worker had taken over a file.
    fn claims_lost(&self) {}
}

/// An observer that reports nothing (benchmarks).
pub struct QuietObserver;

impl Observer for QuietObserver {}

/// An observer that logs through `tracing`.
pub struct LogObserver;

impl Observer for LogObserver {
    fn batch_committed(&self, outcome: &BatchOutcome) {
        tracing::info!(
            batch = outcome.batch_id,
            files = outcome.files.len(),
            rows = outcome.rows_read,
            upserted = outcome.rows_upserted,
            rejected = outcome.rows_rejected,
            quarantined = outcome.files_quarantined(),
            ms = (outcome.committed_at_us - outcome.started_at_us) as f64 / 1000.0,
            "batch committed"
        );
    }
}
