//! Latency and where it goes: the percentiles and distribution, the stages of a row's way, trigger adherence, batches.

use super::{check, key_value_table, SOURCE_BATCHES, SOURCE_COMMIT_TS, TRACK_COMMIT_TIMESTAMP_FIX};
use crate::analyse::stages::{
    BATCH_START_TO_COMMITTED, DISCOVERED_TO_BATCH_START, VISIBLE_TO_COMMITTED,
    VISIBLE_TO_DISCOVERED,
};
use crate::format::{fmt_count, fmt_decimal, fmt_ms, fmt_pct, fmt_time_us};
use crate::render::table::{Align, Table};
use crate::summary::Summary;
use std::fmt::Write as _;

pub(super) fn commit_source_line(s: &Summary) -> String {
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

pub(super) fn generator_lateness_line(s: &Summary) -> String {
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

pub(super) fn latency(md: &mut String, s: &Summary) {
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

pub(super) fn stage_label(id: &str) -> &str {
    match id {
        VISIBLE_TO_DISCOVERED => "File visible → discovered",
        DISCOVERED_TO_BATCH_START => "Discovered → batch start (trigger wait)",
        BATCH_START_TO_COMMITTED => "Batch start → committed (batch wall time; with on-arrival writes, also the wait for the tick)",
        VISIBLE_TO_COMMITTED => "**End to end** (visible → committed)",
        other => other,
    }
}

/// A bar of `share` percent, 20 characters for 100 %.
pub(super) fn share_bar(share: f64) -> String {
    let n = (share.clamp(0.0, 100.0) / 5.0).round() as usize;
    "█".repeat(n)
}

/// Why a section built from sluice's batch records is empty for another
/// pipeline.
const NOT_SLUICE: &str = "Does not apply: this section is built from the batch records sluice \
     keeps (`sluice_batches`), and the pipeline measured here is not sluice. Latency, \
     throughput and integrity above come from the table and the database alone.";

pub(super) fn where_the_time_goes(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Where the time goes\n");
    let Some(st) = &s.stages else {
        let why = if s.external_command().is_some() {
            NOT_SLUICE
        } else {
            "No batch record mentions the manifest's files, so latency cannot be broken down."
        };
        let _ = writeln!(md, "{why}\n");
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

pub(super) fn trigger_adherence(md: &mut String, s: &Summary) {
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

pub(super) fn slowest_batches(md: &mut String, s: &Summary) {
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

pub(super) fn batches(md: &mut String, s: &Summary) {
    let b = &s.batches;
    let _ = writeln!(md, "## Batches\n");
    if b.count == 0 {
        let why = if s.external_command().is_some() {
            NOT_SLUICE
        } else {
            "No batch record mentions the manifest's files."
        };
        let _ = writeln!(md, "{why}\n");
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
    workers(md, s);
    trigger_adherence(md, s);
    slowest_batches(md, s);
}

/// Several workers of one pipeline: what each committed, and the total.
fn workers(md: &mut String, s: &Summary) {
    if s.workers.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### Workers
"
    );
    let _ = writeln!(
        md,
        "{} workers of one pipeline shared the files, each claiming its files through the \
         database. Busy span: a worker's first batch start to its last commit; for all \
         workers, the run's first file created to its last commit.\n",
        s.workers.len()
    );
    let mut table = Table::figures([
        "worker (checkpoint id)",
        "batches",
        "files",
        "rows read",
        "rows upserted",
        "busy span",
        "rows/s over it",
    ]);
    for (index, w) in s.workers.iter().enumerate() {
        table.row([
            format!("{} ({})", index + 1, w.worker),
            fmt_count(w.batches),
            fmt_count(w.files),
            fmt_count(w.rows_read),
            fmt_count(w.rows_upserted),
            format!("{} s", fmt_decimal(w.busy_span_s, 1)),
            fmt_decimal(w.rows_per_s, 0),
        ]);
    }
    let b = &s.batches;
    let files: u64 = s.workers.iter().map(|w| w.files).sum();
    table.row([
        "all workers".to_string(),
        fmt_count(b.count),
        fmt_count(files),
        fmt_count(b.rows_read),
        fmt_count(b.rows_upserted),
        format!("{} s", fmt_decimal(s.span.run_s, 1)),
        fmt_decimal(
            if s.span.run_s > 0.0 {
                b.rows_read as f64 / s.span.run_s
            } else {
                0.0
            },
            0,
        ),
    ]);
    let _ = writeln!(md, "{table}");
}
