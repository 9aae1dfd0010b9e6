//! `sluice sweep`: one scenario under a matrix of settings; Ctrl-C skips a run, twice stops the sweep.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::signals;

#[derive(Args)]
pub struct SweepArgs {
    /// Sweep file, e.g. configs/sweep.toml: a scenario and a [matrix] of settings.
    config: PathBuf,
    /// Length of each run (e.g. 30s), over the sweep file's.
    #[arg(long, env = "SLUICE_DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// PostgreSQL URL; the embedded server when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Folder that receives runs/sweep-<timestamp>/.
    #[arg(long, env = "SLUICE_RUNS_DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// List the runs of the matrix and exit.
    #[arg(long)]
    dry_run: bool,
}

/// Ctrl-C once: finish the current run, start no other. Twice (or a
/// terminate request: SIGTERM, Ctrl-Break, console close):
/// stop the current run now (its report is still written).
fn sweep_control() -> scenario::sweep::SweepControl {
    let control = scenario::sweep::SweepControl::default();
    let (finish, abort) = (control.finish.clone(), control.abort.clone());
    let mut requests = signals::StopRequests::listen().expect("stop handlers install");
    tokio::spawn(async move {
        loop {
            let interrupt = requests.recv().await == signals::StopRequest::Interrupt;
            if interrupt && !finish.is_cancelled() {
                finish.cancel();
                eprintln!(
                    "\nsluice: stopping after the current run (Ctrl-C again stops it now; its report is still written)"
                );
            } else {
                finish.cancel();
                abort.cancel();
                eprintln!("\nsluice: stopping the current run now");
                break;
            }
        }
    });
    control
}

pub async fn sweep(args: SweepArgs) -> Result<ExitCode> {
    use scenario::sweep::{self, RunOverrides, SweepEvent, SweepFile, SweepOptions};
    let file = SweepFile::load(&args.config)?;
    let overrides = RunOverrides {
        duration: args.duration,
        database_url: args.database_url,
    };
    let planned = file.runs(&overrides).map_err(anyhow::Error::msg)?;
    let each = planned
        .first()
        .map_or(file.scenario.duration, |p| p.scenario.duration);
    if args.dry_run {
        for run in &planned {
            let p = &run.scenario.pipeline;
            println!(
                "{:>3}  {}  (trigger {}, batch_size {}, write_mode {}, max_files_per_trigger {}; table {})",
                run.index, run.label, p.trigger, p.batch_size, p.write_mode, p.max_files_per_trigger, p.table.name
            );
        }
        println!(
            "{} runs of {} each (scenario `{}`)",
            planned.len(),
            humantime::format_duration(each),
            file.scenario.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let optimized = !cfg!(debug_assertions);
    if !optimized {
        eprintln!("sluice: note: unoptimised (debug) build: figures are not representative; use --release");
    }
    eprintln!(
        "sluice: sweeping scenario `{}`: {} runs of {} each, one after another (Ctrl-C stops after the current run)",
        file.scenario.name,
        planned.len(),
        humantime::format_duration(each)
    );
    let options = SweepOptions {
        runs_dir: args.runs_dir,
        overrides,
        optimized_build: optimized,
    };
    let mut observer = |event: SweepEvent<'_>| match event {
        SweepEvent::Starting { run, total } => {
            eprintln!("sluice: run {}/{total}: {}", run.index, run.label)
        }
        SweepEvent::Finished { run, total } => {
            let figures = run.figures.as_ref().map_or(String::new(), |f| {
                format!(
                    ": p99 {} ms, {:.0} rows/s, keeps up: {}",
                    f.p99_ms.map_or("n/a".into(), |p| format!("{p:.1}")),
                    f.throughput_rows_per_s,
                    if f.keeps_up { "yes" } else { "no" }
                )
            });
            let problem = run
                .problem
                .as_deref()
                .map_or(String::new(), |p| format!(" ({p})"));
            println!(
                "run {}/{total} {}: {}{figures}{problem}",
                run.index,
                run.label,
                run.status.as_str()
            );
        }
    };
    let outcome = sweep::sweep(&file, &options, &sweep_control(), &mut observer).await?;
    let report = &outcome.report;
    println!();
    print!("{}", sweep::runs_table(report, &outcome.dir));
    println!();
    print!("{}", sweep::recommendation_lines(report));
    if let Some(compare) = &outcome.compare {
        println!("compare: {}", compare.markdown.display());
    }
    println!("sweep: {}", outcome.markdown.display());
    let failures = report.failures();
    for failure in &failures {
        eprintln!("sluice: {failure}");
    }
    if report.stopped_early {
        let not_run = report
            .runs
            .iter()
            .filter(|r| r.status == sweep::RunStatus::NotRun)
            .count();
        eprintln!("sluice: the sweep was stopped early; {not_run} runs did not start");
    }
    Ok(if report.all_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
