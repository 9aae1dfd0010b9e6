//! `report.md`: the summary, for a person.
//!
//! Rendered from the [`Summary`] alone, so the report never states a figure
//! that `summary.json` lacks. Markdown tables throughout; counts with
//! thousands separators, milliseconds with three decimals, percentages with
//! two.

use std::fmt::Write as _;

use crate::format::{fmt_bytes, fmt_count, fmt_decimal, fmt_ms, fmt_pct, fmt_time_us};
use crate::render::table::{Align, Table};

use crate::analyse::findings::{
    P95_DRIFT_MS, P95_DRIFT_RATIO, RSS_GROWTH_MIB, RSS_GROWTH_RATIO, SOAK_MIN_S,
};
use crate::analyse::phases::{longest_recovery, peak_phases, worst_max, worst_p99, RAMP_BANDS};
use crate::analyse::stages::{
    BATCH_START_TO_COMMITTED, DISCOVERED_TO_BATCH_START, VISIBLE_TO_COMMITTED,
    VISIBLE_TO_DISCOVERED,
};
use crate::render::charts::{ChartInfo, CHARTS, RESOURCE_CHARTS};
use crate::summary::{Phase, Quarters, Severity, Summary, TargetStatus};

/// Commit-time source names as they appear in `summary.json`.
const SOURCE_COMMIT_TS: &str = "pg_xact_commit_timestamp";
const SOURCE_BATCHES: &str = "sluice_batches.committed_at";

/// The warning line put at the top of a report from a debug build.
pub const UNOPTIMISED_WARNING: &str =
    "> ⚠️ **Unoptimised (debug) build.** These figures come from \
     an unoptimised build of sluice and are not representative of its performance: build with \
     `cargo build --release` (or run with `cargo run --release`) before measuring.";

/// How to turn on exact commit times; shown wherever the fallback is used.
pub const TRACK_COMMIT_TIMESTAMP_FIX: &str =
    "`ALTER SYSTEM SET track_commit_timestamp = on;` then restart PostgreSQL";

