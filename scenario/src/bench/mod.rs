//! `sluice bench`: the speed bar, measured in one run on one machine with the
//! same files: PostgreSQL's own COPY (the ceiling) against sluice's
//! exactly-once ingest, latency under load, per-batch overhead, memory and
//! CPU cost. Prints a markdown table and writes `bench.json`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use generator::{GeneratorConfig, GeneratorSummary};
use pipeline::config::{IngestConfig, Trigger, WriteTiming};
use pipeline::db::DbTarget;
use pipeline::sink::WriteMode;
use reporter::stats::median;
use serde::Serialize;

use crate::activity::ActivitySampler;
use crate::database::{self, Database};
use crate::pipeline_process::PipelineProcess;
use crate::resources::{SampledPids, Sampler};
use crate::run::RunError;

mod ceiling;
mod floor;
mod render;
mod spikes;

use ceiling::{copy_from_process, create_ceiling_table, psql_copy};
use floor::measure_floor;
pub use floor::Floor;
use spikes::Spike;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub rows: u64,
    pub rows_per_file: u32,
    pub database_url: Option<String>,
    pub work_dir: PathBuf,
    /// Seconds of steady load for the latency measurements.
    pub load_seconds: u64,
    /// Rows per second of that load.
    pub load_rows_per_s: u32,
    /// Small files waiting at start for the backlog measurement (0 skips it).
    pub backlog_files: u64,
    /// Rounds of the throughput comparison (each contender once per round,
    /// in turn).
    pub rounds: usize,
    /// Largest number of workers of one pipeline (`--pipeline`) measured on
    /// the same files: 1, 2, … up to this (below 2 skips them).
    pub workers: usize,
    pub optimized_build: bool,
}

/// One throughput measurement: the median of its rounds, and their spread.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub name: String,
    pub rows: u64,
    /// Rounds measured (alternating with the other contenders).
    pub rounds: usize,
    pub seconds: f64,
    /// Median over the rounds.
    pub rows_per_s: f64,
    pub rows_per_s_min: f64,
    pub rows_per_s_max: f64,
    /// Median rows/s over the ceiling's median (`psql \copy` when psql is
    /// installed, else the in-process COPY).
    pub ratio_to_ceiling: f64,
    pub cpu_s_per_million_rows: f64,
    pub peak_rss_mb: f64,
}

/// What one round of one contender measured.
#[derive(Debug, Clone)]
struct Sample {
    rows: u64,
    seconds: f64,
    cpu_s_per_million_rows: f64,
    peak_rss_mb: f64,
}

impl Sample {
    fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

/// One side of the throughput comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// `psql \copy` of every file, in one psql session: the ceiling a user
    /// would measure.
    Psql,
    /// `COPY … FROM STDIN` of every file from this process.
    InProcessCopy,
    /// `sluice ingest --trigger available-now` as its own process.
    Sluice(WriteMode),
    /// That many `sluice ingest --pipeline bench --trigger available-now`
    /// processes at once, sharing the files through their claims, in
    /// batches of [`FLEET_FILES_PER_BATCH`] files so there is work to share.
    Fleet(usize),
}

/// Files per batch of the fleet contenders (1 worker included, so the
/// comparison between worker counts is of the same batches).
const FLEET_FILES_PER_BATCH: usize = 20;

impl Contender {
    fn name(self) -> String {
        match self {
            Self::Psql => "ceiling: psql \\copy FORMAT csv (PostgreSQL alone)".into(),
            Self::InProcessCopy => "COPY FORMAT csv from the bench process".into(),
            Self::Sluice(mode) => format!("sluice {mode} (exactly-once upsert)"),
            Self::Fleet(workers) => format!(
                "sluice copy-merge, {workers} worker{} of one pipeline ({FLEET_FILES_PER_BATCH} \
                 files per batch)",
                if workers == 1 { "" } else { "s" }
            ),
        }
    }

    fn database(self) -> String {
        match self {
            Self::Psql => "sluice_bench_psql".into(),
            Self::InProcessCopy => "sluice_bench_copy".into(),
            Self::Sluice(mode) => format!("sluice_bench_{}", mode.to_string().replace('-', "_")),
            Self::Fleet(workers) => format!("sluice_bench_workers_{workers}"),
        }
    }
}

