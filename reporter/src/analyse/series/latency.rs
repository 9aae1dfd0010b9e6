//! Latency in time: rolling windows, moving averages and percentiles, the cumulative distribution, histogram bins, and thinning a scatter to what a chart can show.

use super::{
    nice_up, sorted_times, LatencyPoint, DEFAULT_WINDOW_S, TAIL_FACTOR, WINDOW_MIN_CADENCES,
    WINDOW_MIN_GAPS, WINDOW_SHARE_OF_SPAN,
};
use crate::stats::{median_gap, weighted_percentiles};

pub(super) fn distinct_sorted_created(points: &[LatencyPoint]) -> Vec<f64> {
    let mut xs = sorted_times(points.iter().map(|p| p.created_s));
    xs.dedup();
    xs
}

/// The rolling window for the latency-over-time charts, seconds:
/// [`nice_up`] of the larger of 1/30 of the creation-time span and four
/// typical gaps between files ([`DEFAULT_WINDOW_S`] when the span is 0);
/// with a batch cadence ([`ChartInput::batch_cadence_s`]) that, rounded up
/// to a whole number of cadences and at least [`WINDOW_MIN_CADENCES`].
pub fn rolling_window_s(points: &[LatencyPoint], cadence_s: Option<f64>) -> f64 {
    let xs = distinct_sorted_created(points);
    let span = match (xs.first(), xs.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    let base = if span <= 0.0 {
        DEFAULT_WINDOW_S
    } else {
        let gap = median_gap(&xs).unwrap_or(0.0);
        nice_up((span * WINDOW_SHARE_OF_SPAN).max(gap * WINDOW_MIN_GAPS))
    };
    match cadence_s.filter(|c| *c > 0.0 && c.is_finite()) {
        // The tolerance keeps 5 / 0.1 = 50.000000000000004 at 50 cadences.
        Some(c) => ((base / c - 1e-9).ceil().max(WINDOW_MIN_CADENCES)) * c,
        None => base,
    }
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
pub(super) fn windows(
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
