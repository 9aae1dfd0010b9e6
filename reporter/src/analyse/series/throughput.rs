//! Rows per second generated and committed, in buckets, and the backlog of files waiting.

use super::{
    fine_nice_up, sorted_times, FileWindow, Throughput, TimedRows, DEFAULT_WINDOW_S,
    MAX_THROUGHPUT_BUCKETS, MIN_BUCKET_S,
};
use crate::stats::median_gap;

pub(super) fn distinct_gap(series: &[TimedRows]) -> Option<f64> {
    let mut xs = sorted_times(series.iter().map(|t| t.at_s));
    xs.dedup();
    median_gap(&xs)
}

/// The throughput bucket, seconds: [`fine_nice_up`] of the largest of 1/120
/// of the span (first to last instant of either series), the typical gap
/// between files, the batch cadence (`cadence_s`, else the typical gap
/// between commits: a bucket narrower than the trigger holds no commit
/// half the time) and [`MIN_BUCKET_S`].
pub fn throughput_bucket_s(
    generated: &[TimedRows],
    committed: &[TimedRows],
    cadence_s: Option<f64>,
) -> f64 {
    let all = sorted_times(generated.iter().chain(committed).map(|t| t.at_s));
    let span = match (all.first(), all.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    let cadence = cadence_s.or_else(|| distinct_gap(committed)).unwrap_or(0.0);
    fine_nice_up(
        (span / MAX_THROUGHPUT_BUCKETS)
            .max(distinct_gap(generated).unwrap_or(0.0))
            .max(cadence)
            .max(MIN_BUCKET_S),
    )
}

/// Buckets of `bucket_s` seconds, aligned to multiples of it, from the
/// earliest instant of either series to the latest (the last bucket ends
/// there); rows spread as [`Throughput`] says, generated ones over up to the
/// typical gap between files, committed ones over up to `cadence_s` (else
/// the typical gap between commits). Each series' bucket sums equal its rows.
pub fn throughput(
    generated: &[TimedRows],
    committed: &[TimedRows],
    bucket_s: f64,
    cadence_s: Option<f64>,
) -> Throughput {
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
    let start = (min / bucket_s).floor() * bucket_s;
    let count = (((max - start) / bucket_s).ceil() as usize).max(1);
    let mut edges: Vec<f64> = (0..count).map(|i| start + i as f64 * bucket_s).collect();
    edges.push(max.max(edges[count - 1]));
    let reach_generated = distinct_gap(generated).unwrap_or(0.0);
    let reach_committed = cadence_s.or_else(|| distinct_gap(committed)).unwrap_or(0.0);
    Throughput {
        generated: spread(generated, reach_generated, &edges, bucket_s),
        committed: spread(committed, reach_committed, &edges, bucket_s),
        edges,
        bucket_s,
    }
}

/// Each instant's rows spread evenly over `[instant − reach, instant]`
/// (within the first edge), summed per bucket; rows with nothing to spread
/// over fall whole into their instant's bucket. The reach alone bounds the
/// spread, not the previous instant: the rows of one batch may carry commit
/// times a few ms apart, and the later ones must not crowd into those ms.
pub(super) fn spread(series: &[TimedRows], reach_s: f64, edges: &[f64], bucket_s: f64) -> Vec<f64> {
    let n = edges.len() - 1;
    let mut out = vec![0.0; n];
    let bucket_of = |x: f64| {
        let i = ((x - edges[0]) / bucket_s).floor();
        if i > 0.0 {
            (i as usize).min(n - 1)
        } else {
            0
        }
    };
    for t in series {
        let rows = t.rows as f64;
        let (from, to) = ((t.at_s - reach_s).max(edges[0]), t.at_s);
        if to <= from {
            out[bucket_of(to)] += rows;
            continue;
        }
        for (i, slot) in out
            .iter_mut()
            .enumerate()
            .take(bucket_of(to) + 1)
            .skip(bucket_of(from))
        {
            let overlap = to.min(edges[i + 1]) - from.max(edges[i]);
            if overlap > 0.0 {
                *slot += rows * overlap / (to - from);
            }
        }
    }
    out
}

/// Files visible but not yet committed, as steps `(instant, files waiting
/// from then on)` at each instant the count changes, in time order. A file
/// committed before it was visible (clock skew) never waits.
pub fn backlog(files: &[FileWindow]) -> Vec<(f64, u64)> {
    let mut changes: Vec<(f64, i64)> = Vec::with_capacity(files.len() * 2);
    for f in files {
        match f.committed_s {
            Some(c) if c <= f.visible_s => {}
            Some(c) => {
                changes.push((f.visible_s, 1));
                changes.push((c, -1));
            }
            None => changes.push((f.visible_s, 1)),
        }
    }
    changes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut steps: Vec<(f64, u64)> = Vec::new();
    let mut level: i64 = 0;
    for (t, delta) in changes {
        level += delta;
        let value = level.max(0) as u64;
        match steps.last_mut() {
            Some(last) if last.0 == t => last.1 = value,
            _ => steps.push((t, value)),
        }
    }
    steps
}

/// `steps` as they are when at most `max_steps`; otherwise the peak of each
/// of `columns` equal slices of their span (what was waiting when it was
/// worst), then the final level at the last instant.
pub fn peak_steps(steps: &[(f64, u64)], max_steps: usize, columns: usize) -> Vec<(f64, u64)> {
    if steps.len() <= max_steps || columns == 0 {
        return steps.to_vec();
    }
    let (first, last) = (steps[0].0, steps[steps.len() - 1].0);
    let width = (last - first) / columns as f64;
    let mut out = Vec::with_capacity(columns + 1);
    let (mut i, mut level) = (0, 0);
    for c in 0..columns {
        let end = first + (c + 1) as f64 * width;
        let mut peak = level;
        while i < steps.len() && (steps[i].0 < end || c == columns - 1) {
            level = steps[i].1;
            peak = peak.max(level);
            i += 1;
        }
        out.push((first + c as f64 * width, peak));
    }
    out.push((last, level));
    out
}
