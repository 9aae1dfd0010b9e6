//! `summary.json`: every figure of the report, for machines.
//!
//! The field names are a contract (compare views and CI scripts read them), so
//! they are spelled out here once, checked by a test, and the markdown report
//! is rendered from this same structure: what a person reads and what a script
//! reads cannot disagree.

use serde::{Deserialize, Serialize};

mod activity;

pub use activity::{
    CacheActivity, CheckpointActivity, CheckpointEvent, DatabaseActivity, TableActivity,
    WalActivity,
};

/// Version of the `summary.json` layout. Bumped when a field changes meaning
/// or disappears; adding a field does not bump it.
pub const SUMMARY_VERSION: u32 = 1;

/// Everything the report states, as written to `summary.json`.
///
/// Counts are integers; durations are milliseconds (JSON numbers, three
/// decimals); rates are rows per second. When no latency could be measured,
/// the latency figures are `0` and `latency_ms.count` is `0`: read the count
/// before the figures.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Summary {
    /// Layout version of this file ([`SUMMARY_VERSION`]).
    pub summary_version: u32,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Scenario name, when the report was made by `sluice run`.
    pub scenario: Option<String>,
    /// Run id, when the report was made by `sluice run`.
    pub run_id: Option<String>,
    /// Manifest the report was computed from, as given.
    pub manifest: String,
    /// Target table, as given (unquoted).
    pub table: String,
    /// Rejects table, as given (unquoted).
    pub rejects_table: String,
    /// Row figures: what was generated, expected and found.
    pub rows: RowCounts,
    /// found / expected in percent (100 when nothing was expected).
    pub success_rate_pct: f64,
    /// Rejected rows grouped by the reason's label (text before the first `:`),
    /// largest first, at most [`crate::collect::gather::REJECT_REASON_GROUPS`].
    pub rejected_by_reason: Vec<ReasonCount>,
    /// File figures.
    pub files: FileCounts,
    /// Latency from file creation to commit, in milliseconds.
    pub latency_ms: LatencySummary,
    /// Latency distribution by ranges.
    pub latency_distribution: Vec<DistributionRow>,
    /// found / (last commit − first file created), in seconds; 0 if undefined.
    pub throughput_rows_per_s: f64,
    /// Time span of the run as the database saw it.
    pub span: Span,
    /// Where commit times came from: `pg_xact_commit_timestamp` or
    /// `sluice_batches.committed_at`.
    pub commit_time_source: String,
    /// How rows were tied to the manifest's files: `source_file column`
    /// (sluice's tables) or `key prefix` (a table another pipeline wrote).
    #[serde(default)]
    pub row_attribution: String,
    /// Micro-batches that touched the manifest's files.
    pub batches: BatchSummary,
    /// Clock relation between this host (file times) and the database (commit times).
    pub clock: ClockSummary,
    /// How late the generator wrote its files against its schedule, when known.
    pub generator_lateness: Option<GeneratorLateness>,
    /// The run's configuration and counters, when made by `sluice run`.
    pub run: Option<RunSummary>,
    /// `false` when the figures come from an unoptimised (debug) build.
    pub optimized_build: bool,
    /// Caveats found while gathering (missing optional tables, rows without a
    /// commit time, ...), each a full sentence.
    pub notes: Vec<String>,
    /// SVG charts written next to `report.md` (file names, relative to it),
    /// in the order the report shows them; empty when no latency was
    /// measured. Absent from summaries written before charts existed.
    #[serde(default)]
    pub charts: Vec<String>,
    /// Where the time goes: latency split into the stages a row passes
    /// through, and the busy time of each batch stage. `None` when no batch
    /// record mentions the manifest's files.
    #[serde(default)]
    pub stages: Option<StageBreakdown>,
    /// The slowest batches (committed_at − started_at), slowest first, at most
    /// [`crate::analyse::stages::SLOWEST_BATCHES`].
    #[serde(default)]
    pub slowest_batches: Vec<SlowBatch>,
    /// Batches, rows and throughput of each worker when several workers of
    /// one pipeline committed the run's batches (empty for one process).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerFigures>,
    /// How well batches kept the configured trigger interval; `None` when
    /// there is no batch.
    #[serde(default)]
    pub trigger_adherence: Option<TriggerAdherence>,
    /// The target table in the database: size, indexes and the timings of
    /// the queries users run against it; `None` when not gathered.
    #[serde(default)]
    pub database: Option<DatabaseSummary>,
    /// Each target of the scenario against its measured figure, in the order
    /// of [`crate::Targets`]; empty when no target was set.
    #[serde(default)]
    pub targets: Vec<TargetResult>,
    /// `true` when no target has status `fail` (a run with no targets passes).
    #[serde(default = "default_true")]
    pub passed: bool,
    /// Bottlenecks and recommendations derived from the figures above, most
    /// severe first.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// What the database did during the run (cache, WAL, checkpoints, the
    /// table's activity), from its own counters read around the run; `None`
    /// when the report was not made by `sluice run`.
    #[serde(default)]
    pub database_activity: Option<DatabaseActivity>,
    /// Windows in which the run deliberately interrupted something (the
    /// run's `events.jsonl`), in time order; empty when none was recorded.
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
    /// Resource samples read from the run's `resources.jsonl`; 0 when the
    /// run did not sample over time (then there are no resource charts).
    #[serde(default)]
    pub resource_samples: u64,
    /// The first quarter of the run against its last: what a soak run is
    /// for (memory that keeps growing, latency that keeps rising).
    #[serde(default)]
    pub drift: Drift,
    /// The load phases of a run whose generator followed a rate profile
    /// (bursts, steps, a ramp), in time order; see [`crate::analyse::phases`]. Empty
    /// when the manifest records no target rate, or when a profile changes
    /// its rate too often to cut into phases (a note then says so).
    #[serde(default)]
    pub phases: Vec<Phase>,
}