fn check(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

/// Flattens JSON into `(dotted.key, text)` rows for a table.
fn flatten_json(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Null => out.push((prefix.to_string(), "–".to_string())),
        Value::Number(n) => out.push((
            prefix.to_string(),
            match n.as_u64() {
                Some(u) => fmt_count(u),
                None => n.to_string(),
            },
        )),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Renders the report.
pub fn render(s: &Summary) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail; the results are ignored below.
    title(&mut md, s);
    warnings(&mut md, s);
    headline(&mut md, s);
    targets(&mut md, s);
    configuration(&mut md, s);
    integrity(&mut md, s);
    interruptions(&mut md, s);
    latency(&mut md, s);
    where_the_time_goes(&mut md, s);
    throughput(&mut md, s);
    load_phases(&mut md, s);
    stability(&mut md, s);
    charts(&mut md, s);
    batches(&mut md, s);
    database(&mut md, s);
    bottlenecks(&mut md, s);
    clock(&mut md, s);
    notes(&mut md, s);
    let _ = writeln!(
        md,
        "\n---\n\nGenerated {} by sluice-reporter. The same figures, for machines: `summary.json`.",
        s.generated_at
    );
    md
}

fn title(md: &mut String, s: &Summary) {
    let _ = match (&s.scenario, &s.run_id) {
        (Some(scenario), Some(run_id)) => {
            writeln!(md, "# sluice performance report: {scenario} (run {run_id})")
        }
        (Some(scenario), None) => writeln!(md, "# sluice performance report: {scenario}"),
        _ => writeln!(md, "# sluice performance report: `{}`", s.manifest),
    };
    md.push('\n');
}

/// Everything that changes how the figures must be read, before the figures.
fn warnings(md: &mut String, s: &Summary) {
    if !s.optimized_build {
        let _ = writeln!(md, "{UNOPTIMISED_WARNING}\n");
    }
    if s.commit_time_source == SOURCE_BATCHES {
        let _ = writeln!(
            md,
            "> ⚠️ **Approximate commit times.** `track_commit_timestamp` is off on the database \
             server, so commit times come from `{SOURCE_BATCHES}` (written inside each batch's \
             transaction, just before its commit), not from each row's own commit. Latencies are \
             slightly low. To measure exactly: {TRACK_COMMIT_TIMESTAMP_FIX}.\n"
        );
    } else if s.commit_time_source != SOURCE_COMMIT_TS {
        let _ = writeln!(
            md,
            "> ⚠️ **No commit times.** `track_commit_timestamp` is off and there is no \
             `sluice_batches` table, so latency could not be measured. To measure it: \
             {TRACK_COMMIT_TIMESTAMP_FIX}.\n"
        );
    }
    if let Some(l) = s.generator_lateness.as_ref().filter(|l| l.significant) {
        let _ = writeln!(
            md,
            "> ⚠️ **The generator fell behind its schedule** by up to {} ms ({} files late, \
             interval {} ms). Late files offer less load than configured, so the latency \
             figures understate what the configured load would give.\n",
            fmt_ms(l.max_lateness_ms),
            fmt_count(l.late_files),
            l.interval_ms.map_or("n/a".to_string(), fmt_ms),
        );
    }
    if !s.clock.local && !s.clock.applied {
        let _ = writeln!(
            md,
            "> ⚠️ **Uncorrected clocks.** The database runs on another host and its clock offset \
             could not be measured: latencies include the difference between the two clocks.\n"
        );
    }
}

fn headline(md: &mut String, s: &Summary) {
    let r = &s.rows;
    let l = &s.latency_ms;
    let _ = writeln!(md, "## Headline\n");
    let mut table = Table::figures(["Metric", "Value", "Check"]).aligned(&[
        Align::Left,
        Align::Right,
        Align::Center,
    ]);
    table.row(["Rows generated", &fmt_count(r.generated), ""]);
    table.row(["Rows expected (valid, unique)", &fmt_count(r.expected), ""]);
    let found_check = if r.found == r.expected {
        "✓"
    } else if r.found > r.expected {
        "⚠"
    } else {
        "✗"
    };
    table.row([
        &format!("Rows found in `{}`", s.table),
        &fmt_count(r.found),
        found_check,
    ]);
    table.row(["Rows missing", &fmt_count(r.missing), check(r.missing == 0)]);
    let rejected_check = if r.rejected == r.bad_input {
        "✓"
    } else {
        "⚠"
    };
    table.row(["Rows rejected", &fmt_count(r.rejected), rejected_check]);
    table.row([
        "Duplicates in the table",
        &fmt_count(r.duplicates),
        check(r.duplicates == 0),
    ]);
    let latency = if l.count > 0 {
        format!(
            "{} / {} / {} ms",
            fmt_ms(l.p50),
            fmt_ms(l.p95),
            fmt_ms(l.p99)
        )
    } else {
        "not measured".to_string()
    };
    table.row(["Latency P50 / P95 / P99", &latency, ""]);
    table.row([
        "Throughput",
        &format!("{} rows/s", fmt_decimal(s.throughput_rows_per_s, 1)),
        "",
    ]);
    if !s.targets.is_empty() {
        let met = s
            .targets
            .iter()
            .filter(|t| matches!(t.status, TargetStatus::Pass | TargetStatus::Warn))
            .count();
        table.row([
            "Targets met",
            &format!("{met} of {}", s.targets.len()),
            check(s.passed),
        ]);
    }
    let _ = write!(md, "{table}");
    let _ = writeln!(
        md,
        "\nChecks: rows found = expected, nothing missing, rejected = the malformed rows \
         the generator wrote on purpose ({}), no duplicates.\n",
        fmt_count(r.bad_input)
    );
}

fn key_value_table(md: &mut String, header: (&str, &str), rows: &[(String, String)]) {
    let mut table = Table::new([header.0, header.1]);
    for (k, v) in rows {
        table.row([k, v]);
    }
    let _ = writeln!(md, "{table}");
}

fn configuration(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Configuration\n");
    let mut basics = vec![
        ("Manifest".to_string(), format!("`{}`", s.manifest)),
        ("Target table".to_string(), format!("`{}`", s.table)),
        (
            "Rejects table".to_string(),
            format!("`{}`", s.rejects_table),
        ),
        (
            "Build".to_string(),
            if s.optimized_build {
                "optimised (release)".to_string()
            } else {
                "unoptimised (debug): figures not representative".to_string()
            },
        ),
    ];
    let Some(run) = &s.run else {
        key_value_table(md, ("Setting", "Value"), &basics);
        let _ = writeln!(
            md,
            "Not made by `sluice run`: no pipeline or generator settings were recorded.\n"
        );
        resources(md, s);
        return;
    };
    basics.splice(
        0..0,
        [
            ("Scenario".to_string(), run.scenario.clone()),
            ("Run id".to_string(), run.run_id.clone()),
        ],
    );
    basics.extend(
        run.settings
            .iter()
            .map(|st| (st.name.clone(), st.value.clone())),
    );
    key_value_table(md, ("Setting", "Value"), &basics);
    if let Some(g) = &run.generator {
        let mut rows = Vec::new();
        flatten_json("", g, &mut rows);
        if !rows.is_empty() {
            let _ = writeln!(md, "### Generator\n");
            key_value_table(md, ("Figure", "Value"), &rows);
        }
    }
    if let Some(p) = &run.pipeline {
        let mut rows = Vec::new();
        flatten_json("", p, &mut rows);
        if !rows.is_empty() {
            let _ = writeln!(md, "### Pipeline counters\n");
            key_value_table(md, ("Counter", "Value"), &rows);
        }
    }
    resources(md, s);
}

/// A chart embedded with its caption.
fn embed(md: &mut String, info: &ChartInfo) {
    let _ = writeln!(md, "![{}]({})\n\n*{}*\n", info.alt, info.file, info.caption);
}

/// The resource profile (peaks and means) and the CPU and memory charts, or
/// why there are none.
fn resources(md: &mut String, s: &Summary) {
    let mut rows = Vec::new();
    if let Some(r) = s.run.as_ref().and_then(|r| r.resources.as_ref()) {
        flatten_json("", &serde_json::to_value(r).unwrap_or_default(), &mut rows);
    }
    let _ = writeln!(md, "### Resources\n");
    if rows.is_empty() && s.resource_samples == 0 {
        let _ = writeln!(
            md,
            "Resources were not sampled: the run folder has no `resources.jsonl` and the run \
             recorded no resource profile, so there are no CPU or memory figures or charts.\n"
        );
        return;
    }
    let _ = writeln!(
        md,
        "Sampled at a fixed interval during the run with `sysinfo`. Process CPU % is of one \
         core (100 = one core busy); system CPU is of all logical CPUs together; `_normalised` \
         figures divide by the logical CPUs. Memory is resident set size, MiB. PostgreSQL = the \
         postmaster and all its children (embedded server only).\n"
    );
    if !rows.is_empty() {
        key_value_table(md, ("Figure", "Value"), &rows);
    }
    let drawn: Vec<&ChartInfo> = RESOURCE_CHARTS
        .iter()
        .filter(|c| s.charts.iter().any(|f| f == c.file))
        .collect();
    if s.resource_samples == 0 {
        let _ = writeln!(
            md,
            "Resources were not sampled over time (no `resources.jsonl` in the run folder): no \
             CPU or memory charts.\n"
        );
    } else if drawn.is_empty() {
        let _ = writeln!(
            md,
            "{} samples were read, but no resource chart could be drawn (see Notes).\n",
            fmt_count(s.resource_samples)
        );
    }
    for info in drawn {
        embed(md, info);
    }
}

/// The windows the run interrupted on purpose; nothing when there were none.
fn interruptions(md: &mut String, s: &Summary) {
    if s.interruptions.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Interruptions\n");
    let _ = writeln!(
        md,
        "The run interrupted itself on purpose (its `events.jsonl`). These windows are shaded \
         on every chart over time; latency and throughput suffer inside them by design.\n"
    );
    let mut table = Table::figures([
        "Kind",
        "Start (s after the first file)",
        "Duration (s)",
        "Note",
    ])
    .aligned(&[Align::Left, Align::Right, Align::Right, Align::Left]);
    for i in &s.interruptions {
        table.row([
            i.kind.clone(),
            fmt_decimal(i.start_offset_s, 3),
            i.duration_s
                .map_or("to the end of the run".to_string(), |d| fmt_decimal(d, 3)),
            i.note.clone(),
        ]);
    }
    let _ = writeln!(md, "{table}");
}

fn integrity(md: &mut String, s: &Summary) {
    let r = &s.rows;
    let f = &s.files;
    let _ = writeln!(md, "## Data integrity\n");
    let mut table = Table::figures(["Figure", "Rows", "Meaning"]).aligned(&[
        Align::Left,
        Align::Right,
        Align::Left,
    ]);
    let rows: [(&str, u64, &str); 8] = [
        (
            "Generated",
            r.generated,
            "data rows the generator wrote (manifest `rows`)",
        ),
        (
            "Malformed on purpose",
            r.bad_input,
            "manifest `bad_rows`: must end up rejected",
        ),
        (
            "Absorbed duplicates",
            r.absorbed_duplicates,
            "manifest `dup_rows`: rows repeating an earlier key, absorbed by the upsert",
        ),
        (
            "Expected",
            r.expected,
            "generated − absorbed duplicates − malformed",
        ),
        (
            "Found",
            r.found,
            "rows in the table whose `source_file` is a manifest file",
        ),
        ("Missing", r.missing, "max(0, expected − found)"),
        (
            "Rejected",
            r.rejected,
            "rows in the rejects table from the manifest's files",
        ),
        (
            "Duplicates",
            r.duplicates,
            "copies of an event beyond the first, by `event_id`: must be 0",
        ),
    ];
    for (name, n, meaning) in rows {
        table.row([name, &fmt_count(n), meaning]);
    }
    table.row([
        "Success rate",
        &fmt_pct(s.success_rate_pct),
        "found / expected",
    ]);
    let _ = writeln!(md, "{table}");

    if r.exactly_once() {
        let _ = writeln!(
            md,
            "**Every expected row is in `{}`, exactly once**: found = expected ({}), no key \
             twice, nothing extra, and the only rejects are the {} malformed rows.\n",
            s.table,
            fmt_count(r.found),
            fmt_count(r.bad_input)
        );
    } else {
        if r.missing > 0 {
            let share = if r.expected > 0 {
                r.missing as f64 * 100.0 / r.expected as f64
            } else {
                0.0
            };
            let _ = writeln!(
                md,
                "**✗ {} expected rows are missing ({} of expected).**\n",
                fmt_count(r.missing),
                fmt_pct(share)
            );
        }
        if r.duplicates > 0 {
            let _ = writeln!(
                md,
                "**✗ {} duplicate copies of events are in the table: exactly-once was broken.**\n",
                fmt_count(r.duplicates)
            );
        }
        if r.extra > 0 {
            let _ = writeln!(
                md,
                "**✗ {} rows more than expected are in the table: rows that should have been \
                 rejected or absorbed were stored.**\n",
                fmt_count(r.extra)
            );
        }
        if r.unexpected_rejects > 0 {
            let _ = writeln!(
                md,
                "**✗ {} rows were rejected beyond the {} malformed on purpose: valid rows were \
                 refused (see the reasons below).**\n",
                fmt_count(r.unexpected_rejects),
                fmt_count(r.bad_input)
            );
        }
    }

    let _ = writeln!(
        md,
        "Files: {} in the manifest, {} quarantined, {} with no rows in the table, {} with fewer \
         rows than expected.\n",
        fmt_count(f.manifest),
        fmt_count(f.quarantined),
        fmt_count(f.missing_from_db),
        fmt_count(f.incomplete)
    );

    if !s.rejected_by_reason.is_empty() {
        let _ = writeln!(md, "### Rejected rows by reason\n");
        let mut table = Table::figures(["Reason", "Rows", "Share of rejected"]);
        for rc in &s.rejected_by_reason {
            let share = if r.rejected > 0 {
                rc.count as f64 * 100.0 / r.rejected as f64
            } else {
                0.0
            };
            table.row([rc.reason.clone(), fmt_count(rc.count), fmt_pct(share)]);
        }
        let _ = writeln!(md, "{table}");
    }

    if !f.quarantined_files.is_empty() {
        let _ = writeln!(md, "### Quarantined files\n");
        let mut table = Table::new(["File", "Reason"]);
        for q in &f.quarantined_files {
            table.row([format!("`{}`", q.file), q.reason.clone()]);
        }
        let _ = write!(md, "{table}");
        if f.quarantined > f.quarantined_files.len() as u64 {
            let _ = writeln!(
                md,
                "\n… and {} more.",
                fmt_count(f.quarantined - f.quarantined_files.len() as u64)
            );
        }
        md.push('\n');
    }

    if !f.missing_files.is_empty() {
        let _ = writeln!(md, "### Files with no rows in the table\n");
        for name in &f.missing_files {
            let _ = writeln!(md, "- `{name}`");
        }
        if f.missing_from_db > f.missing_files.len() as u64 {
            let _ = writeln!(
                md,
                "- … and {} more",
                fmt_count(f.missing_from_db - f.missing_files.len() as u64)
            );
        }
        md.push('\n');
    }
}

fn commit_source_line(s: &Summary) -> String {
    match s.commit_time_source.as_str() {
        SOURCE_COMMIT_TS => format!(
            "Commit-time source: `{SOURCE_COMMIT_TS}(xmin)` (`track_commit_timestamp = on`): \
             the commit of the transaction that made each row visible."
        ),
        SOURCE_BATCHES => format!(
            "Commit-time source: **`{SOURCE_BATCHES}`**, because `track_commit_timestamp` is off \
             on the server. These times are taken inside each batch's transaction just before \
             it commits, so latencies are slightly low. Fix: {TRACK_COMMIT_TIMESTAMP_FIX}."
        ),
        other => format!(
            "Commit-time source: **{other}**: `track_commit_timestamp` is off and there is no \
             `sluice_batches` table. Fix: {TRACK_COMMIT_TIMESTAMP_FIX}."
        ),
    }
}

fn generator_lateness_line(s: &Summary) -> String {
    match &s.generator_lateness {
        None => "Generator lateness: not recorded.".to_string(),
        Some(l) => {
            let interval = l.interval_ms.map_or("unknown interval".to_string(), |i| {
                format!("interval {} ms", fmt_ms(i))
            });
            let verdict = if l.significant {
                "more than 10 % of the interval: the offered load was lower than configured and \
                 these latencies are understated"
            } else {
                "within 10 % of the interval: the load was offered as configured"
            };
            format!(
                "Generator lateness ({}): {} files late, max {} ms, mean {} ms ({interval}); {verdict}.",
                l.source,
                fmt_count(l.late_files),
                fmt_ms(l.max_lateness_ms),
                fmt_ms(l.mean_lateness_ms),
            )
        }
    }
}

fn latency(md: &mut String, s: &Summary) {
    let l = &s.latency_ms;
    let _ = writeln!(md, "## Latency\n");
    let _ = writeln!(
        md,
        "Latency of a row = commit time of the transaction that made it visible − the instant \
         its file became visible (manifest `created_at_us`).\n"
    );
    let _ = writeln!(md, "{}\n", commit_source_line(s));
    let _ = writeln!(md, "{}\n", generator_lateness_line(s));
    if l.count == 0 {
        let _ = writeln!(
            md,
            "No latency was measured: no found row has a commit time.\n"
        );
        return;
    }
    let mut table = Table::figures(["Percentile", "Latency (ms)"]);
    for (name, v) in [
        ("P50", l.p50),
        ("P75", l.p75),
        ("P90", l.p90),
        ("P95", l.p95),
        ("P99", l.p99),
        ("P99.9", l.p999),
        ("P99.99", l.p9999),
        ("Max", l.max),
        ("Mean", l.mean),
        ("Std dev", l.stddev),
        ("Min", l.min),
    ] {
        table.row([name, &fmt_ms(v)]);
    }
    let _ = write!(md, "{table}");
    let _ = writeln!(
        md,
        "\n{} rows measured (HdrHistogram, 3 significant digits: figures are at most 0.1 % high). \
         Every percentile in this report is nearest rank (PostgreSQL's `percentile_disc`): the \
         smallest value with at least that share of the values at or below it.",
        fmt_count(l.count)
    );
    if l.negative_latencies > 0 {
        let _ = writeln!(
            md,
            "{} rows had a negative latency (commit before file creation: clock skew) and are \
             counted as 0.001 ms.",
            fmt_count(l.negative_latencies)
        );
    }
    if l.unmeasured > 0 {
        let _ = writeln!(
            md,
            "{} found rows have no commit time and are not included.",
            fmt_count(l.unmeasured)
        );
    }
    md.push('\n');
    if !s.latency_distribution.is_empty() {
        let _ = writeln!(md, "### Distribution\n");
        let mut table = Table::figures(["Latency range", "Rows", "Percent", "Cumulative"]);
        for row in &s.latency_distribution {
            table.row([
                row.range.clone(),
                fmt_count(row.count),
                fmt_pct(row.percent),
                fmt_pct(row.cumulative_percent),
            ]);
        }
        let _ = writeln!(md, "{table}");
    }
}

fn throughput(md: &mut String, s: &Summary) {
    let sp = &s.span;
    let _ = writeln!(md, "## Throughput\n");
    let rows = vec![
        (
            "First file created".to_string(),
            fmt_time_us(sp.first_file_created_us),
        ),
        (
            "Last file created".to_string(),
            fmt_time_us(sp.last_file_created_us),
        ),
        (
            "First row committed".to_string(),
            fmt_time_us(sp.first_commit_us),
        ),
        (
            "Last row committed".to_string(),
            fmt_time_us(sp.last_commit_us),
        ),
        (
            "Run span (first file → last commit)".to_string(),
            format!("{} s", fmt_decimal(sp.run_s, 3)),
        ),
        (
            "Committed-row span (first → last commit)".to_string(),
            format!("{} s", fmt_decimal(sp.committed_span_s, 3)),
        ),
        (
            "Throughput (found rows / run span)".to_string(),
            format!("{} rows/s", fmt_decimal(s.throughput_rows_per_s, 1)),
        ),
    ];
    key_value_table(md, ("Figure", "Value"), &rows);
    if let [only] = s.phases.as_slice() {
        let _ = writeln!(
            md,
            "Load profile: one target rate throughout ({} rows/s), so there are no load phases \
             to compare.\n",
            phase_target(only)
        );
    }
}

/// A long run's first quarter against its last (pipeline memory, P95
/// latency), flagged or not: a soak user asks whether anything grew, and
/// "nothing did" is an answer worth printing. Runs shorter than
/// [`SOAK_MIN_S`] are still warming up in their first quarter: nothing.
fn stability(md: &mut String, s: &Summary) {
    let rows: Vec<(&str, Quarters, String)> = [
        (
            "Pipeline memory (mean RSS, MiB)",
            s.drift.pipeline_rss_mb,
            format!("×{RSS_GROWTH_RATIO} and +{RSS_GROWTH_MIB} MiB"),
        ),
        (
            "Latency P95 (ms)",
            s.drift.latency_p95_ms,
            format!("×{P95_DRIFT_RATIO} and +{P95_DRIFT_MS} ms"),
        ),
    ]
    .into_iter()
    .filter_map(|(name, q, rule)| {
        q.filter(|q| q.span_s >= SOAK_MIN_S)
            .map(|q| (name, q, rule))
    })
    .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Stability over the run
"
    );
    let _ = writeln!(
        md,
        "The first quarter of the run against the last (memory: the resource samples of each \
         quarter; latency: the rows of the files created in each quarter). A figure is flagged \
         under Bottlenecks when the last quarter exceeds the first by both the ratio and the \
         amount shown.\n"
    );
    let mut table = Table::figures([
        "Figure",
        "First quarter",
        "Last quarter",
        "Change",
        "Flagged above",
    ])
    .aligned(&[
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Left,
    ]);
    for (name, q, rule) in rows {
        let change = if q.first > 0.0 {
            format!("{:+.1} %", (q.last / q.first - 1.0) * 100.0)
        } else {
            "–".to_string()
        };
        table.row([
            name.to_string(),
            fmt_decimal(q.first, 1),
            fmt_decimal(q.last, 1),
            change,
            rule,
        ]);
    }
    let _ = writeln!(md, "{table}");
}

