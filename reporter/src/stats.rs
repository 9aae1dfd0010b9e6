//! Statistics over what was gathered: the latency histogram and its
//! percentiles, the distribution table, batch timings, throughput.
//!
//! # One percentile convention
//!
//! Every percentile and median of every report is **nearest rank**: the
//! smallest value with at least ⌈q × n⌉ of the n values at or below it
//! (PostgreSQL's `percentile_disc`; a median is the P50 by the same rule, the
//! lower middle of an even count). Row latencies go through an HdrHistogram
//! whose `value_at_quantile` applies the same rule to its buckets (at most
//! 0.1 % high); everything else (batch times, stage times, gaps, query
//! timings, chart windows, the bench's rounds) uses the functions here.
//!
//! Everything here is pure (no I/O), so every figure of the report can be
//! checked by a unit test against known input.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Sub;

use hdrhistogram::Histogram;

use crate::summary::{round3, BatchSummary, DistributionRow, LatencySummary, WorkerFigures};

/// Lowest latency the histogram tells apart: 1 µs. Zero and negative
/// latencies (clock skew) are recorded as this value.
pub const HISTOGRAM_LOW_US: u64 = 1;
/// Highest latency the histogram tracks: one hour. Longer latencies are
/// recorded as one hour (a run where rows wait an hour has other problems).
pub const HISTOGRAM_HIGH_US: u64 = 3_600_000_000;
/// Three significant digits: figures are at most 0.1 % high.
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// Edges of the distribution table, in µs. The last range is open.
///
/// A 1–2–5-like series: fine enough that a one-second trigger (latencies
/// around 0.5–1.5 s) still spreads over several rows, coarse enough that a
/// stress run from 10 ms to two minutes fits one screen. Empty leading and
/// trailing ranges are dropped, so the table fits the data.
pub const DISTRIBUTION_EDGES_US: &[u64] = &[
    0,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    30_000_000,
    60_000_000,
    120_000_000,
    300_000_000,
    600_000_000,
];

/// The latency histogram used everywhere: µs, 1 µs to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(HISTOGRAM_LOW_US, HISTOGRAM_HIGH_US, HISTOGRAM_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// Rows of one file that became visible at one commit instant.
///
/// The database groups rows this way (`GROUP BY source_file, commit time`),
/// so a million rows arrive as a few thousand groups and memory stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitGroup {
    /// File name, as in the manifest.
    pub source_file: String,
    /// Commit time in Unix µs on the server's clock; `None` when it is unknown.
    pub commit_us: Option<i64>,
    /// Rows in the group.
    pub rows: u64,
}

/// Latencies of the found rows, and what came with them.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Latency per row in µs.
    pub histogram: Histogram<u64>,
    /// Rows whose (corrected) commit time was before their file's creation.
    pub negative: u64,
    /// Rows with no commit time, or from a file unknown to the manifest.
    pub unmeasured: u64,
    /// Earliest corrected commit time, Unix µs.
    pub first_commit_us: Option<i64>,
    /// Latest corrected commit time, Unix µs.
    pub last_commit_us: Option<i64>,
    /// Rows found per file (measured or not).
    pub found_per_file: HashMap<String, u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            histogram: new_histogram(),
            negative: 0,
            unmeasured: 0,
            first_commit_us: None,
            last_commit_us: None,
            found_per_file: HashMap::new(),
        }
    }
}