/// Row-weighted latency of the rows of one load phase's files, ms: exact
/// nearest-rank figures (as the stage breakdown's), so they can differ from
/// the HdrHistogram figures of the whole run by up to 0.1 %.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct PhaseLatency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Rows measured (found, with a commit time): read it before the
    /// figures, which are 0 when it is 0.
    pub count: u64,
}

/// A stretch of the run at one target rate of the generator's profile.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Phase {
    /// Position in the run, from 1.
    pub index: u32,
    /// The profile's rate for the phase's files, rows/s; for a band of a
    /// ramp, the lowest rate of its files.
    pub target_rows_per_s: u64,
    /// For a band of a ramp, the highest rate of its files; absent for a
    /// phase of one rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_max_rows_per_s: Option<u64>,
    /// When its first file was created, seconds since the run's first file.
    pub start_s: f64,
    /// Until the next phase's first file (the last phase: its last file plus
    /// one schedule interval), seconds.
    pub duration_s: f64,
    /// Manifest files of the phase.
    pub files: u64,
    /// Rows the generator wrote into them (the offered load).
    pub rows: u64,
    /// Rows of any file committed within the phase's window / its
    /// duration: what the pipeline achieved while this load was offered.
    pub rows_per_s: f64,
    /// Latency of the rows of the phase's files.
    pub latency_ms: PhaseLatency,
    /// Only when the next phase has a lower target: the last commit of this
    /// phase's rows − the end of the phase, seconds, at least 0 (how long
    /// the backlog of the higher load took to drain). `None` otherwise, or
    /// when none of its rows was committed.
    pub recovery_s: Option<f64>,
}

/// A deliberate interruption, on the report's time axis.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Interruption {
    /// What happened (`pipeline_killed`, `database_stopped`, ...).
    pub kind: String,
    /// Start, seconds since the first file was created.
    pub start_offset_s: f64,
    /// How long it lasted, seconds; `None` when it lasted to the end.
    pub duration_s: Option<f64>,
    /// Free text from the run.
    pub note: String,
}

/// One figure over the first and the last quarter of a span.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct Quarters {
    /// The figure over the first quarter.
    pub first: f64,
    /// The figure over the last quarter.
    pub last: f64,
    /// The span the quarters divide, seconds.
    pub span_s: f64,
}

/// First against last quarter of the run.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct Drift {
    /// Mean pipeline RSS of the samples in each quarter of the sampled
    /// span, MiB; `None` without samples in both quarters.
    pub pipeline_rss_mb: Option<Quarters>,
    /// Row-weighted P95 latency of the files created in each quarter of the
    /// creation span, ms; `None` without rows in both quarters.
    pub latency_p95_ms: Option<Quarters>,
}

fn default_true() -> bool {
    true
}

