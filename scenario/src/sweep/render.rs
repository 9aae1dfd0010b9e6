//! `sweep.md`: the runs, the recommendation and the capacity curve, for a person.

use std::fmt::Write;
use std::path::Path;

use reporter::format::{cell, fmt_decimal};
use reporter::recommend;
use reporter::render::table::{Align, Table};

use super::figures::by_rate;
use super::{Capacity, RunStatus, SweepReport, CAPACITY_CHART_FILE, THROUGHPUT_TIE_PCT};

pub(super) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| fmt_decimal(v, 1))
}

/// The markdown table of the runs (also printed by `sluice sweep`); report
/// links are relative to `dir`.
pub fn runs_table(report: &SweepReport, dir: &Path) -> String {
    use Align::{Left, Right};
    let mut table = Table::new([
        "#",
        "settings",
        "status",
        "keeps up",
        "P50 ms",
        "P95 ms",
        "P99 ms",
        "rows/s",
        "of offered",
        "P95 first → last quarter ms",
        "batch P95 ms",
        "report",
    ])
    .aligned(&[
        Right, Left, Left, Left, Right, Right, Right, Right, Right, Left, Right, Left,
    ]);
    for r in &report.runs {
        let link = r.run_dir.as_ref().map_or("–".to_string(), |d| {
            let rel = d.strip_prefix(dir).unwrap_or(d).join(reporter::REPORT_FILE);
            let rel = rel.to_string_lossy().replace('\\', "/");
            format!("[report]({rel})")
        });
        match &r.figures {
            Some(f) => {
                let keeps = match (f.keeps_up, f.backlog_grew) {
                    (true, Some(false)) => "yes",
                    (true, _) => "yes (backlog not measured)",
                    (false, Some(true)) if f.complete() => "no: backlog grew",
                    (false, _) => "no",
                };
                let quarters = match (f.p95_first_quarter_ms, f.p95_last_quarter_ms) {
                    (Some(a), Some(b)) => format!("{} → {}", fmt_decimal(a, 1), fmt_decimal(b, 1)),
                    _ => "n/a".into(),
                };
                table.row([
                    r.index.to_string(),
                    r.label.clone(),
                    r.status.as_str().to_string(),
                    keeps.to_string(),
                    ms(f.p50_ms),
                    ms(f.p95_ms),
                    ms(f.p99_ms),
                    fmt_decimal(f.throughput_rows_per_s, 0),
                    f.delivered_pct
                        .map_or("n/a".into(), |p| format!("{} %", fmt_decimal(p, 0))),
                    quarters,
                    ms(f.batch_ms_p95),
                    link,
                ]);
            }
            None => {
                let mut row = vec![
                    r.index.to_string(),
                    r.label.clone(),
                    r.status.as_str().to_string(),
                ];
                row.extend(std::iter::repeat_n("–".to_string(), 8));
                row.push(link);
                table.row(row);
            }
        }
    }
    table.to_string()
}

/// The recommendation as markdown list items (also printed).
pub fn recommendation_lines(report: &SweepReport) -> String {
    let rec = &report.recommendation;
    let by_index = |i: usize| report.runs.iter().find(|r| r.index == i);
    let mut out = String::new();
    match &rec.lowest_p99 {
        Some(p) => {
            let t = by_index(p.index)
                .and_then(|r| r.figures.as_ref())
                .map_or(0.0, |f| f.throughput_rows_per_s);
            let _ = writeln!(
                out,
                "- Lowest P99 that keeps up: **{}** (run {}): P99 {} ms at {} rows/s.",
                p.run,
                p.index,
                fmt_decimal(p.value, 1),
                fmt_decimal(t, 0)
            );
        }
        None => out.push_str(
            "- Lowest P99 that keeps up: none: no run committed every file without a growing \
             backlog.\n",
        ),
    }
    match &rec.highest_throughput {
        Some(p) => {
            let p99 = by_index(p.index)
                .and_then(|r| r.figures.as_ref())
                .and_then(|f| f.p99_ms);
            let _ = writeln!(
                out,
                "- Highest sustained throughput: **{}** (run {}): {} rows/s, P99 {} ms.",
                p.run,
                p.index,
                fmt_decimal(p.value, 0),
                ms(p99)
            );
        }
        None => out.push_str("- Highest sustained throughput: none: no run kept up.\n"),
    }
    let complete: Vec<f64> = report
        .runs
        .iter()
        .filter_map(|r| r.figures.as_ref())
        .filter(|f| f.complete() && f.throughput_rows_per_s > 0.0)
        .map(|f| f.throughput_rows_per_s)
        .collect();
    let high = complete.iter().copied().fold(0.0, f64::max);
    let low = complete.iter().copied().fold(f64::INFINITY, f64::min);
    if complete.len() >= 2 && (high - low) / high * 100.0 < THROUGHPUT_TIE_PCT {
        let _ = writeln!(
            out,
            "  Every run that committed everything is within {} % of this throughput: the \
             offered load, not the settings, sets it here; the batch times show what each \
             setting costs.",
            fmt_decimal((high - low) / high * 100.0, 1)
        );
    }
    out
}

