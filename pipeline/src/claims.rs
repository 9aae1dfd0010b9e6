//! Many workers, one folder, one database: files are claimed through
//! PostgreSQL (`sluice_files`, `sluice_workers`), which every worker reaches
//! anyway, so the fleet needs no coordinator of its own.
//!
//! A worker started with `--pipeline NAME` claims the files it is about to
//! plan (one statement, names in order, so two claimers never deadlock):
//! a file nobody holds, or one whose claim's lease expired, becomes its own.
//! A heartbeat renews its leases while it works. Its batch moves its files
//! from `claimed` to `committed` inside the batch's own transaction, and only
//! the ones this worker still holds: if another worker took one over after
//! the lease expired, the batch rolls back whole ([`ClaimLost`]) and its
//! files are claimed anew. A file is committed at most once because the row
//! is one per (pipeline, name) and only a `claimed` row held by the
//! committing worker may become `committed`, under the row lock that a
//! takeover needs too.
//!
//! Which files of a claim a worker keeps is a pure function ([`split`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::checkpoint::PlannedFile;
use crate::db::{DbError, DbTarget};

/// How this worker takes part in a pipeline served by several workers.
#[derive(Debug, Clone)]
pub struct Claims {
    pipeline: String,
    /// The worker's checkpoint id: stable across its restarts, so a worker
    /// killed and started again takes its own claims back at once.
    worker: String,
    lease: Duration,
}

/// What became of the files a worker tried to claim.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClaimSplit {
    /// Now this worker's: plan them.
    pub claimed: Vec<PlannedFile>,
    /// Committed by a batch of some worker: never to be read again.
    pub done_elsewhere: Vec<String>,
    /// Held by another worker whose lease runs: look again later (it may
    /// commit them, or die and let the lease run out).
    pub held_elsewhere: Vec<String>,
}

/// A batch's files were no longer all this worker's at its commit.
#[derive(Debug, thiserror::Error)]
#[error(
    "batch {batch_id} lost its claim on {lost} of its {files} files to another worker (its lease \
     ran out, e.g. while the database was unreachable): the batch rolled back and its files are \
     claimed again; raise claim_lease if this happens often"
)]
pub struct ClaimLost {
    pub batch_id: u64,
    pub files: usize,
    pub lost: usize,
}

/// Sorts `files` by what the database said of them. Pure.
pub fn split(
    files: Vec<PlannedFile>,
    claimed: &HashSet<String>,
    committed: &HashSet<String>,
) -> ClaimSplit {
    let mut split = ClaimSplit::default();
    for file in files {
        if claimed.contains(&file.name) {
            split.claimed.push(file);
        } else if committed.contains(&file.name) {
            split.done_elsewhere.push(file.name);
        } else {
            split.held_elsewhere.push(file.name);
        }
    }
    split
}

impl Claims {
    pub fn new(pipeline: String, worker: String, lease: Duration) -> Self {
        Self {
            pipeline,
            worker,
            lease,
        }
    }

    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    fn lease_ms(&self) -> f64 {
        self.lease.as_secs_f64() * 1000.0
    }