/// A summary of nothing: no rows, no latency, no run context, layout
/// [`SUMMARY_VERSION`], `passed` and `optimized_build` true (as a summary
/// without targets, from a release build, would say). Tests start from it, and
/// [`crate::compare`] fills the fields a hand-written `summary.json` lacks
/// from it.
impl Default for Summary {
    fn default() -> Self {
        Summary {
            summary_version: SUMMARY_VERSION,
            generated_at: String::new(),
            scenario: None,
            run_id: None,
            manifest: String::new(),
            table: String::new(),
            rejects_table: String::new(),
            rows: RowCounts::default(),
            success_rate_pct: 0.0,
            rejected_by_reason: Vec::new(),
            files: FileCounts::default(),
            latency_ms: LatencySummary::default(),
            latency_distribution: Vec::new(),
            throughput_rows_per_s: 0.0,
            span: Span::default(),
            commit_time_source: String::new(),
            row_attribution: String::new(),
            batches: BatchSummary::default(),
            clock: ClockSummary::default(),
            generator_lateness: None,
            run: None,
            optimized_build: true,
            notes: Vec::new(),
            charts: Vec::new(),
            stages: None,
            slowest_batches: Vec::new(),
            workers: Vec::new(),
            trigger_adherence: None,
            database: None,
            targets: Vec::new(),
            passed: true,
            findings: Vec::new(),
            database_activity: None,
            interruptions: Vec::new(),
            resource_samples: 0,
            drift: Drift::default(),
            phases: Vec::new(),
        }
    }
}

/// One stage of a row's way from its file becoming visible to its commit.
///
/// Over files, each file weighted by its valid rows (rows − rejected), so a
/// stage's figures describe rows as the latency figures do. Times in ms.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct StageFigures {
    /// Stage id: `visible_to_discovered`, `discovered_to_batch_start`,
    /// `batch_start_to_committed`, or the whole way, `visible_to_committed`.
    pub stage: String,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Row-weighted mean.
    pub mean_ms: f64,
    /// mean / the mean of `visible_to_committed`, percent: the stages' shares
    /// add up to 100. `None` when the end-to-end mean is not positive.
    pub share_pct: Option<f64>,
}

/// Busy time of one batch stage (parse, transform, write), over batches.
///
/// The stages run at once on successive chunks of a batch, so their busy
/// times overlap: each can approach the batch's wall time, and they do not
/// add up to it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct BusyFigures {
    /// `parse`, `transform` or `write`.
    pub stage: String,
    /// Median over batches.
    pub p50_ms: f64,
    /// 95th percentile over batches.
    pub p95_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean over batches.
    pub mean_ms: f64,
    /// Sum of this stage's busy time / sum of the batches' wall times
    /// (committed_at − started_at), percent: how much of the batch it kept busy.
    pub share_of_wall_pct: Option<f64>,
}

/// Where the time goes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct StageBreakdown {
    /// Files measured through every stage (not quarantined, with valid rows,
    /// a creation time in the manifest and a discovery time in their batch).
    pub files: u64,
    /// Their valid rows: the weights.
    pub rows: u64,
    /// Files of the batches left out (no discovery time, no valid row, or
    /// unknown to the manifest).
    pub files_unmeasured: u64,
    /// The stages in order, then `visible_to_committed`.
    pub latency: Vec<StageFigures>,
    /// Batches the busy figures are over.
    pub batches: u64,
    /// Busy time per batch stage: parse, transform, write.
    pub busy: Vec<BusyFigures>,
}

/// One of the slowest batches.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct SlowBatch {
    /// Batch id.
    pub batch_id: i64,
    /// committed_at − started_at (clock-corrected), ms.
    pub time_ms: f64,
    /// Files in the batch.
    pub files: u64,
    /// Rows read (valid + rejected).
    pub rows: u64,
    /// Parse busy time, ms.
    pub parse_ms: f64,
    /// Transform busy time, ms.
    pub transform_ms: f64,
    /// Write busy time, ms.
    pub write_ms: f64,
    /// When it started (trigger fired), Unix µs.
    pub started_at_us: i64,
}

/// The trigger against what the batches did.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct TriggerAdherence {
    /// The configured trigger as given (`10s`, `continuous`, ...), when known.
    pub configured: Option<String>,
    /// Its interval, ms; `None` for `continuous`, `available-now` or unknown.
    pub interval_ms: Option<f64>,
    /// Batches considered.
    pub batches: u64,
    /// Median gap between consecutive batch starts, ms.
    pub start_gap_ms_p50: f64,
    /// Largest gap between consecutive batch starts, ms.
    pub start_gap_ms_max: f64,
    /// Batches whose processing time exceeded the interval (falling behind);
    /// `None` without an interval.
    pub overran: Option<u64>,
    /// `overran` / batches, percent.
    pub overran_pct: Option<f64>,
}

/// Size and use of one index of the target table.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IndexStat {
    /// Index name.
    pub name: String,
    /// Size on disk, bytes.
    pub bytes: u64,
    /// `pg_stat_user_indexes.idx_scan` before the report's own queries ran.
    pub idx_scan: u64,
}

