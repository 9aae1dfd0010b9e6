//! `sluice generate`: CSV event files at a steady pace, with a manifest.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use super::shutdown_token;

#[derive(Args)]
pub struct GenerateArgs {
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

pub async fn generate(args: GenerateArgs) -> Result<ExitCode> {
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
