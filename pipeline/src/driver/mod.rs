//! The run loop: recover, then discover → plan → execute → record, paced by
//! the trigger, until the input is drained (available-now) or the run is
//! cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::batch::{self, BatchContext, BatchOutcome, FileOutcome};
use crate::checkpoint::{
    self, Checkpoint, CheckpointError, CommittedBatch, Loaded, Plan, PlanWrite, PlannedFile,
    FORMAT_VERSION,
};
use crate::claims::{self, Claims, WorkerGauges};
use crate::config::{IngestConfig, Trigger, WriteTiming};
use crate::db::{self, CheckpointLease, DbTarget};
use crate::discover::{now_us, Discovery};
use crate::schema::TableSchema;
use crate::sink::{ledger, Sink, WritePath};
use crate::stage::{Stage, StageProbe};
use crate::transform::{Transform, DEFAULT_EVENTS_SQL, DISTINCT_KEYS_EVENTS_SQL};

mod after_commit;
mod error;
mod observe;
mod on_arrival;
mod retry;

use after_commit::{clean_up, move_quarantined};
pub use error::PipelineError;
pub use observe::{IngestSummary, LogObserver, Observer, QuietObserver};
use retry::tenths;

/// Completes `grace` after `cancel` fires.
async fn grace_expired(cancel: &CancellationToken, grace: Duration) {
    cancel.cancelled().await;
    tokio::time::sleep(grace).await;
}

/// Runs the pipeline until the trigger says stop or `cancel` fires.
pub async fn run(
    config: &IngestConfig,
    db: &DbTarget,
    cancel: CancellationToken,
    observer: Arc<dyn Observer>,
) -> Result<IngestSummary, PipelineError> {
    config.validate().map_err(PipelineError::Config)?;
    // The run's own byte counts (the target may serve others in this process).
    let db = &db.counted_anew();
    let table = Arc::new(config.table.validate()?);
    let transform = Transform::new(
        transform_sql(config, &table)?,
        Arc::clone(&table),
        config.partitions,
    )
    .with_distinct_keys_sql(distinct_keys_sql(config, &table));
    transform.check().await?;
    prepare_input_folder(&config.input)?;

    if config.reset_checkpoint {
        if let Some(aside) = checkpoint::set_aside(&config.checkpoint)? {
            tracing::warn!(old = %aside.display(), "checkpoint folder moved aside: every file in the input folder is ingested again");
        }
    }
    let (checkpoint, loaded) = open_checkpoint(config)?;
    let claims = config
        .pipeline
        .clone()
        .map(|pipeline| Claims::new(pipeline, checkpoint.id().to_string(), config.claim_lease));
    let mut runner = Runner {
        config,
        discovery: match config.trigger {
            Trigger::AvailableNow => {
                Discovery::listing_only(&config.input, &config.glob, config.settle_time)?
            }
            _ => Discovery::new(&config.input, &config.glob, config.settle_time)?,
        },
        sink: Arc::new(
            Sink::new(
                db.pool(2),
                checkpoint.id().to_string(),
                Arc::clone(&table),
                config.write_mode,
                config.batch_size,
            )
            .with_claims(claims.clone()),
        ),
        claims,
        gauges: Arc::new(WorkerGauges::default()),
        heartbeat: None,
        table,
        transform: Arc::new(transform),
        checkpoint,
        lease: None,
        db,
        bytes_per_row: 100.0,
        summary: IngestSummary::default(),
        observer,
        cancel,
        answered: false,
    };
    let outcome = match runner.start(loaded).await {
        Ok(()) => runner.run_trigger_loop().await,
        Err(error) => Err(error),
    };
    runner.stop_heartbeat().await;
    match outcome {
        Ok(()) => {}
        Err(PipelineError::StoppedWaiting) => tracing::warn!(
            "stopped while waiting for the database; nothing was left half-done, the next start \
             goes on from the checkpoint"
        ),
        Err(error) => return Err(error),
    }
    let mut summary = runner.summary;
    summary.checkpoint_io = runner.checkpoint.io_summary();
    summary.database_bytes_sent = db.wire().sent();
    summary.database_bytes_received = db.wire().received();
    if config.fail_on_rejects && (summary.rows_rejected > 0 || summary.files_quarantined > 0) {
        return Err(PipelineError::Rejects {
            rows: summary.rows_rejected,
            files: summary.files_quarantined,
        });
    }
    Ok(summary)
}