/// Timing of one query users run against the target table.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct QueryTiming {
    /// What the query does (`count(*)`, `one user_id`, ...).
    pub name: String,
    /// The SQL as run.
    pub sql: String,
    /// Each run's time (sent → all rows received), ms.
    pub runs_ms: Vec<f64>,
    /// Median of the runs, ms.
    pub median_ms: f64,
    /// Rows it returned.
    pub rows: u64,
    /// `Plan."Node Type"` of `EXPLAIN (FORMAT JSON)`: the plan's top node.
    pub plan_node: String,
    /// The top node's `Index Name`, when it has one.
    pub plan_index: Option<String>,
    /// When the top node names no index, the first scan below it (depth
    /// first), e.g. `Index Only Scan using events_pkey`.
    pub plan_scan: Option<String>,
}

/// The target table in the database.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct DatabaseSummary {
    /// The table's own size (`pg_relation_size`), bytes.
    pub table_bytes: u64,
    /// All its indexes (`pg_indexes_size`), bytes.
    pub indexes_bytes: u64,
    /// Everything (`pg_total_relation_size`: table, indexes, TOAST), bytes.
    pub total_bytes: u64,
    /// Rows in the whole table (all runs), from the `count(*)` query.
    pub rows: Option<u64>,
    /// Its indexes, by name.
    pub indexes: Vec<IndexStat>,
    /// Query timings; empty when the table is empty.
    pub queries: Vec<QueryTiming>,
    /// Why something was skipped, each a full sentence.
    pub notes: Vec<String>,
}

/// How a target compared.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TargetStatus {
    /// Within the target (✓).
    Pass,
    /// Beyond it by at most the slack the scenario gave it (⚠, passes).
    Warn,
    /// Beyond it, past any slack (✗).
    Fail,
    /// Not measured in this run (no resource samples, no latency): fails (✗).
    Unmeasured,
    /// Not measured, and the scenario marked the target optional (–):
    /// neither passes nor fails.
    UnmeasuredOptional,
}

impl TargetStatus {
    /// ✓, ⚠, ✗ or –.
    pub fn symbol(self) -> &'static str {
        match self {
            TargetStatus::Pass => "✓",
            TargetStatus::Warn => "⚠",
            TargetStatus::Fail | TargetStatus::Unmeasured => "✗",
            TargetStatus::UnmeasuredOptional => "–",
        }
    }

    /// Whether this status makes the run fail its targets.
    pub fn fails(self) -> bool {
        matches!(self, TargetStatus::Fail | TargetStatus::Unmeasured)
    }

    /// Whether this status counts as met in the report's tally.
    pub fn passes(self) -> bool {
        !self.fails()
    }
}

/// One target against its measured figure.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TargetResult {
    /// The target's name, as in the scenario's `[targets]` (`p99_ms`, ...).
    pub name: String,
    /// The limit.
    pub target: f64,
    /// The measured figure; `None` when not measured.
    pub measured: Option<f64>,
    /// `max` (measured must be at most the target) or `min` (at least: throughput).
    pub bound: String,
    /// The verdict.
    pub status: TargetStatus,
}

/// How much a finding matters.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The run is wrong or fails its purpose (lost or duplicated rows).
    Critical,
    /// A bottleneck or a condition that distorts the figures.
    Warning,
    /// Worth knowing.
    Info,
}

/// One bottleneck or recommendation, citing the figure behind it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable id of the rule (`trigger_wait_dominates`, ...).
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// What the figures show, with the figures.
    pub finding: String,
    /// What to do about it.
    pub recommendation: String,
}

/// Row figures. See the crate documentation for the exact definitions.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowCounts {
    /// Sum of the manifest's `rows`.
    pub generated: u64,
    /// Sum of `rows − dup_rows − bad_rows`: valid, unique rows.
    pub expected: u64,
    /// Rows in the target table whose `source_file` is a manifest file.
    pub found: u64,
    /// max(0, expected − found).
    pub missing: u64,
    /// Rows of the rejects table whose `source_file` is a manifest file.
    pub rejected: u64,
    /// Copies of an event beyond the first, by key, among the found rows
    /// (`count(*) − count(DISTINCT event_id)`); 0 is the only correct value.
    pub duplicates: u64,
    /// Sum of the manifest's `dup_rows`: input rows that repeated a key and
    /// were absorbed by the upsert (not an error).
    pub absorbed_duplicates: u64,
    /// Sum of the manifest's `bad_rows`: malformed rows the generator wrote on purpose.
    pub bad_input: u64,
    /// max(0, found − expected): rows stored beyond those expected (a
    /// malformed row stored, a duplicate not absorbed); 0 is the only
    /// correct value.
    #[serde(default)]
    pub extra: u64,
    /// max(0, rejected − bad_input): rows rejected beyond the malformed ones
    /// the generator wrote on purpose (valid rows refused); 0 is the only
    /// correct value.
    #[serde(default)]
    pub unexpected_rejects: u64,
}

