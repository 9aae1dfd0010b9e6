//! The numbers behind the charts: latency points in time, moving averages,
//! rolling percentiles, histogram bins, the cumulative distribution and
//! throughput buckets.
//!
//! Everything here is pure (no I/O, no drawing), so every line a chart draws
//! is checked by a unit test against known input; [`crate::charts`] only
//! draws what these functions return.
//!
//! Time is in seconds since the first file of the manifest was created (its
//! `created_at_us`); latency is in milliseconds. Rows are the weights: a
//! point stands for all the rows of one file that one commit made visible,
//! so a file of 1,000 rows counts 1,000 times in every average, percentile
//! and bin, exactly as in the report's HdrHistogram.

use crate::manifest::ManifestFacts;
use crate::stats::CommitGroup;

/// Window used when the run has no time span (one file, or all files created
/// at the same instant), in seconds.
pub const DEFAULT_WINDOW_S: f64 = 1.0;
/// A rolling window spans at least this share of the run: 1/30.
pub const WINDOW_SHARE_OF_SPAN: f64 = 1.0 / 30.0;
/// ... and at least this many typical gaps between files, so each window
/// holds several files.
pub const WINDOW_MIN_GAPS: f64 = 4.0;
/// Most evaluation instants of a rolling series (a line of more vertices
/// than the chart has pixels only makes the file bigger).
pub const MAX_ROLLING_CENTERS: usize = 600;
/// Bins the latency histogram aims for.
pub const HISTOGRAM_TARGET_BINS: usize = 40;
/// The histogram and the latency axis stop at P99.9 when the largest
/// latency is more than this many times P99.9 (a few stragglers would
/// squeeze every other row into one bin or one line); the rows beyond are
/// counted and named in the chart. See [`tail_cut`].
pub const TAIL_FACTOR: f64 = 2.0;
/// Most points of the cumulative distribution curve.
pub const MAX_CDF_POINTS: usize = 1000;
/// A throughput bucket spans at least this share of the run: 1/60.
pub const BUCKET_SHARE_OF_SPAN: f64 = 1.0 / 60.0;
/// ... and at least this many typical gaps between files or between commits,
/// so a micro-batch trigger does not turn the committed line into a comb.
pub const BUCKET_MIN_GAPS: f64 = 2.0;
/// ... and at least a second: rows per second over less than a second of a
/// sub-second run is noise.
pub const MIN_BUCKET_S: f64 = 1.0;

/// Rows of one file made visible by one commit, placed in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyPoint {
    /// When the file was created, seconds since the first file was created.
    pub created_s: f64,
    /// Latency of these rows (commit − file creation), ms.
    pub latency_ms: f64,
    /// Rows in the group.
    pub rows: u64,
}

/// Rows at an instant: a file's generated rows at its creation, or a
/// commit's rows at its commit time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedRows {
    /// Seconds since the first file was created.
    pub at_s: f64,
    /// Rows.
    pub rows: u64,
}

/// Everything the charts are drawn from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartInput {
    /// One point per (file, commit) group with a known commit time and a
    /// file in the manifest, ordered by creation time.
    pub points: Vec<LatencyPoint>,
    /// Generated rows per manifest file at its creation time, in time order.
    pub generated: Vec<TimedRows>,
    /// Found rows per commit group at its commit time, in time order.
    pub committed: Vec<TimedRows>,
}

impl ChartInput {
    /// Places the manifest's files and the database's commit groups in time.
    ///
    /// `offset_us` (server clock − local clock) is subtracted from each
    /// commit time, as for the report's figures. Latencies below 1 µs (clock
    /// skew) are shown as 1 µs, as the histogram records them; groups without
    /// a commit time or of a file the manifest lacks are left out, as they
    /// are from the latency figures.
    pub fn from_run(facts: &ManifestFacts, groups: &[CommitGroup], offset_us: i64) -> Self {
        let Some(origin_us) = facts.first_created_us else {
            return ChartInput::default();
        };
        let seconds = |us: i64| us.saturating_sub(origin_us) as f64 / 1e6;
        let mut generated: Vec<TimedRows> = facts
            .files
            .iter()
            .filter_map(|file| {
                let created = *facts.created_at_us.get(file)?;
                let rows = facts.generated_per_file.get(file).copied().unwrap_or(0);
                Some(TimedRows {
                    at_s: seconds(created),
                    rows,
                })
            })
            .collect();
        let mut points = Vec::with_capacity(groups.len());
        let mut committed = Vec::with_capacity(groups.len());
        for g in groups {
            let (Some(commit_us), Some(&created_us)) =
                (g.commit_us, facts.created_at_us.get(&g.source_file))
            else {
                continue;
            };
            if g.rows == 0 {
                continue;
            }
            let commit_us = commit_us.saturating_sub(offset_us);
            let latency_us = commit_us.saturating_sub(created_us).max(1);
            points.push(LatencyPoint {
                created_s: seconds(created_us),
                latency_ms: latency_us as f64 / 1000.0,
                rows: g.rows,
            });
            committed.push(TimedRows {
                at_s: seconds(commit_us),
                rows: g.rows,
            });
        }
        points.sort_by(|a, b| {
            a.created_s
                .total_cmp(&b.created_s)
                .then(a.latency_ms.total_cmp(&b.latency_ms))
        });
        generated.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        committed.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        ChartInput {
            points,
            generated,
            committed,
        }
    }