/// `5,000`, or `1,000–1,290` for a band of a ramp.
fn phase_target(p: &Phase) -> String {
    match p.target_max_rows_per_s {
        Some(max) if max != p.target_rows_per_s => {
            format!("{}–{}", fmt_count(p.target_rows_per_s), fmt_count(max))
        }
        _ => fmt_count(p.target_rows_per_s),
    }
}

/// The load phases of a rate profile (bursts, steps, a ramp): a table, the
/// recovery after each drop in load, and the figures users of the burst
/// scenario ask for first (peak latency, longest recovery). Nothing with
/// fewer than two phases: a single one is the whole run.
fn load_phases(md: &mut String, s: &Summary) {
    if s.phases.len() < 2 {
        return;
    }
    let _ = writeln!(md, "## Load phases\n");
    let grouping = if s.phases.iter().any(|p| p.target_max_rows_per_s.is_some()) {
        format!(
            "The generator's rate profile changed its target rate with nearly every file (a \
             ramp), so a phase is a maximal run of consecutive files whose target rates fall in \
             one of {RAMP_BANDS} equal bands from the lowest rate to the highest."
        )
    } else {
        "The generator followed a rate profile: a phase is a maximal run of consecutive files \
         (in schedule order) with the same target rate (manifest `target_rows_per_s`); a file \
         whose span straddles a change of rate joins the phase whose rate is closer."
            .to_string()
    };
    let _ = writeln!(
        md,
        "{grouping} Start is seconds after the first file; a phase lasts until the next one's \
         first file (the last one, one schedule interval after its last file). Latency is over \
         the rows of the phase's files (row-weighted, exact nearest rank); committed rows/s \
         counts the rows of any file committed within the phase.\n"
    );
    let mut table = Table::figures([
        "Phase",
        "Target (rows/s)",
        "Start (s)",
        "Duration (s)",
        "Files",
        "Rows offered",
        "Committed rows/s",
        "P50 (ms)",
        "P95 (ms)",
        "P99 (ms)",
        "Max (ms)",
        "Recovery (s)",
    ])
    .aligned(&[Align::Right]);
    for p in &s.phases {
        let l = &p.latency_ms;
        let latency = [l.p50, l.p95, l.p99, l.max].map(|v| {
            if l.count > 0 {
                fmt_ms(v)
            } else {
                "–".to_string()
            }
        });
        let mut row = vec![
            p.index.to_string(),
            phase_target(p),
            fmt_decimal(p.start_s, 3),
            fmt_decimal(p.duration_s, 3),
            fmt_count(p.files),
            fmt_count(p.rows),
            fmt_decimal(p.rows_per_s, 1),
        ];
        row.extend(latency);
        row.push(p.recovery_s.map_or("–".to_string(), |r| fmt_decimal(r, 3)));
        table.row(row);
    }
    let _ = write!(md, "{table}");
    let _ = writeln!(md, "\n### Recovery after each drop in load\n");
    let _ = writeln!(
        md,
        "Recovery time = the commit of the last row of a phase's files − the end of that phase \
         (when the next, lower phase began), 0 when the pipeline had already caught up: how \
         long the backlog built during the higher load took to drain.\n"
    );
    let mut drops = 0;
    for pair in s.phases.windows(2) {
        let (high, low) = (&pair[0], &pair[1]);
        if low.target_rows_per_s >= high.target_rows_per_s {
            continue;
        }
        drops += 1;
        let _ = writeln!(
            md,
            "- Phase {} ({} rows/s) → phase {} ({} rows/s): {}",
            high.index,
            phase_target(high),
            low.index,
            phase_target(low),
            high.recovery_s.map_or(
                "not measured (none of its rows was committed)".to_string(),
                |r| format!("{} s", fmt_decimal(r, 3))
            )
        );
    }
    if drops == 0 {
        let _ = writeln!(
            md,
            "The load never dropped: no phase is followed by a lower one."
        );
    }
    md.push('\n');
    let peaks = peak_phases(&s.phases);
    let peak = match (
        worst_max(peaks.iter().copied()),
        worst_p99(peaks.iter().copied()),
    ) {
        (Some(max), Some(p99)) => format!(
            "worst max latency {} ms (phase {}), worst P99 {} ms (phase {})",
            fmt_ms(max.latency_ms.max),
            max.index,
            fmt_ms(p99.latency_ms.p99),
            p99.index
        ),
        _ => "no latency measured".to_string(),
    };
    let recovery = longest_recovery(&s.phases).map_or("none measured".to_string(), |(p, r)| {
        format!("{} s after phase {}", fmt_decimal(r, 3), p.index)
    });
    let _ = writeln!(
        md,
        "**At the peak rate** ({} rows/s, {} of {} phases): {peak}. **Longest recovery:** \
         {recovery}.\n",
        peaks.first().map_or(String::new(), |p| phase_target(p)),
        peaks.len(),
        s.phases.len()
    );
}