impl Summary {
    /// The run's resource profile when it sampled anything: a profile of
    /// no samples measured nothing, and its zeros are not figures.
    pub fn sampled_resources(&self) -> Option<&ResourceProfile> {
        self.run
            .as_ref()?
            .resources
            .as_ref()
            .filter(|r| r.samples > 0)
    }

    /// The command of the pipeline measured when it is not sluice.
    pub fn external_command(&self) -> Option<&str> {
        self.run.as_ref()?.external_command.as_deref()
    }

    /// What the report calls the pipeline measured: `sluice`, or `the
    /// pipeline command`.
    pub fn pipeline_name(&self) -> &'static str {
        if self.external_command().is_some() {
            "pipeline command"
        } else {
            "sluice"
        }
    }
}

impl RowCounts {
    /// Whether every expected row was checked to be in the table exactly
    /// once: nothing missing, nothing extra, no key twice, nothing valid
    /// rejected. Each of these figures can be non-zero.
    pub fn exactly_once(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.duplicates == 0 && self.unexpected_rejects == 0
    }
}

/// One group of rejected rows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The reason's text up to its first `:`.
    pub reason: String,
    /// Rejected rows with that label.
    pub count: u64,
}

/// File figures.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCounts {
    /// Distinct file names in the manifest.
    pub manifest: u64,
    /// Manifest files recorded in `sluice_quarantine` (distinct names).
    pub quarantined: u64,
    /// Manifest files that should have rows but have none in the target and
    /// were not quarantined.
    pub missing_from_db: u64,
    /// Manifest files with some but fewer rows in the target than expected.
    pub incomplete: u64,
    /// The quarantined files and why (first [`crate::collect::gather::LISTED_FILES`]).
    pub quarantined_files: Vec<QuarantinedFile>,
    /// Names of the files missing from the database (first [`crate::collect::gather::LISTED_FILES`]).
    pub missing_files: Vec<String>,
}

/// A file that could not be read at all.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedFile {
    /// File name as in the manifest.
    pub file: String,
    /// Why the pipeline quarantined it.
    pub reason: String,
}

/// Latency percentiles in milliseconds (three decimals).
///
/// The values are HdrHistogram "highest equivalent" values at three
/// significant digits: at most 0.1 % above the true value.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// 99.99th percentile.
    #[serde(default)]
    pub p9999: f64,
    /// Standard deviation.
    #[serde(default)]
    pub stddev: f64,
    /// Largest latency.
    pub max: f64,
    /// Mean latency.
    pub mean: f64,
    /// Smallest latency.
    pub min: f64,
    /// Rows measured.
    pub count: u64,
    /// Rows whose commit time was before their file's creation time (clock
    /// skew); recorded as 1 µs.
    pub negative_latencies: u64,
    /// Rows found in the target for which no commit time could be found.
    pub unmeasured: u64,
}

/// One row of the latency distribution table.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DistributionRow {
    /// Human label of the range, e.g. `100 ms – 250 ms`.
    pub range: String,
    /// Lower edge (inclusive), ms.
    pub from_ms: f64,
    /// Upper edge (exclusive), ms; `None` for the open last range.
    pub to_ms: Option<f64>,
    /// Rows in the range.
    pub count: u64,
    /// Share of all measured rows, percent.
    pub percent: f64,
    /// Share of all measured rows up to and including this range, percent.
    pub cumulative_percent: f64,
}

/// Time span of the run.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct Span {
    /// Earliest `created_at_us` of the manifest, Unix µs.
    pub first_file_created_us: Option<i64>,
    /// Latest `created_at_us` of the manifest, Unix µs.
    pub last_file_created_us: Option<i64>,
    /// Earliest commit time of a found row (clock-corrected), Unix µs.
    pub first_commit_us: Option<i64>,
    /// Latest commit time of a found row (clock-corrected), Unix µs.
    pub last_commit_us: Option<i64>,
    /// last commit − first file created, seconds (the throughput denominator).
    pub run_s: f64,
    /// last commit − first commit, seconds: the committed-row span.
    pub committed_span_s: f64,
}

