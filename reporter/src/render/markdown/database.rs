//! The database, the bottlenecks found, the clock, and the notes.

use crate::format::{fmt_bytes, fmt_count, fmt_ms};
use crate::render::table::{Align, Table};
use crate::summary::{Severity, Summary};
use std::fmt::Write as _;

pub(super) fn database(md: &mut String, s: &Summary) {
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
                plan.push_str(&format!(" using `{index}`"));
            }
            if let Some(scan) = &q.plan_scan {
                plan.push_str(" ← ");
                plan.push_str(&scan_text(scan));
            }
            table.row([
                query_label(&q.name),
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

pub(super) fn bottlenecks(md: &mut String, s: &Summary) {
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

pub(super) fn clock(md: &mut String, s: &Summary) {
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

pub(super) fn notes(md: &mut String, s: &Summary) {
    if s.notes.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Notes\n");
    for n in &s.notes {
        let _ = writeln!(md, "- {n}");
    }
}

/// The label a person reads for one of the timed queries (its machine name
/// stays in summary.json): the column it reads in a code span.
fn query_label(name: &str) -> String {
    match name {
        "count(*)" => "All rows counted (`count(*)`)".to_string(),
        "one user_id" => "One user's rows (`user_id`)".to_string(),
        "one product_id" => "One product's rows (`product_id`)".to_string(),
        "1-minute event_time range" => "One minute of events (`event_time` range)".to_string(),
        "GROUP BY event_type" => "Rows per event type (`GROUP BY event_type`)".to_string(),
        other => format!("`{other}`"),
    }
}

/// A scan as EXPLAIN names it, its index in a code span
/// (`Index Only Scan using events_pkey`).
fn scan_text(scan: &str) -> String {
    match scan.split_once(" using ") {
        Some((node, index)) => format!("{node} using `{index}`"),
        None => scan.to_string(),
    }
}
