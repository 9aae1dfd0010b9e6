//! The numbers behind the charts: latency points in time, moving averages,
//! rolling percentiles, histogram bins, the cumulative distribution,
//! throughput buckets, the backlog of waiting files, resource series and the
//! first-against-last-quarter drift figures.
//!
//! Everything here is pure (no I/O, no drawing), so every line a chart draws
//! is checked by a unit test against known input; [`crate::render::charts`] only
//! draws what these functions return.
//!
//! Time is in seconds since the first file of the manifest was created (its
//! `created_at_us`); latency is in milliseconds. Rows are the weights: a
//! point stands for all the rows of one file that one commit made visible,
//! so a file of 1,000 rows counts 1,000 times in every average, percentile
//! and bin, exactly as in the report's HdrHistogram.

use std::collections::HashMap;

use crate::collect::gather::FileStageRecord;
use crate::collect::manifest::ManifestFacts;
use crate::collect::run_files::ResourceSample;
use crate::stats::{median_gap, weighted_percentiles, CommitGroup};
use crate::summary::{round3, Drift, Interruption, Quarters};

/// Window used when the run has no time span (one file, or all files created
/// at the same instant), in seconds.
pub const DEFAULT_WINDOW_S: f64 = 1.0;
/// A rolling window spans at least this share of the run: 1/30.
pub const WINDOW_SHARE_OF_SPAN: f64 = 1.0 / 30.0;
/// ... and at least this many typical gaps between files, so each window
/// holds several files.
pub const WINDOW_MIN_GAPS: f64 = 4.0;
/// ... and at least this many batch intervals, rounded up to a whole number
/// of them: latency is a sawtooth with the trigger's period (a file created
/// just after a batch starts waits a whole interval, one created just before
/// hardly at all), and only a window of whole periods averages it out.
pub const WINDOW_MIN_CADENCES: f64 = 4.0;
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
/// Most throughput buckets over a run: a bucket spans at least 1/120 of it,
/// which with 1–2–2.5–5 widths gives 60 to 120 buckets when the run's length
/// decides.
pub const MAX_THROUGHPUT_BUCKETS: f64 = 120.0;
/// A throughput bucket is never narrower than this: rows per second over a
/// few milliseconds is noise.
pub const MIN_BUCKET_S: f64 = 0.1;
/// Most vertices of the backlog line; beyond it the line shows the peak of
/// each of [`MAX_ROLLING_CENTERS`] columns (a backlog's peaks are what
/// matter).
pub const MAX_BACKLOG_STEPS: usize = 2000;
/// Most points of a resource line; beyond it samples are averaged in
/// [`MAX_ROLLING_CENTERS`] equal time bins.
pub const MAX_RESOURCE_POINTS: usize = 1200;
/// Bytes in a MiB, the unit of every memory figure.
pub const MIB: f64 = 1024.0 * 1024.0;

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

/// When a manifest file became visible and when the batch that took it
/// committed: the file waits (is backlog) in between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileWindow {
    /// Seconds since the first file was created.
    pub visible_s: f64,
    /// Seconds since the first file was created; `None` when no batch took
    /// it (it waited to the end).
    pub committed_s: Option<f64>,
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
    /// Every manifest file's wait, in order of visibility.
    pub files: Vec<FileWindow>,
    /// The configured trigger interval, seconds; `None` for `continuous`,
    /// `available-now` or unknown.
    pub trigger_interval_s: Option<f64>,
    /// CPU and memory samples of the run, in time order (empty when the run
    /// did not sample).
    pub resources: Vec<ResourceSample>,
    /// Logical CPUs of the host that sampled, when known.
    pub logical_cpus: Option<u64>,
    /// Deliberate interruptions, shaded on every time axis.
    pub interruptions: Vec<Interruption>,
    /// The load phases as `(start, end)`, seconds since the first file was
    /// created, in time order: every other one is banded on the latency and
    /// throughput charts, so a burst lines up with what it caused.
    pub phases: Vec<(f64, f64)>,
}

