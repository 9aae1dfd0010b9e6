//! Throughput over the run: the span, load phases and recovery, and stability from the first quarter to the last.

use super::key_value_table;
use crate::analyse::findings::{
    P95_DRIFT_MS, P95_DRIFT_RATIO, RSS_GROWTH_MIB, RSS_GROWTH_RATIO, SOAK_MIN_S,
};
use crate::analyse::phases::{longest_recovery, peak_phases, worst_max, worst_p99, RAMP_BANDS};
use crate::format::{fmt_count, fmt_decimal, fmt_ms, fmt_time_us};
use crate::render::table::{Align, Table};
use crate::summary::{Phase, Quarters, Summary};
use std::fmt::Write as _;

pub(super) fn throughput(md: &mut String, s: &Summary) {
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

/// `5,000`, or `1,000–1,290` for a band of a ramp.
pub(super) fn phase_target(p: &Phase) -> String {
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
pub(super) fn load_phases(md: &mut String, s: &Summary) {
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
    phase_table(md, &s.phases);
    recoveries(md, &s.phases);
    peak_and_recovery(md, &s.phases);
}

/// One row per phase: its target, span, rows and latency.
fn phase_table(md: &mut String, phases: &[Phase]) {
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
    for p in phases {
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
}

/// Each drop in load and how long the backlog built before it took to drain.
fn recoveries(md: &mut String, phases: &[Phase]) {
    let _ = writeln!(md, "\n### Recovery after each drop in load\n");
    let _ = writeln!(
        md,
        "Recovery time = the commit of the last row of a phase's files − the end of that phase \
         (when the next, lower phase began), 0 when the pipeline had already caught up: how \
         long the backlog built during the higher load took to drain.\n"
    );
    let mut drops = 0;
    for pair in phases.windows(2) {
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
}

/// The worst latency at the peak rate and the longest recovery, in one line.
fn peak_and_recovery(md: &mut String, phases: &[Phase]) {
    let peaks = peak_phases(phases);
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
    let recovery = longest_recovery(phases).map_or("none measured".to_string(), |(p, r)| {
        format!("{} s after phase {}", fmt_decimal(r, 3), p.index)
    });
    let _ = writeln!(
        md,
        "**At the peak rate** ({} rows/s, {} of {} phases): {peak}. **Longest recovery:** \
         {recovery}.\n",
        peaks.first().map_or(String::new(), |p| phase_target(p)),
        peaks.len(),
        phases.len()
    );
}

/// A long run's first quarter against its last (pipeline memory, P95
/// latency), flagged or not: a soak user asks whether anything grew, and
/// "nothing did" is an answer worth printing. Runs shorter than
/// [`SOAK_MIN_S`] are still warming up in their first quarter: nothing.
pub(super) fn stability(md: &mut String, s: &Summary) {
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