/// The SVG charts beside the report, linked by relative path so the folder
/// can be moved or published as a whole.
fn charts(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Charts\n");
    let charts: Vec<&String> = s
        .charts
        .iter()
        .filter(|f| !RESOURCE_CHARTS.iter().any(|c| c.file == f.as_str()))
        .collect();
    if charts.is_empty() {
        let _ = if s.latency_ms.count == 0 {
            writeln!(
                md,
                "No charts: no latency was measured (0 rows with a commit time), so there is \
                 nothing to plot.\n"
            )
        } else {
            writeln!(md, "No charts were written with this report.\n")
        };
        return;
    }
    for file in charts {
        match CHARTS.iter().find(|c| c.file == file.as_str()) {
            Some(info) => embed(md, info),
            None => {
                let _ = writeln!(md, "![{file}]({file})\n");
            }
        }
    }
}

fn batches(md: &mut String, s: &Summary) {
    let b = &s.batches;
    let _ = writeln!(md, "## Batches\n");
    if b.count == 0 {
        let _ = writeln!(md, "No batch record mentions the manifest's files.\n");
        return;
    }
    let rows = vec![
        ("Batches".to_string(), fmt_count(b.count)),
        (
            "Processing time P50 / P95 / max (started → committed)".to_string(),
            format!(
                "{} / {} / {} ms",
                fmt_ms(b.time_ms_p50),
                fmt_ms(b.time_ms_p95),
                fmt_ms(b.time_ms_max)
            ),
        ),
        (
            "Processing time mean".to_string(),
            format!("{} ms", fmt_ms(b.time_ms_mean)),
        ),
        (
            "Rows per batch (mean)".to_string(),
            fmt_decimal(b.rows_per_batch_mean, 1),
        ),
        (
            "Files per batch (mean)".to_string(),
            fmt_decimal(b.files_per_batch_mean, 1),
        ),
        ("Rows read".to_string(), fmt_count(b.rows_read)),
        ("Rows rejected".to_string(), fmt_count(b.rows_rejected)),
        (
            "Rows deduplicated in the batch".to_string(),
            fmt_count(b.rows_deduped),
        ),
        ("Rows upserted".to_string(), fmt_count(b.rows_upserted)),
        (
            "Busy-time means: parse / transform / write (overlapping)".to_string(),
            format!(
                "{} / {} / {} ms",
                fmt_ms(b.parse_ms_mean),
                fmt_ms(b.transform_ms_mean),
                fmt_ms(b.write_ms_mean)
            ),
        ),
    ];
    key_value_table(md, ("Figure", "Value"), &rows);
    trigger_adherence(md, s);
    slowest_batches(md, s);
}

/// Label and unit of a target, by its name in `[targets]`.
fn target_label(name: &str) -> (&'static str, &'static str) {
    match name {
        "p50_ms" => ("Latency P50", "ms"),
        "p95_ms" => ("Latency P95", "ms"),
        "p99_ms" => ("Latency P99", "ms"),
        "throughput_rows_per_s" => ("Throughput", "rows/s"),
        "batch_ms_p95" => ("Batch processing time P95", "ms"),
        "pipeline_cpu_pct" => ("Pipeline CPU (mean, % of one core)", "%"),
        "pipeline_rss_mb" => ("Pipeline memory (peak RSS)", "MB"),
        "postgres_rss_mb" => ("PostgreSQL memory (peak RSS)", "MB"),
        "error_rate_pct" => ("Error rate: (missing + duplicates) / expected", "%"),
        "duplicate_rate_pct" => ("Duplicate rate: duplicates / found", "%"),
        _ => ("", ""),
    }
}

