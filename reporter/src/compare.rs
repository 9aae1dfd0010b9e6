//! `sluice compare`: several runs side by side.
//!
//! Reads each run folder's `summary.json` and writes, into one output folder,
//! `compare.md` (for a person), `compare.json` (the same figures, for
//! machines) and `latency_cdf_compare.svg` (the runs' latency distributions
//! overlaid). The report holds:
//!
//! - the configuration differences: each setting (`run.settings`) as a row,
//!   one column per run; settings every run shares are listed apart, so what
//!   was varied stands out;
//! - integrity (generated, expected, found, missing, rejected, duplicates);
//! - latency percentiles (P50, P95, P99, P99.9, max, mean), the best of each
//!   row in bold;
//! - throughput and batch times, resources (when sampled) and targets;
//! - a recommendation by the one rule of [`crate::recommend`] (the sweep
//!   uses it too): among the runs that kept up, the lowest P99 and the
//!   highest throughput, each with its settings that differ.
//!
//! Only [`compare`], [`compare_labelled`] (and [`load_summary`]) touch the
//! file system; the tables, the chart's points and the recommendation are
//! pure functions of the summaries.
//!
//! A `summary.json` may lack fields (an older layout, or one written by hand):
//! those read as in [`Summary::default`] (see [`parse_summary`]).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::ReportError;
use crate::format::fmt_decimal;
use crate::recommend::{self, Candidate, Recommendation};
use crate::render::charts::{self, LATENCY_CDF_COMPARE};
use crate::render::table::Table;
use crate::summary::{ResourceProfile, RunSummary, Setting, Summary, SUMMARY_VERSION};
use crate::SUMMARY_FILE;

/// Name of the markdown comparison in the output folder.
pub const COMPARE_REPORT_FILE: &str = "compare.md";
/// Name of the JSON comparison in the output folder.
pub const COMPARE_JSON_FILE: &str = "compare.json";
/// Version of the `compare.json` layout. 2: each run has `kept_up`, and the
/// recommendation picks only among runs that kept up.
pub const COMPARE_VERSION: u32 = 2;
/// Fewest runs a comparison takes.
pub const MIN_RUNS: usize = 2;

/// A point of a cumulative distribution: (latency ms, percent of rows).
pub type CdfPoint = (f64, f64);

/// Why a comparison could not be made.
#[derive(thiserror::Error, Debug)]
pub enum CompareError {
    /// Fewer than [`MIN_RUNS`] run folders.
    #[error(
        "compare needs at least {MIN_RUNS} run folders, got {given}: pass two or more \
         folders written by `sluice run` (each holds summary.json)"
    )]
    TooFewRuns {
        /// How many were given.
        given: usize,
    },
    /// A run folder has no `summary.json`.
    #[error(
        "`{}` not found: each RUN_DIR must be a run folder written by `sluice run` \
         (or `sluice report --out`) that holds summary.json",
        path.display()
    )]
    SummaryNotFound {
        /// The summary path that was tried.
        path: PathBuf,
    },
    /// `summary.json` exists but could not be read.
    #[error("could not read `{}`: {error}", path.display())]
    SummaryUnreadable {
        /// The summary path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// `summary.json` is not JSON of a summary.
    #[error("`{}` is not a sluice summary.json: {error}", path.display())]
    SummaryInvalid {
        /// The summary path.
        path: PathBuf,
        /// What the parser said (it names the line and column).
        error: serde_json::Error,
    },
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// One run to compare: its column label, its folder and its summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput {
    /// Column label: the run id, else the folder's name (made unique).
    pub label: String,
    /// The run folder as given.
    pub dir: String,
    /// Its `summary.json`.
    pub summary: Summary,
}

/// Everything `compare.md` states, as written to `compare.json`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Layout version of `compare.json` ([`COMPARE_VERSION`]).
    pub compare_version: u32,
    /// When the comparison was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The runs, in the order given (the columns of every table).
    pub runs: Vec<RunFigures>,
    /// The settings, split into varied and shared.
    pub settings: SettingsComparison,
    /// The lowest-P99 and highest-throughput runs.
    pub recommendation: Recommendation,
    /// The chart's file name, when it was drawn.
    pub chart: Option<String>,
    /// Whether the chart's latency axis is logarithmic.
    pub chart_log_scale: bool,
    /// Caveats, each a full sentence.
    pub notes: Vec<String>,
}

/// The figures of one run that the comparison shows.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// Column label.
    pub label: String,
    /// Run folder as given.
    pub dir: String,
    /// Scenario name, when known.
    pub scenario: Option<String>,
    /// Run id, when known.
    pub run_id: Option<String>,
    /// `false` for a debug build.
    pub optimized_build: bool,
    /// Row figures.
    pub rows: Integrity,
    /// Latency percentiles, ms; `None` when no latency was measured.
    pub latency_ms: Option<LatencyFigures>,
    /// Rows per second; `None` when undefined (0 in the summary).
    pub throughput_rows_per_s: Option<f64>,
    /// Median batch time, ms; `None` without batches.
    pub batch_time_ms_p50: Option<f64>,
    /// 95th percentile batch time, ms; `None` without batches.
    pub batch_time_ms_p95: Option<f64>,
    /// Resource figures; `None` when the run sampled none.
    pub resources: Option<ResourceFigures>,
    /// The summary's `passed`.
    pub passed: bool,
    /// It kept up: nothing missing or duplicated, no growing backlog
    /// ([`crate::recommend::kept_up`]); only such runs are recommended.
    pub kept_up: bool,
    /// Targets judged.
    pub targets: usize,
    /// Names of the targets that failed.
    pub failed_targets: Vec<String>,
    /// The latency CDF drawn in the chart ([`cdf_points`]).
    pub cdf: Vec<CdfPoint>,
}

/// Row figures of one run (see the crate documentation for definitions).
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Integrity {
    /// Rows the generator wrote.
    pub generated: u64,
    /// Valid, unique rows.
    pub expected: u64,
    /// Rows found in the target.
    pub found: u64,
    /// Expected rows not found.
    pub missing: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Copies beyond the first.
    pub duplicates: u64,
}

/// Latency percentiles of one run, ms.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencyFigures {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Resource figures of one run (from `run.resources`).
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct ResourceFigures {
    /// Peak RSS of sluice, MB.
    pub pipeline_rss_peak_mb: Option<f64>,
    /// Mean CPU of sluice, percent of one core.
    pub pipeline_cpu_mean_pct: Option<f64>,
    /// Peak RSS of PostgreSQL, MB.
    pub postgres_rss_peak_mb: Option<f64>,
    /// Mean CPU of PostgreSQL, percent of one core.
    pub postgres_cpu_mean_pct: Option<f64>,
}

