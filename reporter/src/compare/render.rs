//! `compare.md`, rendered from the comparison alone.

use super::{Comparison, MetricRow};
use crate::compare::figures::{integrity_rows, latency_rows, resource_rows, throughput_rows};
use crate::format::fmt_decimal;
use crate::render::table::Table;
use crate::summary::Setting;
use std::fmt::Write as _;

/// A table with `first` as its first column's header and a column per run.
pub(super) fn run_columns(first: &str, labels: &[&str]) -> Table {
    Table::new(std::iter::once(first).chain(labels.iter().copied()))
}

pub(super) fn metric_table(out: &mut String, first: &str, labels: &[&str], rows: &[MetricRow]) {
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

pub(super) fn setting_list(settings: &[Setting]) -> String {
    if settings.is_empty() {
        return "no setting differs between the runs".to_string();
    }
    // A setting the run does not have ("–": another pipeline's) is no choice.
    let parts: Vec<String> = settings
        .iter()
        .filter(|s| s.value != "–")
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
    let mut runs = Table::new(["run", "folder", "scenario", "pipeline"]);
    for r in &c.runs {
        runs.row([
            r.label.clone(),
            format!("`{}`", r.dir),
            r.scenario.clone().unwrap_or_else(|| "–".to_string()),
            r.pipeline.clone(),
        ]);
    }
    let _ = writeln!(out, "{runs}");

    recommendation(&mut out, c);
    configuration_differences(&mut out, c, &labels);
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

    targets(&mut out, c, &labels);
    latency_distribution(&mut out, c);

    if !c.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for note in &c.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    out
}

fn recommendation(out: &mut String, c: &Comparison) {
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
}

fn configuration_differences(out: &mut String, c: &Comparison, labels: &[&str]) {
    out.push_str("## Configuration differences\n\n");
    if c.settings.varied.is_empty() {
        out.push_str("No setting differs between the runs.\n\n");
    } else {
        let mut table = run_columns("setting", labels);
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
}

fn targets(out: &mut String, c: &Comparison, labels: &[&str]) {
    out.push_str("## Targets\n\n");
    let mut table = run_columns("", labels);
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
}

fn latency_distribution(out: &mut String, c: &Comparison) {
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
}
