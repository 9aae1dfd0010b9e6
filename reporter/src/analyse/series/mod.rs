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

mod drift;
mod latency;
mod throughput;

use std::collections::HashMap;

use crate::collect::gather::FileStageRecord;
use crate::collect::manifest::ManifestFacts;
use crate::collect::run_files::ResourceSample;
use crate::stats::{median_gap, CommitGroup};
use crate::summary::Interruption;
pub use drift::{bin_means, drift, quarter_means, quarter_p95};
pub use latency::{
    cdf, histogram_bins, moving_average, rolling_centers, rolling_percentiles, rolling_window_s,
    tail_cut, thin_scatter, thin_to_grid, Bin, LatencyBins, PercentilesAt,
};
pub use throughput::{backlog, peak_steps, throughput, throughput_bucket_s};

/// Window used when the run has no time span (one file, or all files created
/// at the same instant), in seconds.
pub const DEFAULT_WINDOW_S: f64 = 1.0;

/// The kind of the chart bands that mark checkpoints among the interruptions.
pub const CHECKPOINT_BAND: &str = "checkpoint";
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
    /// WAL written per second between the database's readings, as
    /// `(seconds since the first file, MiB/s)` (empty without readings).
    pub wal_mib_per_s: Vec<(f64, f64)>,
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

fn sorted_times(times: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = times.collect();
    v.sort_by(f64::total_cmp);
    v
}

#[cfg(test)]
mod tests {
    use super::drift::*;
    use super::latency::*;
    use super::throughput::*;
    use super::*;
    use crate::collect::manifest::tests::entry;
    use crate::summary::Drift;
    use crate::summary::Quarters;

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
