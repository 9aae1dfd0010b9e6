//! `sluice`: the command-line program. Argument parsing and dispatch only;
//! the work lives in the `generator`, `pipeline`, `reporter` and `scenario`
//! crates.

mod signals;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use pipeline::config::{Cleanup, IngestConfig, Trigger, WriteTiming};
use pipeline::embedded::Cluster;
use pipeline::sink::WriteMode;
use scenario::{database, Overrides, ScenarioFile};
use tokio_util::sync::CancellationToken;

/// Exactly-once micro-batch ingest of CSV files into PostgreSQL, with its own
/// load generator and performance reporter.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario end to end (database, pipeline, generator) and write a report.
    Run(RunArgs),
    /// Write CSV event files at a steady pace, with a manifest.
    Generate(GenerateArgs),
    /// Watch a folder and ingest its CSV files into PostgreSQL, exactly once.
    Ingest(IngestArgs),
    /// Turn a manifest and the database into report.md and summary.json.
    Report(ReportArgs),
    /// Measure the speed bar: PostgreSQL's own COPY vs sluice, latency, memory, CPU.
    Bench(BenchArgs),
    /// Put runs side by side: what was varied, integrity, latency, throughput, resources, targets.
    Compare(CompareArgs),
    /// Run one scenario under a matrix of settings (trigger, batch size, write mode,
    /// max files per trigger), each on a fresh table, then compare the runs.
    Sweep(SweepArgs),
    /// Manage the embedded PostgreSQL.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file, e.g. configs/smoke.toml.
    config: PathBuf,
    /// How long the generator writes (e.g. 2m).
    #[arg(long, env = "SLUICE_DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Trigger: an interval (10s), `continuous` or `available-now`.
    #[arg(long, env = "SLUICE_TRIGGER")]
    trigger: Option<Trigger>,
    /// Rows per COPY round trip.
    #[arg(long, env = "SLUICE_BATCH_SIZE")]
    batch_size: Option<usize>,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Folder that receives runs/<run-id>/.
    #[arg(long, env = "SLUICE_RUNS_DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Exit 0 even when the scenario's [targets] are missed (the report still says so).
    #[arg(long)]
    no_fail_on_targets: bool,
}

#[derive(Args)]
struct GenerateArgs {
    /// Output folder for the CSV files.
    #[arg(long)]
    out: PathBuf,
    /// Manifest path (JSON lines); default OUT/../manifest.jsonl beside the folder.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Rows per second over time instead of --rows-min/--rows-max:
    /// steady:N, steps:N@DUR[,N@DUR…], bursts:HIGH@DUR,LOW@DUR, ramp:FROM..TO@DUR.
    #[arg(long)]
    rate: Option<generator::RateProfile>,
    /// Concurrent writers (emulated devices or shops), each with its own files.
    #[arg(long, default_value_t = 1)]
    sources: u32,
    #[arg(long, default_value_t = 50)]
    rows_min: u32,
    #[arg(long, default_value_t = 100)]
    rows_max: u32,
    /// Time between files.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// How long to write files.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Write exactly this many files (overrides --duration).
    #[arg(long)]
    files: Option<u64>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of rows that repeat an earlier file's row.
    #[arg(long, default_value_t = 0.0)]
    dup_rate: f64,
    /// Fraction of malformed rows.
    #[arg(long, default_value_t = 0.0)]
    bad_rate: f64,
    /// File name prefix: PREFIX-000001.csv.
    #[arg(long, default_value = "events")]
    prefix: String,
    /// Prefix of every event_id (keeps runs apart); default from the clock.
    #[arg(long)]
    id_prefix: Option<String>,
}