    /// Claims `files` for this worker: free ones, ones whose lease ran out,
    /// and its own (from before a restart).
    pub async fn claim(
        &self,
        client: &tokio_postgres::Client,
        files: Vec<PlannedFile>,
    ) -> Result<ClaimSplit, DbError> {
        if files.is_empty() {
            return Ok(ClaimSplit::default());
        }
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size as i64).collect();
        let mtimes: Vec<i64> = files.iter().map(|f| f.mtime_us).collect();
        let claimed: HashSet<String> = client
            .query(
                "INSERT INTO sluice_files AS f (pipeline, name, size, mtime_us, state, worker, lease_until)
                 SELECT $1, n, s, m, 'claimed', $2, clock_timestamp() + $3 * interval '1 millisecond'
                 FROM unnest($4::text[], $5::int8[], $6::int8[]) AS t(n, s, m)
                 ORDER BY n
                 ON CONFLICT (pipeline, name) DO UPDATE
                   SET worker = EXCLUDED.worker, lease_until = EXCLUDED.lease_until,
                       size = EXCLUDED.size, mtime_us = EXCLUDED.mtime_us,
                       claimed_at = clock_timestamp()
                   WHERE f.state = 'claimed'
                     AND (f.lease_until < clock_timestamp() OR f.worker = EXCLUDED.worker)
                 RETURNING name",
                &[
                    &self.pipeline,
                    &self.worker,
                    &self.lease_ms(),
                    &names,
                    &sizes,
                    &mtimes,
                ],
            )
            .await
            .map_err(DbError::query("claiming files"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let committed: HashSet<String> = if claimed.len() == files.len() {
            HashSet::new()
        } else {
            client
                .query(
                    "SELECT name FROM sluice_files
                     WHERE pipeline = $1 AND name = ANY($2) AND state = 'committed'",
                    &[&self.pipeline, &names],
                )
                .await
                .map_err(DbError::query(
                    "reading which files other workers committed",
                ))?
                .iter()
                .map(|row| row.get(0))
                .collect()
        };
        Ok(split(files, &claimed, &committed))
    }

    /// Inside a batch's transaction: marks its files committed, if this
    /// worker still holds every one (rows locked in name order, as claims
    /// lock them). Returns how many it held.
    pub async fn commit_files(
        &self,
        client: &tokio_postgres::Client,
        batch_id: i64,
        names: &[&str],
    ) -> Result<usize, DbError> {
        let updated = client
            .execute(
                "WITH held AS (
                     SELECT name FROM sluice_files
                     WHERE pipeline = $1 AND name = ANY($2)
                     ORDER BY name FOR UPDATE)
                 UPDATE sluice_files f
                 SET state = 'committed', batch_id = $3, committed_at = clock_timestamp()
                 FROM held
                 WHERE f.pipeline = $1 AND f.name = held.name
                   AND f.state = 'claimed' AND f.worker = $4",
                &[&self.pipeline, &names, &batch_id, &self.worker],
            )
            .await
            .map_err(DbError::query("marking the batch's files committed"))?;
        Ok(updated as usize)
    }

    /// Renews this worker's leases and publishes what it sees.
    async fn heartbeat(
        &self,
        client: &tokio_postgres::Client,
        gauges: &WorkerGauges,
        checkpoint: &str,
    ) -> Result<(), DbError> {
        client
            .execute(
                "WITH held AS (
                     SELECT name FROM sluice_files
                     WHERE pipeline = $1 AND worker = $2 AND state = 'claimed'
                     ORDER BY name FOR UPDATE)
                 UPDATE sluice_files f
                 SET lease_until = clock_timestamp() + $3 * interval '1 millisecond'
                 FROM held
                 WHERE f.pipeline = $1 AND f.name = held.name
                   AND f.state = 'claimed' AND f.worker = $2",
                &[&self.pipeline, &self.worker, &self.lease_ms()],
            )
            .await
            .map_err(DbError::query("renewing the claims' leases"))?;
        let oldest = gauges.oldest_waiting_us.load(Ordering::Relaxed);
        let oldest = (oldest != i64::MAX)
            .then(|| chrono::DateTime::from_timestamp_micros(oldest))
            .flatten();
        client
            .execute(
                "INSERT INTO sluice_workers AS w (pipeline, worker, host, pid, checkpoint, started_at,
                     heartbeat_at, backlog_files, oldest_waiting, batches, rows_upserted)
                 VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp(), $6, $7, $8, $9)
                 ON CONFLICT (pipeline, worker) DO UPDATE
                 SET host = EXCLUDED.host, pid = EXCLUDED.pid, checkpoint = EXCLUDED.checkpoint,
                     started_at = CASE WHEN w.pid = EXCLUDED.pid AND w.stopped_at IS NULL
                                       THEN w.started_at ELSE EXCLUDED.started_at END,
                     heartbeat_at = EXCLUDED.heartbeat_at, stopped_at = NULL,
                     backlog_files = EXCLUDED.backlog_files,
                     oldest_waiting = EXCLUDED.oldest_waiting,
                     batches = EXCLUDED.batches, rows_upserted = EXCLUDED.rows_upserted",
                &[
                    &self.pipeline,
                    &self.worker,
                    &crate::checkpoint::host_name(),
                    &(std::process::id() as i32),
                    &checkpoint,
                    &(gauges.backlog_files.load(Ordering::Relaxed) as i64),
                    &oldest,
                    &(gauges.batches.load(Ordering::Relaxed) as i64),
                    &(gauges.rows_upserted.load(Ordering::Relaxed) as i64),
                ],
            )
            .await
            .map_err(DbError::query("recording the worker's heartbeat"))?;
        Ok(())
    }

    /// At a clean stop: gives back the claims this worker holds (another
    /// worker need not wait for their leases) and says it stopped.
    async fn release(&self, client: &tokio_postgres::Client) -> Result<u64, DbError> {
        let released = client
            .execute(
                "DELETE FROM sluice_files WHERE pipeline = $1 AND worker = $2 AND state = 'claimed'",
                &[&self.pipeline, &self.worker],
            )
            .await
            .map_err(DbError::query("releasing the worker's claims"))?;
        client
            .execute(
                "UPDATE sluice_workers SET stopped_at = clock_timestamp()
                 WHERE pipeline = $1 AND worker = $2",
                &[&self.pipeline, &self.worker],
            )
            .await
            .map_err(DbError::query("recording the worker's stop"))?;
        Ok(released)
    }
}