fn targets(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Targets\n");
    if s.targets.is_empty() {
        let _ = writeln!(
            md,
            "No targets were set (a scenario's `[targets]` section sets them).\n"
        );
        return;
    }
    let mut table = Table::figures(["Target", "Limit", "Measured", "Status"]).aligned(&[
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Center,
    ]);
    for t in &s.targets {
        let (label, unit) = target_label(&t.name);
        let bound = if t.bound == "min" { "≥" } else { "≤" };
        let measured = t.measured.map_or("not measured".to_string(), |m| {
            format!("{} {unit}", fmt_decimal(m, 3))
        });
        table.row([
            format!("{label} (`{}`)", t.name),
            format!("{bound} {} {unit}", fmt_decimal(t.target, 3)),
            measured,
            t.status.symbol().to_string(),
        ]);
    }
    let _ = write!(md, "{table}");
    let failed: Vec<&str> = s
        .targets
        .iter()
        .filter(|t| t.status.fails())
        .map(|t| t.name.as_str())
        .collect();
    let _ = if failed.is_empty() {
        writeln!(md, "\n**✓ Passed: no target failed.**\n")
    } else {
        writeln!(
            md,
            "\n**✗ Failed: {} target(s) missed or not measured: {}.**\n",
            failed.len(),
            failed.join(", ")
        )
    };
    let _ = writeln!(
        md,
        "✓ within the target; ⚠ beyond it by at most the slack the scenario gives that target \
         (`slack_pct`; passes); ✗ beyond it, or not measured in this run; – not measured and \
         marked optional by the scenario (neither passes nor fails). The error rate counts rows \
         lost or stored twice; the malformed rows the generator writes on purpose are not \
         errors.\n"
    );
}

fn stage_label(id: &str) -> &str {
    match id {
        VISIBLE_TO_DISCOVERED => "File visible → discovered",
        DISCOVERED_TO_BATCH_START => "Discovered → batch start (trigger wait)",
        BATCH_START_TO_COMMITTED => "Batch start → committed (batch wall time; with on-arrival writes, also the wait for the tick)",
        VISIBLE_TO_COMMITTED => "**End to end** (visible → committed)",
        other => other,
    }
}

/// A bar of `share` percent, 20 characters for 100 %.
fn share_bar(share: f64) -> String {
    let n = (share.clamp(0.0, 100.0) / 5.0).round() as usize;
    "█".repeat(n)
}

fn where_the_time_goes(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Where the time goes\n");
    let Some(st) = &s.stages else {
        let _ = writeln!(
            md,
            "No batch record mentions the manifest's files, so latency cannot be broken down.\n"
        );
        return;
    };
    if !st.latency.is_empty() {
        let _ = writeln!(
            md,
            "A row's way from its file becoming visible to its commit, per file weighted by the \
             file's valid rows ({} files, {} rows). Committed here is the batch's `committed_at`, \
             so the end-to-end figures differ slightly from the Latency section's per-row commit \
             times. The share is each stage's mean over the end-to-end mean.\n",
            fmt_count(st.files),
            fmt_count(st.rows)
        );
        let mut aligns = [Align::Right; 7];
        aligns[0] = Align::Left;
        aligns[6] = Align::Left;
        let mut table = Table::new([
            "Stage",
            "P50 (ms)",
            "P95 (ms)",
            "P99 (ms)",
            "Max (ms)",
            "Mean (ms)",
            "Share of mean latency",
        ])
        .aligned(&aligns);
        for f in &st.latency {
            let share = f.share_pct.map_or("n/a".to_string(), |p| {
                if f.stage == VISIBLE_TO_COMMITTED {
                    fmt_pct(p)
                } else {
                    format!("{} {}", fmt_pct(p), share_bar(p))
                }
            });
            table.row([
                stage_label(&f.stage).to_string(),
                fmt_ms(f.p50_ms),
                fmt_ms(f.p95_ms),
                fmt_ms(f.p99_ms),
                fmt_ms(f.max_ms),
                fmt_ms(f.mean_ms),
                share,
            ]);
        }
        let _ = writeln!(md, "{table}");
        if st.files_unmeasured > 0 {
            let _ = writeln!(
                md,
                "{} files of these batches are left out (quarantined, no valid row, or no \
                 discovery time recorded).\n",
                fmt_count(st.files_unmeasured)
            );
        }
    }
    if !st.busy.is_empty() {
        let b = &s.batches;
        let _ = writeln!(
            md,
            "Inside a batch, parse, transform and write run at once on successive chunks, so \
             their busy times overlap: each is shown over the {} batches beside the batch's wall \
             time, and the shares of wall time do not add up to 100 %. With on-arrival writes \
             (an interval trigger's default) files are written as they arrive, before the tick \
             that starts and commits their batch: the wall time is then the commit at the tick, \
             and a share above 100 % is work done before it.\n",
            fmt_count(st.batches)
        );
        let mut table = Table::figures([
            "Batch stage",
            "P50 (ms)",
            "P95 (ms)",
            "Max (ms)",
            "Mean (ms)",
            "Share of batch wall time",
        ]);
        for f in &st.busy {
            table.row([
                format!("{} busy", f.stage),
                fmt_ms(f.p50_ms),
                fmt_ms(f.p95_ms),
                fmt_ms(f.max_ms),
                fmt_ms(f.mean_ms),
                f.share_of_wall_pct.map_or("n/a".to_string(), fmt_pct),
            ]);
        }
        table.row([
            "**Batch wall time** (started → committed)".to_string(),
            fmt_ms(b.time_ms_p50),
            fmt_ms(b.time_ms_p95),
            fmt_ms(b.time_ms_max),
            fmt_ms(b.time_ms_mean),
            "100.00 %".to_string(),
        ]);
        let _ = writeln!(md, "{table}");
    }
}

fn trigger_adherence(md: &mut String, s: &Summary) {
    let Some(t) = &s.trigger_adherence else {
        return;
    };
    let _ = writeln!(md, "### Trigger adherence\n");
    let configured = match (&t.configured, t.interval_ms) {
        (Some(c), Some(i)) => format!("{c} ({} ms)", fmt_ms(i)),
        (Some(c), None) => format!("{c} (no interval)"),
        (None, _) => "not recorded".to_string(),
    };
    let mut rows = vec![
        ("Configured trigger".to_string(), configured),
        (
            "Actual gap between batch starts: P50 / max".to_string(),
            format!(
                "{} / {} ms",
                fmt_ms(t.start_gap_ms_p50),
                fmt_ms(t.start_gap_ms_max)
            ),
        ),
    ];
    if let (Some(n), Some(p)) = (t.overran, t.overran_pct) {
        rows.push((
            "Batches longer than the interval (overran: falling behind)".to_string(),
            format!(
                "{} of {} ({}) {}",
                fmt_count(n),
                fmt_count(t.batches),
                fmt_pct(p),
                check(n == 0)
            ),
        ));
    }
    key_value_table(md, ("Figure", "Value"), &rows);
    if t.interval_ms.is_some() {
        let _ = writeln!(
            md,
            "A batch starts every interval while files wait; gaps longer than the interval mean \
             no file waited, or the previous batch overran.\n"
        );
    }
}

fn slowest_batches(md: &mut String, s: &Summary) {
    if s.slowest_batches.is_empty() {
        return;
    }
    let _ = writeln!(md, "### Slowest batches\n");
    let mut aligns = [Align::Right; 8];
    aligns[7] = Align::Left;
    let mut table = Table::new([
        "Batch",
        "Time (ms)",
        "Files",
        "Rows",
        "Parse busy (ms)",
        "Transform busy (ms)",
        "Write busy (ms)",
        "Started",
    ])
    .aligned(&aligns);
    for b in &s.slowest_batches {
        table.row([
            b.batch_id.to_string(),
            fmt_ms(b.time_ms),
            fmt_count(b.files),
            fmt_count(b.rows),
            fmt_ms(b.parse_ms),
            fmt_ms(b.transform_ms),
            fmt_ms(b.write_ms),
            fmt_time_us(Some(b.started_at_us)),
        ]);
    }
    let _ = writeln!(md, "{table}");
}

