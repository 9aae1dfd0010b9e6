//! `sluice report`: a manifest and the database turned into report.md and summary.json.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use scenario::database;

#[derive(Args)]
pub struct ReportArgs {
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
    /// The table's key column, holding the generator's event ids: duplicates
    /// are counted by it, and a table without `source_file` (written by
    /// another pipeline) ties its rows to their files by it.
    #[arg(long, default_value = "event_id")]
    key_column: String,
}

pub async fn report(args: ReportArgs) -> Result<ExitCode> {
    let table = pipeline::schema::Ident::new(&args.table)?;
    let database = database::resolve(args.database_url.as_deref())?;
    let client = database.target.connect().await?;
    let request = reporter::ReportRequest {
        manifest_path: args.manifest,
        out_dir: args.out.clone(),
        table: table.to_string(),
        rejects_table: table.derived("_rejects").to_string(),
        key_column: pipeline::schema::Ident::new(&args.key_column)?.to_string(),
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