impl ChartInput {
    /// Places the manifest's files and the database's commit groups in time.
    ///
    /// `offset_us` (server clock − local clock) is subtracted from each
    /// commit time, as for the report's figures. Latencies below 1 µs (clock
    /// skew) are shown as 1 µs, as the histogram records them; groups without
    /// a commit time or of a file the manifest lacks are left out, as they
    /// are from the latency figures.
    ///
    /// A file's wait ends at its batch's `committed_at` in `stages` (so a
    /// quarantined file or one whose rows were all rejected or absorbed ends
    /// too), else at the last commit of its rows, else never.
    pub fn from_run(
        facts: &ManifestFacts,
        groups: &[CommitGroup],
        stages: &[FileStageRecord],
        offset_us: i64,
    ) -> Self {
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

        let mut done_us: HashMap<&str, i64> = HashMap::new();
        for st in stages {
            let at = st.committed_us.saturating_sub(offset_us);
            done_us
                .entry(st.file.as_str())
                .and_modify(|d| *d = (*d).min(at))
                .or_insert(at);
        }
        let mut rows_done_us: HashMap<&str, i64> = HashMap::new();
        for g in groups.iter().filter(|g| g.rows > 0) {
            if let Some(c) = g.commit_us {
                let at = c.saturating_sub(offset_us);
                rows_done_us
                    .entry(g.source_file.as_str())
                    .and_modify(|d| *d = (*d).max(at))
                    .or_insert(at);
            }
        }
        let mut files: Vec<FileWindow> = facts
            .files
            .iter()
            .filter_map(|file| {
                let created = *facts.created_at_us.get(file)?;
                let done = done_us
                    .get(file.as_str())
                    .or_else(|| rows_done_us.get(file.as_str()));
                Some(FileWindow {
                    visible_s: seconds(created),
                    committed_s: done.map(|&d| seconds(d)),
                })
            })
            .collect();
        files.sort_by(|a, b| a.visible_s.total_cmp(&b.visible_s));
        ChartInput {
            points,
            generated,
            committed,
            files,
            ..ChartInput::default()
        }
    }

    /// How often batches commit, seconds: the larger of the trigger interval
    /// and the median gap between distinct commit times (a batch that
    /// overruns its trigger stretches it); `None` with neither.
    pub fn batch_cadence_s(&self) -> Option<f64> {
        let mut xs = sorted_times(self.committed.iter().map(|t| t.at_s));
        xs.dedup();
        let cadence = self
            .trigger_interval_s
            .unwrap_or(0.0)
            .max(median_gap(&xs).unwrap_or(0.0));
        (cadence > 0.0 && cadence.is_finite()).then_some(cadence)
    }