/// One latency measurement, with the floor measured beside it.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub name: String,
    pub rows: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mb: f64,
    /// One-row commits every 20 ms on their own connection during the same
    /// load, each timed from its scheduled instant: what the database and
    /// disk alone cost at that moment (a stall shows here as in sluice).
    pub floor: Floor,
    /// The slowest batches and what each coincided with.
    pub spikes: Vec<Spike>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub optimized_build: bool,
    pub logical_cpus: usize,
    pub throughput: Vec<Throughput>,
    pub latency: Vec<Latency>,
}

/// The slowest batches of a latency run whose cause the bench names.
const SPIKES: usize = 3;

/// Settle time of the throughput and backlog runs: their files were
/// renamed into place by the generator before the pipeline started, which a
/// start-up listing cannot tell from files still being written, so the
/// default settle time would add its wait to the measured time. (The latency
/// runs keep the default: their files arrive by rename while the pipeline
/// watches, and pass at once.)
const RENAMED_BEFORE_START: Duration = Duration::ZERO;

/// Runs every measurement, in the order the report prints them: one
/// sequence of steps, long but not deep.
pub async fn bench(options: &BenchOptions) -> Result<BenchReport, RunError> {
    let database = database::resolve(options.database_url.as_deref())?;
    let postgres_pid = database.embedded.as_ref().and_then(|e| e.postmaster_pid());
    std::fs::create_dir_all(&options.work_dir).map_err(|source| RunError::RunDir {
        path: options.work_dir.clone(),
        source,
    })?;
    let files_dir = options.work_dir.join("files");
    let _ = std::fs::remove_dir_all(&files_dir);
    let files = u64::max(1, options.rows / u64::from(options.rows_per_file));
    eprintln!(
        "bench: generating {files} files of {} rows",
        options.rows_per_file
    );
    let generated = generate(
        &files_dir,
        &options.work_dir.join("files.jsonl"),
        files,
        options.rows_per_file,
        Duration::from_micros(1),
        0,
    )?;

    let mut throughput = compare_throughput(options, &database, &files_dir, postgres_pid).await?;
    let ceiling_rate = throughput.first().map_or(1.0, |t| t.rows_per_s);
    // The same small files, 1 000 waiting and then the large backlog: a
    // backlog must not slow the pipeline down (listing, planning, memory).
    let mut backlogs = vec![1000.min(options.backlog_files), options.backlog_files];
    backlogs.dedup();
    for backlog in backlogs.into_iter().filter(|files| *files > 0) {
        eprintln!("bench: backlog of {backlog} small files waiting at start");
        let dir = options.work_dir.join("backlog");
        let _ = std::fs::remove_dir_all(&dir);
        generate(
            &dir,
            &options.work_dir.join("backlog.jsonl"),
            backlog,
            10,
            Duration::from_micros(1),
            0,
        )?;
        let target = fresh_database(&database, "sluice_bench_backlog").await?;
        let config = IngestConfig {
            input: dir,
            checkpoint: options.work_dir.join("checkpoint-backlog"),
            trigger: Trigger::AvailableNow,
            settle_time: RENAMED_BEFORE_START,
            ..IngestConfig::default()
        };
        let name = format!("sluice, backlog of {backlog} files × 10 rows");
        settle_system(&target, &name).await?;
        let sample = measure_ingest(&config, &target, postgres_pid, 1).await?;
        throughput.push(summarise(name, vec![sample], ceiling_rate));
    }

    let mut latency = Vec::new();
    let rows_per_file = (options.load_rows_per_s / 10).max(1);
    let one_second = Trigger::Interval(Duration::from_secs(1));
    for (trigger, write_timing) in [
        (Trigger::Continuous, WriteTiming::default()),
        (one_second, WriteTiming::OnArrival),
        (one_second, WriteTiming::AtTick),
    ] {
        let name = match trigger {
            Trigger::Interval(_) => format!(
                "{} rows/s, trigger {trigger}, {write_timing} writes",
                options.load_rows_per_s
            ),
            _ => format!("{} rows/s, trigger {trigger}", options.load_rows_per_s),
        };
        eprintln!("bench: {name} for {} s", options.load_seconds);
        let files = options.load_seconds * 10;
        latency.push(
            measure_latency(
                &database,
                options,
                &name,
                (trigger, write_timing),
                files,
                rows_per_file,
                Duration::from_millis(100),
                postgres_pid,
            )
            .await?,
        );
    }
    eprintln!("bench: per-batch overhead: 100 one-row files, trigger continuous");
    latency.push(
        measure_latency(
            &database,
            options,
            "per-batch overhead: 1-row files, continuous",
            (Trigger::Continuous, WriteTiming::default()),
            100,
            1,
            Duration::from_millis(50),
            postgres_pid,
        )
        .await?,
    );
    drop(generated);
    Ok(BenchReport {
        optimized_build: options.optimized_build,
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        throughput,
        latency,
    })
}