/// What a worker publishes with its heartbeat, updated by the run.
#[derive(Debug)]
pub struct WorkerGauges {
    pub backlog_files: AtomicU64,
    /// Modification time (Unix µs) of the oldest waiting file; `i64::MAX`: none.
    pub oldest_waiting_us: AtomicI64,
    pub batches: AtomicU64,
    pub rows_upserted: AtomicU64,
}

impl Default for WorkerGauges {
    fn default() -> Self {
        Self {
            backlog_files: AtomicU64::new(0),
            oldest_waiting_us: AtomicI64::new(i64::MAX),
            batches: AtomicU64::new(0),
            rows_upserted: AtomicU64::new(0),
        }
    }
}

/// The worker's heartbeat: renews its leases every third of the lease and
/// publishes its gauges, on a connection of its own, until `stop` fires;
/// then releases its claims. A database that does not answer is tried
/// again at the next beat: leases that run out meanwhile cost only a
/// rolled-back batch ([`ClaimLost`]).
pub async fn heartbeat(
    db: DbTarget,
    claims: Claims,
    gauges: Arc<WorkerGauges>,
    checkpoint: String,
    stop: CancellationToken,
) {
    let interval = (claims.lease / 3).max(Duration::from_millis(50));
    let mut client: Option<tokio_postgres::Client> = None;
    loop {
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = db.connect().await.ok();
        }
        if let Some(connected) = &client {
            if let Err(error) = claims.heartbeat(connected, &gauges, &checkpoint).await {
                tracing::warn!(%error, "worker heartbeat failed; trying again at the next beat");
                client = None;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.cancelled() => break,
        }
    }
    let Some(client) = client.filter(|c| !c.is_closed()) else {
        return;
    };
    match claims.release(&client).await {
        Ok(released) if released > 0 => {
            tracing::info!(
                released,
                "stopped: gave back this worker's unfinished claims"
            )
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "could not give back this worker's claims; they expire with their lease")
        }
    }
}

/// One worker of a pipeline as the database sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkerStatus {
    pub worker: String,
    pub host: String,
    pub pid: i32,
    pub checkpoint: String,
    pub started_at: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_s: f64,
    pub stopped: bool,
    pub claims: i64,
    pub batches: i64,
    pub rows_upserted: i64,
    pub backlog_files: i64,
}