    /// Rows behind the latency points.
    pub fn latency_rows(&self) -> u64 {
        self.points.iter().map(|p| p.rows).sum()
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ that is ≥ `x` (1 for zero, negative or
/// non-finite `x`). Windows and bins of these sizes read well on an axis.
pub fn nice_up(x: f64) -> f64 {
    nice_up_among(x, &[1.0, 2.0, 5.0])
}

/// [`nice_up`] with 2.5 among the steps: no two steps are more than 2×
/// apart, so a count derived from it stays within a factor of 2.
pub fn fine_nice_up(x: f64) -> f64 {
    nice_up_among(x, &[1.0, 2.0, 2.5, 5.0])
}

fn nice_up_among(x: f64, mantissas: &[f64]) -> f64 {
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
        for &m in mantissas {
            let v = scaled(m, e);
            if v >= x {
                return v;
            }
        }
    }
    scaled(1.0, exp + 2)
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
///
/// Each instant's rows are spread evenly over the time before it: one
/// typical gap for files, one batch cadence for commits. A bucket then holds the rows of
/// the time it covers, whatever the phase of the trigger against the bucket
/// edges (counting each commit whole in one bucket draws a comb of zeros
/// and doubles), while rows delivered after an outage still land after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Throughput {
    /// Width of every bucket but the last, seconds.
    pub bucket_s: f64,
    /// Bucket edges, seconds since the first file was created: bucket `i` is
    /// `[edges[i], edges[i + 1])`. The last bucket ends at the last instant,
    /// so it may be narrower.
    pub edges: Vec<f64>,
    /// Generated rows per bucket.
    pub generated: Vec<f64>,
    /// Committed rows per bucket.
    pub committed: Vec<f64>,
}

impl Throughput {
    /// Width of bucket `i`: what its rows are divided by (a partial last
    /// bucket by what it covers; a zero-span run by [`Throughput::bucket_s`]).
    pub fn width(&self, i: usize) -> f64 {
        let w = self.edges[i + 1] - self.edges[i];
        if w > 0.0 {
            w
        } else {
            self.bucket_s
        }
    }

    /// Rows of bucket `i` as rows per second.
    pub fn rate(&self, i: usize, rows: f64) -> f64 {
        rows / self.width(i)
    }
}

fn distinct_gap(series: &[TimedRows]) -> Option<f64> {
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
fn spread(series: &[TimedRows], reach_s: f64, edges: &[f64], bucket_s: f64) -> Vec<f64> {
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
fn quarter_of(t: f64, lo: f64, hi: f64) -> (bool, bool) {
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
    use crate::collect::manifest::tests::entry;

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

    fn w(visible_s: f64, committed_s: Option<f64>) -> FileWindow {
        FileWindow {
            visible_s,
            committed_s,
        }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
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
        let input = ChartInput::from_run(&facts, &groups, &[], 0);
        assert_eq!(
            input.points,
            vec![p(0.0, 250.0, 60), p(0.0, 500.0, 40), p(1.0, 750.0, 43)]
        );
        assert_eq!(input.latency_rows(), 143);
        assert_eq!(input.generated, vec![t(0.0, 100), t(1.0, 50), t(2.0, 10)]);
        assert_eq!(input.committed, vec![t(0.25, 60), t(0.5, 40), t(1.75, 43)]);
        // Without batch records a file's wait ends at its rows' last commit;
        // file 3 has none (no time, zero rows): it waits to the end.
        assert_eq!(
            input.files,
            vec![w(0.0, Some(0.5)), w(1.0, Some(1.75)), w(2.0, None)]
        );
        // Commits 0.25, 0.5, 1.75 s apart by 0.25 and 1.25: median 0.25 s;
        // a 1 s trigger is longer.
        assert_eq!(input.batch_cadence_s(), Some(0.25));
        let with_trigger = ChartInput {
            trigger_interval_s: Some(1.0),
            ..input.clone()
        };
        assert_eq!(with_trigger.batch_cadence_s(), Some(1.0));
        assert_eq!(ChartInput::default().batch_cadence_s(), None);

        // Batch records end the wait at the batch's commit, also for a
        // quarantined file.
        let stages = vec![
            FileStageRecord {
                file: "events-000001.csv".into(),
                committed_us: 1_600_000,
                ..FileStageRecord::default()
            },
            FileStageRecord {
                file: "events-000003.csv".into(),
                committed_us: 4_000_000,
                quarantined: true,
                ..FileStageRecord::default()
            },
        ];
        let input = ChartInput::from_run(&facts, &groups, &stages, 0);
        assert_eq!(
            input.files,
            vec![w(0.0, Some(0.6)), w(1.0, Some(1.75)), w(2.0, Some(3.0))]
        );

        // A server clock 1 s ahead: commit times are corrected; a commit
        // before its file (skew) is shown as 1 µs.
        let skewed = vec![CommitGroup {
            source_file: "events-000001.csv".into(),
            commit_us: Some(1_900_000),
            rows: 5,
        }];
        let input = ChartInput::from_run(&facts, &skewed, &stages, 1_000_000);
        assert_eq!(input.points, vec![p(0.0, 0.001, 5)]);
        assert_eq!(input.committed, vec![t(-0.1, 5)]);
        assert_eq!(input.files[0], w(0.0, Some(-0.4)));

        assert_eq!(
            ChartInput::from_run(&ManifestFacts::default(), &groups, &[], 0),
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
        assert_eq!(rolling_window_s(&points, None), 5.0);
        // With a batch cadence: whole cadences, at least four of them.
        assert_eq!(rolling_window_s(&points, Some(10.0)), 40.0);
        assert_eq!(rolling_window_s(&points, Some(0.75)), 5.25); // 7 × 0.75
        assert_eq!(rolling_window_s(&points, Some(0.25)), 5.0); // 20 × 0.25
        assert_eq!(rolling_window_s(&points, Some(0.0)), 5.0);
        // 3,601 files one second apart: 1/30 of an hour = 120 s → 200 s.
        let long: Vec<LatencyPoint> = (0..=3600).map(|i| p(f64::from(i), 5.0, 1)).collect();
        assert_eq!(rolling_window_s(&long, None), 200.0);
        let centers = rolling_centers(&long, 600);
        assert_eq!(centers.len(), 600);
        assert_eq!((centers[0], centers[599]), (0.0, 3600.0));
        // No span: the default window, one centre.
        let one = [p(0.0, 5.0, 10)];
        assert_eq!(rolling_window_s(&one, None), DEFAULT_WINDOW_S);
        assert_eq!(rolling_window_s(&one, Some(2.0)), 8.0);
        assert_eq!(rolling_centers(&one, 600), vec![0.0]);
        assert_eq!(rolling_window_s(&[], None), DEFAULT_WINDOW_S);
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
    fn rolling_percentiles_over_whole_trigger_periods_have_no_sawtooth() {
        // A file of 10 rows every 0.1 s for a minute, committed by a 1.5 s
        // trigger: latency falls from 1.5 s to 0.1 s within each period.
        let points: Vec<LatencyPoint> = (0..600)
            .map(|i| {
                let created = f64::from(i) / 10.0;
                let commit = ((created / 1.5).floor() + 1.0) * 1.5;
                p(created, ((commit - created) * 1000.0).round(), 10)
            })
            .collect();
        // How far a rolling percentile moves over the run's interior.
        let spread = |window: f64, pick: fn(&PercentilesAt) -> f64| {
            let centers: Vec<f64> = rolling_centers(&points, MAX_ROLLING_CENTERS)
                .into_iter()
                .filter(|c| *c >= window / 2.0 && *c <= 59.9 - window / 2.0)
                .collect();
            let values: Vec<f64> = rolling_percentiles(&points, window, &centers)
                .iter()
                .map(pick)
                .collect();
            let (lo, hi) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            hi - lo
        };
        // Without the cadence: 2 s (1/30 of the span) = 1⅓ periods, and the
        // median swings by a third of the period.
        let plain = rolling_window_s(&points, None);
        assert_eq!(plain, 2.0);
        assert_eq!(spread(plain, |r| r.p50), 500.0);
        assert_eq!(spread(plain, |r| r.p95), 100.0);
        // With it: 4 whole periods, and the percentiles stay flat.
        let whole = rolling_window_s(&points, Some(1.5));
        assert_eq!(whole, 6.0);
        assert_eq!(spread(whole, |r| r.p50), 0.0);
        assert_eq!(spread(whole, |r| r.p95), 0.0);
        assert_eq!(spread(whole, |r| r.p99), 0.0);
    }

    #[test]
    fn throughput_spreads_rows_and_divides_the_last_bucket_by_what_it_covers() {
        // 100 files of 10 rows every 0.1 s (0 … 9.9 s); commits of 100 rows
        // at 1.05 … 10.05 s.
        let generated: Vec<TimedRows> = (0..100).map(|i| t(f64::from(i) / 10.0, 10)).collect();
        let committed: Vec<TimedRows> = (1..=10).map(|i| t(f64::from(i) + 0.05, 100)).collect();
        // Span 10.05 s / 120 ≈ 0.08; files 0.1 s apart; commits 1 s apart.
        let bucket = throughput_bucket_s(&generated, &committed, None);
        assert_eq!(bucket, 1.0);
        let tp = throughput(&generated, &committed, bucket, None);
        assert_eq!(tp.edges.len(), 12);
        assert_eq!(
            (tp.edges[0], tp.edges[10], tp.edges[11]),
            (0.0, 10.0, 10.05)
        );
        // A file's rows fill the 0.1 s before it: 0 … 1.0 s in the first
        // bucket (the first file at 0 whole), nothing after 9.9 s.
        let mut want = vec![110.0];
        want.extend([100.0; 8]);
        want.extend([90.0, 0.0]);
        assert!(close(&tp.generated, &want), "{:?}", tp.generated);
        // A commit's rows fill the second before it: 95 % then 5 %.
        let mut want = vec![95.0];
        want.extend([100.0; 9]);
        want.push(5.0);
        assert!(close(&tp.committed, &want), "{:?}", tp.committed);
        assert!((tp.committed.iter().sum::<f64>() - 1000.0).abs() < 1e-9);
        assert!((tp.generated.iter().sum::<f64>() - 1000.0).abs() < 1e-9);
        // The last bucket covers 0.05 s: 5 rows in it are 100 rows/s, not 5.
        assert_eq!(tp.width(10), 10.05 - 10.0);
        assert!((tp.rate(10, tp.committed[10]) - 100.0).abs() < 1e-6);
        assert!((tp.rate(0, tp.generated[0]) - 110.0).abs() < 1e-9);
    }

    #[test]
    fn throughput_after_an_outage_lands_after_it() {
        // Commits every second, none from 4 to 7 s, then 500 rows at 8 s.
        let generated = [t(0.0, 900)];
        let committed: Vec<TimedRows> = [1.0, 2.0, 3.0, 8.0, 9.0, 10.0]
            .iter()
            .map(|&at| t(at, if at == 8.0 { 500 } else { 100 }))
            .collect();
        let tp = throughput(&generated, &committed, 1.0, Some(1.0));
        assert_eq!(
            tp.committed,
            vec![100.0, 100.0, 100.0, 0.0, 0.0, 0.0, 0.0, 500.0, 100.0, 100.0]
        );
        assert_eq!(tp.generated[0], 900.0);
    }

    #[test]
    fn throughput_buckets_number_60_to_120_and_never_undercut_the_trigger() {
        let g = [t(0.0, 50)];
        let count = |end: f64, cadence: Option<f64>| {
            let c = [t(end, 50)];
            let b = throughput_bucket_s(&g, &c, cadence);
            (b, (end / b).ceil())
        };
        assert_eq!(count(3600.0, None), (50.0, 72.0));
        assert_eq!(count(420.0, None), (5.0, 84.0));
        assert_eq!(count(120.0, None), (1.0, 120.0));
        assert_eq!(count(300.0, None), (2.5, 120.0));
        // A 10 s trigger over two minutes: 10 s buckets, 12 of them.
        assert_eq!(count(120.0, Some(10.0)), (10.0, 12.0));
        // A 1.5 s trigger: the next step up, 2 s.
        assert_eq!(count(120.0, Some(1.5)), (2.0, 60.0));
        // Sub-second runs: never below MIN_BUCKET_S.
        assert_eq!(throughput_bucket_s(&g, &[t(0.042, 50)], None), MIN_BUCKET_S);
    }

    #[test]
    fn throughput_of_a_zero_span_run() {
        let g = [t(0.0, 50)];
        let c = [t(0.0, 50)];
        let bucket = throughput_bucket_s(&g, &c, None);
        assert_eq!(bucket, MIN_BUCKET_S);
        let tp = throughput(&g, &c, bucket, None);
        assert_eq!(
            (tp.generated.clone(), tp.committed.clone()),
            (vec![50.0], vec![50.0])
        );
        // No span to divide by: the bucket width.
        assert_eq!(tp.width(0), MIN_BUCKET_S);
        // A commit before the first file (clock skew) opens an earlier bucket.
        let tp = throughput(&g, &[t(-0.5, 50)], 1.0, None);
        assert_eq!(tp.edges, vec![-1.0, 0.0]);
        assert_eq!((tp.generated, tp.committed), (vec![50.0], vec![50.0]));
        let empty = throughput(&[], &[], 0.0, None);
        assert!(empty.generated.is_empty() && empty.bucket_s == DEFAULT_WINDOW_S);
    }

    #[test]
    fn backlog_counts_files_visible_and_not_committed() {
        let files = [
            w(0.0, Some(1.5)),
            w(1.0, Some(1.5)),
            w(2.0, Some(2.5)),
            w(3.0, None),
            // Committed before visible (clock skew): never waits.
            w(4.0, Some(3.9)),
        ];
        assert_eq!(
            backlog(&files),
            vec![(0.0, 1), (1.0, 2), (1.5, 0), (2.0, 1), (2.5, 0), (3.0, 1)]
        );
        assert!(backlog(&[]).is_empty());
        let steps = [
            (0.0, 1),
            (1.0, 2),
            (2.0, 5),
            (3.0, 1),
            (4.0, 0),
            (5.0, 3),
            (6.0, 1),
            (7.0, 0),
            (8.0, 2),
            (9.0, 0),
        ];
        // Few enough: unchanged; too many: the peak of each half.
        assert_eq!(peak_steps(&steps, 10, 2), steps.to_vec());
        assert_eq!(peak_steps(&steps, 4, 2), vec![(0.0, 5), (4.5, 3), (9.0, 0)]);
    }

    #[test]
    fn resource_lines_are_averaged_only_when_long() {
        let points = [(0.0, 0.0), (1.0, 2.0), (2.0, 4.0), (3.0, 6.0)];
        assert_eq!(bin_means(&points, 4, 2), points.to_vec());
        assert_eq!(bin_means(&points, 3, 2), vec![(0.5, 1.0), (2.5, 5.0)]);
        assert!(bin_means(&[], 3, 2).is_empty());
    }

    #[test]
    fn drift_compares_the_first_and_the_last_quarter() {
        // RSS 0, 10, … 80 MiB at 0 … 8 s: quarters up to 2 s and from 6 s.
        let input = ChartInput {
            resources: (0..=8u64)
                .map(|i| ResourceSample {
                    t_s: i as f64,
                    pipeline_rss_bytes: i * 10 * (1 << 20),
                    ..ResourceSample::default()
                })
                .collect(),
            points: vec![
                p(0.0, 100.0, 95),
                p(1.0, 900.0, 5),
                p(4.0, 300.0, 10),
                p(7.0, 2000.0, 50),
                p(8.0, 400.0, 50),
            ],
            ..ChartInput::default()
        };
        let d = drift(&input);
        assert_eq!(
            d.pipeline_rss_mb,
            Some(Quarters {
                first: 10.0,
                last: 70.0,
                span_s: 8.0
            })
        );
        // First quarter: 95 rows at 100 ms, 5 at 900 ms → P95 100 ms; last:
        // 50 at 400 ms and 50 at 2 s → 2 s.
        assert_eq!(
            d.latency_p95_ms,
            Some(Quarters {
                first: 100.0,
                last: 2000.0,
                span_s: 8.0
            })
        );
        assert_eq!(drift(&ChartInput::default()), Drift::default());
        assert_eq!(quarter_means(&[(3.0, 1.0), (3.0, 2.0)]), None);
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