/// One setting across the runs.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct SettingRow {
    /// Setting name.
    pub name: String,
    /// Its value in each run; `None` where the run does not state it.
    pub values: Vec<Option<String>>,
}

/// The settings, split by whether the runs agree.
#[derive(Serialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsComparison {
    /// Settings whose value differs between runs (or that some run lacks),
    /// in the order they first appear.
    pub varied: Vec<SettingRow>,
    /// Settings with one value in every run.
    pub same: Vec<SettingRow>,
}

/// A numeric row of a table: a figure in every run, and which runs are best.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The figure's name, with its unit.
    pub name: &'static str,
    /// Its value in each run; `None` when not measured.
    pub values: Vec<Option<f64>>,
    /// Decimals shown.
    pub decimals: usize,
    /// Runs (indexes) holding the best value as shown (rounded to
    /// `decimals`); empty when the row has no "better", fewer than two
    /// values, or all values equal.
    pub best: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

/// Builds the comparison, writes `compare.md`, `compare.json` and the chart
/// into `out_dir` (created if needed), and returns what it wrote.
///
/// Each of `run_dirs` is a run folder holding `summary.json` (or the path of
/// a summary file itself). Fails when fewer than [`MIN_RUNS`] are given, when
/// a summary is missing, unreadable or not a summary (naming its path), or
/// when the output cannot be written. A chart that cannot be drawn becomes a
/// note in the report instead.
pub fn compare(run_dirs: &[PathBuf], out_dir: &Path) -> Result<CompareOutput, CompareError> {
    let runs: Vec<(Option<String>, PathBuf)> =
        run_dirs.iter().map(|dir| (None, dir.clone())).collect();
    compare_labelled(&runs, out_dir)
}

/// [`compare`] with the column labels chosen by the caller: each run is
/// `(label, run folder)`, and a `None` label falls back to [`run_label`].
/// `sluice sweep` labels its runs by their settings
/// (`trigger=1s batch_size=1000`).
pub fn compare_labelled(
    runs: &[(Option<String>, PathBuf)],
    out_dir: &Path,
) -> Result<CompareOutput, CompareError> {
    if runs.len() < MIN_RUNS {
        return Err(CompareError::TooFewRuns { given: runs.len() });
    }
    let mut loaded = Vec::with_capacity(runs.len());
    for (label, dir) in runs {
        let path = summary_path(dir);
        let summary = load_summary(&path)?;
        let label = label
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| run_label(&summary, dir));
        loaded.push((label, dir.display().to_string(), summary));
    }
    let labels = unique_labels(loaded.iter().map(|l| l.0.clone()).collect());
    let inputs: Vec<RunInput> = loaded
        .into_iter()
        .zip(labels)
        .map(|((_, dir, summary), label)| RunInput {
            label,
            dir,
            summary,
        })
        .collect();
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut comparison = build_comparison(&inputs, generated_at);

    fs::create_dir_all(out_dir).map_err(|error| ReportError::Io {
        action: "create the comparison directory",
        path: out_dir.to_path_buf(),
        error,
    })?;
    let chart_path = out_dir.join(LATENCY_CDF_COMPARE);
    let series: Vec<(String, Vec<CdfPoint>)> = comparison
        .runs
        .iter()
        .map(|r| (r.label.clone(), r.cdf.clone()))
        .collect();
    let mut chart = None;
    if series.iter().all(|(_, points)| points.is_empty()) {
        comparison
            .notes
            .push("No chart: no run measured any latency.".to_string());
        let _ = fs::remove_file(&chart_path);
    } else {
        match charts::latency_cdf_compare(&chart_path, &series, comparison.chart_log_scale) {
            Ok(()) => {
                comparison.chart = Some(LATENCY_CDF_COMPARE.to_string());
                chart = Some(chart_path);
            }
            Err(e) => comparison
                .notes
                .push(format!("The chart could not be written: {e}.")),
        }
    }

    let json_path = out_dir.join(COMPARE_JSON_FILE);
    let mut json = serde_json::to_string_pretty(&comparison).map_err(ReportError::from)?;
    json.push('\n');
    crate::files::write_atomic(&json_path, json.as_bytes())?;
    let markdown = out_dir.join(COMPARE_REPORT_FILE);
    crate::files::write_atomic(&markdown, render(&comparison).as_bytes())?;
    Ok(CompareOutput {
        markdown,
        json: json_path,
        chart,
        comparison,
    })
}

/// What [`compare`] wrote.
#[derive(Debug, Clone)]
pub struct CompareOutput {
    /// Path of `compare.md`.
    pub markdown: PathBuf,
    /// Path of `compare.json`.
    pub json: PathBuf,
    /// Path of the chart, when drawn.
    pub chart: Option<PathBuf>,
    /// The figures.
    pub comparison: Comparison,
}

/// `runs_dir/compare-YYYYmmdd-HHMMSS` (local time, like run ids): the
/// default output folder.
pub fn default_out_dir(runs_dir: &Path) -> PathBuf {
    runs_dir.join(format!(
        "compare-{}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ))
}

/// `run_dir/summary.json`, or `run_dir` itself when it is a file.
pub fn summary_path(run_dir: &Path) -> PathBuf {
    if run_dir.is_file() {
        run_dir.to_path_buf()
    } else {
        run_dir.join(SUMMARY_FILE)
    }
}

/// Reads and parses one `summary.json` ([`parse_summary`]).
pub fn load_summary(path: &Path) -> Result<Summary, CompareError> {
    let text = fs::read_to_string(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            CompareError::SummaryNotFound {
                path: path.to_path_buf(),
            }
        } else {
            CompareError::SummaryUnreadable {
                path: path.to_path_buf(),
                error,
            }
        }
    })?;
    parse_summary(&text).map_err(|error| CompareError::SummaryInvalid {
        path: path.to_path_buf(),
        error,
    })
}

/// Parses `summary.json` text. Fields it lacks, at any depth, take their
/// [`Summary::default`] values; a `run` section's missing fields take
/// [`RunSummary::default`]'s, and a `latency_distribution` row's take zeros.
/// Fields present must have the right types.
pub fn parse_summary(text: &str) -> Result<Summary, serde_json::Error> {
    let mut given: Value = serde_json::from_str(text)?;
    let mut base = serde_json::to_value(Summary::default())?;
    if given.get("run").is_some_and(Value::is_object) {
        base["run"] = serde_json::to_value(RunSummary::default())?;
    }
    if let Some(rows) = given
        .get_mut("latency_distribution")
        .and_then(Value::as_array_mut)
    {
        for row in rows.iter_mut().filter(|r| r.is_object()) {
            let mut full = serde_json::json!({
                "range": "", "from_ms": 0.0, "to_ms": null, "count": 0,
                "percent": 0.0, "cumulative_percent": 0.0
            });
            merge(&mut full, row.take());
            *row = full;
        }
    }
    merge(&mut base, given);
    serde_json::from_value(base)
}