/// The throughput comparison: each contender once per round, in turn
/// (ceiling, sluice, …, ceiling, sluice, …), on a fresh database each time,
/// after `sync`, `CHECKPOINT` and a pause. The first row is the ceiling.
async fn compare_throughput(
    options: &BenchOptions,
    database: &Database,
    files_dir: &Path,
    postgres_pid: Option<u32>,
) -> Result<Vec<Throughput>, RunError> {
    let psql = embedded_pg::psql_program();
    let has_psql = std::process::Command::new(&psql)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_psql {
        eprintln!(
            "bench: psql not found: the ceiling is the in-process COPY (install the PostgreSQL \
             client for `psql \\copy`)"
        );
    }
    let contenders: Vec<Contender> = [Contender::Psql, Contender::InProcessCopy]
        .into_iter()
        .filter(|c| has_psql || *c != Contender::Psql)
        .chain(WriteMode::ALL.map(Contender::Sluice))
        .chain(
            (1..=options.workers)
                .filter(|_| options.workers >= 2)
                .map(Contender::Fleet),
        )
        .collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    for round in 1..=options.rounds.max(1) {
        for (index, contender) in contenders.iter().enumerate() {
            let name = contender.name();
            eprintln!("bench: round {round}: {name}");
            let target = fresh_database(database, &contender.database()).await?;
            let sample = match contender {
                Contender::Psql => {
                    create_ceiling_table(&target).await?;
                    settle_system(&target, &name).await?;
                    let seconds = psql_copy(&psql, &target, files_dir, &options.work_dir)?;
                    let client = target.connect().await?;
                    Sample {
                        rows: count(&client, "SELECT count(*) FROM events").await?,
                        seconds,
                        cpu_s_per_million_rows: 0.0,
                        peak_rss_mb: 0.0,
                    }
                }
                Contender::InProcessCopy => {
                    create_ceiling_table(&target).await?;
                    settle_system(&target, &name).await?;
                    copy_from_process(&target, files_dir).await?
                }
                Contender::Sluice(mode) => {
                    let config = IngestConfig {
                        input: files_dir.to_path_buf(),
                        checkpoint: options.work_dir.join(format!("checkpoint-{mode}")),
                        trigger: Trigger::AvailableNow,
                        write_mode: *mode,
                        settle_time: RENAMED_BEFORE_START,
                        ..IngestConfig::default()
                    };
                    settle_system(&target, &name).await?;
                    measure_ingest(&config, &target, postgres_pid, 1).await?
                }
                Contender::Fleet(workers) => {
                    let config = IngestConfig {
                        input: files_dir.to_path_buf(),
                        checkpoint: options
                            .work_dir
                            .join(format!("checkpoint-{workers}-workers")),
                        trigger: Trigger::AvailableNow,
                        settle_time: RENAMED_BEFORE_START,
                        max_files_per_trigger: FLEET_FILES_PER_BATCH,
                        pipeline: Some("bench".into()),
                        ..IngestConfig::default()
                    };
                    settle_system(&target, &name).await?;
                    measure_ingest(&config, &target, postgres_pid, *workers).await?
                }
            };
            samples[index].push(sample);
        }
    }
    let ceiling = samples[0]
        .iter()
        .map(Sample::rows_per_s)
        .collect::<Vec<_>>();
    let ceiling_rate = median(&ceiling);
    Ok(contenders
        .iter()
        .zip(samples)
        .map(|(contender, samples)| summarise(contender.name(), samples, ceiling_rate))
        .collect())
}

/// Medians and spread of one contender's rounds.
fn summarise(name: String, samples: Vec<Sample>, ceiling_rate: f64) -> Throughput {
    let figure = |f: fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
    let rates: Vec<f64> = samples.iter().map(Sample::rows_per_s).collect();
    let rows_per_s = figure(Sample::rows_per_s);
    Throughput {
        name,
        rows: samples.iter().map(|s| s.rows).max().unwrap_or(0),
        rounds: samples.len(),
        seconds: figure(|s| s.seconds),
        rows_per_s,
        rows_per_s_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
        rows_per_s_max: rates.iter().copied().fold(0.0, f64::max),
        ratio_to_ceiling: rows_per_s / ceiling_rate,
        cpu_s_per_million_rows: figure(|s| s.cpu_s_per_million_rows),
        peak_rss_mb: figure(|s| s.peak_rss_mb),
    }
}

