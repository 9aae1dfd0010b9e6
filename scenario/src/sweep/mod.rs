//! `sluice sweep`: one load, a matrix of pipeline settings, side by side.
//!
//! A sweep file names a scenario (the load, the pipeline's other settings)
//! and a `[matrix]` of settings to vary:
//!
//! ```toml
//! scenario = "high-load.toml"   # relative to the sweep file; or an inline [scenario] table
//! duration = "60s"              # optional: the length of each run
//!
//! [matrix]                      # each key optional; the cartesian product is run
//! trigger = ["1s", "5s"]
//! batch_size = [1000, 10000]
//! write_mode = ["copy-merge", "insert", "unnest"]
//! write_timing = ["on-arrival", "at-tick"]
//! max_files_per_trigger = [100, 1000]
//! rate = [20000, 40000, 60000]  # offered rows/s (needs a steady load): the capacity curve
//! ```
//!
//! [`sweep`] runs every combination one after another with [`run::run`]
//! (same generator seed, so the same load), each on a fresh table of its own
//! (`<table>_sweep_<n>`, dropped and created again at the start of run `n`,
//! so a run never merges into rows of an earlier one and every run's indexes
//! start empty), then writes `compare.md` (via [`reporter::compare`], columns
//! labelled by the settings, e.g. `trigger=1s batch_size=1000`) and
//! `sweep.md` / `sweep.json` (one line per run, and the recommendation) into
//! `runs/sweep-<timestamp>/`.
//!
//! The recommendation: the lowest P99 among the runs that kept up (every
//! file committed before the drain timeout, nothing missing or duplicated,
//! and no growing backlog: see [`Figures::backlog_grew`]), and the highest
//! throughput among the runs that committed everything.
//!
//! Parsing, the product, the figures, the recommendation and the markdown are
//! pure functions; only [`sweep`] touches the database and the file system.

mod figures;
mod plan;
mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipeline::config::{Trigger, WriteTiming};
use pipeline::schema::Ident;
use pipeline::sink::WriteMode;
use reporter::compare::CompareOutput;
use reporter::recommend::Recommendation;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{database, run, ScenarioFile};
use figures::capacity_points;
pub use figures::{capacity, figures, recommend};
pub use render::{capacity_section, recommendation_lines, render, runs_table};

/// The sweep's own report in its folder.
pub const SWEEP_REPORT_FILE: &str = "sweep.md";
/// The same figures, for machines.
pub const SWEEP_JSON_FILE: &str = "sweep.json";
/// The capacity curve of a `rate` axis.
pub const CAPACITY_CHART_FILE: &str = "capacity_curve.svg";
/// Complete runs whose throughputs lie within this many percent of each
/// other delivered what the load offered: the pick between them is noise,
/// and the recommendation says so.
pub const THROUGHPUT_TIE_PCT: f64 = 2.0;

/// The settings a sweep varies; a key left out keeps the scenario's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// Triggers: intervals (`1s`, `500ms`) or `continuous`.
    #[serde(default)]
    pub trigger: Option<Vec<Trigger>>,
    /// Rows per COPY round trip / per INSERT statement.
    #[serde(default)]
    pub batch_size: Option<Vec<usize>>,
    /// `copy-merge`, `insert`, `unnest`.
    #[serde(default)]
    pub write_mode: Option<Vec<WriteMode>>,
    /// `on-arrival`, `at-tick` (interval triggers).
    #[serde(default)]
    pub write_timing: Option<Vec<WriteTiming>>,
    /// Cap on files per batch.
    #[serde(default)]
    pub max_files_per_trigger: Option<Vec<usize>>,
    /// Offered loads, rows/s: each run writes the scenario's steady load at
    /// this rate, in files of the same size (the interval shrinks as the
    /// rate grows). Listing rates draws the capacity curve.
    #[serde(default)]
    pub rate: Option<Vec<u64>>,
}

/// The sweep file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweepFile {
    /// A path (relative to the sweep file) or an inline scenario table.
    scenario: toml::Value,
    #[serde(default, with = "humantime_serde")]
    duration: Option<Duration>,
    #[serde(default)]
    matrix: Matrix,
}

/// A parsed sweep file.
#[derive(Debug, Clone)]
pub struct SweepFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The scenario path as resolved, or `inline`.
    pub scenario_source: String,
    /// The scenario every run starts from.
    pub scenario: ScenarioFile,
    /// Length of each run, overriding the scenario's.
    pub duration: Option<Duration>,
    pub matrix: Matrix,
}

/// What is wrong with a sweep, before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot read the sweep file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sweep file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot create the sweep folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    #[error("cannot write the sweep report: {0}")]
    Write(String),
}

/// `<table>_sweep_<n>`: the table run `n` of a sweep writes to.
pub fn sweep_table(table: &str, index: usize) -> String {
    format!("{table}_sweep_{index}")
}