impl Latencies {
    /// Builds the latencies from commit groups.
    ///
    /// `created_at_us` maps a file name to the instant it became visible (the
    /// local clock); `offset_us` is server clock − local clock and is
    /// subtracted from each commit time so both are on the local clock.
    pub fn from_groups<'a>(
        groups: impl IntoIterator<Item = &'a CommitGroup>,
        created_at_us: &HashMap<String, i64>,
        offset_us: i64,
    ) -> Self {
        let mut lat = Latencies::default();
        for g in groups {
            *lat.found_per_file.entry(g.source_file.clone()).or_default() += g.rows;
            match (g.commit_us, created_at_us.get(&g.source_file)) {
                (Some(commit), Some(&created)) => {
                    lat.record(created, commit.saturating_sub(offset_us), g.rows)
                }
                _ => lat.unmeasured += g.rows,
            }
        }
        lat
    }

    /// Records `rows` rows created at `created_us` and committed at
    /// `commit_us` (both Unix µs on the same clock).
    pub fn record(&mut self, created_us: i64, commit_us: i64, rows: u64) {
        if rows == 0 {
            return;
        }
        let latency = commit_us.saturating_sub(created_us);
        if latency < 0 {
            self.negative += rows;
        }
        // `max(1)` clamps skewed (negative) and zero latencies to the
        // histogram's lowest value instead of losing them.
        let value = u64::try_from(latency.max(1)).unwrap_or(HISTOGRAM_LOW_US);
        self.histogram.saturating_record_n(value, rows);
        self.first_commit_us = Some(self.first_commit_us.map_or(commit_us, |f| f.min(commit_us)));
        self.last_commit_us = Some(self.last_commit_us.map_or(commit_us, |l| l.max(commit_us)));
    }

    /// Percentiles in ms.
    pub fn summary(&self) -> LatencySummary {
        let mut s = latency_summary(&self.histogram);
        s.negative_latencies = self.negative;
        s.unmeasured = self.unmeasured;
        s
    }
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// P50, P75, P90, P95, P99, P99.9, P99.99, max, mean, standard deviation and min of a µs histogram, in ms
/// with three decimals; all zero for an empty histogram.
pub fn latency_summary(hist: &Histogram<u64>) -> LatencySummary {
    if hist.is_empty() {
        return LatencySummary::default();
    }
    let q = |quantile: f64| us_to_ms(hist.value_at_quantile(quantile));
    LatencySummary {
        p50: q(0.50),
        p75: q(0.75),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        p9999: q(0.9999),
        stddev: round3(hist.stdev() / 1000.0),
        max: us_to_ms(hist.max()),
        mean: round3(hist.mean() / 1000.0),
        min: us_to_ms(hist.min()),
        count: hist.len(),
        negative_latencies: 0,
        unmeasured: 0,
    }
}

/// The distribution table over [`DISTRIBUTION_EDGES_US`].
pub fn distribution(hist: &Histogram<u64>) -> Vec<DistributionRow> {
    distribution_with_edges(hist, DISTRIBUTION_EDGES_US)
}

/// The distribution table over the given edges (µs, ascending, first `0`;
/// the last range is open).
///
/// Each histogram slot is placed by its highest equivalent value, the value
/// the percentiles report, so "P95 ≤ x" and the cumulative column agree. A
/// latency within 0.1 % below an edge may therefore count in the range above
/// it. Empty leading and trailing ranges are dropped; empty ranges between
/// non-empty ones stay, so the table has no gaps. The cumulative column is
/// computed from counts, so it ends at exactly 100.
pub fn distribution_with_edges(hist: &Histogram<u64>, edges: &[u64]) -> Vec<DistributionRow> {
    let total = hist.len();
    if total == 0 || edges.is_empty() {
        return Vec::new();
    }
    let mut counts = vec![0u64; edges.len()];
    for v in hist.iter_recorded() {
        let value = v.value_iterated_to();
        let index = edges.partition_point(|&e| e <= value).saturating_sub(1);
        counts[index] += v.count_at_value();
    }
    let (Some(first), Some(last)) = (
        counts.iter().position(|&c| c > 0),
        counts.iter().rposition(|&c| c > 0),
    ) else {
        return Vec::new();
    };
    let mut cumulative = 0u64;
    (first..=last)
        .map(|i| {
            cumulative += counts[i];
            let from = edges[i];
            let to = edges.get(i + 1).copied();
            DistributionRow {
                range: range_label(from, to),
                from_ms: us_to_ms(from),
                to_ms: to.map(us_to_ms),
                count: counts[i],
                percent: round3(counts[i] as f64 * 100.0 / total as f64),
                cumulative_percent: round3(cumulative as f64 * 100.0 / total as f64),
            }
        })
        .collect()
}

/// `100 ms – 250 ms`, `1 s – 2 s`, `≥ 600 s`.
fn range_label(from_us: u64, to_us: Option<u64>) -> String {
    match to_us {
        Some(to) => format!("{} – {}", edge_label(from_us), edge_label(to)),
        None => format!("≥ {}", edge_label(from_us)),
    }
}

