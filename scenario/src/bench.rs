//! `sluice bench`: the speed bar, measured in one run on one machine with the
//! same files: PostgreSQL's own COPY (the ceiling) against sluice's
//! exactly-once ingest, latency under load, per-batch overhead, memory and
//! CPU cost. Prints a markdown table and writes `bench.json`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use generator::{GeneratorConfig, GeneratorSummary};
use pipeline::config::{IngestConfig, Trigger, WriteTiming};
use pipeline::db::DbTarget;
use pipeline::schema::TableSchema;
use pipeline::sink::WriteMode;
use serde::Serialize;

use crate::database::{self, Database};
use crate::pipeline_process::PipelineProcess;
use crate::resources::{SampledPids, Sampler};
use crate::run::RunError;

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
    pub optimized_build: bool,
}

/// One throughput measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub name: String,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    pub ratio_to_ceiling: f64,
    pub cpu_s_per_million_rows: f64,
    pub peak_rss_mb: f64,
}

/// One latency measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub name: String,
    pub rows: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub optimized_build: bool,
    pub logical_cpus: usize,
    pub throughput: Vec<Throughput>,
    pub latency: Vec<Latency>,
}

impl BenchReport {
    /// Markdown tables a person can paste into the README.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if !self.optimized_build {
            out.push_str("> unoptimised (debug) build: figures are not representative\n\n");
        }
        out.push_str(&format!("Machine: {} logical CPUs.\n\n", self.logical_cpus));
        out.push_str(
            "| ingest | rows | seconds | rows/s | vs COPY | CPU s / M rows | peak RSS MB |\n",
        );
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for t in &self.throughput {
            out.push_str(&format!(
                "| {} | {} | {:.2} | {:.0} | {:.2} | {:.1} | {:.1} |\n",
                t.name,
                t.rows,
                t.seconds,
                t.rows_per_s,
                t.ratio_to_ceiling,
                t.cpu_s_per_million_rows,
                t.peak_rss_mb
            ));
        }
        out.push_str("\n| latency (file visible → commit) | rows | P50 ms | P99 ms | max ms | peak RSS MB |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for l in &self.latency {
            out.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
                l.name, l.rows, l.p50_ms, l.p99_ms, l.max_ms, l.peak_rss_mb
            ));
        }
        out
    }
}

/// Runs every measurement.
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

    let mut throughput = Vec::new();
    eprintln!("bench: ceiling: COPY … FROM STDIN (FORMAT csv) into an indexed events table");
    let target = fresh_database(&database, "sluice_bench_ceiling").await?;
    let ceiling = copy_ceiling(&target, &files_dir).await?;
    let ceiling_rate = ceiling.rows as f64 / ceiling.seconds;
    throughput.push(Throughput {
        ratio_to_ceiling: 1.0,
        ..ceiling
    });
    for mode in WriteMode::ALL {
        eprintln!("bench: sluice ingest --trigger available-now, write mode {mode}");
        let target = fresh_database(
            &database,
            &format!("sluice_bench_{}", mode.to_string().replace('-', "_")),
        )
        .await?;
        let config = IngestConfig {
            input: files_dir.clone(),
            checkpoint: options.work_dir.join(format!("checkpoint-{mode}")),
            trigger: Trigger::AvailableNow,
            write_mode: mode,
            ..IngestConfig::default()
        };
        let name = format!("sluice {mode} (exactly-once upsert)");
        throughput.push(measure_ingest(name, &config, &target, postgres_pid, ceiling_rate).await?);
    }
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
            ..IngestConfig::default()
        };
        let name = format!("sluice, backlog of {backlog} files × 10 rows");
        throughput.push(measure_ingest(name, &config, &target, postgres_pid, ceiling_rate).await?);
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

