//! The verdict first: title, warnings, headline, targets, data integrity and the run's deliberate interruptions.

use super::{
    check, SOURCE_BATCHES, SOURCE_COMMIT_TS, TRACK_COMMIT_TIMESTAMP_FIX, UNOPTIMISED_WARNING,
};
use crate::collect::gather::Attribution;
use crate::format::{fmt_count, fmt_decimal, fmt_ms, fmt_pct};
use crate::render::table::{Align, Table};
use crate::summary::{Summary, TargetStatus};
use std::fmt::Write as _;

pub(super) fn title(md: &mut String, s: &Summary) {
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
pub(super) fn warnings(md: &mut String, s: &Summary) {
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

pub(super) fn headline(md: &mut String, s: &Summary) {
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
    if s.external_command().is_some() && r.rejected == 0 {
        // Another pipeline's rejects are in its log, not in a table sluice reads.
        table.row(["Rows rejected", "not recorded in the database", ""]);
    } else {
        let rejected_check = if r.rejected == r.bad_input {
            "✓"
        } else {
            "⚠"
        };
        table.row(["Rows rejected", &fmt_count(r.rejected), rejected_check]);
    }
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

/// Label and unit of a target, by its name in `[targets]`.
pub(super) fn target_label(name: &str) -> (&'static str, &'static str) {
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

/// A target's figure as its unit asks: milliseconds by their scale,
/// memory and rates to a tenth, percentages to three decimals (an error
/// rate that is not 0 must not read as 0).
fn target_figure(value: f64, unit: &str) -> String {
    match unit {
        "ms" => fmt_ms(value),
        "%" => fmt_decimal(value, 3),
        _ => fmt_decimal(value, 1),
    }
}

pub(super) fn targets(md: &mut String, s: &Summary) {
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
            format!("{} {unit}", target_figure(m, unit))
        });
        table.row([
            format!("{label} (`{}`)", t.name),
            format!("{bound} {} {unit}", target_figure(t.target, unit)),
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

pub(super) fn integrity(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Data integrity\n");
    integrity_table(md, s);
    integrity_verdict(md, s);
    let f = &s.files;
    let _ = writeln!(
        md,
        "Files: {} in the manifest, {} quarantined, {} with no rows in the table, {} with fewer \
         rows than expected.\n",
        fmt_count(f.manifest),
        fmt_count(f.quarantined),
        fmt_count(f.missing_from_db),
        fmt_count(f.incomplete)
    );
    rejected_by_reason(md, s);
    quarantined_files(md, s);
    missing_files(md, s);
}

/// Each row count of the manifest against the table, with what it means.
fn integrity_table(md: &mut String, s: &Summary) {
    let r = &s.rows;
    let mut table = Table::figures(["Figure", "Rows", "Meaning"]).aligned(&[
        Align::Left,
        Align::Right,
        Align::Left,
    ]);
    let found_meaning = if s.row_attribution == Attribution::KeyPrefix.as_str() {
        "rows in the table whose key carries a manifest file's key prefix"
    } else {
        "rows in the table whose `source_file` is a manifest file"
    };
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
        ("Found", r.found, found_meaning),
        ("Missing", r.missing, "max(0, expected − found)"),
        (
            "Rejected",
            r.rejected,
            "rows in the rejects table from the manifest's files",
        ),
        (
            "Duplicates",
            r.duplicates,
            "copies of an event beyond the first, by key: must be 0",
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
}

/// "Exactly once" only when every figure that can break it is 0; else one
/// line per broken figure.
fn integrity_verdict(md: &mut String, s: &Summary) {
    let r = &s.rows;
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
}

fn rejected_by_reason(md: &mut String, s: &Summary) {
    let r = &s.rows;
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
}

fn quarantined_files(md: &mut String, s: &Summary) {
    let f = &s.files;
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
}

fn missing_files(md: &mut String, s: &Summary) {
    let f = &s.files;
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

/// The windows the run interrupted on purpose; nothing when there were none.
pub(super) fn interruptions(md: &mut String, s: &Summary) {
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
        // The note is the run's own log text (commands, pids): shown as code.
        table.row([
            i.kind.replace('_', " "),
            fmt_decimal(i.start_offset_s, 3),
            i.duration_s
                .map_or("to the end of the run".to_string(), |d| fmt_decimal(d, 3)),
            if i.note.is_empty() {
                String::new()
            } else {
                format!("`{}`", i.note.replace('`', "'"))
            },
        ]);
    }
    let _ = writeln!(md, "{table}");
}