    /// Rows behind the latency points.
    pub fn latency_rows(&self) -> u64 {
        self.points.iter().map(|p| p.rows).sum()
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ that is ≥ `x` (1 for zero, negative or
/// non-finite `x`). Windows and bins of these sizes read well on an axis.
pub fn nice_up(x: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return 1.0;
    }
    let exp = x.log10().floor() as i32;
    // m / 10ⁿ (both exact) rounds to the same double as the literal, so
    // nice_up(0.15) is exactly 0.2.
    let scaled = |m: f64, e: i32| {
        if e >= 0 {
            m * 10f64.powi(e)
        } else {
            m / 10f64.powi(-e)
        }
    };
    for e in [exp - 1, exp, exp + 1] {
        for m in [1.0, 2.0, 5.0] {
            let v = scaled(m, e);
            if v >= x {
                return v;
            }
        }
    }
    scaled(1.0, exp + 2)
}

/// Median of the positive gaps between consecutive values of a sorted
/// sequence; `None` when there is no positive gap.
pub fn median_gap(sorted: &[f64]) -> Option<f64> {
    let mut gaps: Vec<f64> = sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&g| g > 0.0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    Some(gaps[(gaps.len() - 1) / 2])
}

fn sorted_times(times: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = times.collect();
    v.sort_by(f64::total_cmp);
    v
}

fn distinct_sorted_created(points: &[LatencyPoint]) -> Vec<f64> {
    let mut xs = sorted_times(points.iter().map(|p| p.created_s));
    xs.dedup();
    xs
}

/// The rolling window for the latency-over-time charts, seconds:
/// [`nice_up`] of the larger of 1/30 of the creation-time span and four
/// typical gaps between files; [`DEFAULT_WINDOW_S`] when the span is 0.
pub fn rolling_window_s(points: &[LatencyPoint]) -> f64 {
    let xs = distinct_sorted_created(points);
    let span = match (xs.first(), xs.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    if span <= 0.0 {
        return DEFAULT_WINDOW_S;
    }
    let gap = median_gap(&xs).unwrap_or(0.0);
    nice_up((span * WINDOW_SHARE_OF_SPAN).max(gap * WINDOW_MIN_GAPS))
}

/// Where a rolling series is evaluated: every distinct creation time when
/// there are at most `max` of them (each window then holds at least its
/// centre's point), otherwise `max` evenly spaced instants from the first to
/// the last.
pub fn rolling_centers(points: &[LatencyPoint], max: usize) -> Vec<f64> {
    let xs = distinct_sorted_created(points);
    if xs.len() <= max.max(2) {
        return xs;
    }
    let (first, last) = (xs[0], xs[xs.len() - 1]);
    let n = max.max(2);
    (0..n)
        .map(|i| first + (last - first) * i as f64 / (n - 1) as f64)
        .collect()
}

/// The points sorted by creation time, and for each centre the index range
/// of the points inside `[centre − window/2, centre + window/2]`.
fn windows(
    points: &[LatencyPoint],
    window_s: f64,
    centers: &[f64],
) -> (Vec<LatencyPoint>, Vec<(f64, std::ops::Range<usize>)>) {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.created_s.total_cmp(&b.created_s));
    let mut centers = centers.to_vec();
    centers.sort_by(f64::total_cmp);
    let half = window_s.max(0.0) / 2.0;
    let (mut lo, mut hi) = (0, 0);
    let mut ranges = Vec::with_capacity(centers.len());
    for c in centers {
        while lo < sorted.len() && sorted[lo].created_s < c - half {
            lo += 1;
        }
        hi = hi.max(lo);
        while hi < sorted.len() && sorted[hi].created_s <= c + half {
            hi += 1;
        }
        ranges.push((c, lo..hi));
    }
    (sorted, ranges)
}

/// Row-weighted mean latency of the points whose creation time lies within
/// `window_s / 2` of each centre (inclusive), as `(centre, mean ms)`. Centres
/// whose window holds no row are left out.
pub fn moving_average(points: &[LatencyPoint], window_s: f64, centers: &[f64]) -> Vec<(f64, f64)> {
    let (sorted, ranges) = windows(points, window_s, centers);
    ranges
        .into_iter()
        .filter_map(|(c, range)| {
            let (sum, rows) = sorted[range].iter().fold((0.0, 0u64), |(s, n), p| {
                (s + p.latency_ms * p.rows as f64, n + p.rows)
            });
            (rows > 0).then(|| (c, sum / rows as f64))
        })
        .collect()
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

/// P50, P95 and P99 of one rolling window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentilesAt {
    /// Centre of the window, seconds since the first file was created.
    pub at_s: f64,
    /// Median latency in the window, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
}

/// [`weighted_percentiles`] P50/P95/P99 of the rows in each window (as in
/// [`moving_average`]). Centres whose window holds no row are left out.
pub fn rolling_percentiles(
    points: &[LatencyPoint],
    window_s: f64,
    centers: &[f64],
) -> Vec<PercentilesAt> {
    let (sorted, ranges) = windows(points, window_s, centers);
    ranges
        .into_iter()
        .filter_map(|(c, range)| {
            let values: Vec<(f64, u64)> = sorted[range]
                .iter()
                .map(|p| (p.latency_ms, p.rows))
                .collect();
            if values.iter().all(|v| v.1 == 0) {
                return None;
            }
            let p = weighted_percentiles(&values, &[0.50, 0.95, 0.99]);
            Some(PercentilesAt {
                at_s: c,
                p50: p[0],
                p95: p[1],
                p99: p[2],
            })
        })
        .collect()
}

/// The cumulative distribution of row latencies: `(latency ms, percent of
/// rows ≤ it)` at each distinct latency, ascending, ending at exactly 100.
///
/// With more than `max_points` distinct latencies the curve is thinned: a
/// point is kept when it is at least 1/`max_points` of the latency range or
/// of 100 % past the last kept one; the last point is always kept. Every kept
/// point is exact.
pub fn cdf(points: &[LatencyPoint], max_points: usize) -> Vec<(f64, f64)> {
    let mut values: Vec<(f64, u64)> = points
        .iter()
        .filter(|p| p.rows > 0)
        .map(|p| (p.latency_ms, p.rows))
        .collect();
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = values.iter().map(|v| v.1).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut steps: Vec<(f64, u64)> = Vec::with_capacity(values.len());
    let mut cumulative = 0u64;
    for (v, rows) in values {
        cumulative += rows;
        match steps.last_mut() {
            Some(last) if last.0 == v => last.1 = cumulative,
            _ => steps.push((v, cumulative)),
        }
    }
    let pct = |c: u64| c as f64 * 100.0 / total as f64;
    if steps.len() <= max_points.max(2) {
        return steps.into_iter().map(|(v, c)| (v, pct(c))).collect();
    }
    let min_dx = (steps[steps.len() - 1].0 - steps[0].0) / max_points as f64;
    let min_dy = 100.0 / max_points as f64;
    let mut out = vec![(steps[0].0, pct(steps[0].1))];
    let last = steps.len() - 1;
    for (i, &(v, c)) in steps.iter().enumerate().skip(1) {
        let (kx, ky) = out[out.len() - 1];
        if i == last || v - kx >= min_dx || pct(c) - ky >= min_dy {
            out.push((v, pct(c)));
        }
    }
    out
}

/// Where a latency axis should stop: `Some(P99.9)` when the largest latency
/// is more than [`TAIL_FACTOR`] × the row-weighted P99.9 (so at most 0.1 %
/// of the rows lie beyond), `None` when the whole range reads well.
/// `values` is `(latency, rows)`.
pub fn tail_cut(values: &[(f64, u64)]) -> Option<f64> {
    let max = values
        .iter()
        .filter(|v| v.1 > 0)
        .map(|v| v.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let p999 = weighted_percentiles(values, &[0.999])[0];
    (max > p999 * TAIL_FACTOR).then_some(p999)
}

/// One bar of the latency histogram: `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Lower edge, ms (inclusive).
    pub from_ms: f64,
    /// Upper edge, ms (exclusive).
    pub to_ms: f64,
    /// Rows in the bin.
    pub rows: u64,
}

/// The latency histogram's bins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LatencyBins {
    /// Width of every bin, ms (a 1–2–5 number).
    pub width_ms: f64,
    /// Contiguous bins from below the smallest latency, ascending.
    pub bins: Vec<Bin>,
    /// Rows above the last bin (only when the tail was cut at P99.9).
    pub overflow_rows: u64,
}

/// Bins of equal 1–2–5 width (about `target_bins` of them) from the
/// smallest latency to the largest, or to P99.9 when [`tail_cut`] says so
/// (the rows beyond go to `overflow_rows`). When every latency is the same there is one bin around
/// it. Bin rows plus overflow rows always equal the rows of the points.
pub fn histogram_bins(points: &[LatencyPoint], target_bins: usize) -> LatencyBins {
    let values: Vec<(f64, u64)> = points
        .iter()
        .filter(|p| p.rows > 0)
        .map(|p| (p.latency_ms, p.rows))
        .collect();
    if values.is_empty() {
        return LatencyBins::default();
    }
    let min = values.iter().map(|v| v.0).fold(f64::INFINITY, f64::min);
    let max = values.iter().map(|v| v.0).fold(f64::NEG_INFINITY, f64::max);
    let top = tail_cut(&values).unwrap_or(max);
    let width = if top > min {
        nice_up((top - min) / target_bins.max(1) as f64)
    } else {
        // One value: a bin of about a tenth of it around it.
        nice_up((min * 0.1).max(0.001))
    };
    let start = if top > min {
        (min / width).floor() * width
    } else {
        // Centred on the one value, so the bar sits on its mean and P95 lines.
        min - width / 2.0
    };
    let count = (((top - start) / width).floor() as usize + 1).max(1);
    let mut rows = vec![0u64; count];
    let mut overflow_rows = 0;
    for (v, n) in values {
        if v > top {
            overflow_rows += n;
            continue;
        }
        let i = ((v - start) / width).floor();
        let i = if i.is_finite() && i > 0.0 {
            (i as usize).min(count - 1)
        } else {
            0
        };
        rows[i] += n;
    }
    let bins = rows
        .into_iter()
        .enumerate()
        .map(|(i, rows)| Bin {
            from_ms: start + i as f64 * width,
            to_ms: start + (i + 1) as f64 * width,
            rows,
        })
        .collect();
    LatencyBins {
        width_ms: width,
        bins,
        overflow_rows,
    }
}

/// Rows per time bucket, generated and committed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Throughput {
    /// Start of the first bucket, seconds since the first file was created.
    pub start_s: f64,
    /// Width of every bucket, seconds.
    pub bucket_s: f64,
    /// Generated rows per bucket (files by creation time).
    pub generated: Vec<u64>,
    /// Committed rows per bucket (commit groups by commit time).
    pub committed: Vec<u64>,
}

