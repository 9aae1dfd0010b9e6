//! `sluice run`: database, pipeline and generator together, then the report.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use generator::{GeneratorConfig, GeneratorSummary};
use pipeline::config::{IngestConfig, Trigger};
use pipeline::driver::{self, IngestSummary, PipelineError};
use reporter::{ConfiguredTrigger, ReportRequest, RunContext, RunEvent, Summary};
use tokio_util::sync::CancellationToken;

use crate::activity::ActivitySampler;
use crate::database::{self, DatabaseError};
use crate::external::{DrainJudge, ExternalPipeline, ExternalProcess, Placeholders, TableRows};
use crate::failover;
use crate::pipeline_process::PipelineProcess;
use crate::progress::Progress;
use crate::resources::{Sample, SampledPids, Sampler};

/// How often `sluice run` samples CPU and memory.
const RESOURCE_SAMPLE_INTERVAL: Duration = Duration::from_millis(500);
use crate::ScenarioFile;

/// What a finished run produced.
pub struct RunOutcome {
    pub run_dir: PathBuf,
    pub summary: Summary,
    pub ingest: IngestSummary,
    pub generator: GeneratorSummary,
    /// Whether the pipeline committed every generated file before the drain timeout.
    pub drained: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("the pipeline failed: {0}")]
    Pipeline(#[from] PipelineError),
    #[error("the generator failed: {0}")]
    Generator(#[from] generator::GeneratorError),
    #[error("the report failed: {0}")]
    Report(#[from] reporter::ReportError),
    #[error("cannot create the run folder {path}: {source}")]
    RunDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect for the report: {0}")]
    ReportConnect(#[from] pipeline::db::DbError),
    #[error("a task of the run panicked: {0}")]
    Task(String),
    #[error("failover: {0}")]
    Failover(String),
    #[error("the pipeline process: {0}")]
    PipelineProcess(String),
}

/// Where the pipeline of a run executes.
enum Pipeline {
    /// A task of this process (the pipeline's observer feeds the progress bar).
    InProcess {
        task: tokio::task::JoinHandle<Result<IngestSummary, PipelineError>>,
        stop: CancellationToken,
    },
    /// Separate `sluice ingest` processes (one, or the workers of a shared
    /// pipeline) that failover runs kill and restart.
    Children(Vec<Arc<Mutex<PipelineProcess>>>),
    /// The user's own pipeline (`[pipeline] command`), not sluice.
    External {
        process: Mutex<ExternalProcess>,
        quiet: Duration,
    },
}

/// How long an external pipeline may take to stop when asked before its
/// process tree is killed (a JVM finishing its micro-batch).
const EXTERNAL_STOP_GRACE: Duration = Duration::from_secs(30);

impl Pipeline {
    fn has_exited(&self) -> bool {
        match self {
            Self::InProcess { task, .. } => task.is_finished(),
            // A killed process is restarted; the run ends by the drain.
            Self::Children(_) => false,
            Self::External { process, .. } => {
                process.lock().expect("pipeline lock").exited().is_some()
            }
        }
    }

    /// Stops the pipeline; returns its counters (a separate process's are in
    /// its log) and what the report states about it.
    async fn stop(self) -> Result<(IngestSummary, Option<serde_json::Value>), RunError> {
        match self {
            Self::InProcess { task, stop } => {
                stop.cancel();
                let summary = task.await.map_err(|e| RunError::Task(e.to_string()))??;
                let facts = serde_json::to_value(&summary).ok();
                Ok((summary, facts))
            }
            Self::Children(processes) => {
                let workers = processes.len();
                let (mut restarts, mut exits) = (Vec::new(), Vec::new());
                for process in processes {
                    let process = Arc::into_inner(process)
                        .expect("the failover schedule (if any) is done")
                        .into_inner()
                        .expect("pipeline lock");
                    restarts.push(process.restarts);
                    let status = tokio::task::spawn_blocking(move || process.stop())
                        .await
                        .map_err(|e| RunError::Task(e.to_string()))?
                        .map_err(|e| RunError::PipelineProcess(format!("stopping it: {e}")))?;
                    exits.push(status.to_string());
                }
                let facts = if workers == 1 {
                    serde_json::json!({
                        "process": "separate sluice ingest process (log: pipeline.log)",
                        "restarts": restarts[0],
                        "last_exit": exits[0],
                    })
                } else {
                    serde_json::json!({
                        "process": format!("{workers} sluice ingest worker processes of one pipeline (logs: pipeline-worker-N.log)"),
                        "restarts": restarts.iter().sum::<u32>(),
                        "restarts_by_worker": restarts,
                        "last_exit_by_worker": exits,
                    })
                };
                Ok((IngestSummary::default(), Some(facts)))
            }
            Self::External { process, .. } => {
                let process = process.into_inner().expect("pipeline lock");
                let command = process.command.clone();
                let ended = tokio::task::spawn_blocking(move || process.stop(EXTERNAL_STOP_GRACE))
                    .await
                    .map_err(|e| RunError::Task(e.to_string()))?
                    .map_err(|e| RunError::PipelineProcess(format!("stopping it: {e}")))?;
                let facts = serde_json::json!({
                    "process": "external pipeline command (log: pipeline.log), sampled with every process it started",
                    "command": command,
                    "end": ended,
                });
                Ok((IngestSummary::default(), Some(facts)))
            }
        }
    }
}

/// Counts the run's committed files in `sluice_batches`, reconnecting after
/// an outage.
struct CommittedFiles<'a> {
    connection: database::Reconnecting<'a>,
    prefix: &'a str,
}

impl<'a> CommittedFiles<'a> {
    fn new(target: &'a pipeline::db::DbTarget, prefix: &'a str) -> Self {
        Self {
            connection: database::Reconnecting::new(target),
            prefix,
        }
    }

    async fn count(&mut self) -> Option<u64> {
        let row = self
            .connection
            .client()
            .await?
            .query_one(
                "SELECT count(*) FROM sluice_batches, jsonb_array_elements(files) f
                 WHERE starts_with(f->>'name', $1)",
                &[&self.prefix],
            )
            .await
            .ok()?;
        Some(row.get::<_, i64>(0) as u64)
    }
}

/// Runs a scenario; the report lands in `runs_root/<run-id>/`.
///
/// One function, longer than most, because it owns the run's concurrent
/// parts (sampler, pipeline, generator, the failover schedule, the drain)
/// and the order in which they start and stop; each part is a helper below.
pub async fn run(
    scenario: ScenarioFile,
    runs_root: &Path,
    cancel: CancellationToken,
    optimized_build: bool,
) -> Result<RunOutcome, RunError> {
    if let Some(failover) = &scenario.failover {
        failover
            .validate(scenario.duration)
            .map_err(RunError::Failover)?;
    }
    if scenario.external.is_some() && (scenario.failover.is_some() || scenario.worker_count() > 1) {
        return Err(RunError::PipelineProcess(
            "[failover] and [workers] start, kill and restart sluice's own processes: a \
             scenario run with a pipeline command cannot have them; remove them from the \
             scenario, or run it without the command"
                .into(),
        ));
    }
    if scenario.external_without_command.is_some() {
        tracing::warn!(
            "[pipeline] quiet, ready_timeout and a table name apply to a pipeline command; \
             without --pipeline-cmd or `command` they are ignored"
        );
    }
    let (run_id, run_dir) = create_run_dir(&scenario.name, runs_root)?;
    let input = run_dir.join("input");
    let database = database::resolve(scenario.database_url.as_deref())?;

    let mut ingest = scenario.pipeline.clone();
    if let Some(table) = scenario.external.as_ref().and_then(|e| e.table.clone()) {
        ingest.table.name = table;
    }
    ingest.input = input;
    ingest.checkpoint = run_dir.join("checkpoint");
    if scenario.worker_count() > 1 {
        // The run's workers share its files through their claims; each takes
        // a `worker-N` folder inside the run's checkpoint folder.
        ingest.pipeline = Some(run_id.clone());
    }
    let generator_config = generator_config(&scenario, &run_id, &run_dir);
    generator_config.validate()?;

    let postgres_pid = database
        .embedded
        .as_ref()
        .and_then(|server| server.postmaster_pid());
    let pids = if scenario.external.is_some() {
        SampledPids::process_tree(postgres_pid)
    } else {
        SampledPids::new(scenario.worker_count(), postgres_pid)
    };
    let sampler = Sampler::start(RESOURCE_SAMPLE_INTERVAL, Arc::clone(&pids));
    let progress = Arc::new(Progress::new(indicatif::ProgressBar::new_spinner()));
    let activity = ActivitySampler::start(&database.target, &ingest.table.name).await;
    let pipeline = match &scenario.external {
        Some(external) => {
            start_external(external, &ingest, &run_dir, &database.target, &pids).await?
        }
        None => start_pipeline(
            &scenario,
            &ingest,
            &run_dir,
            &database.target,
            &pids,
            &progress,
        )?,
    };
    let mut table_rows = TableRows::new(&database.target, &ingest.table.name);
    let rows_before = match &pipeline {
        Pipeline::External { .. } => table_rows.count().await.unwrap_or(0),
        _ => 0,
    };
    let (generated, interruptions) = generate_with_interruptions(
        &scenario,
        &generator_config,
        &pipeline,
        &database,
        &pids,
        &progress,
        &cancel,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + scenario.drain_timeout;
    let drained = if let Pipeline::External { quiet, .. } = &pipeline {
        let judge = DrainJudge::new(generated.expected_rows, *quiet);
        drain_external(
            &pipeline,
            &mut table_rows,
            rows_before,
            judge,
            deadline,
            &cancel,
        )
        .await
    } else {
        let mut ledger = CommittedFiles::new(&database.target, &generator_config.file_prefix);
        drain(
            &pipeline,
            &mut ledger,
            &progress,
            generated.files,
            deadline,
            &cancel,
        )
        .await
    };
    let (ingest_summary, pipeline_facts) = pipeline.stop().await?;
    let activity = activity.finish().await;
    let (samples, resources) = sampler.finish();
    save_run_files(&run_dir, &samples, &interruptions);
    progress.finish();
    if !drained {
        tracing::warn!(
            committed = progress.files_committed.load(Ordering::Relaxed),
            generated = generated.files,
            "the pipeline did not commit every file before the drain timeout; the report counts what is missing"
        );
    }

    let client = database.target.connect().await?;
    let request = ReportRequest {
        manifest_path: generator_config.manifest_path.clone(),
        out_dir: run_dir.clone(),
        table: ingest.table.name.clone(),
        rejects_table: ingest
            .table
            .validate()
            .map_err(PipelineError::Schema)?
            .rejects_table()
            .to_string(),
        key_column: ingest.table.key.clone(),
        run: Some(RunContext {
            scenario: scenario.name.clone(),
            run_id,
            settings: settings_table(&scenario, &ingest, &generator_config, &database.target),
            trigger: Some(configured_trigger(&ingest.trigger)),
            generator: Some(generated.clone()),
            pipeline: pipeline_facts,
            resources: Some(resources),
            activity,
            external_command: scenario.external.as_ref().map(|e| e.command.clone()),
        }),
        optimized_build,
        database_is_local: database.target.is_local(),
        // The P99 target, drawn on the latency-over-time chart.
        latency_target_ms: scenario.targets.as_ref().and_then(|t| t.p99_ms),
        targets: scenario.targets,
    };
    let summary = reporter::report(&client, &request).await?;
    Ok(RunOutcome {
        run_dir,
        summary,
        ingest: ingest_summary,
        generator: generated,
        drained,
    })
}

/// `runs/<scenario>-<local time>/input`, owner-only where that is the
/// platform's habit (a run holds its data).
fn create_run_dir(name: &str, runs_root: &Path) -> Result<(String, PathBuf), RunError> {
    let run_id = format!("{name}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    let run_dir = runs_root.join(&run_id);
    let input = run_dir.join("input");
    pipeline::checkpoint::create_private_dir(&input).map_err(|source| RunError::RunDir {
        path: input.clone(),
        source,
    })?;
    Ok((run_id, run_dir))
}

/// The trigger as the report shows it, with its interval when it has one.
fn configured_trigger(trigger: &Trigger) -> ConfiguredTrigger {
    ConfiguredTrigger {
        label: trigger.to_string(),
        interval: match trigger {
            Trigger::Interval(interval) => Some(*interval),
            Trigger::Continuous | Trigger::AvailableNow => None,
        },
    }
}

/// Runs the generator to its end (or a cancel) while the failover schedule,
/// if any, kills the pipeline process and stops the database; returns what
/// was generated and the interruptions carried out.
async fn generate_with_interruptions(
    scenario: &ScenarioFile,
    generator_config: &GeneratorConfig,
    pipeline: &Pipeline,
    database: &database::Database,
    pids: &Arc<SampledPids>,
    progress: &Arc<Progress>,
    cancel: &CancellationToken,
) -> Result<(GeneratorSummary, Vec<RunEvent>), RunError> {
    let started = tokio::time::Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let generator_task = {
        let (config, stop, progress) = (
            generator_config.clone(),
            Arc::clone(&stop),
            Arc::clone(progress),
        );
        tokio::task::spawn_blocking(move || {
            generator::generate(&config, &stop, &mut |entry| {
                progress.file_created(&entry.file, entry.created_at_us)
            })
        })
    };
    let stopper = {
        let (cancel, stop) = (cancel.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            cancel.cancelled().await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let interruptions = async {
        match (&scenario.failover, pipeline) {
            (Some(failover), Pipeline::Children(processes)) => {
                let server = database
                    .embedded
                    .as_ref()
                    .map(|server| (server.cluster().clone(), server.port()));
                failover::carry_out(
                    failover.schedule(),
                    started,
                    processes.clone(),
                    server,
                    Arc::clone(pids),
                    cancel.clone(),
                )
                .await
            }
            _ => Vec::new(),
        }
    };
    let (generated, interruptions) = tokio::join!(generator_task, interruptions);
    stopper.abort();
    let generated = generated.map_err(|e| RunError::Task(e.to_string()))??;
    Ok((generated, interruptions))
}

/// Starts the pipeline: as separate `sluice ingest` processes when the
/// scenario kills it on a schedule, asks for one, or has several workers;
/// else as a task of this process that reports its commits to the progress
/// bar.
fn start_pipeline(
    scenario: &ScenarioFile,
    ingest: &IngestConfig,
    run_dir: &Path,
    target: &pipeline::db::DbTarget,
    pids: &Arc<SampledPids>,
    progress: &Arc<Progress>,
) -> Result<Pipeline, RunError> {
    let workers = scenario.worker_count();
    if scenario.failover.is_some() || scenario.separate_process || workers > 1 {
        let processes = (0..workers)
            .map(|worker| {
                PipelineProcess::start(ingest, run_dir, target, Arc::clone(pids), worker)
                    .map(|process| Arc::new(Mutex::new(process)))
            })
            .collect::<Result<_, _>>()
            .map_err(RunError::PipelineProcess)?;
        Ok(Pipeline::Children(processes))
    } else {
        let (config, target, cancel, observer) = (
            ingest.clone(),
            target.clone(),
            CancellationToken::new(),
            Arc::clone(progress),
        );
        let stop = cancel.clone();
        let task =
            tokio::spawn(async move { driver::run(&config, &target, cancel, observer).await });
        Ok(Pipeline::InProcess { task, stop })
    }
}

/// Starts the user's pipeline command with the run's placeholders and waits
/// until it says it is ready (when it uses `{ready_file}`); a command that
/// fails to get ready is stopped, its log's end in the error.
async fn start_external(
    external: &ExternalPipeline,
    ingest: &IngestConfig,
    run_dir: &Path,
    target: &pipeline::db::DbTarget,
    pids: &Arc<SampledPids>,
) -> Result<Pipeline, RunError> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let values = Placeholders {
        input: absolute(&ingest.input),
        database_url: target.secret_url().to_string(),
        trigger: ingest.trigger.to_string(),
        ready_file: absolute(&run_dir.join("pipeline.ready")),
        checkpoint: absolute(&ingest.checkpoint),
        table: ingest.table.name.clone(),
    };
    pipeline::checkpoint::create_private_dir(&values.checkpoint).map_err(|source| {
        RunError::RunDir {
            path: values.checkpoint.clone(),
            source,
        }
    })?;
    let mut process =
        ExternalProcess::start(external, &values, &run_dir.join("pipeline.log"), pids)
            .map_err(RunError::PipelineProcess)?;
    if external.uses_ready_file() {
        if let Err(error) = process
            .wait_ready(&values.ready_file, external.ready_timeout)
            .await
        {
            let _ = tokio::task::spawn_blocking(move || process.stop(Duration::from_secs(5))).await;
            return Err(RunError::PipelineProcess(error));
        }
    } else {
        tracing::info!(
            "the pipeline command does not use {{ready_file}}: the load starts at once, and its \
             start-up time counts in the first files' latency"
        );
    }
    Ok(Pipeline::External {
        process: Mutex::new(process),
        quiet: external.quiet,
    })
}

/// Waits until the external pipeline's table holds every expected row or
/// has gained none for its quiet stretch, the pipeline exits, the run is
/// cancelled or the deadline passes; `true` when every expected row came.
async fn drain_external(
    pipeline: &Pipeline,
    table_rows: &mut TableRows<'_>,
    rows_before: u64,
    mut judge: DrainJudge,
    deadline: tokio::time::Instant,
    cancel: &CancellationToken,
) -> bool {
    let began = tokio::time::Instant::now();
    while !pipeline.has_exited() && !cancel.is_cancelled() && tokio::time::Instant::now() < deadline
    {
        let gained = table_rows
            .count()
            .await
            .map(|rows| rows.saturating_sub(rows_before));
        let complete = gained.is_some_and(|rows| judge.reached(rows));
        if judge.done(gained, began.elapsed()) {
            return complete;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// The generator's settings for this run: the scenario's, writing into the
/// run's input folder with names unique to the run (reports select rows by
/// file name).
fn generator_config(scenario: &ScenarioFile, run_id: &str, run_dir: &Path) -> GeneratorConfig {
    GeneratorConfig {
        out_dir: run_dir.join("input"),
        manifest_path: run_dir.join("manifest.jsonl"),
        file_prefix: run_id.to_string(),
        id_prefix: format!("{run_id}-"),
        rows_min: scenario.generator.rows_min,
        rows_max: scenario.generator.rows_max,
        interval: scenario.generator.interval,
        duration: scenario.duration,
        max_files: None,
        seed: scenario.generator.seed,
        dup_rate: scenario.generator.dup_rate,
        bad_rate: scenario.generator.bad_rate,
        rate: scenario.generator.rate.clone(),
        sources: scenario.generator.sources,
    }
}

/// The configuration table of the report: the settings that shape the
/// figures, as a person reads them.
fn settings_table(
    scenario: &ScenarioFile,
    ingest: &IngestConfig,
    generator_config: &GeneratorConfig,
    target: &pipeline::db::DbTarget,
) -> Vec<(String, String)> {
    let load = [
        (
            "rows per file".to_string(),
            format!(
                "{}–{}",
                generator_config.rows_min, generator_config.rows_max
            ),
        ),
        (
            "file interval".into(),
            humantime::format_duration(generator_config.interval).to_string(),
        ),
        (
            "duration".into(),
            humantime::format_duration(scenario.duration).to_string(),
        ),
        ("database".into(), target.display().to_string()),
    ];
    if let Some(external) = &scenario.external {
        let ready = if external.uses_ready_file() {
            format!(
                "when it creates {{ready_file}} (waited up to {})",
                humantime::format_duration(external.ready_timeout)
            )
        } else {
            "at once (the command does not use {ready_file})".to_string()
        };
        let mut settings = vec![
            ("pipeline".to_string(), "external command".to_string()),
            ("command".into(), format!("`{}`", external.command)),
            (
                "trigger given as {trigger}".into(),
                ingest.trigger.to_string(),
            ),
            ("load started".into(), ready),
            (
                "drain ends".into(),
                format!(
                    "at every expected row, or {} without a new row",
                    humantime::format_duration(external.quiet)
                ),
            ),
        ];
        settings.extend(load);
        return settings;
    }
    let mut settings = vec![
        ("trigger".to_string(), ingest.trigger.to_string()),
        (
            "batch size (rows per COPY)".into(),
            ingest.batch_size.to_string(),
        ),
        ("write mode".into(), ingest.write_mode.to_string()),
        (
            "write timing (interval triggers)".into(),
            ingest.write_timing.to_string(),
        ),
        (
            "max files per trigger".into(),
            ingest.max_files_per_trigger.to_string(),
        ),
        (
            "max rows per trigger".into(),
            ingest
                .max_rows_per_trigger
                .map_or("unlimited".into(), |n| n.to_string()),
        ),
        ("transform partitions".into(), ingest.partitions.to_string()),
    ];
    settings.extend(load);
    settings
}

/// Waits until every generated file is committed (or quarantined), the
/// pipeline exits, the run is cancelled or the deadline passes; `true` when
/// every file was committed.
async fn drain(
    pipeline: &Pipeline,
    ledger: &mut CommittedFiles<'_>,
    progress: &Progress,
    files: u64,
    deadline: tokio::time::Instant,
    cancel: &CancellationToken,
) -> bool {
    while !pipeline.has_exited() && !cancel.is_cancelled() && tokio::time::Instant::now() < deadline
    {
        if let Pipeline::Children(_) = pipeline {
            // A separate process has no observer: the database says what committed.
            if let Some(committed) = ledger.count().await {
                progress.files_committed.store(committed, Ordering::Relaxed);
            }
        }
        if progress.files_committed.load(Ordering::Relaxed) >= files {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Writes the run's side files for the report: the resource samples and the
/// deliberate interruptions. A file that cannot be written costs the report
/// its charts or shading, not the run: a warning says so.
fn save_run_files(run_dir: &Path, samples: &[Sample], interruptions: &[RunEvent]) {
    let samples_path = run_dir.join(reporter::RESOURCES_FILE);
    if let Err(error) = reporter::collect::run_files::write_resource_samples(&samples_path, samples)
    {
        tracing::warn!(%error, "resource samples not saved; the report has no resource charts");
    }
    if !interruptions.is_empty() {
        let events_path = run_dir.join(reporter::EVENTS_FILE);
        if let Err(error) = reporter::collect::run_files::write_events(&events_path, interruptions)
        {
            tracing::warn!(%error, "interruptions not saved; the report cannot show them");
        }
    }
}
