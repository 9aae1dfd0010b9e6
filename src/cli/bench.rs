//! `sluice bench`: the speed bar against PostgreSQL's own COPY.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {
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
    /// Also measure 1, 2, … up to this many workers of one pipeline
    /// (`--pipeline`) on the same files (below 2 skips them).
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// PostgreSQL URL (needs CREATE DATABASE); the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Work folder (generated files, bench.json).
    #[arg(long, default_value = "runs/bench")]
    work_dir: PathBuf,
}

pub async fn bench(args: BenchArgs) -> Result<ExitCode> {
    let options = scenario::bench::BenchOptions {
        rows: args.rows,
        rows_per_file: args.rows_per_file,
        database_url: args.database_url,
        work_dir: args.work_dir.clone(),
        load_seconds: args.load_seconds,
        load_rows_per_s: args.load_rows_per_s,
        backlog_files: args.backlog_files,
        rounds: args.rounds,
        workers: args.workers,
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
