//! The sluice reporter: what the generator says it wrote (the manifest) and
//! what the database holds, turned into a performance report for a person
//! (`report.md`, with SVG charts beside it) and the same figures for machines
//! (`summary.json`).
//!
//! The database is the only source of truth for what arrived and when: the
//! reporter counts rows in the target table, reads each row's commit time
//! (`pg_xact_commit_timestamp(xmin)`, or the batch's `committed_at` when
//! `track_commit_timestamp` is off) and subtracts the instant its file became
//! visible (`created_at_us` in the manifest). Nothing the pipeline says about
//! itself is needed, so the report also catches a pipeline that lies.
//!
//! # Definitions
//!
//! - **generated**: sum of the manifest's `rows`; **expected**: sum of
//!   `rows − dup_rows − bad_rows`.
//! - **found**: rows in the target whose `source_file` is a manifest file;
//!   **missing** = max(0, expected − found).
//! - **duplicates**: `count(*) − count(DISTINCT event_id)` among the found
//!   rows: copies beyond the first, so 0 is the only correct value.
//!   **absorbed_duplicates** (sum of `dup_rows`) are input rows that repeated
//!   a key and were absorbed by the upsert: a separate, expected figure.
//! - **rejected**: rows of the rejects table from the manifest's files;
//!   **quarantined**: manifest files in `sluice_quarantine`.
//! - **latency** of a row: commit time − its file's `created_at_us`, in an
//!   HdrHistogram (µs, 1 µs to 1 h, 3 significant digits); reported in ms.
//! - **throughput**: found / (last commit − first file created).
//!
//! # Modules: collect → analyse → render
//!
//! Data flows one way. [`collect`] reads the manifest, the database, the
//! clock and the run's side files into plain facts; [`analyse`] turns them
//! into the [`Summary`] (pure functions, one module per idea, one
//! statistics module); [`render`] writes the summary for a person
//! (`report.md`, SVG charts) beside `summary.json` for machines. [`compare`]
//! puts several runs' summaries side by side, and [`recommend`] is the one
//! rule that picks among runs, used by `compare` and by the sweep.
//! [`request`] is what the caller asks for (paths, the run's typed facts,
//! the targets); [`stats`] (the one percentile convention), [`format`] (how
//! a number reads) and [`files`] (atomic writes) are the leaves every layer
//! uses; [`summary`] is the data between analyse and render.
//! ARCHITECTURE.md maps each report section to the code that computes it.
//!
//! # Example
//!
//! ```no_run
//! # async fn run(client: &tokio_postgres::Client) -> Result<(), reporter::ReportError> {
//! use reporter::{report, ReportRequest};
//! let request = ReportRequest::new("runs/r1/manifest.jsonl", "runs/r1");
//! let summary = report(client, &request).await?;
//! println!("P99 {} ms, {} rows missing", summary.latency_ms.p99, summary.rows.missing);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

pub mod analyse;
pub mod collect;
pub mod compare;
pub mod error;
pub mod files;
pub mod format;
pub mod recommend;
pub mod render;
pub mod request;
pub mod stats;
pub mod summary;

pub use collect::run_files::{ResourceSample, RunEvent, EVENTS_FILE, RESOURCES_FILE};
pub use error::ReportError;
pub use request::{ConfiguredTrigger, ReportRequest, RunContext, TargetName, Targets};
pub use summary::{ResourceProfile, Summary};