/// What one worker of a pipeline committed of the run (its batches are
/// those recorded under its checkpoint id).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct WorkerFigures {
    /// The worker's checkpoint id (`sluice_batches.checkpoint_id`).
    pub worker: String,
    /// Batches it committed.
    pub batches: u64,
    /// Files in those batches.
    pub files: u64,
    /// Data rows they read (valid + rejected).
    pub rows_read: u64,
    /// Rows they inserted or changed in the target.
    pub rows_upserted: u64,
    /// Its first batch's start to its last batch's commit, seconds.
    pub busy_span_s: f64,
    /// rows_read over that span; 0 when the span is 0.
    pub rows_per_s: f64,
}

/// Figures of the micro-batches that touched the manifest's files.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct BatchSummary {
    /// Number of batches.
    pub count: u64,
    /// Median processing time (committed_at − started_at), ms.
    pub time_ms_p50: f64,
    /// 95th percentile processing time, ms.
    pub time_ms_p95: f64,
    /// Longest processing time, ms.
    pub time_ms_max: f64,
    /// Mean processing time, ms.
    pub time_ms_mean: f64,
    /// Mean `rows_read` per batch.
    pub rows_per_batch_mean: f64,
    /// Mean number of files per batch.
    pub files_per_batch_mean: f64,
    /// Sum of `rows_read`.
    pub rows_read: u64,
    /// Sum of `rows_rejected`.
    pub rows_rejected: u64,
    /// Sum of `rows_deduped` (same key within a batch).
    pub rows_deduped: u64,
    /// Sum of `rows_upserted`.
    pub rows_upserted: u64,
    /// Mean parse stage time, ms.
    pub parse_ms_mean: f64,
    /// Mean transform stage time, ms.
    pub transform_ms_mean: f64,
    /// Mean write stage time, ms.
    pub write_ms_mean: f64,
    /// Median gap between consecutive batch starts, ms (trigger adherence).
    pub start_gap_ms_p50: f64,
    /// Largest gap between consecutive batch starts, ms.
    pub start_gap_ms_max: f64,
}

/// Clock relation between this host and the database server.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ClockSummary {
    /// The database runs on this host: one clock, no correction.
    pub local: bool,
    /// Server clock − local clock, ms (0 when local or not measured).
    pub offset_ms: f64,
    /// Half the round trip of the best sample, ms.
    pub uncertainty_ms: f64,
    /// Whether commit times were corrected by `offset_ms`.
    pub applied: bool,
    /// Round trip of the best sample, ms.
    pub rtt_ms: f64,
    /// Number of round trips measured.
    pub samples: u32,
}

/// How far behind its schedule the generator wrote files.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct GeneratorLateness {
    /// Files written later than scheduled (as the generator counts them).
    pub late_files: u64,
    /// Largest lateness, ms.
    pub max_lateness_ms: f64,
    /// Mean lateness, ms.
    pub mean_lateness_ms: f64,
    /// Configured interval between files, ms, when known.
    pub interval_ms: Option<f64>,
    /// `true` when the largest lateness exceeds 10 % of the interval: the
    /// offered load was lower than configured and latency is understated.
    pub significant: bool,
    /// Where the figures came from: `run` (generator summary) or `manifest`.
    pub source: String,
}

/// The run's configuration and counters.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct RunSummary {
    /// Scenario name.
    pub scenario: String,
    /// Run id.
    pub run_id: String,
    /// Settings shown in the configuration table, in order.
    pub settings: Vec<Setting>,
    /// The generator's own summary, as it gave it.
    pub generator: Option<generator::GeneratorSummary>,
    /// The pipeline's counters, as it gave them.
    pub pipeline: Option<serde_json::Value>,
    /// The resource profile sampled during the run.
    #[serde(default)]
    pub resources: Option<ResourceProfile>,
    /// The command of the pipeline measured, when it is not sluice (`sluice
    /// run --pipeline-cmd`): its report leaves out what only sluice records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_command: Option<String>,
}