/// Command-line values that win over the sweep file.
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    /// Length of each run.
    pub duration: Option<Duration>,
    /// Database URL for every run; the embedded PostgreSQL when absent.
    pub database_url: Option<String>,
}

/// The settings of one run that a sweep may vary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSettings {
    pub trigger: String,
    pub batch_size: usize,
    pub write_mode: String,
    pub write_timing: String,
    pub max_files_per_trigger: usize,
    /// Offered load of a `rate` axis, rows/s.
    pub rate_rows_per_s: Option<u64>,
}

/// One run of the matrix, ready to go.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// 1-based position in the sweep.
    pub index: usize,
    /// The varied settings, `key=value` separated by spaces.
    pub label: String,
    pub settings: RunSettings,
    /// The scenario with this run's settings and table.
    pub scenario: ScenarioFile,
}

/// Where the sweep writes, and how the program was built.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The sweep folder goes in here: `runs_dir/sweep-<timestamp>/`.
    pub runs_dir: PathBuf,
    pub overrides: RunOverrides,
    /// `false` for a debug build (the reports say so).
    pub optimized_build: bool,
}

/// How the user stops a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepControl {
    /// Cancelled: start no further run (the current one finishes).
    pub finish: CancellationToken,
    /// Cancelled: stop the current run now (its report is still written).
    pub abort: CancellationToken,
}

/// What became of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Every file committed, nothing missing or duplicated.
    Complete,
    /// It ran and reported, but rows are missing or duplicated, or the
    /// pipeline did not drain before the drain timeout.
    Incomplete,
    /// It could not run or report (see `problem`).
    Failed,
    /// Stopped by the user; its report covers what it did.
    Interrupted,
    /// Not started: the sweep was stopped before.
    NotRun,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Incomplete => "INCOMPLETE",
            RunStatus::Failed => "FAILED",
            RunStatus::Interrupted => "interrupted",
            RunStatus::NotRun => "not run",
        }
    }
}

/// The figures a sweep judges a run by.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Every generated file was committed before the drain timeout.
    pub drained: bool,
    pub expected: u64,
    pub found: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Latency percentiles, ms; `None` when no latency was measured.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Rows found / (last commit − first file created), rows/s.
    pub throughput_rows_per_s: f64,
    /// Valid rows the generator wrote per second of its run.
    pub offered_rows_per_s: f64,
    /// throughput / offered, percent; `None` without an offered rate.
    pub delivered_pct: Option<f64>,
    /// P95 latency of the files created in the first and the last quarter of
    /// the run, ms (the report's `drift`).
    pub p95_first_quarter_ms: Option<f64>,
    pub p95_last_quarter_ms: Option<f64>,
    /// The last quarter's P95 exceeds the first's by more than
    /// [`recommend::BACKLOG_RATIO`] times and [`recommend::BACKLOG_MS`]: files waited longer and
    /// longer, so the pipeline fell behind. `None` when not measured.
    pub backlog_grew: Option<bool>,
    /// 95th percentile batch time, ms; `None` without batches.
    pub batch_ms_p95: Option<f64>,
    /// Drained, nothing missing or duplicated, and no growing backlog.
    pub keeps_up: bool,
}

impl Figures {
    /// Every file committed, nothing missing or duplicated.
    pub fn complete(&self) -> bool {
        self.drained && self.missing == 0 && self.duplicates == 0
    }

    /// Why the run is not complete, as a phrase; `None` when it is.
    pub fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        if !self.drained {
            problems.push("not every file was committed before the drain timeout".to_string());
        }
        if self.missing > 0 {
            problems.push(format!("{} rows missing", self.missing));
        }
        if self.duplicates > 0 {
            problems.push(format!("{} rows duplicated", self.duplicates));
        }
        (!problems.is_empty()).then(|| problems.join(", "))
    }
}

/// One run's outcome in the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub index: usize,
    pub label: String,
    pub settings: RunSettings,
    /// The table it wrote to.
    pub table: String,
    pub status: RunStatus,
    /// Why it is not complete (or the error that stopped it).
    pub problem: Option<String>,
    /// Its run folder (report.md, summary.json), when it got that far.
    pub run_dir: Option<PathBuf>,
    pub figures: Option<Figures>,
}

/// The capacity a `rate` axis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// The scenario's P99 target, ms: a sustained load meets it too.
    pub p99_limit_ms: Option<f64>,
    /// The highest offered load that was sustained: kept up (see
    /// [`Figures::keeps_up`]) within the P99 limit; `None` when none was.
    pub sustained_rows_per_s: Option<u64>,
    /// The run that sustained it.
    pub run: Option<usize>,
    /// Offered loads that were sustained although a lower one was not:
    /// the curve is not monotonic, so the capacity is near its edge.
    pub sustained_above_a_miss: bool,
}