/// Overlays `given` on `base`: objects key by key (recursively), anything
/// else replaced.
fn merge(base: &mut Value, given: Value) {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) => {
            for (key, value) in given {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The run's column label: its run id, else its folder's name, else the
/// path as given.
pub fn run_label(summary: &Summary, run_dir: &Path) -> String {
    let non_empty = |s: &String| !s.trim().is_empty();
    summary
        .run_id
        .clone()
        .filter(non_empty)
        .or_else(|| {
            summary
                .run
                .as_ref()
                .map(|r| r.run_id.clone())
                .filter(non_empty)
        })
        .or_else(|| {
            let dir = if run_dir.is_file() {
                run_dir.parent()?
            } else {
                run_dir
            };
            dir.file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| run_dir.display().to_string())
}

/// Labels made unique: a repeat gets ` (2)`, ` (3)`, ...
pub fn unique_labels(labels: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for label in labels {
        let mut candidate = label.clone();
        let mut n = 1;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{label} ({n})");
        }
        out.push(candidate);
    }
    out
}

/// The comparison of `runs` (pure; no chart written yet: `chart` is `None`).
pub fn build_comparison(runs: &[RunInput], generated_at: String) -> Comparison {
    let settings = compare_settings(runs);
    let figures: Vec<RunFigures> = runs.iter().map(run_figures).collect();
    let recommendation = recommend(&figures, &settings);
    let chart_log_scale = use_log_scale(figures.iter().map(|f| f.cdf.as_slice()));
    let notes = notes(runs, &figures);
    Comparison {
        compare_version: COMPARE_VERSION,
        generated_at,
        runs: figures,
        settings,
        recommendation,
        chart: None,
        chart_log_scale,
        notes,
    }
}

fn scenario_of(s: &Summary) -> Option<String> {
    s.scenario
        .clone()
        .or_else(|| s.run.as_ref().map(|r| r.scenario.clone()))
        .filter(|n| !n.is_empty())
}

/// Settings as rows, one value per run: `scenario` first (when any run
/// names one), then every `run.settings` name in the order it first appears.
/// A row is varied when its values are not all equal (a run that lacks the
/// setting counts as a different value).
pub fn compare_settings(runs: &[RunInput]) -> SettingsComparison {
    let mut rows: Vec<SettingRow> = Vec::new();
    let scenarios: Vec<Option<String>> = runs.iter().map(|r| scenario_of(&r.summary)).collect();
    if scenarios.iter().any(Option::is_some) {
        rows.push(SettingRow {
            name: "scenario".to_string(),
            values: scenarios,
        });
    }
    for (i, run) in runs.iter().enumerate() {
        let Some(summary_run) = &run.summary.run else {
            continue;
        };
        for setting in &summary_run.settings {
            let row = match rows.iter_mut().position(|r| r.name == setting.name) {
                Some(at) => &mut rows[at],
                None => {
                    rows.push(SettingRow {
                        name: setting.name.clone(),
                        values: vec![None; runs.len()],
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            // The first value a run gives for a name is the one shown.
            if row.values[i].is_none() {
                row.values[i] = Some(setting.value.clone());
            }
        }
    }
    let (same, varied) = rows
        .into_iter()
        .partition(|r| r.values.windows(2).all(|w| w[0] == w[1]));
    SettingsComparison { varied, same }
}

/// Whether the summary measured any latency.
fn latency_measured(s: &Summary) -> bool {
    s.latency_ms.count > 0 || s.latency_ms.max > 0.0
}

/// The figures of one run.
pub fn run_figures(run: &RunInput) -> RunFigures {
    let s = &run.summary;
    let l = &s.latency_ms;
    let b = &s.batches;
    let batches = b.count > 0 || b.time_ms_p50 > 0.0 || b.time_ms_p95 > 0.0;
    RunFigures {
        label: run.label.clone(),
        dir: run.dir.clone(),
        scenario: scenario_of(s),
        run_id: s
            .run_id
            .clone()
            .or_else(|| s.run.as_ref().map(|r| r.run_id.clone()))
            .filter(|id| !id.is_empty()),
        optimized_build: s.optimized_build,
        rows: Integrity {
            generated: s.rows.generated,
            expected: s.rows.expected,
            found: s.rows.found,
            missing: s.rows.missing,
            rejected: s.rows.rejected,
            duplicates: s.rows.duplicates,
        },
        latency_ms: latency_measured(s).then_some(LatencyFigures {
            p50: l.p50,
            p95: l.p95,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            mean: l.mean,
        }),
        throughput_rows_per_s: (s.throughput_rows_per_s > 0.0).then_some(s.throughput_rows_per_s),
        batch_time_ms_p50: batches.then_some(b.time_ms_p50),
        batch_time_ms_p95: batches.then_some(b.time_ms_p95),
        resources: s
            .run
            .as_ref()
            .and_then(|r| r.resources.as_ref())
            .and_then(resource_figures),
        passed: s.passed,
        kept_up: recommend::kept_up(s),
        targets: s.targets.len(),
        failed_targets: s
            .targets
            .iter()
            .filter(|t| t.status.fails())
            .map(|t| t.name.clone())
            .collect(),
        cdf: cdf_points(s),
    }
}

/// The four resource figures of a run's profile; `None` when nothing was
/// sampled. The PostgreSQL figures are `None` when no PostgreSQL process was
/// sampled (a database on another host): its peak memory is then 0.
fn resource_figures(r: &ResourceProfile) -> Option<ResourceFigures> {
    if r.samples == 0 {
        return None;
    }
    let postgres = r.postgres_rss_peak_mb > 0.0;
    Some(ResourceFigures {
        pipeline_rss_peak_mb: Some(r.pipeline_rss_peak_mb),
        pipeline_cpu_mean_pct: Some(r.pipeline_cpu_mean_pct),
        postgres_rss_peak_mb: postgres.then_some(r.postgres_rss_peak_mb),
        postgres_cpu_mean_pct: postgres.then_some(r.postgres_cpu_mean_pct),
    })
}

/// The latency CDF of a summary as sorted `(ms, percent)` points: each
/// distribution row's upper edge `to_ms` at its `cumulative_percent` (the open
/// last range has none), and, when latency was measured, `min` at 0 % and
/// P50/P75/P90/P95/P99/P99.9/max at 50/75/90/95/99/99.9/100 %.
///
/// Points at or below 0 ms (a percentile the summary lacks) and, when
/// latency was measured, beyond `max` (where the curve is already at 100 %)
/// are left out. Sorted by latency, the percent never falls (a rounded
/// percentile just left of a range edge is lifted to the edge's share), and
/// at one latency only the lowest and highest percent are kept.
pub fn cdf_points(s: &Summary) -> Vec<CdfPoint> {
    let l = &s.latency_ms;
    let measured = latency_measured(s);
    let mut points: Vec<CdfPoint> = s
        .latency_distribution
        .iter()
        .filter_map(|r| r.to_ms.map(|to| (to, r.cumulative_percent)))
        .collect();
    if measured {
        points.push((l.min, 0.0));
        points.extend([
            (l.p50, 50.0),
            (l.p75, 75.0),
            (l.p90, 90.0),
            (l.p95, 95.0),
            (l.p99, 99.0),
            (l.p999, 99.9),
            (l.max, 100.0),
        ]);
    }
    points.retain(|&(ms, pct)| {
        ms.is_finite() && pct.is_finite() && ms > 0.0 && (!measured || ms <= l.max)
    });
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<CdfPoint> = Vec::with_capacity(points.len());
    let mut high = 0.0_f64;
    for (ms, pct) in points {
        high = high.max(pct.clamp(0.0, 100.0));
        let n = out.len();
        if out.last() == Some(&(ms, high)) {
            continue;
        }
        if n >= 2 && out[n - 1].0 == ms && out[n - 2].0 == ms {
            // A vertical step needs only its bottom and top.
            out[n - 1] = (ms, high);
        } else {
            out.push((ms, high));
        }
    }
    out
}

/// A log latency axis when the points' positive latencies span more than
/// two decades (largest / smallest > 100).
pub fn use_log_scale<'a>(curves: impl IntoIterator<Item = &'a [CdfPoint]>) -> bool {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0_f64;
    for &(ms, _) in curves.into_iter().flatten() {
        if ms > 0.0 && ms.is_finite() {
            lo = lo.min(ms);
            hi = hi.max(ms);
        }
    }
    lo.is_finite() && hi / lo > 100.0
}

/// Indexes of the best values: lowest or highest, ties all; none when fewer
/// than two values are present or all present values are equal.
fn best_of(values: &[Option<f64>], better: Option<Better>) -> Vec<usize> {
    let Some(better) = better else {
        return Vec::new();
    };
    let present: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x)))
        .collect();
    if present.len() < 2 {
        return Vec::new();
    }
    let values = present.iter().map(|p| p.1);
    let top = match better {
        Better::Lower => values.fold(f64::INFINITY, f64::min),
        Better::Higher => values.fold(f64::NEG_INFINITY, f64::max),
    };
    if present.iter().all(|p| p.1 == top) {
        return Vec::new();
    }
    present.iter().filter(|p| p.1 == top).map(|p| p.0).collect()
}

fn metric(
    name: &'static str,
    values: Vec<Option<f64>>,
    decimals: usize,
    better: Option<Better>,
) -> MetricRow {
    // Judged as shown: values that print the same tie.
    let scale = 10f64.powi(decimals as i32);
    let shown: Vec<Option<f64>> = values
        .iter()
        .map(|v| v.map(|x| (x * scale).round() / scale))
        .collect();
    let best = best_of(&shown, better);
    MetricRow {
        name,
        values,
        decimals,
        best,
    }
}

/// Generated, expected, found, missing, rejected, duplicates (no "best").
pub fn integrity_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    let row = |name, f: fn(&Integrity) -> u64| {
        metric(
            name,
            runs.iter().map(|r| Some(f(&r.rows) as f64)).collect(),
            0,
            None,
        )
    };
    vec![
        row("generated", |r| r.generated),
        row("expected", |r| r.expected),
        row("found", |r| r.found),
        row("missing", |r| r.missing),
        row("rejected", |r| r.rejected),
        row("duplicates", |r| r.duplicates),
    ]
}

/// P50, P95, P99, P99.9, max and mean in ms; lowest is best.
pub fn latency_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    let row = |name, f: fn(&LatencyFigures) -> f64| {
        metric(
            name,
            runs.iter().map(|r| r.latency_ms.as_ref().map(f)).collect(),
            3,
            Some(Better::Lower),
        )
    };
    vec![
        row("P50", |l| l.p50),
        row("P95", |l| l.p95),
        row("P99", |l| l.p99),
        row("P99.9", |l| l.p999),
        row("max", |l| l.max),
        row("mean", |l| l.mean),
    ]
}