/// The checkpoint folder; a worker of a named pipeline takes the first
/// `worker-N` folder inside it that no other process holds.
fn open_checkpoint(config: &IngestConfig) -> Result<(Checkpoint, Loaded), PipelineError> {
    if config.pipeline.is_none() {
        return Ok(Checkpoint::open(&config.checkpoint)?);
    }
    const SLOTS: usize = 256;
    for slot in 1..=SLOTS {
        match Checkpoint::open(&config.checkpoint.join(format!("worker-{slot}"))) {
            Err(CheckpointError::InUse { .. }) => continue,
            opened => return Ok(opened?),
        }
    }
    Err(PipelineError::Config(format!(
        "all {SLOTS} worker checkpoint folders in {} are in use: stop a worker, or give this one \
         its own --checkpoint",
        config.checkpoint.display()
    )))
}

/// The input folder must be a folder; a missing one is created, and the
/// run says so (a mistyped path would otherwise wait silently forever).
fn prepare_input_folder(input: &std::path::Path) -> Result<(), PipelineError> {
    if input.is_dir() {
        return Ok(());
    }
    if input.exists() {
        return Err(input_not_a_folder(input));
    }
    std::fs::create_dir_all(input).map_err(|error| {
        PipelineError::Config(format!(
            "the input folder {} does not exist and cannot be created ({error}): check the path",
            input.display()
        ))
    })?;
    tracing::warn!(input = %input.display(), "the input folder did not exist: created it, empty; check the path if files were expected there");
    Ok(())
}

/// The error for an input path that is not a folder, and what to do.
pub(crate) fn input_not_a_folder(input: &std::path::Path) -> PipelineError {
    PipelineError::Config(format!(
        "the input path {} is not a folder: point --input (or `input`) at the folder the files \
         arrive in",
        input.display()
    ))
}

/// The transform's SQL: the user's file, or the built-in dedupe.
pub(crate) fn transform_sql(
    config: &IngestConfig,
    table: &TableSchema,
) -> Result<String, PipelineError> {
    match &config.transform {
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            PipelineError::Config(format!(
                "cannot read the transform SQL {}: {error}",
                path.display()
            ))
        }),
        None if table.has_events_columns() => Ok(DEFAULT_EVENTS_SQL.to_string()),
        None => Ok(table.default_transform_sql()),
    }
}

/// The built-in transform's form for a chunk whose keys are all distinct;
/// none for the user's own SQL (sluice cannot know what it does).
pub(crate) fn distinct_keys_sql(config: &IngestConfig, table: &TableSchema) -> Option<String> {
    match &config.transform {
        Some(_) => None,
        None if table.has_events_columns() => Some(DISTINCT_KEYS_EVENTS_SQL.to_string()),
        None => Some(table.distinct_keys_sql()),
    }
}

struct Runner<'a> {
    config: &'a IngestConfig,
    table: Arc<TableSchema>,
    discovery: Discovery,
    sink: Arc<Sink>,
    transform: Arc<Transform>,
    checkpoint: Checkpoint,
    /// With several workers: how this one claims its files.
    claims: Option<Claims>,
    /// What this worker's heartbeat publishes.
    gauges: Arc<WorkerGauges>,
    /// The heartbeat task and its stop, once the tables exist.
    heartbeat: Option<(tokio::task::JoinHandle<()>, CancellationToken)>,
    /// The checkpoint's advisory lock in the database (taken at start).
    lease: Option<CheckpointLease>,
    db: &'a DbTarget,
    /// Running estimate for the rows-per-trigger cap.
    bytes_per_row: f64,
    summary: IngestSummary,
    observer: Arc<dyn Observer>,
    cancel: CancellationToken,
    /// The database has answered once: from then on an unreachable database
    /// is an outage, waited out up to `retry.deadline`; before, a start-up
    /// problem, given `retry.startup`.
    answered: bool,
}