/// A pipeline's fleet, read from the database alone (`sluice status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetStatus {
    pub pipeline: String,
    pub workers: Vec<WorkerStatus>,
    pub files_committed: i64,
    pub files_claimed: i64,
    /// Of those, claims whose lease ran out (a dead worker's, until taken over).
    pub claims_expired: i64,
    /// Files the workers see waiting (the largest of their last reports:
    /// they list the same folder).
    pub backlog_files: i64,
    /// Seconds since the oldest waiting file was last modified.
    pub oldest_waiting_age_s: Option<f64>,
}

/// Reads pipeline `pipeline`'s fleet. `None` when no worker ever ran it.
pub async fn fleet_status(
    client: &tokio_postgres::Client,
    pipeline: &str,
) -> Result<Option<FleetStatus>, DbError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('sluice_workers') IS NOT NULL", &[])
        .await
        .map_err(DbError::query("looking for sluice_workers"))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let workers: Vec<WorkerStatus> = client
        .query(
            "SELECT w.worker, w.host, w.pid, w.checkpoint,
                    to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC',
                    extract(epoch FROM clock_timestamp() - w.heartbeat_at)::float8,
                    w.stopped_at IS NOT NULL,
                    (SELECT count(*) FROM sluice_files f
                     WHERE f.pipeline = w.pipeline AND f.worker = w.worker AND f.state = 'claimed'),
                    w.batches, w.rows_upserted, w.backlog_files
             FROM sluice_workers w WHERE w.pipeline = $1 ORDER BY w.started_at, w.worker",
            &[&pipeline],
        )
        .await
        .map_err(DbError::query("reading the pipeline's workers"))?
        .iter()
        .map(|row| WorkerStatus {
            worker: row.get(0),
            host: row.get(1),
            pid: row.get(2),
            checkpoint: row.get(3),
            started_at: row.get(4),
            heartbeat_age_s: row.get(5),
            stopped: row.get(6),
            claims: row.get(7),
            batches: row.get(8),
            rows_upserted: row.get(9),
            backlog_files: row.get(10),
        })
        .collect();
    if workers.is_empty() {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE state = 'committed'),
                    count(*) FILTER (WHERE state = 'claimed'),
                    count(*) FILTER (WHERE state = 'claimed' AND lease_until < clock_timestamp()),
                    (SELECT coalesce(max(backlog_files), 0) FROM sluice_workers
                     WHERE pipeline = $1 AND stopped_at IS NULL),
                    (SELECT extract(epoch FROM clock_timestamp() - min(oldest_waiting))::float8
                     FROM sluice_workers WHERE pipeline = $1 AND stopped_at IS NULL)
             FROM sluice_files WHERE pipeline = $1",
            &[&pipeline],
        )
        .await
        .map_err(DbError::query("reading the pipeline's files"))?;
    Ok(Some(FleetStatus {
        pipeline: pipeline.to_string(),
        workers,
        files_committed: row.get(0),
        files_claimed: row.get(1),
        claims_expired: row.get(2),
        backlog_files: row.get(3),
        oldest_waiting_age_s: row.get(4),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> PlannedFile {
        PlannedFile {
            name: name.into(),
            size: 1,
            mtime_us: 0,
            discovered_at_us: 0,
        }
    }

    fn names(list: &[&str]) -> HashSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_claim_keeps_its_files_skips_committed_ones_and_retries_held_ones() {
        let files = ["a.csv", "b.csv", "c.csv", "d.csv"].map(file).to_vec();
        let split = split(files, &names(&["a.csv", "d.csv"]), &names(&["b.csv"]));
        assert_eq!(split.claimed, vec![file("a.csv"), file("d.csv")]);
        assert_eq!(split.done_elsewhere, vec!["b.csv".to_string()]);
        assert_eq!(split.held_elsewhere, vec!["c.csv".to_string()]);
    }

    #[test]
    fn a_file_claimed_is_kept_even_if_also_reported_committed() {
        // The two reads are separate statements; the claim is the one that counts.
        let split = split(vec![file("a.csv")], &names(&["a.csv"]), &names(&["a.csv"]));
        assert_eq!(split.claimed, vec![file("a.csv")]);
        assert!(split.done_elsewhere.is_empty() && split.held_elsewhere.is_empty());
    }
}