/// Peak and mean figures of a run's resource samples, as `sluice run`
/// computed them while sampling (`summary.json` `run.resources`). A field a
/// summary lacks reads as 0; a profile of 0 samples measured nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceProfile {
    /// Sampling interval, ms.
    pub interval_ms: u64,
    /// Samples taken.
    pub samples: usize,
    /// Logical CPUs of the machine.
    pub logical_cpus: usize,
    /// Pipeline resident memory, peak, MiB.
    pub pipeline_rss_peak_mb: f64,
    /// Pipeline resident memory, mean, MiB.
    pub pipeline_rss_mean_mb: f64,
    /// Pipeline CPU, peak, % of one core.
    pub pipeline_cpu_peak_pct: f64,
    /// Pipeline CPU, mean, % of one core.
    pub pipeline_cpu_mean_pct: f64,
    /// Mean pipeline CPU divided by the logical CPUs (100 = the whole machine).
    pub pipeline_cpu_mean_pct_normalised: f64,
    /// PostgreSQL resident memory (all its processes), peak, MiB.
    pub postgres_rss_peak_mb: f64,
    /// PostgreSQL CPU, peak, % of one core.
    pub postgres_cpu_peak_pct: f64,
    /// PostgreSQL CPU, mean, % of one core.
    pub postgres_cpu_mean_pct: f64,
    /// Mean PostgreSQL CPU divided by the logical CPUs.
    pub postgres_cpu_mean_pct_normalised: f64,
    /// Whole-system CPU, peak, % of all logical CPUs.
    pub system_cpu_peak_pct: f64,
    /// Whole-system CPU, mean, % of all logical CPUs.
    pub system_cpu_mean_pct: f64,
    /// CPU time of the pipeline process(es) while sampled, seconds (a
    /// process's last fraction of a sampling interval is not seen).
    pub pipeline_cpu_seconds: f64,
    /// Bytes the pipeline read from storage during the run.
    pub pipeline_disk_read_bytes: u64,
    /// Bytes the pipeline wrote to storage during the run.
    pub pipeline_disk_written_bytes: u64,
    /// Bytes the PostgreSQL processes read from storage during the run.
    pub postgres_disk_read_bytes: u64,
    /// Bytes the PostgreSQL processes wrote to storage during the run.
    pub postgres_disk_written_bytes: u64,
    /// The pipeline's memory by kind at its RSS peak (Linux only).
    pub pipeline_memory_at_peak: Option<MemorySplit>,
    /// PostgreSQL's memory by kind at its RSS peak (Linux only).
    pub postgres_memory_at_peak: Option<MemorySplit>,
}

/// A process's memory by kind, from Linux's `/proc/PID/smaps_rollup`, in
/// proportional set size (a page shared by n processes counts 1/n to each),
/// bytes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemorySplit {
    /// Mapped files: the program's code and libraries.
    pub file_bytes: u64,
    /// Anonymous memory: the heap and stacks, private to the process.
    pub anon_bytes: u64,
    /// Shared memory (PostgreSQL's shared buffers).
    pub shmem_bytes: u64,
}

/// One configuration setting.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Setting name (e.g. `trigger`).
    pub name: String,
    /// Its value as text.
    pub value: String,
}

