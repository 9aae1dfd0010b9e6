//! Why the slowest batches of a latency run were slow: a checkpoint that
//! ran at the same time, a stall of the disk's fsync (the floor's one-row
//! commit was slow at the same moment), or neither. Pure.

use reporter::summary::{CheckpointEvent, SlowBatch};
use serde::Serialize;

/// One of the floor's one-row commits: when it was due and how long it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloorCommit {
    /// Its scheduled instant, Unix µs (local clock).
    pub at_us: i64,
    /// From its scheduled instant to the commit's answer, ms.
    pub ms: f64,
}

/// A floor commit this many times its run's median or slower is a stall…
const STALL_TIMES_MEDIAN: f64 = 5.0;
/// …when it also took at least this long, ms.
const STALL_MIN_MS: f64 = 20.0;

/// What a slow batch coincided with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spike {
    pub batch_id: i64,
    pub batch_ms: f64,
    /// `checkpoint`, `fsync stall` or `neither`.
    pub cause: &'static str,
    /// The figures behind the cause.
    pub detail: String,
}

/// Each slow batch attributed to the first cause its time window overlaps:
/// a checkpoint, else a stalled floor commit, else neither.
pub fn attribute(
    slowest: &[SlowBatch],
    checkpoints: &[CheckpointEvent],
    floor: &[FloorCommit],
    floor_p50_ms: f64,
) -> Vec<Spike> {
    let stall_ms = (floor_p50_ms * STALL_TIMES_MEDIAN).max(STALL_MIN_MS);
    slowest
        .iter()
        .map(|batch| {
            let (from, to) = (
                batch.started_at_us,
                batch.started_at_us + (batch.time_ms * 1000.0) as i64,
            );
            let spike = |cause, detail| Spike {
                batch_id: batch.batch_id,
                batch_ms: batch.time_ms,
                cause,
                detail,
            };
            if let Some(c) = checkpoints.iter().find(|c| c.overlaps(from, to)) {
                return spike(
                    "checkpoint",
                    format!(
                        "a {} checkpoint (write {:.1} s, sync {:.1} s) ran meanwhile",
                        if c.requested { "requested" } else { "timed" },
                        c.write_ms / 1000.0,
                        c.sync_ms / 1000.0
                    ),
                );
            }
            let beside: Vec<f64> = floor
                .iter()
                .filter(|f| f.at_us < to && from < f.at_us + (f.ms * 1000.0) as i64)
                .map(|f| f.ms)
                .collect();
            let stalled = beside.iter().copied().fold(0.0, f64::max);
            if beside.is_empty() {
                spike(
                    "neither",
                    "no checkpoint ran, and no one-row commit of the floor fell within it"
                        .to_string(),
                )
            } else if stalled >= stall_ms {
                spike(
                    "fsync stall",
                    format!(
                        "a one-row commit beside it took {stalled:.1} ms (floor median \
                         {floor_p50_ms:.1} ms)"
                    ),
                )
            } else {
                spike(
                    "neither",
                    format!(
                        "no checkpoint ran and the one-row commits beside it took at most \
                         {stalled:.1} ms"
                    ),
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: i64, start_s: i64, ms: f64) -> SlowBatch {
        SlowBatch {
            batch_id: id,
            time_ms: ms,
            started_at_us: start_s * 1_000_000,
            ..SlowBatch::default()
        }
    }

    #[test]
    fn a_checkpoint_first_then_a_stalled_floor_commit_else_neither() {
        let checkpoints = [CheckpointEvent {
            started_after_us: 9_000_000,
            ended_by_us: 11_000_000,
            write_ms: 1_500.0,
            sync_ms: 300.0,
            requested: false,
        }];
        let floor = [
            FloorCommit {
                at_us: 20_100_000,
                ms: 250.0,
            },
            FloorCommit {
                at_us: 30_100_000,
                ms: 3.0,
            },
        ];
        let spikes = attribute(
            &[
                batch(1, 10, 800.0),
                batch(2, 20, 700.0),
                batch(3, 30, 600.0),
            ],
            &checkpoints,
            &floor,
            2.0,
        );
        let causes: Vec<&str> = spikes.iter().map(|s| s.cause).collect();
        assert_eq!(causes, ["checkpoint", "fsync stall", "neither"]);
        assert_eq!(
            spikes[0].detail,
            "a timed checkpoint (write 1.5 s, sync 0.3 s) ran meanwhile"
        );
        assert_eq!(
            spikes[1].detail,
            "a one-row commit beside it took 250.0 ms (floor median 2.0 ms)"
        );
    }
}