/// The capacity found by a `rate` axis, its curve as a table, and the chart.
pub fn capacity_section(report: &SweepReport, capacity: &Capacity) -> String {
    let limit = capacity.p99_limit_ms.map_or(String::new(), |l| {
        format!(" with P99 ≤ {} ms", fmt_decimal(l, 0))
    });
    let mut out = String::from("## Capacity\n\n");
    match (capacity.sustained_rows_per_s, capacity.run) {
        (Some(rate), Some(run)) => {
            let _ = writeln!(
                out,
                "Highest offered load sustained{limit}: **{rate} rows/s** (run {run}).{}\n",
                if capacity.sustained_above_a_miss {
                    " A lower load was not sustained: the curve is at its edge here, so \
                     repeat the sweep before relying on this figure."
                } else {
                    ""
                }
            );
        }
        _ => {
            let _ = writeln!(out, "No offered load was sustained{limit}.\n");
        }
    }
    let mut table = Table::figures([
        "offered rows/s",
        "committed rows/s",
        "P50 ms",
        "P99 ms",
        "P95 first → last quarter ms",
        "backlog",
        "sustained",
    ])
    .aligned(&[
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Left,
        Align::Left,
        Align::Left,
    ]);
    for (rate, r) in by_rate(&report.runs) {
        let Some(f) = &r.figures else {
            let mut row = vec![rate.to_string()];
            row.extend(std::iter::repeat_n("–".to_string(), 5));
            row.push(r.status.as_str().to_string());
            table.row(row);
            continue;
        };
        let quarters = match (f.p95_first_quarter_ms, f.p95_last_quarter_ms) {
            (Some(a), Some(b)) => format!("{} → {}", fmt_decimal(a, 0), fmt_decimal(b, 0)),
            _ => "n/a".into(),
        };
        let backlog = match (f.drained, f.backlog_grew) {
            (false, _) => "not drained",
            (true, Some(true)) => "grew",
            (true, Some(false)) => "steady",
            (true, None) => "n/a",
        };
        let sustained = Capacity::sustained_by(r, capacity.p99_limit_ms);
        table.row([
            rate.to_string(),
            fmt_decimal(f.throughput_rows_per_s, 0),
            ms(f.p50_ms),
            ms(f.p99_ms),
            quarters,
            backlog.to_string(),
            if sustained { "yes" } else { "no" }.to_string(),
        ]);
    }
    out.push_str(&table.to_string());
    let _ = writeln!(
        out,
        "\n![Latency P50 and P99 by offered load]({CAPACITY_CHART_FILE})\n\n\
         Each load ran on its own, on a fresh table, for the same time; a load is sustained \
         when its run kept up (every file committed, nothing lost or doubled, no growing \
         backlog) within the P99 limit.\n"
    );
    out
}

/// `sweep.md`.
pub fn render(report: &SweepReport, dir: &Path) -> String {
    let mut out = String::new();
    let ran = report
        .runs
        .iter()
        .filter(|r| r.status != RunStatus::NotRun)
        .count();
    let _ = writeln!(
        out,
        "# Sweep of `{}`: {} runs\n",
        cell(&report.scenario),
        report.runs.len()
    );
    let _ = writeln!(
        out,
        "Sweep file `{}`, scenario {}. Each run: {} of the same load (same seed), one after \
         another, each on a fresh table of its own. {} of {} runs ran{}.\n",
        report.sweep_file,
        if report.scenario_source == "inline" {
            "inline".to_string()
        } else {
            format!("`{}`", report.scenario_source)
        },
        humantime::format_duration(report.duration),
        ran,
        report.runs.len(),
        if report.stopped_early {
            " (stopped early by the user)"
        } else {
            ""
        }
    );
    if report.compare.is_some() {
        let _ = writeln!(
            out,
            "Side by side, with the latency CDFs overlaid: [compare.md]({}).\n",
            reporter::compare::COMPARE_REPORT_FILE
        );
    }
    out.push_str("## Recommendation\n\n");
    out.push_str(&recommendation_lines(report));
    let _ = writeln!(
        out,
        "\nA run keeps up when it committed every generated file before the drain timeout, \
         with no row missing or duplicated, and its backlog did not grow: the P95 latency of \
         the files of its last quarter is not more than {}× and {} ms above that \
         of its first quarter. Throughput is rows found / (last commit − first file created); \
         \"of offered\" divides it by the valid rows per second the generator wrote (a run \
         that keeps up stays near 100 %, less the wait for the last trigger). `sluice compare` \
         recommends by the same rule.\n",
        recommend::BACKLOG_RATIO,
        fmt_decimal(recommend::BACKLOG_MS, 0)
    );
    if let Some(capacity) = &report.capacity {
        out.push_str(&capacity_section(report, capacity));
    }
    out.push_str("## Runs\n\n");
    out.push_str(&runs_table(report, dir));
    let failures = report.failures();
    if !failures.is_empty() {
        out.push_str("\n## Runs that did not complete\n\n");
        for f in failures {
            let _ = writeln!(out, "- {}", cell(&f));
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &report.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}