fn database(md: &mut String, s: &Summary) {
    let Some(db) = &s.database else {
        return;
    };
    let _ = writeln!(md, "## Database\n");
    let rows = db.rows.map_or(String::new(), |n| {
        format!(", {} rows (all runs)", fmt_count(n))
    });
    let _ = writeln!(
        md,
        "Table `{}`: {} in all (table {}, indexes {}){rows}.\n",
        s.table,
        fmt_bytes(db.total_bytes),
        fmt_bytes(db.table_bytes),
        fmt_bytes(db.indexes_bytes)
    );
    if !db.indexes.is_empty() {
        let mut table = Table::figures(["Index", "Size", "Scans (`idx_scan`)"]);
        for i in &db.indexes {
            table.row([
                format!("`{}`", i.name),
                fmt_bytes(i.bytes),
                fmt_count(i.idx_scan),
            ]);
        }
        let _ = write!(md, "{table}");
        let _ = writeln!(
            md,
            "\nScans counted before the report's own queries: the pipeline's upserts and \
             anything else since the statistics were last reset. Every index is maintained on \
             every write.\n"
        );
    }
    if !db.queries.is_empty() {
        let _ = writeln!(md, "### Query timings\n");
        let _ = writeln!(
            md,
            "The queries users run against the table, each run {} times (sent → last row \
             received); the plan is the top node of `EXPLAIN (FORMAT JSON)`.\n",
            db.queries.first().map_or(0, |q| q.runs_ms.len())
        );
        let mut table =
            Table::figures(["Query", "Median (ms)", "Runs (ms)", "Rows", "Plan", "SQL"]).aligned(
                &[
                    Align::Left,
                    Align::Right,
                    Align::Right,
                    Align::Right,
                    Align::Left,
                    Align::Left,
                ],
            );
        for q in &db.queries {
            let runs = q
                .runs_ms
                .iter()
                .map(|r| fmt_ms(*r))
                .collect::<Vec<_>>()
                .join(" / ");
            let mut plan = q.plan_node.clone();
            if let Some(index) = &q.plan_index {
                plan.push_str(&format!(" using {index}"));
            }
            if let Some(scan) = &q.plan_scan {
                plan.push_str(&format!(" ← {scan}"));
            }
            table.row([
                q.name.clone(),
                fmt_ms(q.median_ms),
                runs,
                fmt_count(q.rows),
                plan,
                format!("`{}`", q.sql),
            ]);
        }
        let _ = writeln!(md, "{table}");
    }
    for n in &db.notes {
        let _ = writeln!(md, "- {n}");
    }
    if !db.notes.is_empty() {
        md.push('\n');
    }
}

fn bottlenecks(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Bottlenecks and recommendations\n");
    if s.findings.is_empty() {
        let _ = writeln!(
            md,
            "No bottleneck stands out: no rule over the figures above fired (rows complete, the \
             trigger wait and each batch stage within their thresholds, the database not \
             saturated).\n"
        );
        return;
    }
    for (i, f) in s.findings.iter().enumerate() {
        let mark = match f.severity {
            Severity::Critical => "✗",
            Severity::Warning => "⚠",
            Severity::Info => "ℹ",
        };
        let _ = writeln!(
            md,
            "{}. {mark} {} **What to do:** {} *(rule `{}`)*",
            i + 1,
            f.finding,
            f.recommendation,
            f.rule
        );
    }
    md.push('\n');
}

fn clock(md: &mut String, s: &Summary) {
    let c = &s.clock;
    let _ = writeln!(md, "## Clock\n");
    let _ = if c.local {
        writeln!(
            md,
            "Database on this host: commit times and file times share one clock (offset 0).\n"
        )
    } else if c.applied {
        writeln!(
            md,
            "Database on another host: its clock is {} ms {} this host's (± {} ms, best of {} \
             round trips, {} ms round trip). Commit times were corrected by subtracting the \
             offset; every latency carries the ± {} ms uncertainty.\n",
            fmt_ms(c.offset_ms.abs()),
            if c.offset_ms >= 0.0 {
                "ahead of"
            } else {
                "behind"
            },
            fmt_ms(c.uncertainty_ms),
            c.samples,
            fmt_ms(c.rtt_ms),
            fmt_ms(c.uncertainty_ms),
        )
    } else {
        writeln!(
            md,
            "Database on another host; its clock offset could not be measured, so commit times \
             are not corrected.\n"
        )
    };
}

