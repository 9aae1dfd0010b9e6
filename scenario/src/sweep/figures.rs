//! A run's figures from its summary, the recommendation by the one rule the reporter keeps, and the capacity a `rate` axis found.

use generator::GeneratorSummary;
use reporter::recommend::{self, Candidate, Recommendation};
use reporter::Summary;

use super::{Capacity, Curve, Figures, RunResult};

/// The figures of one run's summary and generator.
pub fn figures(summary: &Summary, generated: &GeneratorSummary, drained: bool) -> Figures {
    let measured = summary.latency_ms.count > 0;
    let l = &summary.latency_ms;
    let offered = if generated.elapsed_s > 0.0 {
        generated.expected_rows as f64 / generated.elapsed_s
    } else {
        0.0
    };
    let quarters = summary.drift.latency_p95_ms;
    Figures {
        drained,
        expected: summary.rows.expected,
        found: summary.rows.found,
        missing: summary.rows.missing,
        duplicates: summary.rows.duplicates,
        rejected: summary.rows.rejected,
        p50_ms: measured.then_some(l.p50),
        p95_ms: measured.then_some(l.p95),
        p99_ms: measured.then_some(l.p99),
        throughput_rows_per_s: summary.throughput_rows_per_s,
        offered_rows_per_s: offered,
        delivered_pct: (offered > 0.0).then(|| summary.throughput_rows_per_s / offered * 100.0),
        p95_first_quarter_ms: quarters.map(|q| q.first),
        p95_last_quarter_ms: quarters.map(|q| q.last),
        backlog_grew: recommend::backlog_grew(summary),
        batch_ms_p95: (summary.batches.count > 0).then_some(summary.batches.time_ms_p95),
        keeps_up: drained && recommend::kept_up(summary),
    }
}

/// The sweep's recommendation, by the rule `sluice compare` uses
/// ([`reporter::recommend`]): among the runs that kept up (drained, nothing
/// lost or doubled, no growing backlog), the lowest P99 and the highest
/// throughput. A run whose backlog grew is not sustaining its throughput.
pub fn recommend(runs: &[RunResult]) -> Recommendation {
    let candidates: Vec<Candidate> = runs
        .iter()
        .filter_map(|run| {
            let f = run.figures.as_ref()?;
            Some(Candidate {
                index: run.index,
                run: run.label.clone(),
                p99_ms: f.p99_ms,
                throughput_rows_per_s: Some(f.throughput_rows_per_s),
                qualifies: f.keeps_up,
                differing_settings: Vec::new(),
            })
        })
        .collect();
    recommend::recommend(&candidates)
}

/// The runs of a `rate` axis with their offered load, in load order (then
/// run order).
pub(super) fn by_rate(runs: &[RunResult]) -> Vec<(u64, &RunResult)> {
    let mut curve: Vec<(u64, &RunResult)> = runs
        .iter()
        .filter_map(|r| Some((r.settings.rate_rows_per_s?, r)))
        .collect();
    curve.sort_by_key(|&(rate, r)| (rate, r.index));
    curve
}

/// The capacity of the runs of a `rate` axis; `None` when no run has one.
pub fn capacity(runs: &[RunResult], p99_limit_ms: Option<f64>) -> Option<Capacity> {
    let curve: Vec<(u64, usize, bool)> = by_rate(runs)
        .into_iter()
        .map(|(rate, r)| (rate, r.index, Capacity::sustained_by(r, p99_limit_ms)))
        .collect();
    if curve.is_empty() {
        return None;
    }
    let best = curve.iter().rev().find(|(_, _, sustained)| *sustained);
    let first_miss = curve
        .iter()
        .find(|(_, _, sustained)| !sustained)
        .map(|c| c.0);
    Some(Capacity {
        p99_limit_ms,
        sustained_rows_per_s: best.map(|b| b.0),
        run: best.map(|b| b.1),
        sustained_above_a_miss: matches!((best, first_miss), (Some(b), Some(miss)) if b.0 > miss),
    })
}

/// The capacity curve's points: (offered rows/s, P50 ms) and (offered, P99).
pub(super) fn capacity_points(runs: &[RunResult]) -> (Curve, Curve) {
    let measured: Vec<(f64, &Figures)> = by_rate(runs)
        .into_iter()
        .filter_map(|(rate, r)| Some((rate as f64, r.figures.as_ref()?)))
        .collect();
    let series = |pick: fn(&Figures) -> Option<f64>| {
        measured
            .iter()
            .filter_map(|(rate, f)| Some((*rate, pick(f)?)))
            .collect()
    };
    (series(|f| f.p50_ms), series(|f| f.p99_ms))
}