#[derive(Args)]
struct IngestArgs {
    /// Folder to watch.
    #[arg(long, env = "SLUICE_INPUT")]
    input: Option<PathBuf>,
    /// TOML file with pipeline settings (the keys of a scenario's [pipeline] section).
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// An interval (10s), `continuous` or `available-now`.
    #[arg(long, env = "SLUICE_TRIGGER")]
    trigger: Option<Trigger>,
    #[arg(long, env = "SLUICE_MAX_FILES_PER_TRIGGER")]
    max_files_per_trigger: Option<usize>,
    #[arg(long, env = "SLUICE_MAX_ROWS_PER_TRIGGER")]
    max_rows_per_trigger: Option<u64>,
    /// Rows per COPY round trip.
    #[arg(long, env = "SLUICE_BATCH_SIZE")]
    batch_size: Option<usize>,
    /// Checkpoint folder.
    #[arg(long, env = "SLUICE_CHECKPOINT")]
    checkpoint: Option<PathBuf>,
    /// File name pattern.
    #[arg(long, env = "SLUICE_GLOB")]
    glob: Option<String>,
    /// Folder for unreadable files (default INPUT/quarantine).
    #[arg(long, env = "SLUICE_QUARANTINE")]
    quarantine: Option<PathBuf>,
    #[arg(long, env = "SLUICE_WRITE_MODE")]
    write_mode: Option<WriteMode>,
    /// With an interval trigger: write files as they arrive and commit at the
    /// tick (on-arrival, default), or write the whole batch after the tick (at-tick).
    #[arg(long, env = "SLUICE_WRITE_TIMING")]
    write_timing: Option<WriteTiming>,
    /// Give up after the database was unreachable this long.
    #[arg(long, env = "SLUICE_RETRY_DEADLINE", value_parser = humantime::parse_duration)]
    retry_deadline: Option<Duration>,
    /// On SIGTERM / Ctrl-C, let the batch in flight finish for at most this
    /// long, then roll it back (the next start replays it).
    #[arg(long, env = "SLUICE_SHUTDOWN_GRACE", value_parser = humantime::parse_duration)]
    shutdown_grace: Option<Duration>,
    /// After a file's batch commits: keep, archive (to INPUT/archive or --archive) or delete it.
    #[arg(long, env = "SLUICE_CLEANUP")]
    cleanup: Option<Cleanup>,
    /// Archive folder for --cleanup archive.
    #[arg(long, env = "SLUICE_ARCHIVE")]
    archive: Option<PathBuf>,
    /// A file written in place (not renamed into the folder, its writer's
    /// close not seen) is read once its size and modification time have not
    /// changed for this long.
    #[arg(long, env = "SLUICE_SETTLE_TIME", value_parser = humantime::parse_duration)]
    settle_time: Option<Duration>,
    /// Longest record in bytes (what one row may take in memory); a longer
    /// one is rejected and reading resumes at the next line.
    #[arg(long, env = "SLUICE_MAX_RECORD_BYTES")]
    max_record_bytes: Option<usize>,
    /// Exit non-zero when rows were rejected or files quarantined.
    #[arg(long)]
    fail_on_rejects: bool,
    /// Move the checkpoint folder aside and start a new checkpoint: every
    /// file still in the input folder is ingested again (after a database
    /// restore, or a table emptied on purpose).
    #[arg(long)]
    reset_checkpoint: bool,
    /// Test hook: linger at batch steps, e.g. `committing=2s` (see pipeline::stage).
    #[arg(long, env = "SLUICE_STAGE_DELAY", hide = true)]
    stage_delay: Option<String>,
}

#[derive(Args)]
struct ReportArgs {
    /// The generator's manifest.
    #[arg(long)]
    manifest: PathBuf,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Output folder for report.md and summary.json.
    #[arg(long)]
    out: PathBuf,
    /// Target table.
    #[arg(long, default_value = "events")]
    table: String,
}

#[derive(Args)]
struct BenchArgs {
    /// Rows for the throughput measurements.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    #[arg(long, default_value_t = 1000)]
    rows_per_file: u32,
    /// Rows per second of the steady load for the latency measurements.
    #[arg(long, default_value_t = 10_000)]
    load_rows_per_s: u32,
    /// Seconds of steady load.
    #[arg(long, default_value_t = 20)]
    load_seconds: u64,
    /// Small files waiting at start for the backlog measurement (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    backlog_files: u64,
    /// Rounds of the throughput comparison: each side once per round, in
    /// turn; the table shows the median and the spread.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// PostgreSQL URL (needs CREATE DATABASE); the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Work folder (generated files, bench.json).
    #[arg(long, default_value = "runs/bench")]
    work_dir: PathBuf,
}