/// Name of the markdown report in the output directory.
pub const REPORT_FILE: &str = "report.md";
/// Name of the JSON summary in the output directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// Gathers everything, computes the figures, writes `out_dir/report.md`,
/// `out_dir/summary.json` and the charts (creating `out_dir`), and returns
/// the summary.
///
/// Fails when the manifest is missing, unreadable or empty, when the target
/// table does not exist, when a query fails, or when the files cannot be
/// written; never because the figures are bad (missing rows, rejects): those
/// are what the report is for.
pub async fn report(
    client: &tokio_postgres::Client,
    request: &ReportRequest,
) -> Result<Summary, ReportError> {
    let facts = collect::manifest::load(&request.manifest_path)?;
    let gathered = collect::gather::gather(
        client,
        collect::gather::GatherRequest {
            table: &request.table,
            key_column: &request.key_column,
            rejects: &request.rejects_table,
            files: &facts.files,
            key_prefixes: &facts.key_prefixes,
            database_is_local: request.database_is_local,
        },
    )
    .await?;
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut summary = analyse::assemble::build_summary(request, &facts, &gathered, generated_at);
    let mut chart_input = analyse::series::ChartInput::from_run(
        &facts,
        &gathered.groups,
        &gathered.file_stages,
        analyse::assemble::clock_offset_us(request, &gathered),
    );
    // The run folder is the manifest's; `sluice run` reports into it too.
    let mut dirs: Vec<PathBuf> = request
        .manifest_path
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    dirs.push(request.out_dir.clone());
    analyse::assemble::add_run_timeline(
        &mut summary,
        &mut chart_input,
        collect::run_files::RunFiles::load(&dirs),
        facts.first_created_us,
    );
    if let (Some(record), Some(origin)) = (
        request.run.as_ref().and_then(|r| r.activity.as_ref()),
        facts.first_created_us,
    ) {
        chart_input.wal_mib_per_s = analyse::activity::wal_rate(record, origin);
    }
    write_report(
        &request.out_dir,
        &mut summary,
        &chart_input,
        request.latency_target_ms,
    )?;
    Ok(summary)
}

/// Writes the charts (the latency charts when there is latency data, the
/// resource charts when there are samples; a chart that cannot be drawn
/// becomes a note), lists them in the summary, then writes `report.md`
/// and `summary.json` with [`write_outputs`]. Charts of an earlier report in
/// `out_dir` that this one did not draw are removed.
pub fn write_report(
    out_dir: &Path,
    summary: &mut Summary,
    chart_input: &analyse::series::ChartInput,
    latency_target_ms: Option<f64>,
) -> Result<(), ReportError> {
    create_out_dir(out_dir)?;
    let (written, notes) =
        render::charts::write_all(out_dir, chart_input, &summary.latency_ms, latency_target_ms);
    render::charts::remove_stale(out_dir, &written);
    summary.charts = written;
    summary.notes.extend(notes);
    write_outputs(out_dir, summary)
}

fn create_out_dir(out_dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(out_dir).map_err(|error| ReportError::Io {
        action: "create the report directory",
        path: out_dir.to_path_buf(),
        error,
    })
}

