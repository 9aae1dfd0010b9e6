//! `sluice status`: the workers of a shared pipeline (`--pipeline NAME`)
//! as the database records them: no worker is asked anything.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use pipeline::claims::{self, FleetStatus};
use reporter::render::table::Table;
use scenario::database;

#[derive(Args)]
pub struct StatusArgs {
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The pipeline's name, as its workers were started with.
    #[arg(long, env = "SLUICE_PIPELINE")]
    pipeline: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub async fn status(args: StatusArgs) -> Result<ExitCode> {
    let database = database::resolve(args.database_url.as_deref())?;
    let client = database.target.connect().await?;
    let Some(fleet) = claims::fleet_status(&client, &args.pipeline)
        .await
        .context("reading the pipeline's workers")?
    else {
        bail!(
            "no worker of pipeline {:?} ever ran against {}: start workers with `sluice ingest \
             --pipeline {}` (the name is case-sensitive), or check --database-url",
            args.pipeline,
            database.target.display(),
            args.pipeline
        );
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fleet)?);
    } else {
        print!("{}", render(&fleet));
    }
    Ok(ExitCode::SUCCESS)
}

/// The fleet as a line of totals and a table of workers.
fn render(fleet: &FleetStatus) -> String {
    let running = fleet.workers.iter().filter(|w| !w.stopped).count();
    let oldest = fleet.oldest_waiting_age_s.map_or(String::new(), |age| {
        format!(", the oldest modified {age:.1} s ago")
    });
    let mut table = Table::new([
        "worker",
        "host",
        "pid",
        "checkpoint",
        "state",
        "last heartbeat",
        "claims",
        "batches",
        "rows upserted",
        "backlog",
    ]);
    for worker in &fleet.workers {
        table.row([
            worker.worker.clone(),
            worker.host.clone(),
            worker.pid.to_string(),
            worker.checkpoint.clone(),
            if worker.stopped { "stopped" } else { "running" }.to_string(),
            format!("{:.1} s ago", worker.heartbeat_age_s),
            worker.claims.to_string(),
            worker.batches.to_string(),
            worker.rows_upserted.to_string(),
            worker.backlog_files.to_string(),
        ]);
    }
    format!(
        "pipeline {}: {} workers ({running} running), {} files committed, {} claimed ({} with \
         an expired lease), {} files waiting{oldest}\n\n{table}",
        fleet.pipeline,
        fleet.workers.len(),
        fleet.files_committed,
        fleet.files_claimed,
        fleet.claims_expired,
        fleet.backlog_files,
    )
}