#[derive(Args)]
struct CompareArgs {
    /// Run folders (each holding summary.json), at least two.
    #[arg(required = true, value_name = "RUN_DIR")]
    run_dirs: Vec<PathBuf>,
    /// Output folder for compare.md, compare.json and the chart (default runs/compare-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct SweepArgs {
    /// Sweep file, e.g. configs/sweep.toml: a scenario and a [matrix] of settings.
    config: PathBuf,
    /// Length of each run (e.g. 30s), over the sweep file's.
    #[arg(long, env = "SLUICE_DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Folder that receives runs/sweep-<timestamp>/.
    #[arg(long, env = "SLUICE_RUNS_DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// List the runs of the matrix and exit.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand)]
enum DbAction {
    /// Create (if needed) and start the embedded PostgreSQL; it keeps running.
    Start,
    /// Stop the embedded PostgreSQL.
    Stop,
    /// Say whether it runs, and where.
    Status,
    /// Print its connection URL.
    Url,
}

/// glibc gives each thread that allocates its own malloc arena and keeps
/// freed memory in each. With tokio's workers and the parse threads that
/// held 14 MB more than one arena does (ingesting 100 000 rows: 37 → 23 MB
/// of anonymous memory at the same speed). `MALLOC_ARENA_MAX`, when set,
/// still decides.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn use_one_malloc_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only tunes the allocator; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Other allocators (musl, Windows, macOS) keep no per-thread arenas to cap.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn use_one_malloc_arena() {}

fn main() -> ExitCode {
    use_one_malloc_arena();
    let cli = Cli::parse();
    // tokio_postgres logs every server NOTICE at info: keep those out.
    let default_level = if matches!(
        cli.command,
        Command::Run(_) | Command::Bench(_) | Command::Sweep(_)
    ) {
        "warn"
    } else {
        "info,tokio_postgres=warn"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sluice: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run(args) => run(args).await,
        Command::Generate(args) => generate(args).await,
        Command::Ingest(args) => ingest(args).await,
        Command::Report(args) => report(args).await,
        Command::Bench(args) => bench(args).await,
        Command::Compare(args) => compare(args),
        Command::Sweep(args) => sweep(args).await,
        Command::Db { action } => db(action),
    }
}

/// A token cancelled by the first stop request (see [`signals`]).
fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let mut requests = signals::StopRequests::listen().expect("stop handlers install");
    tokio::spawn(async move {
        requests.recv().await;
        eprintln!("sluice: stopping: finishing the batch in flight (or rolling it back after the shutdown grace period)");
        cancel.cancel();
    });
    token
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let mut scenario = ScenarioFile::load(&args.config)?;
    scenario.apply(&Overrides {
        duration: args.duration,
        trigger: args.trigger,
        batch_size: args.batch_size,
        database_url: args.database_url,
    });
    let optimized = !cfg!(debug_assertions);
    if !optimized {
        eprintln!("sluice: note: unoptimised (debug) build: figures are not representative; use --release");
    }
    eprintln!(
        "sluice: running scenario `{}` for {} (trigger {})",
        scenario.name,
        humantime::format_duration(scenario.duration),
        scenario.pipeline.trigger
    );
    let outcome = scenario::run::run(scenario, &args.runs_dir, shutdown_token(), optimized).await?;
    let rows = &outcome.summary.rows;
    let latency = &outcome.summary.latency_ms;
    println!(
        "rows: generated {} expected {} found {} missing {} rejected {} duplicates {}",
        rows.generated, rows.expected, rows.found, rows.missing, rows.rejected, rows.duplicates
    );
    println!(
        "latency ms: p50 {:.1} p95 {:.1} p99 {:.1} max {:.1}; throughput {:.0} rows/s",
        latency.p50, latency.p95, latency.p99, latency.max, outcome.summary.throughput_rows_per_s
    );
    let targets = &outcome.summary.targets;
    if !targets.is_empty() {
        let met = targets
            .iter()
            .filter(|t| t.status == reporter::summary::TargetStatus::Pass)
            .count();
        println!(
            "targets: {met} of {} met; {}",
            targets.len(),
            if outcome.summary.passed {
                "passed"
            } else {
                "FAILED"
            }
        );
    }
    println!("report: {}", outcome.run_dir.join("report.md").display());
    let complete = outcome.drained && rows.missing == 0 && rows.duplicates == 0;
    if !complete {
        eprintln!("sluice: the run is incomplete: rows are missing or duplicated (see the report)");
    }
    let targets_failed = !outcome.summary.passed;
    if targets_failed {
        let failed = reporter::analyse::targets::failed_line(targets);
        if args.no_fail_on_targets {
            eprintln!("sluice: targets missed (ignored: --no-fail-on-targets): {failed}");
        } else {
            eprintln!("sluice: targets missed: {failed}");
        }
    }
    let targets_ok = !targets_failed || args.no_fail_on_targets;
    Ok(if complete && targets_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let manifest = args.manifest.unwrap_or_else(|| {
        args.out.parent().map_or_else(
            || PathBuf::from("manifest.jsonl"),
            |p| p.join("manifest.jsonl"),
        )
    });
    let config = generator::GeneratorConfig {
        out_dir: args.out,
        manifest_path: manifest,
        file_prefix: args.prefix,
        id_prefix: args
            .id_prefix
            .unwrap_or_else(|| format!("g{}-", chrono::Utc::now().format("%Y%m%d%H%M%S"))),
        rows_min: args.rows_min,
        rows_max: args.rows_max,
        interval: args.interval,
        duration: args.duration,
        max_files: args.files,
        seed: args.seed,
        dup_rate: args.dup_rate,
        bad_rate: args.bad_rate,
        rate: args.rate,
        sources: args.sources,
    };
    config.validate()?;
    std::fs::create_dir_all(&config.out_dir).with_context(|| {
        format!(
            "cannot create the output folder {}",
            config.out_dir.display()
        )
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let cancel = shutdown_token();
    {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            cancel.cancelled().await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let summary =
        tokio::task::spawn_blocking(move || generator::generate(&config, &stop, &mut |_| {}))
            .await??;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if summary.late_files > 0 {
        eprintln!(
            "sluice: the generator fell behind: {} files were more than 10% of the interval late (max {:.1} ms)",
            summary.late_files, summary.max_lateness_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn ingest(args: IngestArgs) -> Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<IngestConfig>(&text).map_err(|error| {
                anyhow::anyhow!(
                    "invalid pipeline settings in {}: {}",
                    path.display(),
                    pipeline::config::explain_settings_error(&error.to_string())
                )
            })?
        }
        None => IngestConfig::default(),
    };
    match args.input {
        Some(input) => config.input = input,
        None if args.config.is_none() => {
            bail!("no input folder: pass --input DIR (or SLUICE_INPUT, or `input` in --config)")
        }
        None => {}
    }
    if let Some(trigger) = args.trigger {
        config.trigger = trigger;
    }
    if let Some(max_files) = args.max_files_per_trigger {
        config.max_files_per_trigger = max_files;
    }
    if let Some(max_rows) = args.max_rows_per_trigger {
        config.max_rows_per_trigger = Some(max_rows);
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    if let Some(checkpoint) = args.checkpoint {
        config.checkpoint = checkpoint;
    }
    if let Some(glob) = args.glob {
        config.glob = glob;
    }
    if let Some(quarantine) = args.quarantine {
        config.quarantine = Some(quarantine);
    }
    if let Some(write_mode) = args.write_mode {
        config.write_mode = write_mode;
    }
    if let Some(write_timing) = args.write_timing {
        config.write_timing = write_timing;
    }
    if let Some(cleanup) = args.cleanup {
        config.cleanup = cleanup;
    }
    if let Some(archive) = args.archive {
        config.archive = Some(archive);
    }
    if let Some(deadline) = args.retry_deadline {
        config.retry.deadline = deadline;
    }
    if let Some(grace) = args.shutdown_grace {
        config.shutdown_grace = grace;
    }
    if let Some(settle) = args.settle_time {
        config.settle_time = settle;
    }
    if let Some(max_record_bytes) = args.max_record_bytes {
        config.max_record_bytes = max_record_bytes;
    }
    config.fail_on_rejects |= args.fail_on_rejects;
    config.reset_checkpoint = args.reset_checkpoint;
    if let Some(spec) = &args.stage_delay {
        config.stage_probe =
            pipeline::stage::StageProbe::parse(spec).map_err(anyhow::Error::msg)?;
    }
    let database = database::resolve(args.database_url.as_deref())?;
    tracing::info!(
        input = %config.input.display(),
        database = database.target.display(),
        trigger = %config.trigger,
        "ingest starting"
    );
    let summary = pipeline::driver::run(
        &config,
        &database.target,
        shutdown_token(),
        Arc::new(pipeline::driver::LogObserver),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

async fn report(args: ReportArgs) -> Result<ExitCode> {
    let table = pipeline::schema::Ident::new(&args.table)?;
    let database = database::resolve(args.database_url.as_deref())?;
    let client = database.target.connect().await?;
    let request = reporter::ReportRequest {
        manifest_path: args.manifest,
        out_dir: args.out.clone(),
        table: table.to_string(),
        rejects_table: table.derived("_rejects").to_string(),
        run: None,
        optimized_build: !cfg!(debug_assertions),
        database_is_local: database.target.is_local(),
        latency_target_ms: None,
        targets: None,
    };
    let summary = reporter::report(&client, &request).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    println!("report: {}", args.out.join("report.md").display());
    Ok(ExitCode::SUCCESS)
}

async fn bench(args: BenchArgs) -> Result<ExitCode> {
    let options = scenario::bench::BenchOptions {
        rows: args.rows,
        rows_per_file: args.rows_per_file,
        database_url: args.database_url,
        work_dir: args.work_dir.clone(),
        load_seconds: args.load_seconds,
        load_rows_per_s: args.load_rows_per_s,
        backlog_files: args.backlog_files,
        rounds: args.rounds,
        optimized_build: !cfg!(debug_assertions),
    };
    let report = scenario::bench::bench(&options).await?;
    let json = args.work_dir.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    println!("{}", report.markdown());
    println!("figures: {}", json.display());
    Ok(ExitCode::SUCCESS)
}

fn compare(args: CompareArgs) -> Result<ExitCode> {
    let out = args
        .out
        .unwrap_or_else(|| reporter::compare::default_out_dir(std::path::Path::new("runs")));
    let written = reporter::compare::compare(&args.run_dirs, &out)?;
    println!("compare: {}", written.markdown.display());
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C once: finish the current run, start no other. Twice (or a
/// terminate request: SIGTERM, Ctrl-Break, console close):
/// stop the current run now (its report is still written).
fn sweep_control() -> scenario::sweep::SweepControl {
    let control = scenario::sweep::SweepControl::default();
    let (finish, abort) = (control.finish.clone(), control.abort.clone());
    let mut requests = signals::StopRequests::listen().expect("stop handlers install");
    tokio::spawn(async move {
        loop {
            let interrupt = requests.recv().await == signals::StopRequest::Interrupt;
            if interrupt && !finish.is_cancelled() {
                finish.cancel();
                eprintln!(
                    "\nsluice: stopping after the current run (Ctrl-C again stops it now; its report is still written)"
                );
            } else {
                finish.cancel();
                abort.cancel();
                eprintln!("\nsluice: stopping the current run now");
                break;
            }
        }
    });
    control
}

async fn sweep(args: SweepArgs) -> Result<ExitCode> {
    use scenario::sweep::{self, RunOverrides, SweepEvent, SweepFile, SweepOptions};
    let file = SweepFile::load(&args.config)?;
    let overrides = RunOverrides {
        duration: args.duration,
        database_url: args.database_url,
    };
    let planned = file.runs(&overrides).map_err(anyhow::Error::msg)?;
    let each = planned
        .first()
        .map_or(file.scenario.duration, |p| p.scenario.duration);
    if args.dry_run {
        for run in &planned {
            let p = &run.scenario.pipeline;
            println!(
                "{:>3}  {}  (trigger {}, batch_size {}, write_mode {}, max_files_per_trigger {}; table {})",
                run.index, run.label, p.trigger, p.batch_size, p.write_mode, p.max_files_per_trigger, p.table.name
            );
        }
        println!(
            "{} runs of {} each (scenario `{}`)",
            planned.len(),
            humantime::format_duration(each),
            file.scenario.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let optimized = !cfg!(debug_assertions);
    if !optimized {
        eprintln!("sluice: note: unoptimised (debug) build: figures are not representative; use --release");
    }
    eprintln!(
        "sluice: sweeping scenario `{}`: {} runs of {} each, one after another (Ctrl-C stops after the current run)",
        file.scenario.name,
        planned.len(),
        humantime::format_duration(each)
    );
    let options = SweepOptions {
        runs_dir: args.runs_dir,
        overrides,
        optimized_build: optimized,
    };
    let mut observer = |event: SweepEvent<'_>| match event {
        SweepEvent::Starting { run, total } => {
            eprintln!("sluice: run {}/{total}: {}", run.index, run.label)
        }
        SweepEvent::Finished { run, total } => {
            let figures = run.figures.as_ref().map_or(String::new(), |f| {
                format!(
                    ": p99 {} ms, {:.0} rows/s, keeps up: {}",
                    f.p99_ms.map_or("n/a".into(), |p| format!("{p:.1}")),
                    f.throughput_rows_per_s,
                    if f.keeps_up { "yes" } else { "no" }
                )
            });
            let problem = run
                .problem
                .as_deref()
                .map_or(String::new(), |p| format!(" ({p})"));
            println!(
                "run {}/{total} {}: {}{figures}{problem}",
                run.index,
                run.label,
                run.status.as_str()
            );
        }
    };
    let outcome = sweep::sweep(&file, &options, &sweep_control(), &mut observer).await?;
    let report = &outcome.report;
    println!();
    print!("{}", sweep::runs_table(report, &outcome.dir));
    println!();
    print!("{}", sweep::recommendation_lines(report));
    if let Some(compare) = &outcome.compare {
        println!("compare: {}", compare.markdown.display());
    }
    println!("sweep: {}", outcome.markdown.display());
    let failures = report.failures();
    for failure in &failures {
        eprintln!("sluice: {failure}");
    }
    if report.stopped_early {
        let not_run = report
            .runs
            .iter()
            .filter(|r| r.status == sweep::RunStatus::NotRun)
            .count();
        eprintln!("sluice: the sweep was stopped early; {not_run} runs did not start");
    }
    Ok(if report.all_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn db(action: DbAction) -> Result<ExitCode> {
    let cluster = Cluster::new(Cluster::default_data_dir()?)?;
    match action {
        DbAction::Start => {
            let server = cluster.start()?;
            println!("{}", server.url());
            server.detach();
        }
        DbAction::Stop => {
            if cluster.stop()? {
                println!(
                    "stopped the embedded PostgreSQL at {}",
                    cluster.data_dir().display()
                );
            } else {
                println!(
                    "the embedded PostgreSQL at {} was not running",
                    cluster.data_dir().display()
                );
            }
        }
        DbAction::Status => match cluster.running_port() {
            Some(port) => println!(
                "running on 127.0.0.1:{port} (data {})",
                cluster.data_dir().display()
            ),
            None => {
                println!("not running (data {})", cluster.data_dir().display());
                return Ok(ExitCode::from(3));
            }
        },
        DbAction::Url => println!("{}", cluster.attach()?.url()),
    }
    Ok(ExitCode::SUCCESS)
}
