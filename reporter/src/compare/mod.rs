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

mod figures;
mod load;
mod render;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ReportError;
use crate::recommend::Recommendation;
use crate::render::charts::{self, LATENCY_CDF_COMPARE};
use crate::summary::{Summary, SUMMARY_VERSION};
pub use figures::{
    cdf_points, compare_settings, integrity_rows, latency_rows, recommend, resource_rows,
    run_figures, throughput_rows, use_log_scale,
};
pub use load::{
    default_out_dir, load_summary, parse_summary, run_label, summary_path, unique_labels,
};
pub use render::render;

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
    /// The pipeline measured: `sluice`, or the command of another one.
    pub pipeline: String,
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
    /// Rows rejected; `None` for another pipeline that recorded none where
    /// sluice reads them (its rejects are in its own log).
    pub rejected: Option<u64>,
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

#[cfg(test)]
mod tests {
    use super::figures::*;
    use super::load::*;
    use super::*;
    use crate::recommend::Pick;
    use crate::summary::RunSummary;
    use crate::summary::Setting;
    use crate::summary::{DistributionRow, TargetResult};
    use crate::ResourceProfile;
    use crate::SUMMARY_FILE;
    use serde_json::json;
    use serde_json::Value;

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
        assert_eq!(res[0].name, "pipeline RSS peak (MB)");
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
