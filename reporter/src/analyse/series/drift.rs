//! The first quarter of a run against its last: resource means and latency P95.

use super::{ChartInput, LatencyPoint, MIB};
use crate::stats::weighted_percentiles;
use crate::summary::{round3, Drift, Quarters};

/// `points` as they are when at most `max`; otherwise the mean time and
/// mean value of each of `bins` equal time slices that holds a point.
pub fn bin_means(points: &[(f64, f64)], max: usize, bins: usize) -> Vec<(f64, f64)> {
    let Some((lo, hi)) = points.iter().map(|p| p.0).fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((f64::min(lo, t), f64::max(hi, t))),
    }) else {
        return Vec::new();
    };
    if points.len() <= max || hi <= lo || bins == 0 {
        return points.to_vec();
    }
    let mut sums = vec![(0.0, 0.0, 0usize); bins];
    for &(t, v) in points {
        let i = (((t - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1);
        sums[i].0 += t;
        sums[i].1 += v;
        sums[i].2 += 1;
    }
    sums.into_iter()
        .filter(|s| s.2 > 0)
        .map(|(t, v, n)| (t / n as f64, v / n as f64))
        .collect()
}

/// `(first, last)` quarter of `[lo, hi]`: instants at or before
/// `lo + span/4`, and at or after `hi − span/4`.
pub(super) fn quarter_of(t: f64, lo: f64, hi: f64) -> (bool, bool) {
    let q = (hi - lo) / 4.0;
    (t <= lo + q, t >= hi - q)
}

/// Mean value over the first and over the last quarter of the values' time
/// span (`(t, value)`); `None` when the span is 0.
pub fn quarter_means(values: &[(f64, f64)]) -> Option<Quarters> {
    let lo = values.iter().map(|v| v.0).reduce(f64::min)?;
    let hi = values.iter().map(|v| v.0).reduce(f64::max)?;
    if hi <= lo {
        return None;
    }
    let mean = |pick: fn((bool, bool)) -> bool| {
        let (sum, n) = values
            .iter()
            .filter(|v| pick(quarter_of(v.0, lo, hi)))
            .fold((0.0, 0usize), |(s, n), v| (s + v.1, n + 1));
        sum / n as f64
    };
    Some(Quarters {
        first: round3(mean(|q| q.0)),
        last: round3(mean(|q| q.1)),
        span_s: round3(hi - lo),
    })
}

/// Row-weighted P95 latency of the files created in the first and in the
/// last quarter of the creation span; `None` when the span is 0.
pub fn quarter_p95(points: &[LatencyPoint]) -> Option<Quarters> {
    let rows = || points.iter().filter(|p| p.rows > 0);
    let lo = rows().map(|p| p.created_s).reduce(f64::min)?;
    let hi = rows().map(|p| p.created_s).reduce(f64::max)?;
    if hi <= lo {
        return None;
    }
    let p95 = |pick: fn((bool, bool)) -> bool| {
        let values: Vec<(f64, u64)> = rows()
            .filter(|p| pick(quarter_of(p.created_s, lo, hi)))
            .map(|p| (p.latency_ms, p.rows))
            .collect();
        weighted_percentiles(&values, &[0.95])[0]
    };
    Some(Quarters {
        first: round3(p95(|q| q.0)),
        last: round3(p95(|q| q.1)),
        span_s: round3(hi - lo),
    })
}

/// The drift figures of a run: pipeline RSS (MiB) from the resource
/// samples, P95 latency from the latency points.
pub fn drift(input: &ChartInput) -> Drift {
    let rss: Vec<(f64, f64)> = input
        .resources
        .iter()
        .map(|s| (s.t_s, s.pipeline_rss_bytes as f64 / MIB))
        .collect();
    Drift {
        pipeline_rss_mb: quarter_means(&rss),
        latency_p95_ms: quarter_p95(&input.points),
    }
}
