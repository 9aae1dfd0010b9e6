//! `sluice ingest`: the pipeline as a service over a folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use pipeline::config::{Cleanup, IngestConfig, Trigger, WriteTiming};
use pipeline::metrics::{self, Metrics, MetricsObserver};
use pipeline::sink::WriteMode;
use scenario::database;

use super::shutdown_token;

#[derive(Args)]
pub struct IngestArgs {
    /// Folder to watch.
    #[arg(long, env = "SLUICE_INPUT")]
    input: Option<PathBuf>,
    /// TOML file with pipeline settings (the keys of a scenario's [pipeline] section).
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    pub(super) database_url: Option<String>,
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
    /// Checkpoint folder (a worker of --pipeline NAME takes the first free
    /// worker-N folder inside it; default checkpoints/NAME).
    #[arg(long, env = "SLUICE_CHECKPOINT")]
    checkpoint: Option<PathBuf>,
    /// Run as one of several workers of pipeline NAME that share the input
    /// folder and the database (on this machine or others): files are
    /// claimed through the database, each committed by exactly one worker.
    #[arg(long, env = "SLUICE_PIPELINE")]
    pipeline: Option<String>,
    /// How long a worker's claim on a file lasts without its heartbeat: a
    /// killed worker's files are taken over after this (default 30s).
    #[arg(long, env = "SLUICE_CLAIM_LEASE", value_parser = humantime::parse_duration)]
    claim_lease: Option<Duration>,
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
    /// Serve Prometheus metrics at http://ADDRESS/metrics (e.g.
    /// 127.0.0.1:9898; port 0 picks a free one, printed at start). Off by default.
    #[arg(long, env = "SLUICE_METRICS_ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Test hook: linger at batch steps, e.g. `committing=2s` (see pipeline::stage).
    #[arg(long, env = "SLUICE_STAGE_DELAY", hide = true)]
    stage_delay: Option<String>,
}

impl IngestArgs {
    /// The settings this command runs with: the `--config` file (or the
    /// defaults), then every flag given on top of it.
    pub(super) fn settings(self) -> Result<IngestConfig> {
        let mut config = match &self.config {
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
        match self.input {
            Some(input) => config.input = input,
            None if self.config.is_none() => {
                bail!("no input folder: pass --input DIR (or SLUICE_INPUT, or `input` in --config)")
            }
            None => {}
        }
        if let Some(trigger) = self.trigger {
            config.trigger = trigger;
        }
        if let Some(max_files) = self.max_files_per_trigger {
            config.max_files_per_trigger = max_files;
        }
        if let Some(max_rows) = self.max_rows_per_trigger {
            config.max_rows_per_trigger = Some(max_rows);
        }
        if let Some(batch_size) = self.batch_size {
            config.batch_size = batch_size;
        }
        if let Some(pipeline) = self.pipeline {
            let default_checkpoint = IngestConfig::default().checkpoint;
            if self.checkpoint.is_none() && config.checkpoint == default_checkpoint {
                config.checkpoint = PathBuf::from("checkpoints").join(&pipeline);
            }
            config.pipeline = Some(pipeline);
        }
        if let Some(lease) = self.claim_lease {
            config.claim_lease = lease;
        }
        if let Some(checkpoint) = self.checkpoint {
            config.checkpoint = checkpoint;
        }
        if let Some(glob) = self.glob {
            config.glob = glob;
        }
        if let Some(quarantine) = self.quarantine {
            config.quarantine = Some(quarantine);
        }
        if let Some(write_mode) = self.write_mode {
            config.write_mode = write_mode;
        }
        if let Some(write_timing) = self.write_timing {
            config.write_timing = write_timing;
        }
        if let Some(cleanup) = self.cleanup {
            config.cleanup = cleanup;
        }
        if let Some(archive) = self.archive {
            config.archive = Some(archive);
        }
        if let Some(deadline) = self.retry_deadline {
            config.retry.deadline = deadline;
        }
        if let Some(grace) = self.shutdown_grace {
            config.shutdown_grace = grace;
        }
        if let Some(settle) = self.settle_time {
            config.settle_time = settle;
        }
        if let Some(max_record_bytes) = self.max_record_bytes {
            config.max_record_bytes = max_record_bytes;
        }
        config.fail_on_rejects |= self.fail_on_rejects;
        config.reset_checkpoint = self.reset_checkpoint;
        if let Some(spec) = &self.stage_delay {
            config.stage_probe =
                pipeline::stage::StageProbe::parse(spec).map_err(anyhow::Error::msg)?;
        }
        Ok(config)
    }
}

pub async fn ingest(args: IngestArgs) -> Result<ExitCode> {
    let database_url = args.database_url.clone();
    let metrics_addr = args.metrics_addr;
    let config = args.settings()?;
    let database = database::resolve(database_url.as_deref())?;
    tracing::info!(
        input = %config.input.display(),
        database = database.target.display(),
        trigger = %config.trigger,
        "ingest starting"
    );
    let stop = shutdown_token();
    let mut observer = super::live::observer();
    if let Some(address) = metrics_addr {
        let metrics = Arc::new(Metrics::default());
        let bound = metrics::serve(address, Arc::clone(&metrics), stop.clone())
            .await
            .with_context(|| {
                format!(
                    "cannot serve metrics at {address}: choose a free address with --metrics-addr"
                )
            })?;
        eprintln!("sluice: metrics at http://{bound}/metrics");
        observer = Arc::new(MetricsObserver {
            metrics,
            inner: observer,
        });
    }
    let summary = pipeline::driver::run(&config, &database.target, stop, observer).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}