/// Rounds to three decimals: milliseconds to the microsecond, which is all
/// the precision the inputs have.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;

    pub(crate) fn sample() -> Summary {
        Summary {
            summary_version: SUMMARY_VERSION,
            generated_at: "2026-11-22T10:00:00Z".into(),
            scenario: Some("baseline".into()),
            run_id: Some("r1".into()),
            manifest: "data/manifest.jsonl".into(),
            table: "events".into(),
            rejects_table: "events_rejects".into(),
            rows: RowCounts::default(),
            success_rate_pct: 100.0,
            rejected_by_reason: vec![],
            files: FileCounts::default(),
            latency_ms: LatencySummary::default(),
            latency_distribution: vec![],
            throughput_rows_per_s: 0.0,
            span: Span::default(),
            commit_time_source: "pg_xact_commit_timestamp".into(),
            row_attribution: "source_file column".into(),
            batches: BatchSummary::default(),
            clock: crate::collect::clock::local_clock(),
            generator_lateness: None,
            run: None,
            optimized_build: true,
            notes: vec![],
            charts: vec![],
            stages: None,
            slowest_batches: vec![],
            workers: vec![],
            trigger_adherence: None,
            database: None,
            targets: vec![],
            passed: true,
            findings: vec![],
            database_activity: None,
            interruptions: vec![],
            resource_samples: 0,
            drift: Drift::default(),
            phases: Vec::new(),
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn has_all(v: &Value, want: &[&str]) {
        let got = keys(v);
        for k in want {
            assert!(got.contains(k), "missing key {k:?} in {got:?}");
        }
    }

    #[test]
    fn json_field_names_are_the_contract() {
        let v = serde_json::to_value(sample()).unwrap();
        has_all(
            &v,
            &[
                "rows",
                "files",
                "latency_ms",
                "throughput_rows_per_s",
                "commit_time_source",
                "batches",
                "clock",
                "optimized_build",
                "charts",
                "stages",
                "slowest_batches",
                "trigger_adherence",
                "database",
                "targets",
                "passed",
                "findings",
            ],
        );
        has_all(
            &v["rows"],
            &[
                "generated",
                "expected",
                "found",
                "missing",
                "rejected",
                "duplicates",
                "absorbed_duplicates",
            ],
        );
        has_all(&v["files"], &["manifest", "quarantined", "missing_from_db"]);
        has_all(
            &v["latency_ms"],
            &[
                "p50", "p75", "p90", "p95", "p99", "p999", "max", "mean", "min", "count",
            ],
        );
        has_all(
            &v["batches"],
            &[
                "count",
                "time_ms_p50",
                "time_ms_p95",
                "time_ms_max",
                "rows_per_batch_mean",
            ],
        );
        has_all(
            &v["clock"],
            &["local", "offset_ms", "uncertainty_ms", "applied"],
        );
    }

    #[test]
    fn counts_are_integers_and_times_are_numbers() {
        let mut s = sample();
        s.rows.found = 7;
        s.latency_ms.p50 = 12.5;
        let v = serde_json::to_value(&s).unwrap();
        assert!(v["rows"]["found"].is_u64());
        assert!(v["latency_ms"]["count"].is_u64());
        assert!(v["latency_ms"]["p50"].is_f64());
        assert!(v["throughput_rows_per_s"].is_number());
        assert!(v["optimized_build"].is_boolean());
    }

    #[test]
    fn round_trips_through_json() {
        let s = sample();
        let text = serde_json::to_string_pretty(&s).unwrap();
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn charts_are_listed_and_optional() {
        let mut s = sample();
        s.charts = vec!["latency_over_time.svg".into()];
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["charts"], serde_json::json!(["latency_over_time.svg"]));
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("charts");
        let back: Summary = serde_json::from_value(old).unwrap();
        assert!(back.charts.is_empty());
    }

    #[test]
    fn summaries_without_the_new_sections_still_read() {
        let mut old = serde_json::to_value(sample()).unwrap();
        for key in [
            "stages",
            "slowest_batches",
            "trigger_adherence",
            "database",
            "targets",
            "passed",
            "findings",
            "interruptions",
            "resource_samples",
            "drift",
            "phases",
        ] {
            old.as_object_mut().unwrap().remove(key);
        }
        let back: Summary = serde_json::from_value(old).unwrap();
        assert!(back.passed && back.targets.is_empty() && back.stages.is_none());
        assert!(back.phases.is_empty());
    }

    #[test]
    fn phase_keys_are_the_contract() {
        let mut s = sample();
        s.phases = vec![Phase {
            index: 1,
            target_rows_per_s: 5000,
            target_max_rows_per_s: None,
            start_s: 0.0,
            duration_s: 30.0,
            files: 30,
            rows: 150_000,
            rows_per_s: 4990.5,
            latency_ms: PhaseLatency {
                p50: 500.0,
                p95: 900.0,
                p99: 990.0,
                max: 1000.0,
                count: 150_000,
            },
            recovery_s: Some(0.25),
        }];
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["phases"],
            serde_json::json!([{
                "index": 1, "target_rows_per_s": 5000, "start_s": 0.0, "duration_s": 30.0,
                "files": 30, "rows": 150_000, "rows_per_s": 4990.5,
                "latency_ms": {"p50": 500.0, "p95": 900.0, "p99": 990.0, "max": 1000.0,
                               "count": 150_000},
                "recovery_s": 0.25
            }])
        );
        let back: Summary = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        // A band of a ramp names its highest rate too.
        s.phases[0].target_max_rows_per_s = Some(5990);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["phases"][0]["target_max_rows_per_s"], 5990);
    }

    #[test]
    fn statuses_and_severities_are_words() {
        let v = serde_json::to_value(TargetResult {
            name: "p99_ms".into(),
            target: 1.0,
            measured: None,
            bound: "max".into(),
            status: TargetStatus::Unmeasured,
        })
        .unwrap();
        assert_eq!(v["status"], "unmeasured");
        assert!(v["measured"].is_null());
        assert_eq!(serde_json::to_value(TargetStatus::Fail).unwrap(), "fail");
        assert_eq!(
            serde_json::to_value(TargetStatus::UnmeasuredOptional).unwrap(),
            "unmeasured-optional"
        );
        assert_eq!(
            serde_json::to_value(Severity::Critical).unwrap(),
            "critical"
        );
        assert_eq!(TargetStatus::Warn.symbol(), "⚠");
    }

    #[test]
    fn round3_keeps_microseconds() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(500.5), 500.5);
    }
}
