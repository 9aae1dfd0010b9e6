//! `sluice run`: a scenario end to end (database, pipeline, generator), then its report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use pipeline::config::Trigger;
use scenario::{Overrides, ScenarioFile};

use super::shutdown_token;

#[derive(Args)]
pub struct RunArgs {
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
    /// Run this command as the pipeline instead of sluice (a Spark job, a
    /// loader script), through the shell, with {input}, {database_url},
    /// {trigger}, {ready_file}, {checkpoint} and {table} replaced by the
    /// run's values (shell-quoted; also in SLUICE_INPUT, DATABASE_URL, …).
    /// The load starts once it creates {ready_file} when it uses it.
    #[arg(long, env = "SLUICE_PIPELINE_CMD")]
    pipeline_cmd: Option<String>,
    /// The table the pipeline command writes (default: the scenario's,
    /// `events`); a name of its own keeps it apart from sluice's.
    #[arg(long, env = "SLUICE_PIPELINE_TABLE")]
    pipeline_table: Option<String>,
    /// Folder that receives runs/<run-id>/.
    #[arg(long, env = "SLUICE_RUNS_DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Exit 0 even when the scenario's [targets] are missed (the report still says so).
    #[arg(long)]
    no_fail_on_targets: bool,
}

pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let mut scenario = ScenarioFile::load(&args.config)?;
    scenario.apply(&Overrides {
        duration: args.duration,
        trigger: args.trigger,
        batch_size: args.batch_size,
        database_url: args.database_url,
        pipeline_command: args.pipeline_cmd,
        pipeline_table: args.pipeline_table.clone(),
    });
    if args.pipeline_table.is_some() && scenario.external.is_none() {
        anyhow::bail!(
            "--pipeline-table names the table a pipeline command writes: give the command with \
             --pipeline-cmd or as `command` in the scenario's [pipeline]"
        );
    }
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
