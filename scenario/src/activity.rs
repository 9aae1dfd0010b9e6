//! The database's own counters around a run (cache, WAL, checkpoints, the
//! table's activity): read before the pipeline starts, once a second while
//! it runs (to see when checkpoints end), and after it stopped. A reading
//! that fails (the database stopped by a failover schedule) is skipped; the
//! report says which figures it could not read.

use std::time::Duration;

use pipeline::db::DbTarget;
use reporter::collect::activity::{read_server_stats, ActivityRecord, ServerStats};
use reporter::collect::gather::quote_ident;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Between two readings while the run goes on.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Between the pipeline's stop and the last reading.
const BACKEND_EXIT: Duration = Duration::from_millis(500);

/// Reads the counters until [`ActivitySampler::finish`].
pub struct ActivitySampler {
    target: DbTarget,
    table: String,
    before: Option<ServerStats>,
    stop: CancellationToken,
    task: JoinHandle<Vec<ServerStats>>,
}

impl ActivitySampler {
    /// Takes the first reading now and samples from then on.
    pub async fn start(target: &DbTarget, table: &str) -> Self {
        let table = quote_ident(table);
        let before = read(target, &table).await;
        let stop = CancellationToken::new();
        let task = {
            let (target, table, stop) = (target.clone(), table.clone(), stop.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut client = None;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(SAMPLE_INTERVAL) => {}
                        _ = stop.cancelled() => return samples,
                    }
                    if client
                        .as_ref()
                        .is_none_or(tokio_postgres::Client::is_closed)
                    {
                        client = target.connect().await.ok();
                    }
                    let Some(connected) = &client else { continue };
                    if let Ok(stats) = read_server_stats(connected, &table).await {
                        samples.push(stats);
                    }
                }
            })
        };
        Self {
            target: target.clone(),
            table,
            before,
            stop,
            task,
        }
    }

    /// Stops sampling and takes the last reading; `None` when the first or
    /// the last could not be read.
    pub async fn finish(self) -> Option<ActivityRecord> {
        self.stop.cancel();
        let samples = self.task.await.unwrap_or_default();
        // A backend adds its counters to the server's when it exits: give
        // the stopped pipeline's connections that moment.
        tokio::time::sleep(BACKEND_EXIT).await;
        let after = read(&self.target, &self.table).await?;
        Some(ActivityRecord {
            before: self.before?,
            samples,
            after,
        })
    }
}

async fn read(target: &DbTarget, table: &str) -> Option<ServerStats> {
    let client = target.connect().await.ok()?;
    read_server_stats(&client, table).await.ok()
}
