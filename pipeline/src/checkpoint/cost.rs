//! What the checkpoint folder's writes cost: how many, their bytes, and
//! how long each took to become durable (a file written through the atomic
//! writer, or the commit log's fsync).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// The checkpoint folder's writes: how many, their bytes, and each sync's
/// duration in µs (an atomic file write until durable, or a log fsync).
#[derive(Debug, Default)]
pub struct CheckpointIo {
    writes: u64,
    bytes: u64,
    sync_us: Vec<u64>,
}

impl CheckpointIo {
    pub(super) fn add(&mut self, bytes: usize, syncs: &[Duration]) {
        self.writes += 1;
        self.bytes += bytes as u64;
        self.sync_us.extend(
            syncs
                .iter()
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        );
    }

    /// Counts and sync-time percentiles (nearest rank), ms.
    pub fn summary(&self) -> CheckpointIoSummary {
        let mut sorted = self.sync_us.clone();
        sorted.sort_unstable();
        let rank = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index] as f64 / 1000.0
        };
        CheckpointIoSummary {
            checkpoint_writes: self.writes,
            checkpoint_bytes: self.bytes,
            checkpoint_syncs: sorted.len() as u64,
            checkpoint_sync_p50_ms: rank(0.5),
            checkpoint_sync_p99_ms: rank(0.99),
            checkpoint_sync_max_ms: rank(1.0),
        }
    }
}

/// [`CheckpointIo`] as the run's summary prints it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CheckpointIoSummary {
    pub checkpoint_writes: u64,
    pub checkpoint_bytes: u64,
    pub checkpoint_syncs: u64,
    pub checkpoint_sync_p50_ms: f64,
    pub checkpoint_sync_p99_ms: f64,
    pub checkpoint_sync_max_ms: f64,
}

/// The I/O counters, even after a plan-writing thread panicked.
pub(super) fn lock(stats: &Mutex<CheckpointIo>) -> MutexGuard<'_, CheckpointIo> {
    stats.lock().unwrap_or_else(PoisonError::into_inner)
}