/// Writes `report.md` and `summary.json` into `out_dir`, creating it.
///
/// Each file is written to a temporary name and renamed, so a reader (or a
/// crash) never sees half a report.
pub fn write_outputs(out_dir: &Path, summary: &Summary) -> Result<(), ReportError> {
    create_out_dir(out_dir)?;
    let mut json = serde_json::to_string_pretty(summary)?;
    json.push('\n');
    files::write_atomic(&out_dir.join(SUMMARY_FILE), json.as_bytes())?;
    files::write_atomic(
        &out_dir.join(REPORT_FILE),
        render::markdown::render(summary).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::assemble::tests::{request, scenario};
    use crate::collect::run_files;
    use crate::render::charts;

    #[test]
    fn writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/run");
        let (facts, gathered) = scenario();
        let summary = analyse::assemble::build_summary(&request(), &facts, &gathered, "t".into());
        write_outputs(&out, &summary).unwrap();
        let md = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
        assert!(md.contains("## Latency"));
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join(SUMMARY_FILE)).unwrap()).unwrap();
        assert_eq!(json["rows"]["found"], 185);
        assert_eq!(json["rows"]["missing"], 100);
        assert_eq!(json["files"]["quarantined"], 1);
        assert_eq!(json["commit_time_source"], "pg_xact_commit_timestamp");
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, summary);
        let leftovers: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn side_files_written_by_a_run_become_charts_and_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        fs::create_dir_all(&out).unwrap();
        let samples: Vec<ResourceSample> = (1..=8u32)
            .map(|i| ResourceSample {
                t_s: f64::from(i) * 0.5,
                pipeline_cpu_pct: 20.0,
                pipeline_rss_bytes: 20 << 20,
                postgres_cpu_pct: 50.0,
                postgres_rss_bytes: 100 << 20,
                system_cpu_pct: 30.0,
                ..Default::default()
            })
            .collect();
        run_files::write_resource_samples(&out.join(RESOURCES_FILE), &samples).unwrap();
        run_files::write_events(
            &out.join(EVENTS_FILE),
            &[RunEvent {
                kind: "pipeline_killed".into(),
                start_unix_us: 2_000_000,
                end_unix_us: Some(2_250_000),
                note: "kill -9".into(),
            }],
        )
        .unwrap();
        let (facts, gathered) = scenario();
        let mut summary =
            analyse::assemble::build_summary(&request(), &facts, &gathered, "t".into());
        let mut input = analyse::series::ChartInput::from_run(
            &facts,
            &gathered.groups,
            &gathered.file_stages,
            0,
        );
        let files = collect::run_files::RunFiles::load(&[dir.path().to_path_buf(), out.clone()]);
        analyse::assemble::add_run_timeline(
            &mut summary,
            &mut input,
            files,
            facts.first_created_us,
        );
        write_report(&out, &mut summary, &input, None).unwrap();
        assert_eq!(summary.charts.len(), 7);
        assert!(out.join(charts::RESOURCES_CPU).exists());
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join(SUMMARY_FILE)).unwrap()).unwrap();
        assert_eq!(json["resource_samples"], 8);
        assert_eq!(
            json["interruptions"],
            serde_json::json!([{"kind": "pipeline_killed", "start_offset_s": 1.0,
                                "duration_s": 0.25, "note": "kill -9"}])
        );
        let md = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
        assert!(md.contains("![Memory over time](resources_memory.svg)"));
        assert!(md.contains("| pipeline killed | 1.000 | 0.250 | `kill -9` |"));
    }

    #[test]
    fn request_defaults() {
        let r = ReportRequest::new("m.jsonl", "out");
        assert_eq!(r.table, "events");
        assert_eq!(r.rejects_table, "events_rejects");
        assert!(r.database_is_local);
        assert!(r.run.is_none());
        assert_eq!(r.latency_target_ms, None);
        assert_eq!(r.targets, None);
    }

    #[test]
    fn writes_charts_and_links_them() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let (facts, gathered) = scenario();
        let mut summary =
            analyse::assemble::build_summary(&request(), &facts, &gathered, "t".into());
        let input = analyse::series::ChartInput::from_run(
            &facts,
            &gathered.groups,
            &gathered.file_stages,
            0,
        );
        write_report(&out, &mut summary, &input, Some(400.0)).unwrap();
        assert_eq!(summary.charts.len(), 5);
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join(SUMMARY_FILE)).unwrap()).unwrap();
        assert_eq!(
            json["charts"],
            serde_json::json!([
                "latency_over_time.svg",
                "latency_histogram.svg",
                "latency_percentiles_over_time.svg",
                "latency_cdf.svg",
                "throughput.svg"
            ])
        );
        let md = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
        assert!(md.contains("## Charts"));
        for chart in &summary.charts {
            assert!(md.contains(&format!("]({chart})")), "{chart} not linked");
            let svg = fs::read_to_string(out.join(chart)).unwrap();
            assert!(svg.contains("<text"), "{chart} has no text");
        }
        assert!(md.contains("![Latency over time](latency_over_time.svg)"));

        // The same folder reported again with no latency data: no charts,
        // the old ones removed, and the report says why.
        let mut gathered = gathered;
        gathered.groups.clear();
        gathered.found = 0;
        gathered.distinct_keys = 0;
        let mut summary =
            analyse::assemble::build_summary(&request(), &facts, &gathered, "t".into());
        let input = analyse::series::ChartInput::from_run(
            &facts,
            &gathered.groups,
            &gathered.file_stages,
            0,
        );
        write_report(&out, &mut summary, &input, None).unwrap();
        assert!(summary.charts.is_empty());
        assert!(!out.join("latency_over_time.svg").exists());
        let md = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
        assert!(md.contains("No charts: no latency was measured"));
        assert!(!md.contains(".svg)"));
    }
}
