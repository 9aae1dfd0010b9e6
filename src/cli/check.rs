//! `sluice check`: what a start would verify (settings, table, transform,
//! input and checkpoint folders, the database and the table in it), without
//! ingesting or changing anything; stops at the first problem.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use scenario::{database, ScenarioFile};

use super::ingest::IngestArgs;

#[derive(Args)]
pub struct CheckArgs {
    /// A scenario file (configs/NAME.toml): checks its pipeline settings
    /// and database. Without one, the `sluice ingest` settings the flags
    /// below give.
    scenario: Option<PathBuf>,
    #[command(flatten)]
    ingest: IngestArgs,
}

pub async fn check(args: CheckArgs) -> Result<ExitCode> {
    let (config, database_url) = match &args.scenario {
        Some(path) => {
            let scenario = ScenarioFile::load(path)?;
            let mut config = scenario.pipeline.clone();
            // `sluice run` gives every run folders of its own.
            config.input = PathBuf::from("runs").join("RUN-ID").join("input");
            config.checkpoint = PathBuf::from("runs").join("RUN-ID").join("checkpoint");
            (config, scenario.database_url.clone())
        }
        None => {
            let database_url = args.ingest.database_url.clone();
            (args.ingest.settings()?, database_url)
        }
    };
    let database = database::resolve(database_url.as_deref())?;
    pipeline::check::check(&config, &database.target, &mut |passed| {
        println!("✓ {:<10} {}", passed.step, passed.detail);
    })
    .await?;
    println!("sluice check: no problem found; a start with these settings would begin ingesting");
    Ok(ExitCode::SUCCESS)
}