fn edge_label(us: u64) -> String {
    if us == 0 {
        "0".to_string()
    } else if us < 1_000_000 {
        format!("{} ms", trim_float(us as f64 / 1000.0))
    } else {
        format!("{} s", trim_float(us as f64 / 1_000_000.0))
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// max(0, expected − found): rows that should be in the table and are not.
/// Found rows beyond the expected (e.g. from an earlier run with the same file
/// names) never make "missing" negative.
pub fn missing_rows(expected: u64, found: u64) -> u64 {
    expected.saturating_sub(found)
}

/// found / expected in percent; 100 when nothing was expected.
pub fn success_rate_pct(expected: u64, found: u64) -> f64 {
    if expected == 0 {
        100.0
    } else {
        round3(found as f64 * 100.0 / expected as f64)
    }
}

/// found / (last commit − first file created) in rows per second, 0 when the
/// span is unknown or not positive.
pub fn throughput_rows_per_s(
    found: u64,
    first_created_us: Option<i64>,
    last_commit_us: Option<i64>,
) -> f64 {
    match (first_created_us, last_commit_us) {
        (Some(first), Some(last)) if last > first => {
            round3(found as f64 / ((last - first) as f64 / 1_000_000.0))
        }
        _ => 0.0,
    }
}

/// One committed micro-batch, as recorded in `sluice_batches`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchRecord {
    /// Batch id.
    pub batch_id: i64,
    /// Files in the batch.
    pub file_count: u64,
    /// Files of the batch that were quarantined.
    pub files_quarantined: u64,
    /// Data rows read (valid + rejected).
    pub rows_read: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rows removed by the in-batch dedupe.
    pub rows_deduped: u64,
    /// Rows inserted or changed in the target.
    pub rows_upserted: u64,
    /// Trigger fired, Unix µs (the pipeline's clock).
    pub started_us: i64,
    /// Batch record written, Unix µs (server clock).
    pub committed_us: i64,
    /// Parse stage, ms.
    pub parse_ms: f64,
    /// Transform stage, ms.
    pub transform_ms: f64,
    /// Write stage, ms.
    pub write_ms: f64,
    /// The checkpoint (worker) that committed it.
    pub worker: String,
}

/// Nearest-rank percentile of sorted values (0 when empty). Batches are few
/// (one per trigger), so exact percentiles are cheap and honest.
pub fn percentile_sorted(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The nearest-rank median of `values` in any order (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile_sorted(&sorted, 0.5)
}

/// Row-weighted nearest-rank percentiles: for each quantile q, the smallest
/// latency such that at least ⌈q × rows⌉ rows are at or below it (the
/// definition of `percentile_disc`). `values` is `(latency, rows)` in any
/// order; all zero when there is no row.
pub fn weighted_percentiles(values: &[(f64, u64)], quantiles: &[f64]) -> Vec<f64> {
    let total: u64 = values.iter().map(|v| v.1).sum();
    if total == 0 {
        return vec![0.0; quantiles.len()];
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    quantiles
        .iter()
        .map(|&q| {
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut cumulative = 0;
            for &(v, rows) in &sorted {
                cumulative += rows;
                if cumulative >= rank {
                    return v;
                }
            }
            sorted[sorted.len() - 1].0
        })
        .collect()
}

/// The nearest-rank median of the positive gaps between consecutive values
/// (in any order): the spacing of a series of instants or positions, robust
/// to bursts and pauses. `None` when there is no positive gap.
pub fn median_gap<T>(values: &[T]) -> Option<T>
where
    T: Copy + PartialOrd + Sub<Output = T> + Default,
{
    let by_value = |a: &T, b: &T| a.partial_cmp(b).unwrap_or(Ordering::Equal);
    let mut sorted = values.to_vec();
    sorted.sort_by(by_value);
    let mut gaps: Vec<T> = sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&g| g > T::default())
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_by(by_value);
    Some(gaps[gaps.len().div_ceil(2) - 1])
}

/// The gaps between consecutive batch starts, ms: how well the trigger kept
/// its interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StartGaps {
    /// Nearest-rank median gap (0 with fewer than two batches).
    pub p50_ms: f64,
    /// Longest gap.
    pub max_ms: f64,
}

/// The [`StartGaps`] of `batches` (in any order), rounded to the µs.
pub fn start_gaps(batches: &[BatchRecord]) -> StartGaps {
    let mut starts: Vec<i64> = batches.iter().map(|b| b.started_us).collect();
    starts.sort_unstable();
    let mut gaps: Vec<f64> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1000.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    StartGaps {
        p50_ms: round3(percentile_sorted(&gaps, 0.50)),
        max_ms: round3(gaps.last().copied().unwrap_or(0.0)),
    }
}

pub(crate) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Batch figures: count, processing time (committed − started) P50/P95/max
/// and mean, rows and files per batch, row sums, stage means, and the gaps
/// between consecutive starts (how well the trigger kept its interval).
pub fn batch_summary(batches: &[BatchRecord]) -> BatchSummary {
    if batches.is_empty() {
        return BatchSummary::default();
    }
    let mut times: Vec<f64> = batches
        .iter()
        .map(|b| (b.committed_us - b.started_us) as f64 / 1000.0)
        .collect();
    times.sort_by(f64::total_cmp);
    let gaps = start_gaps(batches);
    BatchSummary {
        count: batches.len() as u64,
        time_ms_p50: round3(percentile_sorted(&times, 0.50)),
        time_ms_p95: round3(percentile_sorted(&times, 0.95)),
        time_ms_max: round3(times.last().copied().unwrap_or(0.0)),
        time_ms_mean: round3(mean(times.iter().copied())),
        rows_per_batch_mean: round3(mean(batches.iter().map(|b| b.rows_read as f64))),
        files_per_batch_mean: round3(mean(batches.iter().map(|b| b.file_count as f64))),
        rows_read: batches.iter().map(|b| b.rows_read).sum(),
        rows_rejected: batches.iter().map(|b| b.rows_rejected).sum(),
        rows_deduped: batches.iter().map(|b| b.rows_deduped).sum(),
        rows_upserted: batches.iter().map(|b| b.rows_upserted).sum(),
        parse_ms_mean: round3(mean(batches.iter().map(|b| b.parse_ms))),
        transform_ms_mean: round3(mean(batches.iter().map(|b| b.transform_ms))),
        write_ms_mean: round3(mean(batches.iter().map(|b| b.write_ms))),
        start_gap_ms_p50: gaps.p50_ms,
        start_gap_ms_max: gaps.max_ms,
    }
}

/// Each worker's batches, files, rows and throughput, in the order of their
/// first batch; empty when one worker (or none) committed the batches.
pub fn worker_figures(batches: &[BatchRecord]) -> Vec<WorkerFigures> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_worker: HashMap<&str, (WorkerFigures, i64, i64)> = HashMap::new();
    for batch in batches {
        let (figures, first, last) = by_worker.entry(batch.worker.as_str()).or_insert_with(|| {
            order.push(batch.worker.as_str());
            let figures = WorkerFigures {
                worker: batch.worker.clone(),
                ..WorkerFigures::default()
            };
            (figures, i64::MAX, i64::MIN)
        });
        figures.batches += 1;
        figures.files += batch.file_count;
        figures.rows_read += batch.rows_read;
        figures.rows_upserted += batch.rows_upserted;
        *first = (*first).min(batch.started_us);
        *last = (*last).max(batch.committed_us);
    }
    if order.len() < 2 {
        return Vec::new();
    }
    order
        .into_iter()
        .filter_map(|worker| by_worker.remove(worker))
        .map(|(mut figures, first, last)| {
            let span_s = (last - first).max(0) as f64 / 1e6;
            figures.busy_span_s = round3(span_s);
            figures.rows_per_s = if span_s > 0.0 {
                round3(figures.rows_read as f64 / span_s)
            } else {
                0.0
            };
            figures
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_per_worker_only_when_several_committed() {
        let batch = |worker: &str, started_s: i64, committed_s: i64, rows: u64| BatchRecord {
            worker: worker.into(),
            file_count: 1,
            rows_read: rows,
            rows_upserted: rows - 1,
            started_us: started_s * 1_000_000,
            committed_us: committed_s * 1_000_000,
            ..BatchRecord::default()
        };
        assert!(worker_figures(&[batch("a", 0, 1, 10), batch("a", 2, 3, 10)]).is_empty());
        let figures = worker_figures(&[
            batch("b", 0, 1, 100),
            batch("a", 1, 2, 50),
            batch("b", 3, 4, 300),
        ]);
        let got: Vec<(&str, u64, u64, u64, f64, f64)> = figures
            .iter()
            .map(|w| {
                (
                    w.worker.as_str(),
                    w.batches,
                    w.rows_read,
                    w.rows_upserted,
                    w.busy_span_s,
                    w.rows_per_s,
                )
            })
            .collect();
        assert_eq!(
            got,
            [("b", 2, 400, 398, 4.0, 100.0), ("a", 1, 50, 49, 1.0, 50.0)]
        );
    }

    /// |got − want| within the histogram's precision (0.1 %) plus a µs.
    fn close(got: f64, want: f64) {
        let tol = want.abs() * 0.001 + 0.001;
        assert!((got - want).abs() <= tol, "got {got}, want {want} ± {tol}");
    }

    fn uniform_1_to_1000_ms() -> Latencies {
        let mut lat = Latencies::default();
        for ms in 1..=1000i64 {
            lat.record(1_000_000, 1_000_000 + ms * 1000, 1);
        }
        lat
    }

    #[test]
    fn percentiles_of_uniform_latencies() {
        let s = uniform_1_to_1000_ms().summary();
        assert_eq!(s.count, 1000);
        close(s.p50, 500.0);
        close(s.p75, 750.0);
        close(s.p90, 900.0);
        close(s.p95, 950.0);
        close(s.p99, 990.0);
        close(s.p999, 999.0);
        close(s.p9999, 1000.0);
        // Uniform 1..=1000 ms: standard deviation sqrt((1000² − 1) / 12) ≈ 288.67 ms.
        assert!((s.stddev - 288.67).abs() < 1.0, "{}", s.stddev);
        close(s.max, 1000.0);
        close(s.min, 1.0);
        close(s.mean, 500.5);
        assert_eq!(s.negative_latencies, 0);
        assert_eq!(s.unmeasured, 0);
    }

    #[test]
    fn percentiles_never_below_the_true_value() {
        // HdrHistogram reports highest-equivalent values: never low.
        let s = uniform_1_to_1000_ms().summary();
        assert!(s.p50 >= 500.0 && s.p99 >= 990.0 && s.max >= 1000.0);
    }

    #[test]
    fn empty_histogram_gives_zeros() {
        let s = Latencies::default().summary();
        assert_eq!(s, LatencySummary::default());
        assert!(distribution(&new_histogram()).is_empty());
    }

    #[test]
    fn negative_and_zero_latencies_are_clamped_and_counted() {
        let mut lat = Latencies::default();
        lat.record(1_000_000, 999_000, 3); // 1 ms in the past: skew
        lat.record(1_000_000, 1_000_000, 2); // zero: not negative
        lat.record(1_000_000, 1_005_000, 5);
        let s = lat.summary();
        assert_eq!(s.count, 10);
        assert_eq!(s.negative_latencies, 3);
        assert_eq!(s.min, 0.001);
        close(s.max, 5.0);
    }

    #[test]
    fn huge_latencies_saturate_at_one_hour() {
        let mut lat = Latencies::default();
        lat.record(0, 10 * 3_600_000_000, 1);
        let s = lat.summary();
        assert_eq!(s.count, 1);
        close(s.max, 3_600_000.0);
    }

    #[test]
    fn groups_use_offset_and_count_unmeasured() {
        let created: HashMap<String, i64> = [
            ("a.csv".to_string(), 1_000_000),
            ("b.csv".to_string(), 2_000_000),
        ]
        .into_iter()
        .collect();
        let groups = vec![
            CommitGroup {
                source_file: "a.csv".into(),
                commit_us: Some(1_600_000),
                rows: 10,
            },
            CommitGroup {
                source_file: "b.csv".into(),
                commit_us: Some(2_600_000),
                rows: 5,
            },
            CommitGroup {
                source_file: "b.csv".into(),
                commit_us: None,
                rows: 2,
            },
            CommitGroup {
                source_file: "zzz.csv".into(),
                commit_us: Some(9),
                rows: 1,
            },
        ];
        // Server clock 500 ms ahead: true latency 100 ms for every row.
        let lat = Latencies::from_groups(&groups, &created, 500_000);
        let s = lat.summary();
        assert_eq!(s.count, 15);
        assert_eq!(s.unmeasured, 3);
        close(s.p50, 100.0);
        close(s.max, 100.0);
        assert_eq!(lat.first_commit_us, Some(1_100_000));
        assert_eq!(lat.last_commit_us, Some(2_100_000));
        assert_eq!(lat.found_per_file["b.csv"], 7);
        assert_eq!(lat.found_per_file["a.csv"], 10);
    }

    #[test]
    fn distribution_of_uniform_latencies() {
        let lat = uniform_1_to_1000_ms();
        let rows = distribution(&lat.histogram);
        let got: Vec<(&str, u64)> = rows.iter().map(|r| (r.range.as_str(), r.count)).collect();
        // Values exactly on an edge count in the range above it.
        assert_eq!(
            got,
            vec![
                ("1 ms – 2 ms", 1),
                ("2 ms – 5 ms", 3),
                ("5 ms – 10 ms", 5),
                ("10 ms – 20 ms", 10),
                ("20 ms – 50 ms", 30),
                ("50 ms – 100 ms", 50),
                ("100 ms – 250 ms", 150),
                ("250 ms – 500 ms", 250),
                ("500 ms – 1 s", 500),
                ("1 s – 2 s", 1),
            ]
        );
        let total: u64 = rows.iter().map(|r| r.count).sum();
        assert_eq!(total, 1000);
        let pct: f64 = rows.iter().map(|r| r.percent).sum();
        assert!((pct - 100.0).abs() < 1e-6, "percents sum to {pct}");
        assert_eq!(rows.last().unwrap().cumulative_percent, 100.0);
        assert_eq!(rows[0].percent, 0.1);
        assert_eq!(rows[8].cumulative_percent, 99.9);
        assert_eq!(rows[8].percent, 50.0);
        for w in rows.windows(2) {
            assert!(w[0].cumulative_percent <= w[1].cumulative_percent);
            assert_eq!(w[0].to_ms, Some(w[1].from_ms), "no gaps between ranges");
        }
        assert_eq!(rows[0].from_ms, 1.0);
        assert_eq!(rows.last().unwrap().to_ms, Some(2000.0));
    }

    #[test]
    fn distribution_keeps_inner_empty_ranges_and_open_last_range() {
        let mut lat = Latencies::default();
        lat.record(0, 3_000, 2); // 3 ms
        lat.record(0, 700_000_000, 2); // 700 s
        let rows = distribution(&lat.histogram);
        assert_eq!(rows.first().unwrap().range, "2 ms – 5 ms");
        assert_eq!(rows.last().unwrap().range, "≥ 600 s");
        assert_eq!(rows.last().unwrap().to_ms, None);
        assert_eq!(rows.iter().filter(|r| r.count > 0).count(), 2);
        assert!(rows.len() > 2);
        assert_eq!(rows[0].percent, 50.0);
        assert_eq!(rows.last().unwrap().cumulative_percent, 100.0);
    }

    #[test]
    fn distribution_with_custom_edges_and_clamped_values() {
        let mut lat = Latencies::default();
        lat.record(10, 0, 4); // negative: clamped to 1 µs, first range
        lat.record(0, 15_000, 1);
        let rows = distribution_with_edges(&lat.histogram, &[0, 10_000, 50_000]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].range.as_str(), rows[0].count), ("0 – 10 ms", 4));
        assert_eq!(
            (rows[1].range.as_str(), rows[1].count),
            ("10 ms – 50 ms", 1)
        );
        assert_eq!(rows[0].percent, 80.0);
        assert_eq!(rows[1].cumulative_percent, 100.0);
    }

    #[test]
    fn thirds_still_end_at_100() {
        let mut lat = Latencies::default();
        lat.record(0, 1_500, 1);
        lat.record(0, 3_000, 1);
        lat.record(0, 7_000, 1);
        let rows = distribution(&lat.histogram);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].percent, 33.333);
        assert_eq!(rows[1].cumulative_percent, 66.667);
        assert_eq!(rows[2].cumulative_percent, 100.0);
    }

    #[test]
    fn missing_never_negative() {
        assert_eq!(missing_rows(100, 90), 10);
        assert_eq!(missing_rows(100, 100), 0);
        assert_eq!(missing_rows(100, 120), 0);
        assert_eq!(missing_rows(0, 0), 0);
    }

    #[test]
    fn success_rate() {
        assert_eq!(success_rate_pct(200, 199), 99.5);
        assert_eq!(success_rate_pct(0, 0), 100.0);
        assert_eq!(success_rate_pct(3, 1), 33.333);
    }

    #[test]
    fn throughput_over_the_run() {
        assert_eq!(throughput_rows_per_s(1000, Some(0), Some(2_000_000)), 500.0);
        assert_eq!(throughput_rows_per_s(1000, None, Some(2_000_000)), 0.0);
        assert_eq!(throughput_rows_per_s(1000, Some(5), Some(5)), 0.0);
        assert_eq!(throughput_rows_per_s(1000, Some(9), Some(5)), 0.0);
    }

    #[test]
    fn batch_figures() {
        let batches: Vec<BatchRecord> = (0..20)
            .map(|i| BatchRecord {
                batch_id: i,
                file_count: 2,
                rows_read: 100 + i as u64,
                rows_rejected: 1,
                rows_deduped: 2,
                rows_upserted: 97,
                started_us: i * 1_000_000,
                committed_us: i * 1_000_000 + (i + 1) * 10_000, // 10..200 ms
                parse_ms: 1.0,
                transform_ms: 2.0,
                write_ms: 3.0 + i as f64,
                ..BatchRecord::default()
            })
            .collect();
        let s = batch_summary(&batches);
        assert_eq!(s.count, 20);
        assert_eq!(s.time_ms_p50, 100.0);
        assert_eq!(s.time_ms_p95, 190.0);
        assert_eq!(s.time_ms_max, 200.0);
        assert_eq!(s.time_ms_mean, 105.0);
        assert_eq!(s.rows_per_batch_mean, 109.5);
        assert_eq!(s.files_per_batch_mean, 2.0);
        assert_eq!(s.rows_read, (100..120).sum::<u64>());
        assert_eq!(s.rows_rejected, 20);
        assert_eq!(s.rows_deduped, 40);
        assert_eq!(s.rows_upserted, 97 * 20);
        assert_eq!(s.parse_ms_mean, 1.0);
        assert_eq!(s.transform_ms_mean, 2.0);
        assert_eq!(s.write_ms_mean, 12.5);
        assert_eq!(s.start_gap_ms_p50, 1000.0);
        assert_eq!(s.start_gap_ms_max, 1000.0);
        assert_eq!(batch_summary(&[]), BatchSummary::default());
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 0.5), 5.0);
        assert_eq!(percentile_sorted(&v, 0.95), 10.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&[7.0], 0.95), 7.0);
        assert_eq!(percentile_sorted(&[], 0.5), 0.0);
    }

    #[test]
    fn median_of_gaps() {
        assert_eq!(median_gap(&[0.0, 1.0, 2.0, 4.0]), Some(1.0));
        assert_eq!(median_gap(&[0.0, 0.0, 3.0]), Some(3.0));
        assert_eq!(median_gap(&[5.0]), None);
        assert_eq!(median_gap::<f64>(&[]), None);
    }

    #[test]
    fn weighted_percentiles_are_nearest_rank() {
        let values: Vec<(f64, u64)> = (1..=100).map(|v| (f64::from(v), 1)).collect();
        assert_eq!(
            weighted_percentiles(&values, &[0.5, 0.95, 0.99, 1.0, 0.0]),
            vec![50.0, 95.0, 99.0, 100.0, 1.0]
        );
        // Weights: 90 rows at 10 ms, 10 rows at 500 ms.
        let w = [(500.0, 10), (10.0, 90)];
        assert_eq!(
            weighted_percentiles(&w, &[0.5, 0.9, 0.91, 0.95]),
            vec![10.0, 10.0, 500.0, 500.0]
        );
        assert_eq!(weighted_percentiles(&[], &[0.5]), vec![0.0]);
    }

    #[test]
    fn medians_are_the_lower_middle() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[9.5, 1.25, 1.5]), 1.5);
        assert_eq!(median(&[4.0, 1.0]), 1.0);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median_gap(&[40_i64, 0, 10, 20]), Some(10));
    }
}