/// Throughput (highest is best) and batch time P50/P95 (lowest is best).
pub fn throughput_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    vec![
        metric(
            "throughput (rows/s)",
            runs.iter().map(|r| r.throughput_rows_per_s).collect(),
            1,
            Some(Better::Higher),
        ),
        metric(
            "batch time P50 (ms)",
            runs.iter().map(|r| r.batch_time_ms_p50).collect(),
            3,
            Some(Better::Lower),
        ),
        metric(
            "batch time P95 (ms)",
            runs.iter().map(|r| r.batch_time_ms_p95).collect(),
            3,
            Some(Better::Lower),
        ),
    ]
}

/// sluice and PostgreSQL peak RSS and mean CPU (lowest is best); empty when
/// no run sampled resources.
pub fn resource_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    if runs.iter().all(|r| r.resources.is_none()) {
        return Vec::new();
    }
    let row = |name, f: fn(&ResourceFigures) -> Option<f64>| {
        metric(
            name,
            runs.iter()
                .map(|r| r.resources.as_ref().and_then(f))
                .collect(),
            1,
            Some(Better::Lower),
        )
    };
    vec![
        row("sluice RSS peak (MB)", |r| r.pipeline_rss_peak_mb),
        row("sluice CPU mean (% of a core)", |r| r.pipeline_cpu_mean_pct),
        row("PostgreSQL RSS peak (MB)", |r| r.postgres_rss_peak_mb),
        row("PostgreSQL CPU mean (% of a core)", |r| {
            r.postgres_cpu_mean_pct
        }),
    ]
}

/// The recommendation by the one rule ([`crate::recommend`]): among the
/// runs that kept up, the lowest P99 and the highest throughput, each with
/// its values of the varied settings; `index` is the run's position.
pub fn recommend(runs: &[RunFigures], settings: &SettingsComparison) -> Recommendation {
    let candidates: Vec<Candidate> = runs
        .iter()
        .enumerate()
        .map(|(index, run)| Candidate {
            index,
            run: run.label.clone(),
            p99_ms: run.latency_ms.map(|l| l.p99),
            throughput_rows_per_s: run.throughput_rows_per_s,
            qualifies: run.kept_up,
            differing_settings: settings
                .varied
                .iter()
                .map(|row| Setting {
                    name: row.name.clone(),
                    value: row.values[index].clone().unwrap_or_else(|| "–".to_string()),
                })
                .collect(),
        })
        .collect();
    recommend::recommend(&candidates)
}