/// PostgreSQL's own COPY of the same file bytes into a table identical to
/// `events` (same key, same four indexes), one COPY per file.
async fn copy_ceiling(target: &DbTarget, files_dir: &Path) -> Result<Throughput, RunError> {
    let client = target.connect().await?;
    let table = TableSchema::events();
    client
        .batch_execute(&format!(
            "{}ALTER TABLE events ALTER source_file DROP NOT NULL, ALTER batch_id DROP NOT NULL;",
            table.create_table_sql()
        ))
        .await
        .map_err(pipeline::db::DbError::query("creating the ceiling table"))?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(files_dir)
        .map_err(|source| RunError::RunDir {
            path: files_dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let sql = format!(
        "COPY events ({}) FROM STDIN (FORMAT csv, HEADER true)",
        table.column_list()
    );
    let cpu = cpu_time::ProcessTime::now();
    let started = Instant::now();
    let mut rows = 0;
    for path in &paths {
        let bytes = std::fs::read(path).map_err(|source| RunError::RunDir {
            path: path.clone(),
            source,
        })?;
        let sink = client
            .copy_in(&sql)
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
        let mut sink = std::pin::pin!(sink);
        sink.send(bytes::Bytes::from(bytes))
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
        rows += sink
            .as_mut()
            .finish()
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Throughput {
        name: "ceiling: COPY FORMAT csv (PostgreSQL alone)".into(),
        rows,
        seconds,
        rows_per_s: rows as f64 / seconds,
        ratio_to_ceiling: 1.0,
        cpu_s_per_million_rows: cpu.elapsed().as_secs_f64() * 1e6 / rows.max(1) as f64,
        peak_rss_mb: 0.0,
    })
}

/// Runs one available-now ingest from a fresh checkpoint as its own
/// `sluice ingest` process, and measures that process alone.
async fn measure_ingest(
    name: String,
    config: &IngestConfig,
    target: &DbTarget,
    postgres_pid: Option<u32>,
    ceiling_rate: f64,
) -> Result<Throughput, RunError> {
    let _ = std::fs::remove_dir_all(&config.checkpoint);
    let work_dir = config.checkpoint.with_extension("process");
    std::fs::create_dir_all(&work_dir).map_err(|source| RunError::RunDir {
        path: work_dir.clone(),
        source,
    })?;
    let pids = SampledPids::new(None, postgres_pid);
    let sampler = Sampler::start(Duration::from_millis(100), Arc::clone(&pids));
    let started = Instant::now();
    let process =
        PipelineProcess::start(config, &work_dir, target, pids).map_err(RunError::Failover)?;
    let status = tokio::task::spawn_blocking(move || process.wait())
        .await
        .map_err(|e| RunError::Task(e.to_string()))?
        .map_err(|e| RunError::Failover(format!("waiting for the pipeline: {e}")))?;
    let seconds = started.elapsed().as_secs_f64();
    let (_, profile) = sampler.finish();
    if !status.success() {
        return Err(RunError::Failover(format!(
            "the pipeline process failed ({status}); see {}",
            work_dir.join("pipeline.log").display()
        )));
    }
    let client = target.connect().await?;
    let rows = count(&client, "SELECT count(*) FROM events").await?;
    let rows_read = count(
        &client,
        "SELECT coalesce(sum(rows_read), 0)::bigint FROM sluice_batches",
    )
    .await?;
    let rows_per_s = rows as f64 / seconds;
    Ok(Throughput {
        name,
        rows,
        seconds,
        rows_per_s,
        ratio_to_ceiling: rows_per_s / ceiling_rate,
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

/// A steady load with the pipeline running; latency from the reporter.
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
    // WAL: flush them now, so that PostgreSQL's write-back of those does not
    // land inside this measurement's 20 s.
    if let Err(error) = target.connect().await?.batch_execute("CHECKPOINT").await {
        eprintln!(
            "bench: could not CHECKPOINT before `{name}` ({error}; it needs a superuser or \
             pg_checkpoint): the write-back of earlier measurements may land in this one"
        );
    }
    let config = IngestConfig {
        input: dir.clone(),
        checkpoint: dir.join(".checkpoint"),
        trigger,
        write_timing,
        listing_interval: Duration::from_secs(1),
        ..IngestConfig::default()
    };
    let pids = SampledPids::new(None, postgres_pid);
    let sampler = Sampler::start(Duration::from_millis(100), Arc::clone(&pids));
    let process_dir = options.work_dir.join(format!("load-{slug}-process"));
    std::fs::create_dir_all(&process_dir).map_err(|source| RunError::RunDir {
        path: process_dir.clone(),
        source,
    })?;
    let pipeline =
        PipelineProcess::start(&config, &process_dir, &target, pids).map_err(RunError::Failover)?;
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
    tokio::task::spawn_blocking(move || pipeline.stop())
        .await
        .map_err(|e| RunError::Task(e.to_string()))?
        .map_err(|e| RunError::Failover(format!("stopping the pipeline: {e}")))?;
    let (_, profile) = sampler.finish();
    let mut request = reporter::ReportRequest::new(&manifest, dir.join("report"));
    request.optimized_build = options.optimized_build;
    request.database_is_local = target.is_local();
    let summary = reporter::report(&client, &request).await?;
    Ok(Latency {
        name: name.to_string(),
        rows: summary.rows.found,
        p50_ms: summary.latency_ms.p50,
        p99_ms: summary.latency_ms.p99,
        max_ms: summary.latency_ms.max,
        peak_rss_mb: profile.pipeline_rss_peak_mb,
    })
}