impl Capacity {
    /// Whether a run sustained its load under `p99_limit_ms`: it completed
    /// and kept up within the limit.
    fn sustained_by(run: &RunResult, p99_limit_ms: Option<f64>) -> bool {
        run.status == RunStatus::Complete
            && run.figures.as_ref().is_some_and(|f| {
                f.keeps_up
                    && p99_limit_ms.is_none_or(|limit| f.p99_ms.is_some_and(|p99| p99 <= limit))
            })
    }
}

/// What a sweep did, as written to `sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// The sweep file as given.
    pub sweep_file: String,
    /// The scenario file, or `inline`.
    pub scenario_source: String,
    pub scenario: String,
    /// Length of each run.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    pub optimized_build: bool,
    /// Every run of the matrix, in order (including those not run).
    pub runs: Vec<RunResult>,
    pub recommendation: Recommendation,
    /// What a `rate` axis found (`None` without one).
    pub capacity: Option<Capacity>,
    /// The sweep stopped early (Ctrl-C).
    pub stopped_early: bool,
    /// `compare.md`, when written (at least two runs reported).
    pub compare: Option<String>,
    /// Caveats, each a full sentence.
    pub notes: Vec<String>,
}

impl SweepReport {
    /// The runs that did not complete, as `run N (label): why`.
    pub fn failures(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter(|r| !matches!(r.status, RunStatus::Complete | RunStatus::NotRun))
            .map(|r| {
                format!(
                    "run {} ({}): {}{}",
                    r.index,
                    r.label,
                    r.status.as_str(),
                    r.problem
                        .as_deref()
                        .map_or(String::new(), |p| format!(": {p}"))
                )
            })
            .collect()
    }

    /// Whether every run of the matrix ran and completed.
    pub fn all_complete(&self) -> bool {
        self.runs.iter().all(|r| r.status == RunStatus::Complete)
    }
}

/// What [`sweep`] wrote.
#[derive(Debug)]
pub struct SweepOutcome {
    /// `runs_dir/sweep-<timestamp>/`.
    pub dir: PathBuf,
    /// `sweep.md`.
    pub markdown: PathBuf,
    pub report: SweepReport,
    /// The comparison, when at least two runs reported.
    pub compare: Option<CompareOutput>,
}

