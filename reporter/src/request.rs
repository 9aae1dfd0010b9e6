//! What a report is asked for: the run's inputs, as the caller (`sluice
//! report`, `sluice run`) knows them. The manifest and output paths, the
//! tables, the run's context (settings, trigger, the generator's and the
//! resource sampler's summaries) and the scenario's targets. Typed facts
//! only: nothing here is looked up by a key name or re-parsed from a label.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::summary::ResourceProfile;

/// What to report on and where to write it.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The generator's manifest (JSON lines).
    pub manifest_path: PathBuf,
    /// Where `report.md` and `summary.json` go (created if needed).
    pub out_dir: PathBuf,
    /// Target table, unquoted (already validated); default `events`.
    pub table: String,
    /// Rejects table, unquoted; default `events_rejects`.
    pub rejects_table: String,
    /// The target's key column (the generator's event ids), unquoted;
    /// default `event_id`. Duplicates are counted by it, and a table without
    /// a `source_file` column ties rows to their files by it.
    pub key_column: String,
    /// The run's context when called from `sluice run`.
    pub run: Option<RunContext>,
    /// `false` for a debug build: the report then opens with a warning that
    /// its figures are not representative.
    pub optimized_build: bool,
    /// The database runs on this host (127.0.0.1, localhost, ::1 or a unix
    /// socket): file and commit times share one clock, so no offset is
    /// measured. Otherwise the offset is measured and subtracted.
    pub database_is_local: bool,
    /// Latency target (ms), drawn as a line on the latency-over-time chart;
    /// `None` draws no target.
    pub latency_target_ms: Option<f64>,
    /// The scenario's targets: each is judged against its measured figure
    /// (`summary.json` `targets`, `passed`); `None` judges nothing.
    pub targets: Option<Targets>,
}

impl ReportRequest {
    /// A request with the defaults: table `events`, rejects `events_rejects`,
    /// no run context, optimised build as compiled (`debug_assertions` off),
    /// local database, no latency target.
    pub fn new(manifest_path: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        ReportRequest {
            manifest_path: manifest_path.into(),
            out_dir: out_dir.into(),
            table: "events".to_string(),
            rejects_table: "events_rejects".to_string(),
            key_column: "event_id".to_string(),
            run: None,
            optimized_build: !cfg!(debug_assertions),
            database_is_local: true,
            latency_target_ms: None,
            targets: None,
        }
    }
}

/// The context `sluice run` knows and the database does not.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Scenario name (`baseline`, `high-load`, ...).
    pub scenario: String,
    /// Run id (also the run's folder name).
    pub run_id: String,
    /// Settings for the configuration table, as labels and displayed values,
    /// in order (trigger, batch size, write mode, caps, ...): shown, never
    /// read back.
    pub settings: Vec<(String, String)>,
    /// The pipeline's trigger (the report judges its adherence).
    pub trigger: Option<ConfiguredTrigger>,
    /// The generator's summary.
    pub generator: Option<generator::GeneratorSummary>,
    /// The pipeline's counters as JSON (shown in the configuration table).
    pub pipeline: Option<serde_json::Value>,
    /// The resource profile sampled during the run (CPU, memory of the
    /// pipeline and PostgreSQL, system CPU).
    pub resources: Option<ResourceProfile>,
    /// The database's counters read around the run.
    pub activity: Option<crate::collect::activity::ActivityRecord>,
    /// The pipeline's command when it is not sluice.
    pub external_command: Option<String>,
}

/// A run's trigger: as the configuration shows it, and its interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredTrigger {
    /// As configured and shown (`1s`, `continuous`, `available-now`).
    pub label: String,
    /// Time between batch starts; `None` for a continuous or available-now
    /// trigger, which have no interval to keep.
    pub interval: Option<std::time::Duration>,
}

/// The name of a target, as written in a scenario's `[targets]`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TargetName {
    /// Latency P50, ms.
    P50Ms,
    /// Latency P95, ms.
    P95Ms,
    /// Latency P99, ms.
    P99Ms,
    /// Throughput, rows per second.
    ThroughputRowsPerS,
    /// P95 of batch processing time, ms.
    BatchMsP95,
    /// Mean CPU of the pipeline, % of one core.
    PipelineCpuPct,
    /// Peak RSS of the pipeline, MB.
    PipelineRssMb,
    /// Peak RSS of PostgreSQL, MB.
    PostgresRssMb,
    /// (missing + duplicates) / expected, %.
    ErrorRatePct,
    /// duplicates / found, %.
    DuplicateRatePct,
}

impl TargetName {
    /// The name as written in `[targets]` and in summary.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P50Ms => "p50_ms",
            Self::P95Ms => "p95_ms",
            Self::P99Ms => "p99_ms",
            Self::ThroughputRowsPerS => "throughput_rows_per_s",
            Self::BatchMsP95 => "batch_ms_p95",
            Self::PipelineCpuPct => "pipeline_cpu_pct",
            Self::PipelineRssMb => "pipeline_rss_mb",
            Self::PostgresRssMb => "postgres_rss_mb",
            Self::ErrorRatePct => "error_rate_pct",
            Self::DuplicateRatePct => "duplicate_rate_pct",
        }
    }
}

/// A scenario's targets; every one is optional.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Latency P50, ms (at most).
    #[serde(default)]
    pub p50_ms: Option<f64>,
    /// Latency P95, ms (at most).
    #[serde(default)]
    pub p95_ms: Option<f64>,
    /// Latency P99, ms (at most).
    #[serde(default)]
    pub p99_ms: Option<f64>,
    /// Throughput, rows per second (at least).
    #[serde(default)]
    pub throughput_rows_per_s: Option<f64>,
    /// P95 batch processing time (committed − started), ms (at most).
    #[serde(default)]
    pub batch_ms_p95: Option<f64>,
    /// Mean CPU of the pipeline, % of one core (at most).
    #[serde(default)]
    pub pipeline_cpu_pct: Option<f64>,
    /// Peak resident memory of the pipeline, MB (at most).
    #[serde(default)]
    pub pipeline_rss_mb: Option<f64>,
    /// Peak resident memory of PostgreSQL, MB (at most; embedded server only).
    #[serde(default)]
    pub postgres_rss_mb: Option<f64>,
    /// (missing + duplicates) / expected, percent (at most).
    #[serde(default)]
    pub error_rate_pct: Option<f64>,
    /// duplicates / found, percent (at most).
    #[serde(default)]
    pub duplicate_rate_pct: Option<f64>,
    /// Per target, how far beyond it (percent of the target) the figure may
    /// be and only warn (⚠, passes). None by default: beyond is a failure.
    #[serde(default)]
    pub slack_pct: BTreeMap<TargetName, f64>,
    /// Targets this scenario accepts not measuring (e.g. `postgres_rss_mb`
    /// against an external server, which is not sampled). Any other target
    /// that could not be measured fails.
    #[serde(default)]
    pub optional: Vec<TargetName>,
}