fn notes(runs: &[RunInput], figures: &[RunFigures]) -> Vec<String> {
    let mut notes = Vec::new();
    let debug: Vec<&str> = figures
        .iter()
        .filter(|f| !f.optimized_build)
        .map(|f| f.label.as_str())
        .collect();
    if !debug.is_empty() {
        notes.push(format!(
            "From an unoptimised (debug) build: {}. Their figures are not representative; \
             compare release builds.",
            debug.join(", ")
        ));
    }
    for f in figures.iter().filter(|f| f.latency_ms.is_none()) {
        notes.push(format!(
            "No latency was measured in {}: it has no latency figures and is not recommended \
             for latency.",
            f.label
        ));
    }
    for r in runs
        .iter()
        .filter(|r| r.summary.summary_version > SUMMARY_VERSION)
    {
        notes.push(format!(
            "{}'s summary.json has layout version {}, newer than this sluice reads ({}): \
             figures it added are not shown.",
            r.label, r.summary.summary_version, SUMMARY_VERSION
        ));
    }
    notes
}

/// A table with `first` as its first column's header and a column per run.
fn run_columns(first: &str, labels: &[&str]) -> Table {
    Table::new(std::iter::once(first).chain(labels.iter().copied()))
}

fn metric_table(out: &mut String, first: &str, labels: &[&str], rows: &[MetricRow]) {
    let mut table = Table::figures(std::iter::once(first).chain(labels.iter().copied()));
    for row in rows {
        let values = row.values.iter().enumerate().map(|(i, v)| {
            let text = v.map_or("n/a".to_string(), |v| fmt_decimal(v, row.decimals));
            if row.best.contains(&i) {
                format!("**{text}**")
            } else {
                text
            }
        });
        table.row(std::iter::once(row.name.to_string()).chain(values));
    }
    let _ = writeln!(out, "{table}");
}

fn setting_list(settings: &[Setting]) -> String {
    if settings.is_empty() {
        return "no setting differs between the runs".to_string();
    }
    let parts: Vec<String> = settings
        .iter()
        .map(|s| format!("{} = `{}`", s.name, s.value))
        .collect();
    format!("its settings that differ: {}", parts.join(", "))
}