/// Before a measurement: the kernel writes back dirty pages (the files just
/// generated, the previous measurement's), PostgreSQL flushes its own, and a
/// short pause lets both settle, so no measurement pays for another's.
async fn settle_system(target: &DbTarget, name: &str) -> Result<(), RunError> {
    #[cfg(unix)]
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe {
        libc::sync();
    }
    if let Err(error) = target.connect().await?.batch_execute("CHECKPOINT").await {
        eprintln!(
            "bench: could not CHECKPOINT before `{name}` ({error}; it needs a superuser or \
             pg_checkpoint): the write-back of earlier measurements may land in this one"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

fn generate(
    dir: &Path,
    manifest: &Path,
    files: u64,
    rows_per_file: u32,
    interval: Duration,
    seed: u64,
) -> Result<GeneratorSummary, RunError> {
    let _ = std::fs::remove_file(manifest);
    let config = GeneratorConfig {
        out_dir: dir.to_path_buf(),
        manifest_path: manifest.to_path_buf(),
        file_prefix: "bench".into(),
        id_prefix: format!("b{}-", chrono::Utc::now().timestamp_micros()),
        rows_min: rows_per_file,
        rows_max: rows_per_file,
        interval,
        duration: interval,
        max_files: Some(files),
        seed,
        dup_rate: 0.0,
        bad_rate: 0.0,
        ..GeneratorConfig::default()
    };
    Ok(generator::generate(
        &config,
        &AtomicBool::new(false),
        &mut |_| {},
    )?)
}

/// Drops and creates database `name` on the server, returning its URL.
async fn fresh_database(database: &Database, name: &str) -> Result<DbTarget, RunError> {
    let admin = database.target.connect().await?;
    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let create = format!("CREATE DATABASE \"{name}\"");
    for sql in [drop, create] {
        admin
            .batch_execute(&sql)
            .await
            .map_err(pipeline::db::DbError::query(format!(
                "preparing the bench database {name}"
            )))?;
    }
    Ok(database.target.with_database(name))
}

/// Runs an available-now ingest from a fresh checkpoint as its own
/// `sluice ingest` process (or `workers` workers of one pipeline, started
/// together), until the last one ends; measures those processes alone
/// (CPU and memory summed).
async fn measure_ingest(
    config: &IngestConfig,
    target: &DbTarget,
    postgres_pid: Option<u32>,
    workers: usize,
) -> Result<Sample, RunError> {
    let _ = std::fs::remove_dir_all(&config.checkpoint);
    let work_dir = config.checkpoint.with_extension("process");
    std::fs::create_dir_all(&work_dir).map_err(|source| RunError::RunDir {
        path: work_dir.clone(),
        source,
    })?;
    let pids = SampledPids::new(workers, postgres_pid);
    let sampler = Sampler::start(Duration::from_millis(100), Arc::clone(&pids));
    let started = Instant::now();
    let mut running = Vec::new();
    for worker in 0..workers {
        let process = PipelineProcess::start(config, &work_dir, target, Arc::clone(&pids), worker)
            .map_err(RunError::Failover)?;
        running.push(tokio::task::spawn_blocking(move || process.wait()));
    }
    let mut statuses = Vec::new();
    for waiting in running {
        statuses.push(
            waiting
                .await
                .map_err(|e| RunError::Task(e.to_string()))?
                .map_err(|e| RunError::Failover(format!("waiting for the pipeline: {e}")))?,
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let (_, profile) = sampler.finish();
    if let Some(status) = statuses.iter().find(|status| !status.success()) {
        return Err(RunError::Failover(format!(
            "the pipeline process failed ({status}); see its log (pipeline*.log) in {}",
            work_dir.display()
        )));
    }
    let client = target.connect().await?;
    let rows = count(&client, "SELECT count(*) FROM events").await?;
    let rows_read = count(
        &client,
        "SELECT coalesce(sum(rows_read), 0)::bigint FROM sluice_batches",
    )
    .await?;
    Ok(Sample {
        rows,
        seconds,
        cpu_s_per_million_rows: profile.pipeline_cpu_seconds * 1e6 / rows_read.max(1) as f64,
        peak_rss_mb: profile.pipeline_rss_peak_mb,
    })
}

/// The one bigint a counting query returns.
async fn count(client: &tokio_postgres::Client, sql: &str) -> Result<u64, RunError> {
    let row = client
        .query_one(sql, &[])
        .await
        .map_err(pipeline::db::DbError::query("counting bench rows"))?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// A steady load with the pipeline running; latency from the reporter. One
/// sequence of steps (load, floor, samplers, report, attribution) in the
/// order they must start and stop: long, not deep.
#[allow(clippy::too_many_arguments)]
async fn measure_latency(
    database: &Database,
    options: &BenchOptions,
    name: &str,
    (trigger, write_timing): (Trigger, WriteTiming),
    files: u64,
    rows_per_file: u32,
    interval: Duration,
    postgres_pid: Option<u32>,
) -> Result<Latency, RunError> {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = options.work_dir.join(format!("load-{slug}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| RunError::RunDir {
        path: dir.clone(),
        source,
    })?;
    let target = fresh_database(database, "sluice_bench_latency").await?;
    // The earlier measurements left up to millions of rows' dirty pages and
    // WAL: flush them now, so that their write-back does not land inside
    // this measurement.
    settle_system(&target, name).await?;
    let config = IngestConfig {
        input: dir.clone(),
        checkpoint: dir.join(".checkpoint"),
        trigger,
        write_timing,
        listing_interval: Duration::from_secs(1),
        ..IngestConfig::default()
    };
    let pids = SampledPids::new(1, postgres_pid);
    let sampler = Sampler::start(Duration::from_millis(100), Arc::clone(&pids));
    let activity = ActivitySampler::start(&target, &config.table.name).await;
    let process_dir = options.work_dir.join(format!("load-{slug}-process"));
    std::fs::create_dir_all(&process_dir).map_err(|source| RunError::RunDir {
        path: process_dir.clone(),
        source,
    })?;
    let pipeline = PipelineProcess::start(&config, &process_dir, &target, pids, 0)
        .map_err(RunError::Failover)?;
    let stop_floor = tokio_util::sync::CancellationToken::new();
    let floor = tokio::spawn(measure_floor(target.clone(), stop_floor.clone()));
    // Let the pipeline start (connect, migrate, first listing) before the load.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let manifest = options.work_dir.join(format!("load-{slug}.jsonl"));
    let generated = {
        let (dir, manifest) = (dir.clone(), manifest.clone());
        tokio::task::spawn_blocking(move || {
            generate(&dir, &manifest, files, rows_per_file, interval, 1)
        })
        .await
        .map_err(|e| RunError::Task(e.to_string()))??
    };
    let client = target.connect().await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if count(&client, "SELECT count(*) FROM events").await? >= generated.expected_rows {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_floor.cancel();
    let (floor, floor_commits) = floor.await.map_err(|e| RunError::Task(e.to_string()))??;
    tokio::task::spawn_blocking(move || pipeline.stop())
        .await
        .map_err(|e| RunError::Task(e.to_string()))?
        .map_err(|e| RunError::Failover(format!("stopping the pipeline: {e}")))?;
    let (_, profile) = sampler.finish();
    let mut request = reporter::ReportRequest::new(&manifest, dir.join("report"));
    request.optimized_build = options.optimized_build;
    request.database_is_local = target.is_local();
    request.run = Some(reporter::RunContext {
        scenario: format!("bench {name}"),
        run_id: slug,
        activity: activity.finish().await,
        ..reporter::RunContext::default()
    });
    let summary = reporter::report(&client, &request).await?;
    let checkpoints = summary
        .database_activity
        .as_ref()
        .and_then(|a| a.checkpoints.as_ref())
        .map_or(&[][..], |c| &c.events[..]);
    let spikes = spikes::attribute(
        &summary.slowest_batches[..summary.slowest_batches.len().min(SPIKES)],
        checkpoints,
        &floor_commits,
        floor.p50_ms,
    );
    Ok(Latency {
        name: name.to_string(),
        rows: summary.rows.found,
        p50_ms: summary.latency_ms.p50,
        p99_ms: summary.latency_ms.p99,
        max_ms: summary.latency_ms.max,
        peak_rss_mb: profile.pipeline_rss_peak_mb,
        floor,
        spikes,
    })
}
