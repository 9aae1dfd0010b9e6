//! The one rule that picks among runs, for `sluice compare` and for the
//! sweep (which writes both a sweep report and a comparison of its runs, so
//! two rules could make its two files disagree).
//!
//! A run **qualifies** when it kept up: every expected row is in the table
//! exactly once (nothing missing, nothing duplicated) and its backlog did
//! not grow ([`backlog_grew`]). Among the qualifying runs the rule picks the
//! lowest P99 (of those that measured a latency) and the highest
//! throughput; the first run given wins a tie. A run that lost rows or fell
//! behind is never recommended, neither for latency nor for speed: its
//! throughput was not sustained and its latency was not of every row.

use serde::{Deserialize, Serialize};

use crate::summary::{Setting, Summary};

/// A run's backlog grew when the P95 latency of the files of its last
/// quarter is more than this many times that of its first quarter...
pub const BACKLOG_RATIO: f64 = 1.5;
/// ...and more than this many milliseconds above it (noise on short
/// latencies is not a backlog).
pub const BACKLOG_MS: f64 = 1000.0;

/// Whether files waited longer and longer over the run (see
/// [`BACKLOG_RATIO`] and [`BACKLOG_MS`]): the pipeline fell behind the load.
/// `None` when the quarters were not measured.
pub fn backlog_grew(summary: &Summary) -> Option<bool> {
    summary
        .drift
        .latency_p95_ms
        .map(|q| q.last > q.first * BACKLOG_RATIO && q.last - q.first > BACKLOG_MS)
}

/// Whether the run kept up: nothing missing, nothing duplicated, no growing
/// backlog (an unmeasured backlog does not disqualify).
pub fn kept_up(summary: &Summary) -> bool {
    summary.rows.missing == 0 && summary.rows.duplicates == 0 && backlog_grew(summary) != Some(true)
}

/// What the rule reads of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The run's number as its caller counts runs.
    pub index: usize,
    /// Its label.
    pub run: String,
    /// P99 latency, ms; `None` when no latency was measured.
    pub p99_ms: Option<f64>,
    /// Rows per second; `None` when not measured.
    pub throughput_rows_per_s: Option<f64>,
    /// It kept up ([`kept_up`], and for the sweep also drained in time).
    pub qualifies: bool,
    /// Its values of the settings that differ between the runs.
    pub differing_settings: Vec<Setting>,
}

/// A run picked by the rule.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pick {
    /// Its label.
    pub run: String,
    /// Its number, as the caller counts runs.
    pub index: usize,
    /// The figure it was picked for (P99 ms, or rows/s).
    pub value: f64,
    /// Its values of the settings that differ between the runs (none in a
    /// sweep, whose run labels are its settings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differing_settings: Vec<Setting>,
}

/// The recommendation: at most one run for latency and one for throughput.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Recommendation {
    /// Lowest P99 among the qualifying runs with latency measured.
    pub lowest_p99: Option<Pick>,
    /// Highest throughput among the qualifying runs.
    pub highest_throughput: Option<Pick>,
}

/// Applies the rule (see the module documentation).
pub fn recommend(candidates: &[Candidate]) -> Recommendation {
    let best = |figure: fn(&Candidate) -> Option<f64>, better: fn(f64, f64) -> bool| {
        let mut best: Option<(&Candidate, f64)> = None;
        for c in candidates.iter().filter(|c| c.qualifies) {
            if let Some(value) = figure(c) {
                if best.is_none_or(|(_, b)| better(value, b)) {
                    best = Some((c, value));
                }
            }
        }
        best.map(|(c, value)| Pick {
            run: c.run.clone(),
            index: c.index,
            value,
            differing_settings: c.differing_settings.clone(),
        })
    };
    Recommendation {
        lowest_p99: best(|c| c.p99_ms, |a, b| a < b),
        highest_throughput: best(
            |c| c.throughput_rows_per_s.filter(|&t| t > 0.0),
            |a, b| a > b,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Quarters;

    fn candidate(index: usize, p99: Option<f64>, rows_per_s: f64, qualifies: bool) -> Candidate {
        Candidate {
            index,
            run: format!("r{index}"),
            p99_ms: p99,
            throughput_rows_per_s: Some(rows_per_s),
            qualifies,
            differing_settings: vec![],
        }
    }

    #[test]
    fn picks_only_among_runs_that_kept_up_and_the_first_wins_a_tie() {
        let runs = [
            candidate(1, Some(50.0), 900.0, false),
            candidate(2, Some(120.0), 800.0, true),
            candidate(3, Some(120.0), 800.0, true),
            candidate(4, None, 850.0, true),
        ];
        let r = recommend(&runs);
        let lowest = r.lowest_p99.unwrap();
        assert_eq!((lowest.index, lowest.value), (2, 120.0));
        let highest = r.highest_throughput.unwrap();
        assert_eq!((highest.index, highest.value), (4, 850.0));
    }

    #[test]
    fn nothing_is_picked_when_no_run_kept_up() {
        let runs = [candidate(1, Some(5.0), 100.0, false)];
        assert_eq!(recommend(&runs), Recommendation::default());
        assert_eq!(recommend(&[]), Recommendation::default());
    }

    #[test]
    fn a_growing_backlog_or_a_lost_row_disqualifies() {
        let mut s = crate::summary::tests::sample();
        s.rows.missing = 0;
        s.rows.duplicates = 0;
        s.drift.latency_p95_ms = None;
        assert!(kept_up(&s) && backlog_grew(&s).is_none());
        let quarters = |first, last| Quarters {
            first,
            last,
            span_s: 60.0,
        };
        s.drift.latency_p95_ms = Some(quarters(900.0, 2000.0));
        assert_eq!(backlog_grew(&s), Some(true));
        assert!(!kept_up(&s));
        // ×2.2 but only 600 ms more: noise on short latencies.
        s.drift.latency_p95_ms = Some(quarters(500.0, 1100.0));
        assert_eq!(backlog_grew(&s), Some(false));
        assert!(kept_up(&s));
        s.rows.missing = 1;
        assert!(!kept_up(&s));
    }
}