fn notes(md: &mut String, s: &Summary) {
    if s.notes.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Notes\n");
    for n in &s.notes {
        let _ = writeln!(md, "- {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample;
    use crate::summary::{DistributionRow, GeneratorLateness, Interruption, RunSummary, Setting};

    #[test]
    fn unoptimised_warning_iff_debug_build() {
        let mut s = sample();
        s.optimized_build = false;
        let md = render(&s);
        assert!(md.contains(UNOPTIMISED_WARNING));
        // At the very top: right under the title, before any figure.
        let first_lines: Vec<&str> = md.lines().take(3).collect();
        assert!(first_lines
            .iter()
            .any(|l| l.contains("Unoptimised (debug) build")));
        s.optimized_build = true;
        let md = render(&s);
        assert!(!md.contains("Unoptimised (debug) build"));
    }

    #[test]
    fn fallback_commit_time_source_is_explained() {
        let mut s = sample();
        s.commit_time_source = "sluice_batches.committed_at".into();
        let md = render(&s);
        assert!(md.contains("track_commit_timestamp` is off"));
        assert!(md.contains("ALTER SYSTEM SET track_commit_timestamp = on"));
        assert!(md.contains("restart"));
        // Prominent: before the headline table.
        let warn = md.find("Approximate commit times").unwrap();
        assert!(warn < md.find("## Headline").unwrap());

        let s = sample();
        let md = render(&s);
        assert!(!md.contains("ALTER SYSTEM"));
        assert!(md.contains("Commit-time source: `pg_xact_commit_timestamp(xmin)`"));
    }

    #[test]
    fn title_and_sections() {
        let md = render(&sample());
        assert!(md.starts_with("# sluice performance report: baseline (run r1)\n"));
        for section in [
            "## Headline",
            "## Configuration",
            "## Data integrity",
            "## Latency",
            "## Throughput",
            "## Batches",
            "## Clock",
        ] {
            assert!(md.contains(section), "missing {section}");
        }
        assert!(md.contains("Database on this host: commit times and file times share one clock"));
        assert!(md.contains("Generator lateness: not recorded."));
    }

    #[test]
    fn figures_and_tables() {
        let mut s = sample();
        s.rows.generated = 12_000;
        s.rows.expected = 11_000;
        s.rows.found = 10_990;
        s.rows.missing = 10;
        s.latency_ms.count = 10_990;
        s.latency_ms.p50 = 12.5;
        s.latency_ms.p95 = 40.25;
        s.latency_ms.p99 = 1234.567;
        s.latency_distribution = vec![DistributionRow {
            range: "10 ms – 20 ms".into(),
            from_ms: 10.0,
            to_ms: Some(20.0),
            count: 10_990,
            percent: 100.0,
            cumulative_percent: 100.0,
        }];
        s.run = Some(RunSummary {
            scenario: "baseline".into(),
            run_id: "r1".into(),
            settings: vec![Setting {
                name: "batch size".into(),
                value: "1000".into(),
            }],
            generator: Some(serde_json::json!({"seed": 42, "rows_per_s": 512.5})),
            pipeline: Some(serde_json::json!({"batches": 7})),
            resources: Some(crate::summary::ResourceProfile {
                samples: 2,
                pipeline_rss_peak_mb: 31.5,
                ..crate::summary::ResourceProfile::default()
            }),
        });
        s.generator_lateness = Some(GeneratorLateness {
            late_files: 4,
            max_lateness_ms: 80.0,
            mean_lateness_ms: 5.0,
            interval_ms: Some(100.0),
            significant: true,
            source: "run".into(),
        });
        let md = render(&s);
        assert!(md.contains("| Rows generated | 12,000 | |"));
        assert!(md.contains("| Rows missing | 10 | ✗ |"));
        assert!(md.contains("| Latency P50 / P95 / P99 | 12.500 / 40.250 / 1,234.567 ms | |"));
        assert!(md.contains("| 10 ms – 20 ms | 10,990 | 100.00 % | 100.00 % |"));
        assert!(md.contains("| batch size | 1000 |"));
        assert!(md.contains("| seed | 42 |"));
        assert!(md.contains("| batches | 7 |"));
        assert!(md.contains("10 expected rows are missing"));
        assert!(md.contains("The generator fell behind its schedule"));
        assert!(md.contains("these latencies are understated"));
    }

    #[test]
    fn remote_clock_is_stated() {
        let mut s = sample();
        s.clock.local = false;
        s.clock.applied = true;
        s.clock.offset_ms = -12.5;
        s.clock.uncertainty_ms = 0.25;
        s.clock.samples = 5;
        let md = render(&s);
        assert!(md.contains("12.500 ms behind this host's (± 0.250 ms"));
    }

    #[test]
    fn charts_are_embedded_with_captions() {
        let mut s = sample();
        s.latency_ms.count = 10;
        s.charts = CHARTS.iter().map(|c| c.file.to_string()).collect();
        let md = render(&s);
        let section = md.find("## Charts").unwrap();
        assert!(section > md.find("## Throughput").unwrap());
        assert!(section < md.find("## Batches").unwrap());
        assert!(md.contains("![Latency over time](latency_over_time.svg)\n\n*Latency of each"));
        assert!(md.contains("![Latency histogram](latency_histogram.svg)"));
        assert!(md.contains("![Latency percentiles over time](latency_percentiles_over_time.svg)"));
        assert!(md.contains("![Latency cumulative distribution](latency_cdf.svg)"));
        assert!(md.contains("![Throughput over time](throughput.svg)"));
        assert_eq!(md.matches("](").count(), 5);
    }

    #[test]
    fn no_charts_without_latency() {
        let s = sample();
        let md = render(&s);
        assert!(md.contains("## Charts\n\nNo charts: no latency was measured (0 rows"));
        assert!(!md.contains(".svg"));
        let mut s = sample();
        s.latency_ms.count = 3;
        assert!(render(&s).contains("No charts were written with this report."));
    }

    #[test]
    fn resources_section_links_its_charts_or_says_not_sampled() {
        let md = render(&sample());
        assert!(md.contains(
            "### Resources\n\nResources were not sampled: the run folder has no \
             `resources.jsonl` and the run recorded no resource profile"
        ));
        let mut s = sample();
        s.run = Some(RunSummary {
            resources: Some(crate::summary::ResourceProfile {
                samples: 2,
                pipeline_rss_peak_mb: 31.5,
                ..crate::summary::ResourceProfile::default()
            }),
            ..RunSummary::default()
        });
        let md = render(&s);
        assert!(md.contains("| pipeline_rss_peak_mb | 31.5 |"));
        assert!(md.contains("Resources were not sampled over time (no `resources.jsonl`"));
        assert!(!md.contains(".svg"));

        s.resource_samples = 240;
        s.latency_ms.count = 10;
        s.charts = CHARTS
            .iter()
            .chain(&RESOURCE_CHARTS)
            .map(|c| c.file.to_string())
            .collect();
        let md = render(&s);
        let cpu = md
            .find("![CPU over time](resources_cpu.svg)\n\n*CPU of the pipeline")
            .unwrap();
        let memory = md
            .find("![Memory over time](resources_memory.svg)")
            .unwrap();
        let table = md.find("| pipeline_rss_peak_mb | 31.5 |").unwrap();
        assert!(md.find("### Resources").unwrap() < table && table < cpu && cpu < memory);
        assert!(memory < md.find("## Data integrity").unwrap());
        // Each chart once: the resource charts are not repeated under Charts.
        assert_eq!(md.matches("](").count(), 7);
        assert!(!md.contains("not sampled"));

        s.charts.truncate(5);
        assert!(render(&s)
            .contains("240 samples were read, but no resource chart could be drawn (see Notes)."));
    }

    #[test]
    fn interruptions_are_listed_before_the_latency() {
        let mut s = sample();
        assert!(!render(&s).contains("## Interruptions"));
        s.interruptions = vec![
            Interruption {
                kind: "pipeline_killed".into(),
                start_offset_s: 12.5,
                duration_s: Some(30.25),
                note: "kill -9 | pid 7".into(),
            },
            Interruption {
                kind: "database_stopped".into(),
                start_offset_s: 100.0,
                duration_s: None,
                note: String::new(),
            },
        ];
        let md = render(&s);
        let section = md.find("## Interruptions").unwrap();
        assert!(md.find("## Data integrity").unwrap() < section);
        assert!(section < md.find("## Latency").unwrap());
        assert!(md.contains(
            "| Kind | Start (s after the first file) | Duration (s) | Note |\n\
             | --- | ---: | ---: | --- |\n\
             | pipeline_killed | 12.500 | 30.250 | kill -9 \\| pid 7 |\n\
             | database_stopped | 100.000 | to the end of the run | |\n"
        ));
    }

    #[test]
    fn targets_table_after_the_headline() {
        use crate::summary::TargetResult;
        let mut s = sample();
        let md = render(&s);
        assert!(md.contains("## Targets\n\nNo targets were set"));
        assert!(!md.contains("Targets met"));
        s.targets = vec![
            TargetResult {
                name: "p99_ms".into(),
                target: 1500.0,
                measured: Some(1612.5),
                bound: "max".into(),
                status: TargetStatus::Warn,
            },
            TargetResult {
                name: "throughput_rows_per_s".into(),
                target: 300.0,
                measured: Some(120.0),
                bound: "min".into(),
                status: TargetStatus::Fail,
            },
            TargetResult {
                name: "postgres_rss_mb".into(),
                target: 500.0,
                measured: None,
                bound: "max".into(),
                status: TargetStatus::Unmeasured,
            },
        ];
        s.passed = false;
        let md = render(&s);
        let targets = md.find("## Targets").unwrap();
        assert!(md.find("## Headline").unwrap() < targets);
        assert!(targets < md.find("## Configuration").unwrap());
        assert!(md.contains("| Targets met | 1 of 3 | ✗ |"));
        assert!(md.contains("| Latency P99 (`p99_ms`) | ≤ 1,500.000 ms | 1,612.500 ms | ⚠ |"));
        assert!(md.contains(
            "| Throughput (`throughput_rows_per_s`) | ≥ 300.000 rows/s | 120.000 rows/s | ✗ |"
        ));
        assert!(md.contains("| not measured | ✗ |"));
        assert!(md.contains(
            "**✗ Failed: 2 target(s) missed or not measured: throughput_rows_per_s, postgres_rss_mb.**"
        ));
    }

    #[test]
    fn where_the_time_goes_and_batches() {
        use crate::summary::{
            BusyFigures, SlowBatch, StageBreakdown, StageFigures, TriggerAdherence,
        };
        let fig = |stage: &str, mean: f64, share: f64| StageFigures {
            stage: stage.into(),
            p50_ms: mean,
            p95_ms: mean * 2.0,
            p99_ms: mean * 3.0,
            max_ms: mean * 4.0,
            mean_ms: mean,
            share_pct: Some(share),
        };
        let mut s = sample();
        let md = render(&s);
        assert!(md.contains("## Where the time goes\n\nNo batch record mentions"));
        s.batches.count = 2;
        s.batches.time_ms_p50 = 300.0;
        s.stages = Some(StageBreakdown {
            files: 4,
            rows: 1000,
            files_unmeasured: 1,
            latency: vec![
                fig(VISIBLE_TO_DISCOVERED, 10.0, 1.0),
                fig(DISCOVERED_TO_BATCH_START, 700.0, 70.0),
                fig(BATCH_START_TO_COMMITTED, 290.0, 29.0),
                fig(VISIBLE_TO_COMMITTED, 1000.0, 100.0),
            ],
            batches: 2,
            busy: vec![BusyFigures {
                stage: "write".into(),
                p50_ms: 200.0,
                p95_ms: 250.0,
                max_ms: 250.0,
                mean_ms: 225.0,
                share_of_wall_pct: Some(75.0),
            }],
        });
        s.trigger_adherence = Some(TriggerAdherence {
            configured: Some("1s".into()),
            interval_ms: Some(1000.0),
            batches: 2,
            start_gap_ms_p50: 1000.0,
            start_gap_ms_max: 1000.0,
            overran: Some(0),
            overran_pct: Some(0.0),
        });
        s.slowest_batches = vec![SlowBatch {
            batch_id: 9,
            time_ms: 350.0,
            files: 3,
            rows: 1234,
            parse_ms: 20.0,
            transform_ms: 30.0,
            write_ms: 300.0,
            started_at_us: 0,
        }];
        let md = render(&s);
        let section = md.find("## Where the time goes").unwrap();
        assert!(md.find("## Latency").unwrap() < section);
        assert!(section < md.find("## Throughput").unwrap());
        assert!(md.contains(
            "| Discovered → batch start (trigger wait) | 700.000 | 1,400.000 | 2,100.000 | 2,800.000 | 700.000 | 70.00 % ██████████████ |"
        ));
        assert!(md.contains("| **End to end** (visible → committed) | 1,000.000 |"));
        assert!(md.contains("| 1,000.000 | 100.00 % |"));
        assert!(md.contains("1 files of these batches are left out"));
        assert!(md.contains("| write busy | 200.000 | 250.000 | 250.000 | 225.000 | 75.00 % |"));
        assert!(md.contains("| **Batch wall time** (started → committed) | 300.000 |"));
        assert!(md.contains("### Trigger adherence"));
        assert!(md.contains("| Configured trigger | 1s (1,000.000 ms) |"));
        assert!(md.contains(
            "| Batches longer than the interval (overran: falling behind) | 0 of 2 (0.00 %) ✓ |"
        ));
        assert!(md.contains(
            "| 9 | 350.000 | 3 | 1,234 | 20.000 | 30.000 | 300.000 | 1970-01-01 00:00:00.000 UTC |"
        ));
    }

    #[test]
    fn database_and_bottlenecks() {
        use crate::summary::{DatabaseSummary, Finding, IndexStat, QueryTiming};
        let mut s = sample();
        let md = render(&s);
        assert!(!md.contains("## Database"));
        assert!(md.contains("## Bottlenecks and recommendations\n\nNo bottleneck stands out"));
        s.database = Some(DatabaseSummary {
            table_bytes: 8 * 1024 * 1024,
            indexes_bytes: 4 * 1024 * 1024,
            total_bytes: 12 * 1024 * 1024,
            rows: Some(123_456),
            indexes: vec![IndexStat {
                name: "events_pkey".into(),
                bytes: 2048,
                idx_scan: 5000,
            }],
            queries: vec![QueryTiming {
                name: "count(*)".into(),
                sql: "SELECT count(*) FROM \"events\"".into(),
                runs_ms: vec![3.0, 2.0, 2.5],
                median_ms: 2.5,
                rows: 1,
                plan_node: "Aggregate".into(),
                plan_index: None,
                plan_scan: Some("Index Only Scan using events_pkey".into()),
            }],
            notes: vec!["The table has no user_id column: the queries on it were skipped.".into()],
        });
        s.findings = vec![Finding {
            rule: "database_bound".into(),
            severity: Severity::Warning,
            finding: "Writes dominate.".into(),
            recommendation: "Fewer indexes.".into(),
        }];
        let md = render(&s);
        let db = md.find("## Database").unwrap();
        assert!(md.find("## Batches").unwrap() < db);
        assert!(db < md.find("## Bottlenecks and recommendations").unwrap());
        assert!(md.contains(
            "Table `events`: 12.0 MiB in all (table 8.0 MiB, indexes 4.0 MiB), 123,456 rows (all runs)."
        ));
        assert!(md.contains("| `events_pkey` | 2.0 KiB | 5,000 |"));
        assert!(md.contains(
            "| count(*) | 2.500 | 3.000 / 2.000 / 2.500 | 1 | Aggregate ← Index Only Scan using events_pkey | `SELECT count(*) FROM \"events\"` |"
        ));
        assert!(md.contains("- The table has no user_id column"));
        assert!(md.contains(
            "1. ⚠ Writes dominate. **What to do:** Fewer indexes. *(rule `database_bound`)*"
        ));
    }

    #[test]
    fn stability_compares_the_quarters_of_a_long_run_only() {
        let mut s = sample();
        s.drift.pipeline_rss_mb = Some(Quarters {
            first: 99.132,
            last: 102.082,
            span_s: 3599.8,
        });
        s.drift.latency_p95_ms = Some(Quarters {
            first: 4612.885,
            last: 4609.963,
            span_s: 599.0,
        });
        let md = render(&s);
        let section = md.find("## Stability over the run").unwrap();
        assert!(section < md.find("## Charts").unwrap());
        assert!(md.contains(
            "| Pipeline memory (mean RSS, MiB) | 99.1 | 102.1 | +3.0 % | ×1.2 and +10 MiB |\n"
        ));
        assert!(
            !md.contains("| Latency P95 (ms) |"),
            "a span under ten minutes is not judged"
        );
        s.drift = Default::default();
        assert!(!render(&s).contains("## Stability"));
    }

    #[test]
    fn load_phases_after_the_throughput() {
        use crate::analyse::phases::tests::phase;
        let mut s = sample();
        assert!(!render(&s).contains("Load phases") && !render(&s).contains("Load profile"));
        s.phases = vec![phase(1, 2000, 300.0, 400.0, None)];
        let md = render(&s);
        assert!(!md.contains("## Load phases"));
        assert!(md.contains(
            "Load profile: one target rate throughout (2,000 rows/s), so there are no load \
             phases to compare.\n"
        ));
        let mut quiet = phase(2, 100, 120.0, 150.0, None);
        quiet.latency_ms.count = 0;
        s.phases = vec![
            phase(1, 5000, 1800.0, 2500.0, Some(3.25)),
            quiet,
            phase(3, 5000, 900.0, 1000.0, None),
        ];
        let md = render(&s);
        let section = md.find("## Load phases").unwrap();
        assert!(md.find("## Throughput").unwrap() < section);
        assert!(section < md.find("## Charts").unwrap());
        assert!(md.contains("(in schedule order) with the same target rate"));
        assert!(md.contains(
            "| 1 | 5,000 | 0.000 | 10.000 | 10 | 50,000 | 5,000.0 | 900.000 | 1,800.000 | \
             1,800.000 | 2,500.000 | 3.250 |\n\
             | 2 | 100 | 10.000 | 10.000 | 10 | 1,000 | 100.0 | – | – | – | – | – |\n\
             | 3 | 5,000 | 20.000 | 10.000 | 10 | 50,000 | 5,000.0 | 450.000 | 900.000 | \
             900.000 | 1,000.000 | – |\n"
        ));
        assert!(md.contains(
            "- Phase 1 (5,000 rows/s) → phase 2 (100 rows/s): 3.250 s\n\n**At the peak rate** \
             (5,000 rows/s, 2 of 3 phases): worst max latency 2,500.000 ms (phase 1), worst P99 \
             1,800.000 ms (phase 1). **Longest recovery:** 3.250 s after phase 1.\n"
        ));
        // A ramp's bands, rising: no drop, no recovery.
        s.phases = vec![
            phase(1, 100, 10.0, 20.0, None),
            phase(2, 1000, 30.0, 40.0, None),
        ];
        s.phases[0].target_max_rows_per_s = Some(900);
        s.phases[1].target_max_rows_per_s = Some(1000);
        s.phases[1].recovery_s = None;
        let md = render(&s);
        assert!(md.contains("fall in one of 10 equal bands"));
        assert!(md.contains("| 1 | 100–900 | 0.000 |"));
        assert!(md.contains("| 2 | 1,000 | 10.000 |"));
        assert!(md.contains("The load never dropped: no phase is followed by a lower one."));
        assert!(md.contains("**Longest recovery:** none measured."));
        // A drop after a phase none of whose rows committed.
        s.phases[1].target_rows_per_s = 50;
        s.phases[1].target_max_rows_per_s = Some(60);
        assert!(render(&s).contains(
            "- Phase 1 (100–900 rows/s) → phase 2 (50–60 rows/s): not measured (none of its rows \
             was committed)"
        ));
    }
}