impl Throughput {
    /// Rows of a bucket as rows per second.
    pub fn rate(&self, rows: u64) -> f64 {
        rows as f64 / self.bucket_s
    }

    /// Start of bucket `i`, seconds.
    pub fn bucket_start(&self, i: usize) -> f64 {
        self.start_s + i as f64 * self.bucket_s
    }
}

/// The throughput bucket, seconds: [`nice_up`] of the largest of 1/60 of
/// the span (first to last instant of either series), two typical gaps
/// (between files or between commits, whichever is longer) and
/// [`MIN_BUCKET_S`].
pub fn throughput_bucket_s(generated: &[TimedRows], committed: &[TimedRows]) -> f64 {
    let all = sorted_times(generated.iter().chain(committed).map(|t| t.at_s));
    let span = match (all.first(), all.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    let gap = |series: &[TimedRows]| {
        let mut xs = sorted_times(series.iter().map(|t| t.at_s));
        xs.dedup();
        median_gap(&xs).unwrap_or(0.0)
    };
    nice_up(
        (span * BUCKET_SHARE_OF_SPAN)
            .max(gap(generated).max(gap(committed)) * BUCKET_MIN_GAPS)
            .max(MIN_BUCKET_S),
    )
}

/// Sums rows into buckets of `bucket_s` seconds covering both series,
/// aligned to multiples of the bucket (the first bucket holds the earliest
/// instant). Each series' bucket sums equal its rows.
pub fn throughput(generated: &[TimedRows], committed: &[TimedRows], bucket_s: f64) -> Throughput {
    let bucket_s = if bucket_s > 0.0 && bucket_s.is_finite() {
        bucket_s
    } else {
        DEFAULT_WINDOW_S
    };
    let times = || generated.iter().chain(committed).map(|t| t.at_s);
    let (Some(min), Some(max)) = (times().reduce(f64::min), times().reduce(f64::max)) else {
        return Throughput {
            bucket_s,
            ..Throughput::default()
        };
    };
    let start_s = (min / bucket_s).floor() * bucket_s;
    let count = ((max - start_s) / bucket_s).floor() as usize + 1;
    let sum = |series: &[TimedRows]| {
        let mut rows = vec![0u64; count];
        for t in series {
            let i = ((t.at_s - start_s) / bucket_s).floor();
            let i = if i > 0.0 {
                (i as usize).min(count - 1)
            } else {
                0
            };
            rows[i] += t.rows;
        }
        rows
    };
    Throughput {
        start_s,
        bucket_s,
        generated: sum(generated),
        committed: sum(committed),
    }
}

/// Keeps one point per cell of a `cols × rows` grid over the given ranges
/// (the first in input order): a scatter of many thousands of points draws
/// the same picture with the points that share a pixel merged, in a much
/// smaller file.
pub fn thin_to_grid(
    points: &[(f64, f64)],
    x_range: (f64, f64),
    y_range: (f64, f64),
    cols: usize,
    rows: usize,
) -> Vec<(f64, f64)> {
    let cell = |v: f64, (lo, hi): (f64, f64), n: usize| {
        if hi > lo {
            (((v - lo) / (hi - lo) * n as f64).floor().max(0.0) as usize).min(n.max(1) - 1)
        } else {
            0
        }
    };
    let mut seen = std::collections::HashSet::new();
    points
        .iter()
        .copied()
        .filter(|&(x, y)| seen.insert((cell(x, x_range, cols), cell(y, y_range, rows))))
        .collect()
}

/// [`thin_to_grid`] over a `width_px × height_px` picture with cells of 2,
/// 3, 4, 6, 8, 12 then 16 px, stopping at the first that keeps at most `max`
/// points: a run of tens of thousands of files still makes a chart of a few
/// hundred kilobytes, and a small one loses nothing visible.
pub fn thin_scatter(
    points: &[(f64, f64)],
    x_range: (f64, f64),
    y_range: (f64, f64),
    (width_px, height_px): (usize, usize),
    max: usize,
) -> Vec<(f64, f64)> {
    let mut kept = Vec::new();
    for cell_px in [2, 3, 4, 6, 8, 12, 16] {
        kept = thin_to_grid(
            points,
            x_range,
            y_range,
            (width_px / cell_px).max(1),
            (height_px / cell_px).max(1),
        );
        if kept.len() <= max {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::entry;

    fn p(created_s: f64, latency_ms: f64, rows: u64) -> LatencyPoint {
        LatencyPoint {
            created_s,
            latency_ms,
            rows,
        }
    }

    fn t(at_s: f64, rows: u64) -> TimedRows {
        TimedRows { at_s, rows }
    }

    #[test]
    fn nice_numbers() {
        assert_eq!(nice_up(1.0), 1.0);
        assert_eq!(nice_up(1.01), 2.0);
        assert_eq!(nice_up(3.0), 5.0);
        assert_eq!(nice_up(7.0), 10.0);
        assert_eq!(nice_up(10.0), 10.0);
        assert_eq!(nice_up(11.0), 20.0);
        assert_eq!(nice_up(120.0), 200.0);
        assert_eq!(nice_up(0.15), 0.2);
        assert_eq!(nice_up(0.05), 0.05);
        assert_eq!(nice_up(0.0021), 0.005);
        assert_eq!(nice_up(0.0), 1.0);
        assert_eq!(nice_up(-3.0), 1.0);
        assert_eq!(nice_up(f64::NAN), 1.0);
    }

    #[test]
    fn median_of_gaps() {
        assert_eq!(median_gap(&[0.0, 1.0, 2.0, 4.0]), Some(1.0));
        assert_eq!(median_gap(&[0.0, 0.0, 3.0]), Some(3.0));
        assert_eq!(median_gap(&[5.0]), None);
        assert_eq!(median_gap(&[]), None);
    }

    #[test]
    fn input_from_a_run() {
        // Files created at 1 s, 2 s, 3 s (µs 1e6, 2e6, 3e6) of 100, 50, 10 rows.
        let facts = ManifestFacts::from_entries(&[
            entry(1, 100, 0, 0),
            entry(2, 50, 5, 2),
            entry(3, 10, 0, 0),
        ]);
        let groups = vec![
            CommitGroup {
                source_file: "events-000002.csv".into(),
                commit_us: Some(2_750_000),
                rows: 43,
            },
            CommitGroup {
                source_file: "events-000001.csv".into(),
                commit_us: Some(1_250_000),
                rows: 60,
            },
            CommitGroup {
                source_file: "events-000001.csv".into(),
                commit_us: Some(1_500_000),
                rows: 40,
            },
            // No commit time, unknown file, zero rows: left out.
            CommitGroup {
                source_file: "events-000003.csv".into(),
                commit_us: None,
                rows: 10,
            },
            CommitGroup {
                source_file: "other.csv".into(),
                commit_us: Some(5_000_000),
                rows: 7,
            },
            CommitGroup {
                source_file: "events-000003.csv".into(),
                commit_us: Some(9_000_000),
                rows: 0,
            },
        ];
        let input = ChartInput::from_run(&facts, &groups, 0);
        assert_eq!(
            input.points,
            vec![p(0.0, 250.0, 60), p(0.0, 500.0, 40), p(1.0, 750.0, 43)]
        );
        assert_eq!(input.latency_rows(), 143);
        assert_eq!(input.generated, vec![t(0.0, 100), t(1.0, 50), t(2.0, 10)]);
        assert_eq!(input.committed, vec![t(0.25, 60), t(0.5, 40), t(1.75, 43)]);

        // A server clock 1 s ahead: commit times are corrected; a commit
        // before its file (skew) is shown as 1 µs.
        let skewed = vec![CommitGroup {
            source_file: "events-000001.csv".into(),
            commit_us: Some(1_900_000),
            rows: 5,
        }];
        let input = ChartInput::from_run(&facts, &skewed, 1_000_000);
        assert_eq!(input.points, vec![p(0.0, 0.001, 5)]);
        assert_eq!(input.committed, vec![t(-0.1, 5)]);

        assert_eq!(
            ChartInput::from_run(&ManifestFacts::default(), &groups, 0),
            ChartInput::default()
        );
    }

    #[test]
    fn moving_average_of_known_points() {
        let points = [
            p(0.0, 10.0, 1),
            p(1.0, 20.0, 1),
            p(2.0, 30.0, 1),
            p(3.0, 40.0, 3),
        ];
        let centers = rolling_centers(&points, 100);
        assert_eq!(centers, vec![0.0, 1.0, 2.0, 3.0]);
        // Window 2 s: each centre sees its neighbours on both sides.
        let ma = moving_average(&points, 2.0, &centers);
        assert_eq!(
            ma,
            vec![
                (0.0, 15.0),                        // (10 + 20) / 2
                (1.0, 20.0),                        // (10 + 20 + 30) / 3
                (2.0, (20.0 + 30.0 + 120.0) / 5.0), // 34
                (3.0, 37.5),                        // (30 + 3 × 40) / 4
            ]
        );
        // Unordered input gives the same answer.
        let mut shuffled = points;
        shuffled.reverse();
        assert_eq!(moving_average(&shuffled, 2.0, &centers), ma);
        // A window narrower than the gaps: each point alone.
        let alone = moving_average(&points, 0.5, &centers);
        assert_eq!(
            alone.iter().map(|m| m.1).collect::<Vec<_>>(),
            [10.0, 20.0, 30.0, 40.0]
        );
        // Empty windows are skipped.
        assert_eq!(moving_average(&points, 0.5, &[0.5, 10.0]), vec![]);
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
    fn rolling_p95_of_known_data() {
        // 100 rows at t = 0 with latencies 1..=100 ms, and at t = 10 s one
        // group of 20 rows at 7 ms.
        let mut points: Vec<LatencyPoint> = (1..=100).map(|v| p(0.0, f64::from(v), 1)).collect();
        points.push(p(10.0, 7.0, 20));
        let rolling = rolling_percentiles(&points, 2.0, &[0.0, 5.0, 10.0]);
        assert_eq!(
            rolling,
            vec![
                PercentilesAt {
                    at_s: 0.0,
                    p50: 50.0,
                    p95: 95.0,
                    p99: 99.0
                },
                PercentilesAt {
                    at_s: 10.0,
                    p50: 7.0,
                    p95: 7.0,
                    p99: 7.0
                },
            ]
        );
        // A window wide enough for both: 120 rows.
        let both = rolling_percentiles(&points, 20.0, &[5.0]);
        // Nearest ranks of 120 rows: 60th, 114th and 119th.
        let mut all: Vec<f64> = (1..=100).map(f64::from).collect();
        all.extend(std::iter::repeat_n(7.0, 20));
        all.sort_by(f64::total_cmp);
        assert_eq!(both[0].p50, all[59]);
        assert_eq!(both[0].p95, all[113]);
        assert_eq!(both[0].p99, all[118]);
    }

    #[test]
    fn window_and_centres_adapt_to_the_run() {
        // 61 files one second apart: span 60 s → 1/30 = 2 s, 4 gaps = 4 s → 5 s.
        let points: Vec<LatencyPoint> = (0..=60).map(|i| p(f64::from(i), 5.0, 1)).collect();
        assert_eq!(rolling_window_s(&points), 5.0);
        // 3,601 files one second apart: 1/30 of an hour = 120 s → 200 s.
        let long: Vec<LatencyPoint> = (0..=3600).map(|i| p(f64::from(i), 5.0, 1)).collect();
        assert_eq!(rolling_window_s(&long), 200.0);
        let centers = rolling_centers(&long, 600);
        assert_eq!(centers.len(), 600);
        assert_eq!((centers[0], centers[599]), (0.0, 3600.0));
        // No span: the default window, one centre.
        let one = [p(0.0, 5.0, 10)];
        assert_eq!(rolling_window_s(&one), DEFAULT_WINDOW_S);
        assert_eq!(rolling_centers(&one, 600), vec![0.0]);
        assert_eq!(rolling_window_s(&[]), DEFAULT_WINDOW_S);
        assert!(rolling_centers(&[], 600).is_empty());
    }

    #[test]
    fn single_point_series() {
        let one = [p(0.0, 42.0, 3)];
        let c = rolling_centers(&one, 600);
        assert_eq!(moving_average(&one, 1.0, &c), vec![(0.0, 42.0)]);
        assert_eq!(
            rolling_percentiles(&one, 1.0, &c),
            vec![PercentilesAt {
                at_s: 0.0,
                p50: 42.0,
                p95: 42.0,
                p99: 42.0
            }]
        );
        assert_eq!(cdf(&one, 100), vec![(42.0, 100.0)]);
        let bins = histogram_bins(&one, 40);
        assert_eq!(bins.bins.len(), 1);
        assert_eq!(bins.bins[0].rows, 3);
        assert!(bins.bins[0].from_ms <= 42.0 && 42.0 < bins.bins[0].to_ms);
        assert_eq!(bins.width_ms, 5.0);
    }

    #[test]
    fn cdf_of_known_points() {
        let points = [
            p(0.0, 20.0, 2),
            p(1.0, 10.0, 1),
            p(2.0, 30.0, 1),
            p(3.0, 20.0, 0),
        ];
        assert_eq!(
            cdf(&points, 100),
            vec![(10.0, 25.0), (20.0, 75.0), (30.0, 100.0)]
        );
        assert!(cdf(&[], 100).is_empty());
    }

    #[test]
    fn cdf_is_thinned_but_exact_and_ends_at_100() {
        let points: Vec<LatencyPoint> = (1..=10_000).map(|v| p(0.0, f64::from(v), 1)).collect();
        let curve = cdf(&points, 100);
        assert!(curve.len() <= 201, "{}", curve.len());
        assert_eq!(curve[0], (1.0, 0.01));
        assert_eq!(curve[curve.len() - 1], (10_000.0, 100.0));
        for w in curve.windows(2) {
            assert!(w[1].0 > w[0].0 && w[1].1 > w[0].1);
        }
        for &(x, y) in &curve {
            // Exact: x ms of 10,000 uniform rows → x / 100 %.
            assert!((y - x / 100.0).abs() < 1e-9);
        }
    }

    #[test]
    fn histogram_bins_cover_every_row() {
        // 1..=1000 ms, one row each: width 1000/40 = 25 → 50 ms bins.
        let points: Vec<LatencyPoint> = (1..=1000).map(|v| p(0.0, f64::from(v), 1)).collect();
        let h = histogram_bins(&points, 40);
        assert_eq!(h.width_ms, 50.0);
        assert_eq!(h.bins[0].from_ms, 0.0);
        assert_eq!(h.bins.len(), 21); // 0–50 … 1000–1050
        assert_eq!(h.bins[0].rows, 49); // 1..=49
        assert_eq!(h.bins[1].rows, 50); // 50..=99
        assert_eq!(h.bins.iter().map(|b| b.rows).sum::<u64>(), 1000);
        assert_eq!(h.overflow_rows, 0);
        for w in h.bins.windows(2) {
            assert_eq!(w[0].to_ms, w[1].from_ms);
        }
    }

    #[test]
    fn histogram_cuts_a_far_tail_at_p999() {
        // 10,000 rows between 100 and 199 ms, and 3 stragglers at 60 s.
        let mut points: Vec<LatencyPoint> = (0..10_000)
            .map(|i| p(0.0, 100.0 + f64::from(i % 100), 1))
            .collect();
        points.push(p(5.0, 60_000.0, 3));
        let h = histogram_bins(&points, 40);
        assert_eq!(h.overflow_rows, 3);
        assert_eq!(h.bins.iter().map(|b| b.rows).sum::<u64>(), 10_000);
        assert!(h.bins[h.bins.len() - 1].to_ms < 300.0);
        assert_eq!(h.width_ms, 5.0);
    }

    #[test]
    fn tail_is_cut_only_when_far() {
        let mut values: Vec<(f64, u64)> = (1..=1000).map(|v| (f64::from(v), 1)).collect();
        assert_eq!(tail_cut(&values), None);
        values.push((5000.0, 1));
        // 1,001 rows: P99.9 is the 1,000th row, 1000 ms; 5 s > 2 × 1 s.
        assert_eq!(tail_cut(&values), Some(1000.0));
        assert_eq!(tail_cut(&[(7.0, 3)]), None);
        assert_eq!(tail_cut(&[]), None);
    }

    #[test]
    fn histogram_of_equal_latencies() {
        let points = vec![p(0.0, 250.0, 10), p(1.0, 250.0, 5)];
        let h = histogram_bins(&points, 40);
        assert_eq!(h.bins.len(), 1);
        assert_eq!(h.bins[0].rows, 15);
        assert_eq!(h.width_ms, 50.0);
        assert_eq!((h.bins[0].from_ms, h.bins[0].to_ms), (225.0, 275.0));
        assert!(histogram_bins(&[], 40).bins.is_empty());
        // 1 µs latencies (clock skew clamps) still get a bin.
        let tiny = histogram_bins(&[p(0.0, 0.001, 4)], 40);
        assert_eq!(tiny.bins.iter().map(|b| b.rows).sum::<u64>(), 4);
    }

    #[test]
    fn throughput_bucket_sums_equal_the_rows() {
        let generated: Vec<TimedRows> = (0..100).map(|i| t(f64::from(i) * 0.1, 10)).collect();
        let committed: Vec<TimedRows> = (1..=10).map(|i| t(f64::from(i) + 0.05, 100)).collect();
        let bucket = throughput_bucket_s(&generated, &committed);
        // Span 10.05 s → 1/60 ≈ 0.17; commits 1 s apart → 2 gaps = 2 s.
        assert_eq!(bucket, 2.0);
        let tp = throughput(&generated, &committed, bucket);
        assert_eq!(tp.start_s, 0.0);
        assert_eq!(tp.generated.len(), 6); // 0–2 … 10–12
        assert_eq!(tp.committed.len(), 6);
        assert_eq!(tp.generated.iter().sum::<u64>(), 1000);
        assert_eq!(tp.committed.iter().sum::<u64>(), 1000);
        assert_eq!(tp.generated[0], 200);
        assert_eq!(tp.committed[0], 100); // 1.05
        assert_eq!(tp.committed[5], 100); // 10.05
        assert_eq!(tp.rate(tp.generated[0]), 100.0);
        assert_eq!(tp.bucket_start(3), 6.0);
    }

    #[test]
    fn throughput_of_a_zero_span_run() {
        let g = [t(0.0, 50)];
        let c = [t(0.0, 50)];
        let bucket = throughput_bucket_s(&g, &c);
        assert_eq!(bucket, MIN_BUCKET_S);
        // A sub-second run still gets one-second buckets.
        assert_eq!(throughput_bucket_s(&g, &[t(0.042, 50)]), MIN_BUCKET_S);
        // An hour: 1/60 = 60 s → 100 s.
        assert_eq!(throughput_bucket_s(&g, &[t(3600.0, 50)]), 100.0);
        let tp = throughput(&g, &c, bucket);
        assert_eq!(
            (tp.generated.clone(), tp.committed.clone()),
            (vec![50], vec![50])
        );
        // A commit before the first file (clock skew) opens an earlier bucket.
        let tp = throughput(&g, &[t(-0.5, 50)], 1.0);
        assert_eq!(tp.start_s, -1.0);
        assert_eq!((tp.generated, tp.committed), (vec![0, 50], vec![50, 0]));
        let empty = throughput(&[], &[], 0.0);
        assert!(empty.generated.is_empty() && empty.bucket_s == DEFAULT_WINDOW_S);
    }

    #[test]
    fn thinning_merges_points_that_share_a_cell() {
        let mut points: Vec<(f64, f64)> = vec![(5.0, 5.0); 10_000];
        points.push((95.0, 95.0));
        points.push((5.2, 5.1));
        let thin = thin_to_grid(&points, (0.0, 100.0), (0.0, 100.0), 100, 100);
        assert_eq!(thin, vec![(5.0, 5.0), (95.0, 95.0)]);
        // Degenerate ranges keep one point per column/row of the other axis.
        let same = thin_to_grid(&[(1.0, 1.0), (1.0, 1.0)], (1.0, 1.0), (1.0, 1.0), 10, 10);
        assert_eq!(same.len(), 1);
    }

    #[test]
    fn scatter_thinning_coarsens_until_under_the_cap() {
        // A 500 × 500 lattice over a 1000 × 500 px picture.
        let points: Vec<(f64, f64)> = (0..250_000)
            .map(|i| (f64::from(i % 500), f64::from(i / 500)))
            .collect();
        let range = (0.0, 500.0);
        // 2 px cells: 500 × 250 = 125,000 > 50,000; 3 px: 333 × 166 = 55,278;
        // 4 px: 250 × 125 = 31,250.
        assert_eq!(
            thin_scatter(&points, range, range, (1000, 500), 50_000).len(),
            31_250
        );
        // Few points: all kept at the finest grid.
        let few = [(1.0, 1.0), (250.0, 250.0), (499.0, 2.0)];
        assert_eq!(
            thin_scatter(&few, range, range, (1000, 500), 10),
            few.to_vec()
        );
    }
}
