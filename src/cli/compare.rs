//! `sluice compare`: runs side by side.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct CompareArgs {
    /// Run folders (each holding summary.json), at least two.
    #[arg(required = true, value_name = "RUN_DIR")]
    run_dirs: Vec<PathBuf>,
    /// Output folder for compare.md, compare.json and the chart (default runs/compare-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let out = args
        .out
        .unwrap_or_else(|| reporter::compare::default_out_dir(std::path::Path::new("runs")));
    let written = reporter::compare::compare(&args.run_dirs, &out)?;
    println!("compare: {}", written.markdown.display());
    Ok(ExitCode::SUCCESS)
}