/// Progress of a sweep, for the caller to show.
#[derive(Debug)]
pub enum SweepEvent<'a> {
    /// Run `run.index` of `total` starts.
    Starting { run: &'a PlannedRun, total: usize },
    /// A run ended.
    Finished { run: &'a RunResult, total: usize },
}

/// Runs the sweep: every combination one after another, each on a fresh
/// table, then the comparison and `sweep.md`. Errors only when nothing can
/// start (bad file, no database, no folder) or the report cannot be written;
/// a run that fails is recorded and the sweep goes on.
pub async fn sweep(
    file: &SweepFile,
    options: &SweepOptions,
    control: &SweepControl,
    observer: &mut dyn FnMut(SweepEvent<'_>),
) -> Result<SweepOutcome, SweepError> {
    let invalid = |message: String| SweepError::Invalid {
        path: file.path.display().to_string(),
        message,
    };
    let planned = file.runs(&options.overrides).map_err(invalid)?;
    let total = planned.len();
    let dir = create_sweep_dir(&options.runs_dir)?;
    let mut notes = Vec::new();
    // Held for the whole sweep: the embedded server (if this sweep starts
    // it) stays up between runs, and each run attaches to it.
    // Every run has the same URL: the command line's, else the scenario's.
    let url = planned[0].scenario.database_url.clone();
    let database = database::resolve(url.as_deref())?;

    let mut results: Vec<RunResult> = Vec::with_capacity(total);
    let mut stopped_early = false;
    for plan in &planned {
        if stopped_early || control.finish.is_cancelled() || control.abort.is_cancelled() {
            stopped_early = true;
            results.push(RunResult::not_run(plan));
            continue;
        }
        observer(SweepEvent::Starting { run: plan, total });
        let result = run_one(plan, &database, &dir, control, options).await;
        if control.finish.is_cancelled() || control.abort.is_cancelled() {
            stopped_early = true;
        }
        observer(SweepEvent::Finished {
            run: &result,
            total,
        });
        results.push(result);
    }
    drop(database);

    let compare = compare_runs(&results, &dir, &mut notes);
    if !options.optimized_build {
        notes.push(
            "From an unoptimised (debug) build: the figures are not representative; use \
             --release."
                .into(),
        );
    }
    let duration = planned
        .first()
        .map_or(file.scenario.duration, |p| p.scenario.duration);
    let report = SweepReport {
        sweep_file: file.path.display().to_string(),
        scenario_source: file.scenario_source.clone(),
        scenario: file.scenario.name.clone(),
        duration,
        optimized_build: options.optimized_build,
        recommendation: recommend(&results),
        capacity: capacity(
            &results,
            file.scenario.targets.as_ref().and_then(|t| t.p99_ms),
        ),
        runs: results,
        stopped_early,
        compare: compare.as_ref().map(|c| c.markdown.display().to_string()),
        notes,
    };
    let markdown = write_sweep(&dir, &report)?;
    Ok(SweepOutcome {
        dir,
        markdown,
        report,
        compare,
    })
}

impl RunResult {
    fn not_run(plan: &PlannedRun) -> Self {
        Self {
            index: plan.index,
            label: plan.label.clone(),
            settings: plan.settings.clone(),
            table: plan.scenario.pipeline.table.name.clone(),
            status: RunStatus::NotRun,
            problem: None,
            run_dir: None,
            figures: None,
        }
    }
}

/// One run of the sweep on an emptied table, in its own `run-NN` folder.
async fn run_one(
    plan: &PlannedRun,
    database: &database::Database,
    dir: &Path,
    control: &SweepControl,
    options: &SweepOptions,
) -> RunResult {
    let mut result = RunResult::not_run(plan);
    let table = &result.table;
    let runs_root = dir.join(format!("run-{:02}", plan.index));
    let outcome = match fresh_table(&database.target, table).await {
        Ok(()) => run::run(
            plan.scenario.clone(),
            &runs_root,
            control.abort.child_token(),
            options.optimized_build,
        )
        .await
        .map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot start from an empty table `{table}`: {e}")),
    };
    match outcome {
        Ok(outcome) => {
            let f = figures(&outcome.summary, &outcome.generator, outcome.drained);
            result.status = if f.complete() {
                RunStatus::Complete
            } else {
                RunStatus::Incomplete
            };
            result.problem = f.problem();
            result.run_dir = Some(outcome.run_dir);
            result.figures = Some(f);
        }
        Err(error) => {
            result.status = RunStatus::Failed;
            result.problem = Some(error);
        }
    }
    if control.abort.is_cancelled() {
        result.status = RunStatus::Interrupted;
        result.problem = Some("stopped by the user before its end".into());
    }
    result
}

/// The side-by-side comparison of the runs that reported, or a note why none.
fn compare_runs(
    results: &[RunResult],
    dir: &Path,
    notes: &mut Vec<String>,
) -> Option<CompareOutput> {
    let reported: Vec<(Option<String>, PathBuf)> = results
        .iter()
        .filter_map(|r| Some((Some(r.label.clone()), r.run_dir.clone()?)))
        .collect();
    if reported.len() >= reporter::compare::MIN_RUNS {
        match reporter::compare::compare_labelled(&reported, dir) {
            Ok(written) => Some(written),
            Err(error) => {
                notes.push(format!("The comparison could not be made: {error}."));
                None
            }
        }
    } else {
        notes.push(format!(
            "No comparison: {} run{} reported, it takes at least two.",
            reported.len(),
            if reported.len() == 1 { "" } else { "s" }
        ));
        None
    }
}

/// Writes the capacity chart (when the sweep measured capacity), the
/// sweep's markdown and its JSON; returns the markdown's path.
fn write_sweep(dir: &Path, report: &SweepReport) -> Result<PathBuf, SweepError> {
    let markdown = dir.join(SWEEP_REPORT_FILE);
    let write = |path: &Path, text: String| {
        reporter::files::write_atomic(path, text.as_bytes())
            .map_err(|e| SweepError::Write(e.to_string()))
    };
    if let Some(capacity) = &report.capacity {
        let (p50, p99) = capacity_points(&report.runs);
        if let Err(error) = reporter::render::charts::capacity_curve(
            &dir.join(CAPACITY_CHART_FILE),
            &p50,
            &p99,
            capacity.p99_limit_ms,
        ) {
            tracing::warn!(%error, "the capacity chart was not written");
        }
    }
    write(&markdown, render(report, dir))?;
    let mut json =
        serde_json::to_string_pretty(&report).map_err(|e| SweepError::Write(e.to_string()))?;
    json.push('\n');
    write(&dir.join(SWEEP_JSON_FILE), json)?;
    Ok(markdown)
}

/// Points of a curve: (offered rows/s, latency ms).
type Curve = Vec<(f64, f64)>;

/// `runs_dir/sweep-YYYYmmdd-HHMMSS` (local time, like run ids), with `-2`,
/// `-3`, ... when that exists already.
fn create_sweep_dir(runs_dir: &Path) -> Result<PathBuf, SweepError> {
    let name = format!("sweep-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    std::fs::create_dir_all(runs_dir).map_err(|source| SweepError::Folder {
        path: runs_dir.to_path_buf(),
        source,
    })?;
    let mut n = 1;
    loop {
        let dir = if n == 1 {
            runs_dir.join(&name)
        } else {
            runs_dir.join(format!("{name}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(source) => return Err(SweepError::Folder { path: dir, source }),
        }
    }
}

/// Drops the run's table and its rejects table, with what the database
/// records about them (an earlier sweep's run of the same number): the
/// migration record (else the pipeline would not create the rejects table
/// again), the batches that wrote to the table and their quarantine rows.
/// The pipeline then creates both tables afresh.
async fn fresh_table(db: &pipeline::db::DbTarget, table: &str) -> Result<(), String> {
    let target = Ident::new(table).map_err(|e| e.to_string())?;
    let mut client = db.connect().await.map_err(|e| e.to_string())?;
    pipeline::db::forget_target(&mut client, &target)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::figures::*;
    use super::render::*;
    use super::*;
    use generator::{GeneratorSummary, RateProfile};
    use reporter::recommend::Pick;
    use reporter::summary::Quarters;
    use reporter::Summary;

    const SCENARIO: &str = "name = 'tiny'\nduration = '10m'\n\
        [generator]\nrows_min = 1\nrows_max = 2\ninterval = '1s'\n\
        [pipeline]\ntrigger = '30s'\nbatch_size = 1000\n";

    fn inline(matrix: &str) -> String {
        let scenario = SCENARIO
            .replace("[generator]", "[scenario.generator]")
            .replace("[pipeline]", "[scenario.pipeline]");
        format!("duration = '5s'\n[scenario]\n{scenario}\n[matrix]\n{matrix}")
    }

    fn parse(text: &str) -> Result<SweepFile, String> {
        SweepFile::parse(text, Path::new("configs/x.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_product_in_order_with_labels_and_tables() {
        let sweep = parse(&inline(
            "trigger = ['1s', '5s']\nbatch_size = [1000, 10000]\nwrite_mode = ['insert']",
        ))
        .unwrap();
        assert_eq!(sweep.scenario_source, "inline");
        let runs = sweep.runs(&RunOverrides::default()).unwrap();
        let got: Vec<(usize, &str, &str)> = runs
            .iter()
            .map(|r| {
                (
                    r.index,
                    r.label.as_str(),
                    r.scenario.pipeline.table.name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, "trigger=1s batch_size=1000", "events_sweep_1"),
                (2, "trigger=1s batch_size=10000", "events_sweep_2"),
                (3, "trigger=5s batch_size=1000", "events_sweep_3"),
                (4, "trigger=5s batch_size=10000", "events_sweep_4"),
            ]
        );
        let p = &runs[3].scenario.pipeline;
        assert_eq!(p.trigger, Trigger::Interval(Duration::from_secs(5)));
        assert_eq!(p.batch_size, 10000);
        assert_eq!(p.write_mode, WriteMode::Insert);
        assert_eq!(p.max_files_per_trigger, 1000, "the scenario's value");
        assert_eq!(runs[0].scenario.duration, Duration::from_secs(5));
        // The command line wins over the file.
        let runs = sweep
            .runs(&RunOverrides {
                duration: Some(Duration::from_secs(2)),
                database_url: Some("postgres://x@h/db".into()),
            })
            .unwrap();
        assert_eq!(runs[1].scenario.duration, Duration::from_secs(2));
        assert_eq!(
            runs[1].scenario.database_url.as_deref(),
            Some("postgres://x@h/db")
        );
    }

    #[test]
    fn a_rate_axis_keeps_the_file_size_and_needs_a_steady_load() {
        let steady = inline("rate = [20000, 40000]").replace(
            "rows_min = 1\nrows_max = 2\ninterval = '1s'",
            "rate = 'steady:10000'\ninterval = '100ms'",
        );
        let runs = parse(&steady)
            .unwrap()
            .runs(&RunOverrides::default())
            .unwrap();
        let got: Vec<(&str, Option<u64>, Duration)> = runs
            .iter()
            .map(|r| {
                (
                    r.label.as_str(),
                    r.settings.rate_rows_per_s,
                    r.scenario.generator.interval,
                )
            })
            .collect();
        // 1 000 rows per file at every rate.
        assert_eq!(
            got,
            [
                ("rate=20000", Some(20000), Duration::from_millis(50)),
                ("rate=40000", Some(40000), Duration::from_millis(25)),
            ]
        );
        assert!(matches!(
            runs[1].scenario.generator.rate,
            Some(RateProfile::Steady { rows_per_s: 40000 })
        ));
        // Checked when the file is read.
        let error = parse(&inline("rate = [20000, 40000]")).unwrap_err();
        assert!(
            error.contains("[matrix] rate needs a steady load"),
            "{error}"
        );
    }

    #[test]
    fn capacity_is_the_highest_load_kept_up_within_the_p99_limit() {
        let g = generated(1000, 10.0);
        let at = |index: usize, rate: u64, p99: f64, backlog: (f64, f64)| {
            let mut r = result(
                index,
                RunStatus::Complete,
                Some(figures(&summary(p99, 99.0, Some(backlog)), &g, true)),
            );
            r.settings.rate_rows_per_s = Some(rate);
            r
        };
        let runs = vec![
            at(1, 20000, 900.0, (800.0, 850.0)),
            at(2, 40000, 1050.0, (900.0, 1000.0)),
            // Keeps up, but above the limit.
            at(3, 50000, 1300.0, (1000.0, 1200.0)),
            // Falls behind.
            at(4, 60000, 9000.0, (1000.0, 6000.0)),
        ];
        let found = capacity(&runs, Some(1100.0)).unwrap();
        assert_eq!(
            (found.sustained_rows_per_s, found.run),
            (Some(40000), Some(2))
        );
        assert!(!found.sustained_above_a_miss);
        // Without a limit, keeping up is enough.
        assert_eq!(
            capacity(&runs, None).unwrap().sustained_rows_per_s,
            Some(50000)
        );
        let md = capacity_section(&report(runs.clone()), &found);
        assert!(
            md.contains("sustained with P99 ≤ 1,100 ms: **40000 rows/s** (run 2)"),
            "{md}"
        );
        assert!(
            md.contains("| 60000 | 99 | 4,500.0 | 9,000.0 | 1,000 → 6,000 | grew | no |"),
            "{md}"
        );
        assert_eq!(capacity_points(&runs).1[1], (40000.0, 1050.0));
        // No rate axis: no capacity.
        assert_eq!(
            capacity(&[result(1, RunStatus::Complete, None)], None),
            None
        );
    }

    #[test]
    fn write_timing_is_a_matrix_key() {
        let sweep = parse(&inline("write_timing = ['on-arrival', 'at-tick']")).unwrap();
        let runs = sweep.runs(&RunOverrides::default()).unwrap();
        let got: Vec<(&str, WriteTiming)> = runs
            .iter()
            .map(|r| (r.label.as_str(), r.scenario.pipeline.write_timing))
            .collect();
        assert_eq!(
            got,
            [
                ("write_timing=on-arrival", WriteTiming::OnArrival),
                ("write_timing=at-tick", WriteTiming::AtTick),
            ]
        );
        assert_eq!(runs[1].settings.write_timing, "at-tick");
    }

    #[test]
    fn a_scenario_path_is_relative_to_the_sweep_file() {
        // No tempfile crate here: a folder of our own under the system's temp.
        let root = std::env::temp_dir().join(format!("sluice-sweep-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        struct Cleanup(PathBuf);
        impl Drop for Cleanup {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = Cleanup(root);
        let dir = &dir.0;
        std::fs::write(dir.join("base.toml"), SCENARIO).unwrap();
        let path = dir.join("sweep.toml");
        std::fs::write(
            &path,
            "scenario = 'base.toml'\n[matrix]\nwrite_mode = ['copy-merge', 'unnest']\nmax_files_per_trigger = [10, 20]\n",
        )
        .unwrap();
        let sweep = SweepFile::load(&path).unwrap();
        assert_eq!(sweep.scenario.name, "tiny");
        let runs = sweep.runs(&RunOverrides::default()).unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "write_mode=copy-merge max_files_per_trigger=10",
                "write_mode=copy-merge max_files_per_trigger=20",
                "write_mode=unnest max_files_per_trigger=10",
                "write_mode=unnest max_files_per_trigger=20",
            ]
        );
        assert_eq!(runs[0].scenario.duration, Duration::from_secs(600));
        let missing = SweepFile::load(&dir.join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("nope.toml"), "{missing}");
        std::fs::write(
            &path,
            "scenario = 'absent.toml'\n[matrix]\nbatch_size = [1, 2]\n",
        )
        .unwrap();
        let e = SweepFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("absent.toml"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_matrices_are_rejected_clearly() {
        for (text, want) in [
            (
                inline("batch_size = [1, 2]\ntriger = ['1s']"),
                "unknown field `triger`",
            ),
            (
                format!("colour = 'red'\n{}", inline("batch_size = [1, 2]")),
                "unknown field `colour`",
            ),
            (
                inline("batch_size = [1, 2]")
                    .replace("[scenario.pipeline]", "[scenario.pipeline]\nbach_size = 3"),
                "in [scenario]: unknown field `bach_size`",
            ),
            (inline("batch_size = []"), "batch_size is empty"),
            (
                inline("batch_size = [0, 5]"),
                "batch_size must be at least 1",
            ),
            (
                inline("write_mode = ['copy', 'insert']"),
                "unknown variant `copy`",
            ),
            (inline("trigger = ['soon', '1s']"), "invalid trigger `soon`"),
            (
                inline("trigger = ['available-now', '1s']"),
                "a sweep runs a live load",
            ),
            (inline("batch_size = [1000]"), "gives 1 run"),
            (inline(""), "gives 1 run"),
            (
                "scenario = 3\n".to_string(),
                "found a value of type integer",
            ),
            (
                "[matrix]\nbatch_size = [1, 2]\n".to_string(),
                "missing field `scenario`",
            ),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(want), "{want:?} not in {e:?}");
            assert!(e.contains("configs/x.toml"), "{e}");
        }
        let long = inline("batch_size = [1, 2]").replace(
            "[scenario.pipeline]",
            "[scenario.pipeline.table]\nname = 'a_table_name_so_long_that_the_sweep_table_will_not_fit_in_63'\nkey = 'id'\ncolumns = [{name = 'id', type = 'text'}]\n[scenario.pipeline]",
        );
        let e = parse(&long).unwrap_err();
        assert!(e.contains("at most 63 characters"), "{e}");
    }

    #[test]
    fn the_shipped_sweep_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/sweep.toml");
        let sweep = SweepFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let runs = sweep.runs(&RunOverrides::default()).unwrap();
        assert_eq!(runs.len(), 8);
        let total: Duration = runs.iter().map(|r| r.scenario.duration).sum();
        assert!(total <= Duration::from_secs(8 * 60), "{total:?}");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/capacity.toml");
        let capacity = SweepFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let runs = capacity.runs(&RunOverrides::default()).unwrap();
        assert_eq!(runs.len(), 6);
        assert!(runs.iter().all(|r| r.scenario.separate_process));
        assert_eq!(runs[4].scenario.generator.interval.as_micros(), 17241);
    }

    fn summary(p99: f64, throughput: f64, quarters: Option<(f64, f64)>) -> Summary {
        let mut s = Summary::default();
        s.rows.expected = 1000;
        s.rows.found = 1000;
        s.latency_ms.count = 1000;
        s.latency_ms.p50 = p99 / 2.0;
        s.latency_ms.p95 = p99 * 0.9;
        s.latency_ms.p99 = p99;
        s.throughput_rows_per_s = throughput;
        s.batches.count = 3;
        s.batches.time_ms_p95 = 40.0;
        s.drift.latency_p95_ms = quarters.map(|(first, last)| Quarters {
            first,
            last,
            span_s: 60.0,
        });
        s
    }

    fn generated(expected_rows: u64, elapsed_s: f64) -> GeneratorSummary {
        serde_json::from_value(serde_json::json!({
            "seed": 1, "out_dir": "x", "manifest_path": "m", "interval_ms": 100.0,
            "rows_min": 1, "rows_max": 2, "dup_rate": 0.0, "bad_rate": 0.0,
            "files": 10, "rows": expected_rows, "dup_rows": 0, "bad_rows": 0,
            "expected_rows": expected_rows, "elapsed_s": elapsed_s, "rows_per_s": 1.0,
            "late_files": 0, "max_lateness_ms": 0.0, "mean_lateness_ms": 0.0, "stopped_early": false
        }))
        .unwrap()
    }

    #[test]
    fn keeping_up_needs_everything_committed_and_a_flat_backlog() {
        let g = generated(1000, 10.0);
        let f = figures(&summary(1200.0, 95.0, Some((1000.0, 1100.0))), &g, true);
        assert!(f.keeps_up && f.complete());
        assert_eq!(f.backlog_grew, Some(false));
        assert_eq!(f.offered_rows_per_s, 100.0);
        assert_eq!(f.delivered_pct, Some(95.0));
        assert_eq!(f.batch_ms_p95, Some(40.0));
        assert_eq!(f.problem(), None);
        // Latency rising by 1.5× and 1 s: a growing backlog.
        let f = figures(&summary(9000.0, 70.0, Some((1000.0, 4000.0))), &g, true);
        assert_eq!(f.backlog_grew, Some(true));
        assert!(f.complete() && !f.keeps_up);
        // Tripled but tiny: noise, not a backlog.
        let f = figures(&summary(90.0, 99.0, Some((30.0, 100.0))), &g, true);
        assert_eq!(f.backlog_grew, Some(false));
        assert!(f.keeps_up);
        // Not measured: judged on completeness alone.
        let f = figures(&summary(90.0, 99.0, None), &g, true);
        assert!(f.keeps_up && f.backlog_grew.is_none());
        // Not drained, or rows missing: not complete.
        let f = figures(&summary(90.0, 99.0, None), &g, false);
        assert!(!f.keeps_up);
        assert_eq!(
            f.problem().unwrap(),
            "not every file was committed before the drain timeout"
        );
        let mut s = summary(90.0, 99.0, None);
        s.rows.missing = 3;
        s.rows.duplicates = 1;
        let f = figures(&s, &g, true);
        assert_eq!(f.problem().unwrap(), "3 rows missing, 1 rows duplicated");
        // No latency measured: no percentiles.
        let f = figures(&Summary::default(), &generated(0, 0.0), true);
        assert_eq!((f.p99_ms, f.delivered_pct), (None, None));
    }

    fn result(index: usize, status: RunStatus, f: Option<Figures>) -> RunResult {
        RunResult {
            index,
            label: format!("batch_size={index}"),
            settings: RunSettings {
                trigger: "1s".into(),
                batch_size: index,
                write_mode: "insert".into(),
                write_timing: "on-arrival".into(),
                max_files_per_trigger: 10,
                rate_rows_per_s: None,
            },
            table: sweep_table("events", index),
            status,
            problem: None,
            run_dir: Some(PathBuf::from(format!("/r/sweep/run-0{index}/tiny-1"))),
            figures: f,
        }
    }

    fn report(runs: Vec<RunResult>) -> SweepReport {
        SweepReport {
            sweep_file: "configs/sweep.toml".into(),
            scenario_source: "inline".into(),
            scenario: "tiny".into(),
            duration: Duration::from_secs(60),
            optimized_build: true,
            recommendation: recommend(&runs),
            capacity: capacity(&runs, None),
            runs,
            stopped_early: false,
            compare: Some("/r/sweep/compare.md".into()),
            notes: vec![],
        }
    }

    #[test]
    fn recommends_the_lowest_p99_that_keeps_up_and_the_highest_throughput() {
        let g = generated(1000, 10.0);
        let runs = vec![
            // Lowest P99 of all, but it lost rows.
            result(1, RunStatus::Incomplete, {
                let mut s = summary(50.0, 99.0, None);
                s.rows.missing = 1;
                Some(figures(&s, &g, true))
            }),
            result(
                2,
                RunStatus::Complete,
                Some(figures(
                    &summary(1200.0, 97.0, Some((900.0, 1000.0))),
                    &g,
                    true,
                )),
            ),
            // Complete with the lowest P99 of the rest, but its backlog grew.
            result(
                3,
                RunStatus::Complete,
                Some(figures(
                    &summary(800.0, 99.5, Some((300.0, 2000.0))),
                    &g,
                    true,
                )),
            ),
            result(
                4,
                RunStatus::Complete,
                Some(figures(
                    &summary(1100.0, 98.0, Some((900.0, 1000.0))),
                    &g,
                    true,
                )),
            ),
            result(5, RunStatus::Failed, None),
        ];
        let r = recommend(&runs);
        assert_eq!(
            r.lowest_p99,
            Some(Pick {
                index: 4,
                run: "batch_size=4".into(),
                value: 1100.0,
                differing_settings: vec![],
            })
        );
        // Run 3 committed the most, but its backlog grew: not sustained.
        assert_eq!(r.highest_throughput.as_ref().map(|p| p.index), Some(4));
        let swept = report(runs);
        assert_eq!(
            swept.failures(),
            [
                "run 1 (batch_size=1): INCOMPLETE",
                "run 5 (batch_size=5): FAILED"
            ]
        );
        assert!(!swept.all_complete());
        let md = render(&swept, Path::new("/r/sweep"));
        for want in [
            "# Sweep of `tiny`: 5 runs",
            "[compare.md](compare.md)",
            "- Lowest P99 that keeps up: **batch_size=4** (run 4): P99 1,100.0 ms at 98 rows/s.",
            "- Highest sustained throughput: **batch_size=4** (run 4): 98 rows/s, P99 1,100.0 ms.",
            "| 3 | batch_size=3 | complete | no: backlog grew | 400.0 | 720.0 | 800.0 | 100 | 100 % | 300.0 → 2,000.0 | 40.0 | [report](run-03/tiny-1/report.md) |",
            "| 4 | batch_size=4 | complete | yes | 550.0 | 990.0 | 1,100.0 | 98 | 98 % | 900.0 → 1,000.0 | 40.0 |",
            "| 5 | batch_size=5 | FAILED | – |",
            "## Runs that did not complete",
        ] {
            assert!(md.contains(want), "no {want:?} in\n{md}");
        }
        // 97 to 99.5 rows/s: 2.5 % apart, a real difference.
        assert!(!md.contains("is within"), "{md}");
        let tie = report(vec![
            result(
                1,
                RunStatus::Complete,
                Some(figures(&summary(900.0, 99.0, None), &g, true)),
            ),
            result(
                2,
                RunStatus::Complete,
                Some(figures(&summary(800.0, 99.5, None), &g, true)),
            ),
        ]);
        let md = render(&tie, Path::new("/r"));
        assert!(
            md.contains("  Every run that committed everything is within 0.5 % of this throughput"),
            "{md}"
        );
        // Nobody keeps up.
        let none = report_none();
        assert!(render(&none, Path::new("/r")).contains("Lowest P99 that keeps up: none"));
    }

    fn report_none() -> SweepReport {
        report(vec![
            result(1, RunStatus::Failed, None),
            result(2, RunStatus::NotRun, None),
        ])
    }
}