impl Runner<'_> {
    /// Connects (waiting out an outage up to the deadline), migrates, and
    /// recovers: records batches the database committed that the log lacks,
    /// and replays the interrupted batch with exactly the same files.
    async fn start(&mut self, loaded: checkpoint::Loaded) -> Result<(), PipelineError> {
        let db = self.db;
        let checkpoint_id = self.checkpoint.id().to_string();
        let damaged = !loaded.damage.is_empty();
        if damaged {
            tracing::warn!(damage = ?loaded.damage, "checkpoint damaged; rebuilding the processed files from sluice_batches");
        }
        let logged_through = self.checkpoint.logged_through();
        let table = &Arc::clone(&self.table);
        // Everything start needs from the database, retried as one unit: a
        // connection lost half-way (an outage, a terminated backend) starts over.
        let facts = self
            .with_retry(|| async {
                let lease = CheckpointLease::acquire(db, &checkpoint_id).await?;
                let mut client = db.connect().await?;
                db::migrate(&mut client, table).await?;
                let last = ledger::last_batch_id(&client, &checkpoint_id).await?;
                let rebuilt = if damaged {
                    Some(ledger::committed_files(&client, &checkpoint_id).await?)
                } else {
                    None
                };
                let after_from = if damaged { last } else { logged_through };
                let after = ledger::committed_after(&client, &checkpoint_id, after_from).await?;
                let target = ledger::target_state(&client, table, &checkpoint_id).await?;
                if let Some(plan) = &loaded.plan {
                    ledger::reserve_batch_id(&client, plan.batch_id).await?;
                }
                Ok((lease, rebuilt, last, after, target))
            })
            .await?;
        self.answered = true;
        self.start_heartbeat();
        let (lease, rebuilt, last, after, (upserted, has_rows)) = facts;
        self.lease = Some(lease);
        if upserted > 0 && !has_rows {
            return Err(PipelineError::TargetLost {
                table: self.table.table.to_string(),
                checkpoint: self.checkpoint.dir().to_path_buf(),
                rows: upserted,
            });
        }
        let checkpoint = &mut self.checkpoint;
        if let Some(files) = rebuilt {
            checkpoint.rebuild(files, last)?;
        }
        let recovery = checkpoint::decide(
            loaded.plan.as_ref(),
            checkpoint.logged_through(),
            &after,
            last,
        )
        .map_err(|inconsistency| match inconsistency {
            checkpoint::Inconsistency::DatabaseBehind { logged, database } => {
                CheckpointError::DatabaseBehind {
                    path: checkpoint.dir().to_path_buf(),
                    logged,
                    database: database.map_or_else(
                        || "none (the database has no batch of it)".into(),
                        |id| id.to_string(),
                    ),
                }
            }
        })?;
        for commit in &recovery.record {
            checkpoint.record_commit(commit)?;
        }
        let checkpoint = &self.checkpoint;
        self.discovery
            .list(|name: &str| checkpoint.processed(name))?;
        self.handle_seen_again();
        if let Some(mut plan) = recovery.replay {
            self.discovery
                .claim(plan.files.iter().map(|f| f.name.as_str()));
            if self.claims.is_some() {
                // Another worker may have taken over some of its files while
                // this one was down: the batch is replayed with the rest.
                plan.files = self.claim(std::mem::take(&mut plan.files)).await?;
                if plan.files.is_empty() {
                    return Ok(());
                }
                self.checkpoint.write_plan(&plan)?;
            }
            tracing::info!(
                batch = plan.batch_id,
                files = plan.files.len(),
                "replaying the interrupted batch"
            );
            self.summary.replayed_batches += 1;
            self.run_batch(&plan, PlanWrite::written()).await?;
        }
        Ok(())
    }

    /// A worker of a shared pipeline renews its claims until the run has
    /// ended (a stop lets the batch in flight finish first), then gives
    /// them back. Started once the migrations made its tables.
    fn start_heartbeat(&mut self) {
        let Some(claims) = self.claims.clone() else {
            return;
        };
        tracing::info!(pipeline = claims.pipeline(), worker = claims.worker(), checkpoint = %self.checkpoint.dir().display(), "worker of a shared pipeline: files are claimed through the database");
        let stop = CancellationToken::new();
        let task = tokio::spawn(claims::heartbeat(
            self.db.clone(),
            claims,
            Arc::clone(&self.gauges),
            self.checkpoint.dir().display().to_string(),
            stop.clone(),
        ));
        self.heartbeat = Some((task, stop));
    }

    async fn stop_heartbeat(&mut self) {
        if let Some((task, stop)) = self.heartbeat.take() {
            stop.cancel();
            let _ = task.await;
        }
    }

    /// Of `files`, those this worker now holds (all of them for a single
    /// process). Files another worker committed are never looked at again;
    /// those it holds are looked at again at the next listing.
    async fn claim(&mut self, files: Vec<PlannedFile>) -> Result<Vec<PlannedFile>, PipelineError> {
        let Some(claims) = self.claims.clone() else {
            return Ok(files);
        };
        let sink = Arc::clone(&self.sink);
        let split = self
            .with_retry(|| async {
                claims
                    .claim(&*sink.connection().await?, files.clone())
                    .await
            })
            .await?;
        self.summary.files_committed_elsewhere += split.done_elsewhere.len() as u64;
        self.observer
            .files_claimed(split.claimed.len(), split.done_elsewhere.len());
        self.discovery
            .forget(split.held_elsewhere.iter().map(String::as_str));
        Ok(split.claimed)
    }

    /// A batch rolled back because another worker took over some of its
    /// files: all of them are looked at again (the claim sorts them out).
    fn lost_claims(&mut self, plan: &Plan, error: &dyn std::fmt::Display) {
        tracing::warn!(%error, "batch rolled back");
        self.summary.claims_lost += 1;
        self.observer.claims_lost();
        self.discovery
            .forget(plan.files.iter().map(|f| f.name.as_str()));
    }

    async fn run_trigger_loop(&mut self) -> Result<(), PipelineError> {
        let mut next_tick = Instant::now();
        let mut last_listing = Instant::now();
        loop {
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            match self.config.trigger {
                Trigger::AvailableNow => {
                    // Files still being written in place are waited for:
                    // they were present at start.
                    while self.discovery.pending_len() == 0 && self.discovery.settling_len() > 0 {
                        tokio::select! {
                            _ = self.discovery.wait(self.config.settle_time) => {}
                            _ = self.cancel.cancelled() => return Ok(()),
                        }
                        self.refresh(&mut last_listing)?;
                    }
                    // No listing runs between these batches: the backlog
                    // shrinks by each batch's files.
                    self.observer.backlog(self.discovery.pending_len());
                    if self.discovery.pending_len() == 0 {
                        return Ok(());
                    }
                }
                Trigger::Interval(interval)
                    if self.config.write_timing == WriteTiming::OnArrival =>
                {
                    self.run_on_arrival_batch(next_tick, &mut last_listing)
                        .await?;
                    // Spark semantics: ticks at fixed multiples; after an
                    // overrun the next batch starts at once.
                    next_tick = (next_tick + interval).max(Instant::now());
                    continue;
                }
                Trigger::Interval(interval) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(next_tick) => {}
                        _ = self.cancel.cancelled() => return Ok(()),
                    }
                    next_tick = (next_tick + interval).max(Instant::now());
                    self.refresh(&mut last_listing)?;
                }
                Trigger::Continuous => {
                    self.refresh(&mut last_listing)?;
                    while self.discovery.pending_len() == 0 {
                        let until_listing = self
                            .config
                            .listing_interval
                            .saturating_sub(last_listing.elapsed());
                        tokio::select! {
                            _ = self.discovery.wait(until_listing) => {}
                            _ = self.cancel.cancelled() => return Ok(()),
                        }
                        self.refresh(&mut last_listing)?;
                    }
                }
            }
            if self.discovery.pending_len() == 0 {
                continue;
            }
            let files = self.discovery.take(
                self.config.max_files_per_trigger,
                self.config.max_rows_per_trigger,
                self.bytes_per_row,
            );
            let files = self.claim(files).await?;
            if files.is_empty() {
                continue;
            }
            let plan = self.new_plan(files).await?;
            let plan_write = self.checkpoint.persist_plan(&plan)?;
            self.run_batch(&plan, plan_write).await?;
        }
    }

    /// What a batch works with, held apart from the runner so the runner
    /// stays free to record, retry and renew while a batch runs.
    fn batch_parts(&self) -> BatchParts {
        BatchParts {
            table: Arc::clone(&self.table),
            sink: Arc::clone(&self.sink),
            transform: Arc::clone(&self.transform),
        }
    }

    /// Takes the checkpoint's database lock again if its connection was
    /// lost (an outage), waiting out the outage up to the deadline: no batch
    /// may open while another process could own the checkpoint.
    async fn renew_lease(&mut self) -> Result<(), PipelineError> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        if !lease.is_lost() {
            return Ok(());
        }
        let (db, checkpoint_id) = (self.db, self.checkpoint.id().to_string());
        let lease = self
            .with_retry(|| CheckpointLease::acquire(db, &checkpoint_id))
            .await?;
        self.lease = Some(lease);
        Ok(())
    }

    /// A plan for `files` under a new batch id from the database's
    /// sequence (waiting out an outage up to the deadline).
    async fn new_plan(&mut self, files: Vec<PlannedFile>) -> Result<Plan, PipelineError> {
        let sink = Arc::clone(&self.sink);
        let batch_id = self
            .with_retry(|| async { ledger::next_batch_id(&*sink.connection().await?).await })
            .await?;
        Ok(Plan {
            version: FORMAT_VERSION,
            batch_id,
            planned_at_us: now_us(),
            files,
        })
    }

    /// The oldest pending files that still fit the trigger's caps, given
    /// what `plan` already holds.
    fn take_within_caps(&mut self, plan: Option<&Plan>) -> Vec<PlannedFile> {
        let (files, bytes) = plan.map_or((0, 0), |plan| {
            (
                plan.files.len(),
                plan.files.iter().map(|f| f.size).sum::<u64>(),
            )
        });
        let max_files = self.config.max_files_per_trigger.saturating_sub(files);
        let max_rows = match self.config.max_rows_per_trigger {
            Some(limit) if files > 0 => {
                let rows = (bytes as f64 / self.bytes_per_row.max(1.0)) as u64;
                match limit.checked_sub(rows) {
                    Some(left) if left > 0 => Some(left),
                    _ => return Vec::new(),
                }
            }
            limit => limit,
        };
        if max_files == 0 {
            return Vec::new();
        }
        self.discovery.take(max_files, max_rows, self.bytes_per_row)
    }

    fn roll_back_at_shutdown(&mut self, batch_id: u64) {
        tracing::warn!(
            batch = batch_id,
            grace = ?self.config.shutdown_grace,
            "stopping: the batch in flight did not finish within the shutdown grace period; rolled back, the next start replays it"
        );
        self.summary.rolled_back_batches += 1;
    }

    /// Applies watcher events; lists the folder when the watcher lost events
    /// or the listing interval passed.
    fn refresh(&mut self, last_listing: &mut Instant) -> Result<(), PipelineError> {
        let checkpoint = &self.checkpoint;
        let rescan = self
            .discovery
            .drain(|name: &str| checkpoint.processed(name));
        if rescan || last_listing.elapsed() >= self.config.listing_interval {
            self.discovery
                .list(|name: &str| checkpoint.processed(name))?;
            *last_listing = Instant::now();
        }
        self.handle_seen_again();
        let backlog = self.discovery.pending_len();
        self.observer.backlog(backlog);
        self.gauges
            .backlog_files
            .store(backlog as u64, std::sync::atomic::Ordering::Relaxed);
        self.gauges.oldest_waiting_us.store(
            self.discovery.oldest_pending_mtime_us().unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    /// Committed files found in the folder again: unchanged ones are cleaned
    /// up (a crash came between their commit and clean-up); replaced ones
    /// are reported and left alone.
    fn handle_seen_again(&mut self) {
        let mut cleaned = Vec::new();
        let mut quarantined = Vec::new();
        for name in self.discovery.take_leftovers() {
            match self.checkpoint.committed(&name) {
                // A crash came between the commit and the quarantine move.
                Some(record) if record.quarantined => quarantined.push((
                    name,
                    "quarantined by an earlier batch (its reason is in sluice_quarantine); moved \
                     here after a restart"
                        .to_string(),
                )),
                record => {
                    let hash = record.and_then(|record| record.hash);
                    cleaned.push((name, hash));
                }
            }
        }
        move_quarantined(
            &self.config.input,
            &self.config.quarantine_dir(),
            &quarantined,
        );
        clean_up(self.config, &cleaned);
        for replaced in self.discovery.take_replaced() {
            tracing::warn!(
                file = %replaced.name,
                committed_size = replaced.committed.size,
                found_size = replaced.found.size,
                committed_mtime_us = replaced.committed.mtime_us,
                found_mtime_us = replaced.found.mtime_us,
                "a file already ingested under this name was replaced (other size or modification time); \
                 sluice ingests a name once, so its new content is NOT ingested: give it a new name to ingest it"
            );
            self.summary.files_replaced += 1;
        }
    }

    /// Executes a planned batch, retrying the whole batch while the database
    /// is unreachable, then records the commit and tidies quarantined files.
    async fn run_batch(
        &mut self,
        plan: &Plan,
        mut plan_write: PlanWrite,
    ) -> Result<(), PipelineError> {
        let started_at_us = now_us();
        let parts = self.batch_parts();
        let context = parts.context(self.config);
        let outcome = {
            let mut first_failure: Option<Instant> = None;
            let mut attempt = 0;
            let mut path = WritePath::Fast;
            loop {
                self.renew_lease().await?;
                let attempt_result = tokio::select! {
                    result = batch::execute(&context, plan, &mut plan_write, started_at_us, path) => result,
                    // Dropping the batch drops its transaction: nothing of it
                    // commits, and its plan makes the next start replay it.
                    _ = grace_expired(&self.cancel, self.config.shutdown_grace) => {
                        self.roll_back_at_shutdown(plan.batch_id);
                        return Ok(());
                    }
                };
                match attempt_result {
                    Ok(outcome) => break outcome,
                    Err(error) if error.key_race() && path == WritePath::Fast => {
                        tracing::info!(%error, batch = plan.batch_id, "another writer stored a key of the batch meanwhile; writing the batch again through the merge");
                        path = WritePath::MergeOnly;
                    }
                    Err(error) if error.is_refused() && path != WritePath::IsolateRefused => {
                        tracing::warn!(%error, batch = plan.batch_id, "the database refused a row; writing the batch again to find the refused rows, which become rejects");
                        path = WritePath::IsolateRefused;
                    }
                    Err(error) if error.committed_earlier() => {
                        return self.record_earlier_commit(plan).await;
                    }
                    Err(error) if error.claim_lost() => {
                        self.lost_claims(plan, &error);
                        return Ok(());
                    }
                    Err(error) if error.is_transient() => {
                        attempt += 1;
                        let since = *first_failure.get_or_insert_with(Instant::now);
                        self.summary.database_retries += 1;
                        if since.elapsed() >= self.config.retry.deadline {
                            return Err(PipelineError::DatabaseUnavailable {
                                waited: tenths(since.elapsed()),
                                deadline: self.config.retry.deadline,
                                last_error: error.to_string(),
                                interrupted: Some(plan.batch_id),
                            });
                        }
                        let delay = self.config.retry.delay(attempt, rand::random::<f64>());
                        if attempt == 1 {
                            tracing::warn!(%error, batch = plan.batch_id, "database unavailable; retrying the batch with back-off");
                        }
                        self.observer
                            .database_unavailable(&error.to_string(), delay);
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            // Cancelled while waiting: the batch is rolled back and
                            // replayed by the next run.
                            _ = self.cancel.cancelled() => return Ok(()),
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        self.finish_batch(plan, &outcome)
    }

    /// A batch the database committed in an earlier attempt whose answer
    /// was lost (the connection dropped after COMMIT was sent): records the
    /// commit as the database holds it, as recovery at a restart would.
    async fn record_earlier_commit(&mut self, plan: &Plan) -> Result<(), PipelineError> {
        tracing::warn!(
            batch = plan.batch_id,
            "the batch committed in an earlier attempt whose answer was lost; recording that commit"
        );
        let (sink, checkpoint_id) = (Arc::clone(&self.sink), self.checkpoint.id().to_string());
        let committed = self
            .with_retry(|| async {
                let client = sink.connection().await?;
                ledger::committed_after(&client, &checkpoint_id, Some(plan.batch_id - 1)).await
            })
            .await?;
        for commit in committed.iter().filter(|c| c.batch_id == plan.batch_id) {
            self.checkpoint.record_commit(commit)?;
            self.summary.batches += 1;
            self.summary.files += commit.files.len() as u64;
        }
        Ok(())
    }

    /// After the commit: logs it, moves quarantined files, cleans up
    /// committed ones and counts the batch.
    fn finish_batch(&mut self, plan: &Plan, outcome: &BatchOutcome) -> Result<(), PipelineError> {
        let commit = CommittedBatch {
            batch_id: plan.batch_id,
            files: outcome.files.iter().map(FileOutcome::committed).collect(),
        };
        self.checkpoint.record_commit(&commit)?;
        StageProbe::mark(Stage::Logged, plan.batch_id);
        let bytes: u64 = plan.files.iter().map(|f| f.size).sum();
        if outcome.rows_read > 0 {
            self.bytes_per_row = bytes as f64 / outcome.rows_read as f64;
        }
        let (quarantined, ingested): (Vec<&FileOutcome>, Vec<&FileOutcome>) =
            outcome.files.iter().partition(|f| f.quarantined.is_some());
        let quarantined: Vec<(String, String)> = quarantined
            .into_iter()
            .map(|f| {
                let reason = f.quarantined.clone().unwrap_or_default();
                (
                    f.name.clone(),
                    format!("{reason}\nbatch {}", outcome.batch_id),
                )
            })
            .collect();
        move_quarantined(
            &self.config.input,
            &self.config.quarantine_dir(),
            &quarantined,
        );
        let ingested: Vec<(String, Option<u32>)> = ingested
            .into_iter()
            .map(|f| (f.name.clone(), f.hash))
            .collect();
        clean_up(self.config, &ingested);
        self.summary.add(outcome);
        self.gauges
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.gauges
            .rows_upserted
            .fetch_add(outcome.rows_upserted, std::sync::atomic::Ordering::Relaxed);
        self.observer.batch_committed(outcome);
        Ok(())
    }
}

/// The shared parts of the run a batch needs.
struct BatchParts {
    table: Arc<TableSchema>,
    sink: Arc<Sink>,
    transform: Arc<Transform>,
}

impl BatchParts {
    fn context<'a>(&'a self, config: &'a IngestConfig) -> BatchContext<'a> {
        BatchContext {
            table: &self.table,
            sink: &self.sink,
            transform: &self.transform,
            input: &config.input,
            chunk_rows: config.chunk_rows,
            limits: config.limits(),
            stages: &config.stage_probe,
        }
    }
}