/// `compare.md`, rendered from the comparison alone.
pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
    let _ = writeln!(out, "# Comparison of {} runs\n", c.runs.len());
    let _ = writeln!(
        out,
        "Generated {}. One column per run, in the order given.\n",
        c.generated_at
    );
    let mut runs = Table::new(["run", "folder", "scenario"]);
    for r in &c.runs {
        runs.row([
            r.label.clone(),
            format!("`{}`", r.dir),
            r.scenario.clone().unwrap_or_else(|| "–".to_string()),
        ]);
    }
    let _ = writeln!(out, "{runs}");

    out.push_str("## Recommendation\n\n");
    match &c.recommendation.lowest_p99 {
        Some(p) => {
            let _ = writeln!(
                out,
                "- **Lowest P99 among the runs that kept up: {}** (P99 {} ms); {}.",
                p.run,
                fmt_decimal(p.value, 3),
                setting_list(&p.differing_settings)
            );
        }
        None => out.push_str(
            "- No run kept up (every expected row stored once, no growing backlog) with a \
             measured latency: none is recommended for latency.\n",
        ),
    }
    match &c.recommendation.highest_throughput {
        Some(p) => {
            let _ = writeln!(
                out,
                "- **Highest throughput among the runs that kept up: {}** ({} rows/s); {}.",
                p.run,
                fmt_decimal(p.value, 1),
                setting_list(&p.differing_settings)
            );
        }
        None => out.push_str(
            "- No run kept up with a measured throughput: none is recommended for speed.\n",
        ),
    }
    out.push('\n');

    out.push_str("## Configuration differences\n\n");
    if c.settings.varied.is_empty() {
        out.push_str("No setting differs between the runs.\n\n");
    } else {
        let mut table = run_columns("setting", &labels);
        for row in &c.settings.varied {
            let values = row.values.iter().map(|v| v.as_deref().unwrap_or("–"));
            table.row(std::iter::once(row.name.as_str()).chain(values));
        }
        let _ = writeln!(out, "{table}");
    }
    if !c.settings.same.is_empty() {
        let n = c.settings.same.len();
        let _ = writeln!(
            out,
            "<details><summary>{n} setting{} the same in every run</summary>\n",
            if n == 1 { " is" } else { "s are" }
        );
        let mut table = Table::new(["setting", "value"]);
        for row in &c.settings.same {
            let value = row.values.first().cloned().flatten();
            table.row([row.name.as_str(), value.as_deref().unwrap_or("–")]);
        }
        let _ = write!(out, "{table}");
        out.push_str("\n</details>\n\n");
    }

    out.push_str("## Integrity\n\n");
    metric_table(&mut out, "rows", &labels, &integrity_rows(&c.runs));

    out.push_str("## Latency (ms)\n\nFile creation to database commit; the best of each row in **bold**.\n\n");
    metric_table(&mut out, "latency", &labels, &latency_rows(&c.runs));

    out.push_str("## Throughput and batches\n\n");
    metric_table(&mut out, "figure", &labels, &throughput_rows(&c.runs));

    out.push_str("## Resources\n\n");
    let resources = resource_rows(&c.runs);
    if resources.is_empty() {
        out.push_str("No run sampled its resources.\n\n");
    } else {
        metric_table(&mut out, "resource", &labels, &resources);
    }

    out.push_str("## Targets\n\n");
    let mut table = run_columns("", &labels);
    let mut passed = vec!["passed".to_string()];
    for r in &c.runs {
        let text = if !r.passed {
            if r.failed_targets.is_empty() {
                "✗ failed".to_string()
            } else {
                format!("✗ failed: {}", r.failed_targets.join(", "))
            }
        } else if r.targets == 0 {
            "✓ (no targets)".to_string()
        } else {
            format!("✓ passed ({} targets)", r.targets)
        };
        passed.push(text);
    }
    table.row(passed);
    let _ = writeln!(out, "{table}");

    out.push_str("## Latency distribution\n\n");
    match &c.chart {
        Some(chart) => {
            let _ = writeln!(
                out,
                "![Latency cumulative distribution by run]({chart})\n\n\
                 Share of rows committed within a given latency, one line per run, from each \
                 summary's distribution table and percentiles{}.\n",
                if c.chart_log_scale {
                    " (latency on a log scale)"
                } else {
                    ""
                }
            );
        }
        None => out.push_str("No chart.\n\n"),
    }

    if !c.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for note in &c.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::Pick;
    use crate::summary::{DistributionRow, TargetResult};
    use serde_json::json;

    fn input(label: &str, summary: Summary) -> RunInput {
        RunInput {
            label: label.to_string(),
            dir: format!("runs/{label}"),
            summary,
        }
    }

    fn with_settings(settings: &[(&str, &str)]) -> Summary {
        Summary {
            run: Some(RunSummary {
                scenario: "smoke".into(),
                run_id: "x".into(),
                settings: settings
                    .iter()
                    .map(|(n, v)| Setting {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                ..RunSummary::default()
            }),
            ..Summary::default()
        }
    }

    /// Three runs: `a` fast but losing rows, `b` complete, `c` complete and
    /// fastest to commit but slower per row.
    fn three() -> Vec<RunInput> {
        let mut a = with_settings(&[("trigger", "1s"), ("batch size", "1000"), ("mode", "cm")]);
        a.rows.missing = 5;
        a.rows.generated = 1000;
        a.latency_ms = crate::summary::LatencySummary {
            p50: 10.0,
            p95: 20.0,
            p99: 30.0,
            p999: 40.0,
            max: 50.0,
            mean: 12.5,
            count: 995,
            ..Default::default()
        };
        a.throughput_rows_per_s = 900.0;
        let mut b = with_settings(&[("trigger", "5s"), ("batch size", "1000"), ("mode", "cm")]);
        b.latency_ms = crate::summary::LatencySummary {
            p50: 100.0,
            p95: 200.0,
            p99: 300.0,
            p999: 400.0,
            max: 500.0,
            mean: 125.0,
            count: 1000,
            ..Default::default()
        };
        b.throughput_rows_per_s = 1200.0;
        b.batches.count = 3;
        b.batches.time_ms_p50 = 40.0;
        b.batches.time_ms_p95 = 60.0;
        let mut c = with_settings(&[("trigger", "5s"), ("batch size", "500"), ("mode", "cm")]);
        c.latency_ms = crate::summary::LatencySummary {
            p50: 90.0,
            p95: 200.0,
            p99: 250.0,
            p999: 400.0,
            max: 600.0,
            mean: 130.0,
            count: 1000,
            ..Default::default()
        };
        c.throughput_rows_per_s = 1200.0;
        c.batches.count = 6;
        c.batches.time_ms_p50 = 30.0;
        c.batches.time_ms_p95 = 60.0;
        c.passed = false;
        c.targets = vec![TargetResult {
            name: "p99_ms".into(),
            target: 200.0,
            measured: Some(250.0),
            bound: "max".into(),
            status: crate::summary::TargetStatus::Fail,
        }];
        vec![input("a", a), input("b", b), input("c", c)]
    }

    fn figures(runs: &[RunInput]) -> Vec<RunFigures> {
        runs.iter().map(run_figures).collect()
    }

    fn row(name: &str, values: &[Option<&str>]) -> SettingRow {
        SettingRow {
            name: name.into(),
            values: values.iter().map(|v| v.map(str::to_string)).collect(),
        }
    }

    #[test]
    fn settings_split_into_varied_and_same() {
        let mut runs = three();
        runs[2]
            .summary
            .run
            .as_mut()
            .unwrap()
            .settings
            .push(Setting {
                name: "partitions".into(),
                value: "2".into(),
            });
        let s = compare_settings(&runs);
        assert_eq!(
            s.varied,
            vec![
                row("trigger", &[Some("1s"), Some("5s"), Some("5s")]),
                row("batch size", &[Some("1000"), Some("1000"), Some("500")]),
                row("partitions", &[None, None, Some("2")]),
            ]
        );
        assert_eq!(
            s.same,
            vec![
                row("scenario", &[Some("smoke"), Some("smoke"), Some("smoke")]),
                row("mode", &[Some("cm"), Some("cm"), Some("cm")]),
            ]
        );
        // No run context at all: no rows.
        let bare = vec![
            input("x", Summary::default()),
            input("y", Summary::default()),
        ];
        assert_eq!(compare_settings(&bare), SettingsComparison::default());
    }

    #[test]
    fn latency_rows_mark_the_lowest_in_each_row() {
        let mut runs = three();
        runs.push(input("none", Summary::default()));
        let rows = latency_rows(&figures(&runs));
        type Row<'a> = (&'a str, Vec<Option<f64>>, Vec<usize>);
        let got: Vec<Row> = rows
            .iter()
            .map(|r| (r.name, r.values.clone(), r.best.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "P50",
                    vec![Some(10.0), Some(100.0), Some(90.0), None],
                    vec![0]
                ),
                (
                    "P95",
                    vec![Some(20.0), Some(200.0), Some(200.0), None],
                    vec![0]
                ),
                (
                    "P99",
                    vec![Some(30.0), Some(300.0), Some(250.0), None],
                    vec![0]
                ),
                (
                    "P99.9",
                    vec![Some(40.0), Some(400.0), Some(400.0), None],
                    vec![0]
                ),
                (
                    "max",
                    vec![Some(50.0), Some(500.0), Some(600.0), None],
                    vec![0]
                ),
                (
                    "mean",
                    vec![Some(12.5), Some(125.0), Some(130.0), None],
                    vec![0]
                ),
            ]
        );
        assert!(rows.iter().all(|r| r.decimals == 3));
        // Between b and c alone: ties are all bold, equal rows none.
        let rows = latency_rows(&figures(&runs[1..3]));
        let best: Vec<Vec<usize>> = rows.iter().map(|r| r.best.clone()).collect();
        assert_eq!(
            best,
            vec![vec![1], vec![], vec![1], vec![], vec![0], vec![0]]
        );
    }

    #[test]
    fn best_is_judged_on_the_value_as_shown() {
        let row = metric(
            "x",
            vec![Some(2.0931), Some(2.1049), Some(2.3)],
            1,
            Some(Better::Lower),
        );
        assert_eq!(row.best, vec![0, 1]);
        assert_eq!(row.values, vec![Some(2.0931), Some(2.1049), Some(2.3)]);
        let row = metric(
            "x",
            vec![Some(10.0001), Some(10.0004)],
            3,
            Some(Better::Lower),
        );
        assert!(row.best.is_empty());
    }

    #[test]
    fn best_of_rules() {
        let lower = Some(Better::Lower);
        let higher = Some(Better::Higher);
        assert_eq!(
            best_of(&[Some(2.0), Some(1.0), Some(1.0)], lower),
            vec![1, 2]
        );
        assert_eq!(best_of(&[Some(2.0), Some(1.0), Some(1.0)], higher), vec![0]);
        assert_eq!(best_of(&[Some(2.0), None], lower), Vec::<usize>::new());
        assert_eq!(best_of(&[Some(2.0), Some(2.0)], lower), Vec::<usize>::new());
        assert_eq!(best_of(&[Some(1.0), Some(2.0)], None), Vec::<usize>::new());
        assert_eq!(
            best_of(&[Some(f64::NAN), Some(3.0), Some(4.0)], lower),
            vec![1]
        );
    }

    #[test]
    fn integrity_throughput_and_resource_rows() {
        let mut runs = three();
        let profile = |v: Value| Some(serde_json::from_value::<ResourceProfile>(v).unwrap());
        runs[1].summary.run.as_mut().unwrap().resources = profile(json!({
            "pipeline_rss_peak_mb": 68.5, "pipeline_cpu_mean_pct": 2.0,
            "postgres_rss_peak_mb": 359.0, "postgres_cpu_mean_pct": 1.0, "samples": 20
        }));
        runs[2].summary.run.as_mut().unwrap().resources =
            profile(json!({"pipeline_rss_peak_mb": 70.0, "samples": 3}));
        runs[0].summary.run.as_mut().unwrap().resources = profile(json!({"samples": 0}));
        let f = figures(&runs);

        let integrity = integrity_rows(&f);
        let names: Vec<&str> = integrity.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "generated",
                "expected",
                "found",
                "missing",
                "rejected",
                "duplicates"
            ]
        );
        assert_eq!(
            integrity[0].values,
            vec![Some(1000.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(integrity[3].values, vec![Some(5.0), Some(0.0), Some(0.0)]);
        assert!(integrity
            .iter()
            .all(|r| r.best.is_empty() && r.decimals == 0));

        let tp = throughput_rows(&f);
        assert_eq!(tp[0].name, "throughput (rows/s)");
        assert_eq!(tp[0].values, vec![Some(900.0), Some(1200.0), Some(1200.0)]);
        assert_eq!(tp[0].best, vec![1, 2]);
        assert_eq!(tp[1].values, vec![None, Some(40.0), Some(30.0)]);
        assert_eq!(tp[1].best, vec![2]);
        assert_eq!(tp[2].values, vec![None, Some(60.0), Some(60.0)]);
        assert!(tp[2].best.is_empty());

        let res = resource_rows(&f);
        assert_eq!(res.len(), 4);
        assert_eq!(res[0].name, "sluice RSS peak (MB)");
        assert_eq!(res[0].values, vec![None, Some(68.5), Some(70.0)]);
        assert_eq!(res[0].best, vec![1]);
        assert_eq!(res[3].values, vec![None, Some(1.0), None]);
        assert!(res[3].best.is_empty());
        assert_eq!(f[0].resources, None);

        runs.iter_mut()
            .for_each(|r| r.summary.run.as_mut().unwrap().resources = None);
        assert!(resource_rows(&figures(&runs)).is_empty());
    }

    #[test]
    fn cdf_merges_distribution_and_percentiles() {
        let dist = |from: f64, to: Option<f64>, cum: f64| DistributionRow {
            range: String::new(),
            from_ms: from,
            to_ms: to,
            count: 1,
            percent: 0.0,
            cumulative_percent: cum,
        };
        let mut s = Summary {
            latency_distribution: vec![
                dist(0.0, Some(50.0), 20.0),
                dist(50.0, Some(100.0), 20.0),
                dist(100.0, Some(250.0), 60.0),
                dist(250.0, Some(500.0), 100.0),
                dist(500.0, None, 100.0),
            ],
            latency_ms: crate::summary::LatencySummary {
                min: 12.0,
                p50: 180.0,
                p75: 260.0,
                p90: 300.0,
                p95: 320.0,
                p99: 400.0,
                p999: 450.0,
                max: 480.0,
                count: 100,
                ..Default::default()
            },
            ..Summary::default()
        };
        assert_eq!(
            cdf_points(&s),
            vec![
                (12.0, 0.0),
                (50.0, 20.0),
                (100.0, 20.0),
                (180.0, 50.0),
                (250.0, 60.0),
                (260.0, 75.0),
                (300.0, 90.0),
                (320.0, 95.0),
                (400.0, 99.0),
                (450.0, 99.9),
                (480.0, 100.0),
            ]
        );
        // A percentile rounded just left of a range edge with a lower share:
        // the edge is lifted, the curve never falls.
        s.latency_ms.p75 = 240.0;
        s.latency_distribution[2].cumulative_percent = 70.0;
        let points = cdf_points(&s);
        assert_eq!(
            &points[3..6],
            &[(180.0, 50.0), (240.0, 75.0), (250.0, 75.0)]
        );
        // Equal percentiles appear once.
        let t = Summary {
            latency_ms: crate::summary::LatencySummary {
                min: 5.0,
                p50: 5.0,
                p75: 5.0,
                p90: 5.0,
                p95: 5.0,
                p99: 5.0,
                p999: 5.0,
                max: 5.0,
                count: 1,
                ..Default::default()
            },
            ..Summary::default()
        };
        assert_eq!(cdf_points(&t), vec![(5.0, 0.0), (5.0, 100.0)]);
        // Nothing measured: nothing to draw.
        assert!(cdf_points(&Summary::default()).is_empty());
    }

    #[test]
    fn log_scale_beyond_two_decades() {
        let narrow = [(10.0, 0.0), (1000.0, 100.0)];
        let wide = [(10.0, 0.0), (1000.5, 100.0)];
        assert!(!use_log_scale([&narrow[..]]));
        assert!(use_log_scale([&wide[..]]));
        assert!(use_log_scale([&[(5.0, 50.0)][..], &[(600.0, 100.0)][..]]));
        assert!(!use_log_scale([&[][..], &[][..]]));
    }

    #[test]
    fn recommends_lowest_p99_without_missing_rows_and_highest_throughput() {
        let runs = three();
        let f = figures(&runs);
        let s = compare_settings(&runs);
        let r = recommend(&f, &s);
        let setting = |n: &str, v: &str| Setting {
            name: n.into(),
            value: v.into(),
        };
        assert_eq!(
            r.lowest_p99,
            Some(Pick {
                run: "c".into(),
                index: 2,
                value: 250.0,
                differing_settings: vec![setting("trigger", "5s"), setting("batch size", "500")],
            })
        );
        // b and c tie on throughput: the first wins.
        assert_eq!(
            r.highest_throughput,
            Some(Pick {
                run: "b".into(),
                index: 1,
                value: 1200.0,
                differing_settings: vec![setting("trigger", "5s"), setting("batch size", "1000")],
            })
        );
        // Every run loses rows: none kept up, none is recommended.
        let mut lossy = three();
        lossy.iter_mut().for_each(|r| r.summary.rows.missing = 1);
        let r = recommend(&figures(&lossy), &compare_settings(&lossy));
        assert_eq!(r, Recommendation::default());
    }

    #[test]
    fn markdown_shows_the_tables_and_marks_the_best() {
        let c = build_comparison(&three(), "2026-11-24T10:00:00Z".into());
        let md = render(&c);
        for want in [
            "# Comparison of 3 runs",
            "| setting | a | b | c |\n| --- | --- | --- | --- |\n| trigger | 1s | 5s | 5s |",
            "| batch size | 1000 | 1000 | 500 |",
            "<details><summary>2 settings are the same in every run</summary>",
            "| mode | cm |",
            "| missing | 5 | 0 | 0 |",
            "| P99 | **30.000** | 300.000 | 250.000 |",
            "| throughput (rows/s) | 900.0 | **1,200.0** | **1,200.0** |",
            "| batch time P50 (ms) | n/a | 40.000 | **30.000** |",
            "| passed | ✓ (no targets) | ✓ (no targets) | ✗ failed: p99_ms |",
            "- **Lowest P99 among the runs that kept up: c** (P99 250.000 ms); its settings that \
             differ: trigger = `5s`, batch size = `500`.",
            "- **Highest throughput among the runs that kept up: b** (1,200.0 rows/s)",
            "No run sampled its resources.",
        ] {
            assert!(md.contains(want), "no {want:?} in\n{md}");
        }
        // Not drawn yet: no image link.
        assert!(!md.contains(".svg)"));
    }

    #[test]
    fn minimal_json_reads_with_defaults() {
        let s = parse_summary(
            r#"{"run_id": "r1", "rows": {"missing": 2},
                "latency_distribution": [{"to_ms": 10.0, "cumulative_percent": 40.0}],
                "run": {"settings": [{"name": "trigger", "value": "1s"}]}}"#,
        )
        .unwrap();
        assert_eq!(s.run_id.as_deref(), Some("r1"));
        assert_eq!(s.rows.missing, 2);
        assert_eq!(s.rows.found, 0);
        assert!(s.passed && s.optimized_build);
        assert_eq!(s.summary_version, SUMMARY_VERSION);
        assert_eq!(s.latency_distribution[0].to_ms, Some(10.0));
        assert_eq!(s.latency_distribution[0].cumulative_percent, 40.0);
        let run = s.run.unwrap();
        assert_eq!(run.settings[0].value, "1s");
        assert_eq!(run.scenario, "");
        // A full summary reads back unchanged.
        let full = crate::summary::tests::sample();
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(parse_summary(&text).unwrap(), full);
        // Wrong types are errors.
        assert!(parse_summary(r#"{"rows": {"missing": "two"}}"#).is_err());
        assert!(parse_summary("[]").is_err());
        assert!(parse_summary("{").is_err());
    }

    #[test]
    fn labels_come_from_the_run_id_or_the_folder_and_are_unique() {
        let mut s = Summary::default();
        assert_eq!(run_label(&s, Path::new("runs/dir-name")), "dir-name");
        s.run = Some(RunSummary {
            run_id: "from-run".into(),
            ..RunSummary::default()
        });
        assert_eq!(run_label(&s, Path::new("runs/dir-name")), "from-run");
        s.run_id = Some("top".into());
        assert_eq!(run_label(&s, Path::new("runs/dir-name")), "top");
        assert_eq!(
            unique_labels(vec!["a".into(), "b".into(), "a".into(), "a".into()]),
            vec!["a", "b", "a (2)", "a (3)"]
        );
    }

    #[test]
    fn writes_the_three_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        for (name, trigger, p99) in [("one", "1s", 80.0), ("two", "10s", 9000.0)] {
            let run = dir.path().join(name);
            fs::create_dir_all(&run).unwrap();
            let summary = json!({
                "run_id": format!("run-{name}"),
                "rows": {"generated": 10, "expected": 10, "found": 10},
                "latency_ms": {"p50": p99 / 2.0, "p99": p99, "max": p99, "count": 10},
                "throughput_rows_per_s": 50.0,
                "run": {"settings": [{"name": "trigger", "value": trigger}]}
            });
            fs::write(run.join(SUMMARY_FILE), summary.to_string()).unwrap();
            dirs.push(run);
        }
        let out = dir.path().join("out/cmp");
        let written = compare(&dirs, &out).unwrap();
        assert_eq!(written.markdown, out.join(COMPARE_REPORT_FILE));
        let md = fs::read_to_string(&written.markdown).unwrap();
        assert!(md.contains("| trigger | 1s | 10s |"), "{md}");
        assert!(md.contains("](latency_cdf_compare.svg)"));
        assert!(md.contains("(latency on a log scale)"));
        let json: Value =
            serde_json::from_str(&fs::read_to_string(out.join(COMPARE_JSON_FILE)).unwrap())
                .unwrap();
        assert_eq!(json["runs"][0]["label"], "run-one");
        assert_eq!(json["recommendation"]["lowest_p99"]["run"], "run-one");
        assert_eq!(json["chart"], "latency_cdf_compare.svg");
        let svg = fs::read_to_string(out.join(LATENCY_CDF_COMPARE)).unwrap();
        assert!(svg.contains("<text") && svg.contains("run-two"));

        // Errors name the path.
        let missing = dir.path().join("nope");
        let e = compare(&[dirs[0].clone(), missing.clone()], &out).unwrap_err();
        assert!(matches!(e, CompareError::SummaryNotFound { .. }));
        assert!(e
            .to_string()
            .contains(&missing.join(SUMMARY_FILE).display().to_string()));
        fs::write(dirs[1].join(SUMMARY_FILE), "not json").unwrap();
        let e = compare(&dirs, &out).unwrap_err();
        assert!(e.to_string().contains("two"), "{e}");
        assert!(matches!(e, CompareError::SummaryInvalid { .. }));
        let e = compare(&dirs[..1], &out).unwrap_err();
        assert!(
            e.to_string().contains("at least 2 run folders, got 1"),
            "{e}"
        );
    }

    #[test]
    fn given_labels_name_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut runs = Vec::new();
        for (name, label) in [("a", Some("trigger=1s")), ("b", None), ("c", Some(" "))] {
            let run = dir.path().join(name);
            fs::create_dir_all(&run).unwrap();
            let summary = json!({"run_id": format!("run-{name}"), "throughput_rows_per_s": 5.0});
            fs::write(run.join(SUMMARY_FILE), summary.to_string()).unwrap();
            runs.push((label.map(String::from), run));
        }
        let written = compare_labelled(&runs, &dir.path().join("out")).unwrap();
        let labels: Vec<&str> = written
            .comparison
            .runs
            .iter()
            .map(|r| r.label.as_str())
            .collect();
        // A blank label falls back to the run id.
        assert_eq!(labels, ["trigger=1s", "run-b", "run-c"]);
        let e = compare_labelled(&runs[..1], &dir.path().join("out")).unwrap_err();
        assert!(matches!(e, CompareError::TooFewRuns { given: 1 }));
    }
}
