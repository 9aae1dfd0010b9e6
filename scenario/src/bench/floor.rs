//! The latency floor measured beside sluice: one-row commits every 20 ms on
//! their own connection, each timed from its scheduled instant (no
//! coordinated omission), so a disk stall shows in the floor as in sluice.

use std::time::Duration;

use pipeline::db::DbTarget;
use reporter::stats::percentile_sorted;
use serde::Serialize;

use super::spikes::FloorCommit;
use crate::run::RunError;

/// Percentiles of the floor's commits, in ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Floor {
    pub commits: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Period of the floor's one-row commits.
pub(super) const FLOOR_PERIOD: Duration = Duration::from_millis(20);

impl Floor {
    /// Nearest-rank percentiles of the commit times.
    fn of(mut commits_ms: Vec<f64>) -> Self {
        commits_ms.sort_by(f64::total_cmp);
        Self {
            commits: commits_ms.len(),
            p50_ms: percentile_sorted(&commits_ms, 0.50),
            p99_ms: percentile_sorted(&commits_ms, 0.99),
            max_ms: commits_ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// Commits one row every [`FLOOR_PERIOD`] on its own connection until
/// `stop`, each timed from its scheduled instant (no coordinated omission:
/// a slow commit delays the next ones, and they count from their schedule).
pub(super) async fn measure_floor(
    target: DbTarget,
    stop: tokio_util::sync::CancellationToken,
) -> Result<(Floor, Vec<FloorCommit>), RunError> {
    let client = target.connect().await?;
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS sluice_floor (at timestamptz DEFAULT now())")
        .await
        .map_err(pipeline::db::DbError::query("creating the floor table"))?;
    let insert = client
        .prepare("INSERT INTO sluice_floor DEFAULT VALUES")
        .await
        .map_err(pipeline::db::DbError::query("preparing the floor insert"))?;
    let start = tokio::time::Instant::now();
    let start_us = chrono::Utc::now().timestamp_micros();
    let mut commits_ms = Vec::new();
    let mut commits = Vec::new();
    for tick in 1u32.. {
        let scheduled = start + FLOOR_PERIOD * tick;
        tokio::select! {
            _ = tokio::time::sleep_until(scheduled) => {}
            _ = stop.cancelled() => break,
        }
        client
            .execute(&insert, &[])
            .await
            .map_err(pipeline::db::DbError::query("committing a floor row"))?;
        let ms = scheduled.elapsed().as_secs_f64() * 1000.0;
        commits_ms.push(ms);
        commits.push(FloorCommit {
            at_us: start_us + i64::from(tick) * FLOOR_PERIOD.as_micros() as i64,
            ms,
        });
    }
    Ok((Floor::of(commits_ms), commits))
}
