//! The commands: one module each, holding its arguments and what it does.
//! [`dispatch`] hands a parsed command to its module.

mod bench;
mod check;
mod compare;
mod db;
mod generate;
mod ingest;
mod live;
mod report;
mod run;
mod status;
mod sweep;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::signals;

/// Exactly-once micro-batch ingest of CSV files into PostgreSQL, with its own
/// load generator and performance reporter.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a scenario end to end (database, pipeline, generator) and write a report.
    Run(run::RunArgs),
    /// Write CSV event files at a steady pace, with a manifest.
    Generate(generate::GenerateArgs),
    /// Watch a folder and ingest its CSV files into PostgreSQL, exactly once.
    Ingest(ingest::IngestArgs),
    /// Turn a manifest and the database into report.md and summary.json.
    Report(report::ReportArgs),
    /// Measure the speed bar: PostgreSQL's own COPY vs sluice, latency, memory, CPU.
    Bench(bench::BenchArgs),
    /// Put runs side by side: what was varied, integrity, latency, throughput, resources, targets.
    Compare(compare::CompareArgs),
    /// Run one scenario under a matrix of settings (trigger, batch size, write mode,
    /// max files per trigger), each on a fresh table, then compare the runs.
    Sweep(sweep::SweepArgs),
    /// Check settings, folders and the database as a start would, without
    /// ingesting: what the pipeline would do, or the first problem.
    Check(check::CheckArgs),
    /// The workers of a shared pipeline (--pipeline NAME), from the database
    /// alone: heartbeats, claims, batches, backlog and the oldest waiting file.
    Status(status::StatusArgs),
    /// Manage the embedded PostgreSQL.
    Db {
        #[command(subcommand)]
        action: db::DbAction,
    },
}

pub async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Generate(args) => generate::generate(args).await,
        Command::Ingest(args) => ingest::ingest(args).await,
        Command::Report(args) => report::report(args).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::Compare(args) => compare::compare(args),
        Command::Check(args) => check::check(args).await,
        Command::Sweep(args) => sweep::sweep(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Db { action } => db::db(action),
    }
}

/// A token cancelled by the first stop request (see [`signals`]).
pub(crate) fn shutdown_token() -> CancellationToken {
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
