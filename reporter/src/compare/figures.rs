//! The figures side by side (pure): settings split by whether the runs agree, each run's figures, the table rows with their best values, the CDF points, and the recommendation by the one rule.

use super::{
    Better, CdfPoint, Integrity, LatencyFigures, MetricRow, ResourceFigures, RunFigures, RunInput,
    SettingRow, SettingsComparison,
};
use crate::recommend;
use crate::recommend::{Candidate, Recommendation};
use crate::summary::{ResourceProfile, Setting, Summary};

pub(super) fn scenario_of(s: &Summary) -> Option<String> {
    s.scenario
        .clone()
        .or_else(|| s.run.as_ref().map(|r| r.scenario.clone()))
        .filter(|n| !n.is_empty())
}

/// Settings as rows, one value per run: `scenario` first (when any run
/// names one), then every `run.settings` name in the order it first appears.
/// A row is varied when its values are not all equal (a run that lacks the
/// setting counts as a different value).
pub fn compare_settings(runs: &[RunInput]) -> SettingsComparison {
    let mut rows: Vec<SettingRow> = Vec::new();
    let scenarios: Vec<Option<String>> = runs.iter().map(|r| scenario_of(&r.summary)).collect();
    if scenarios.iter().any(Option::is_some) {
        rows.push(SettingRow {
            name: "scenario".to_string(),
            values: scenarios,
        });
    }
    for (i, run) in runs.iter().enumerate() {
        let Some(summary_run) = &run.summary.run else {
            continue;
        };
        for setting in &summary_run.settings {
            let row = match rows.iter_mut().position(|r| r.name == setting.name) {
                Some(at) => &mut rows[at],
                None => {
                    rows.push(SettingRow {
                        name: setting.name.clone(),
                        values: vec![None; runs.len()],
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            // The first value a run gives for a name is the one shown.
            if row.values[i].is_none() {
                row.values[i] = Some(setting.value.clone());
            }
        }
    }
    let (same, varied) = rows
        .into_iter()
        .partition(|r| r.values.windows(2).all(|w| w[0] == w[1]));
    SettingsComparison { varied, same }
}

/// Whether the summary measured any latency.
pub(super) fn latency_measured(s: &Summary) -> bool {
    s.latency_ms.count > 0 || s.latency_ms.max > 0.0
}

/// The figures of one run.
pub fn run_figures(run: &RunInput) -> RunFigures {
    let s = &run.summary;
    let l = &s.latency_ms;
    let b = &s.batches;
    let batches = b.count > 0 || b.time_ms_p50 > 0.0 || b.time_ms_p95 > 0.0;
    RunFigures {
        label: run.label.clone(),
        dir: run.dir.clone(),
        scenario: scenario_of(s),
        run_id: s
            .run_id
            .clone()
            .or_else(|| s.run.as_ref().map(|r| r.run_id.clone()))
            .filter(|id| !id.is_empty()),
        pipeline: s
            .external_command()
            .map_or_else(|| "sluice".to_string(), |command| format!("`{command}`")),
        optimized_build: s.optimized_build,
        rows: Integrity {
            generated: s.rows.generated,
            expected: s.rows.expected,
            found: s.rows.found,
            missing: s.rows.missing,
            rejected: (s.external_command().is_none() || s.rows.rejected > 0)
                .then_some(s.rows.rejected),
            duplicates: s.rows.duplicates,
        },
        latency_ms: latency_measured(s).then_some(LatencyFigures {
            p50: l.p50,
            p95: l.p95,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            mean: l.mean,
        }),
        throughput_rows_per_s: (s.throughput_rows_per_s > 0.0).then_some(s.throughput_rows_per_s),
        batch_time_ms_p50: batches.then_some(b.time_ms_p50),
        batch_time_ms_p95: batches.then_some(b.time_ms_p95),
        resources: s.sampled_resources().map(resource_figures),
        passed: s.passed,
        kept_up: recommend::kept_up(s),
        targets: s.targets.len(),
        failed_targets: s
            .targets
            .iter()
            .filter(|t| t.status.fails())
            .map(|t| t.name.clone())
            .collect(),
        cdf: cdf_points(s),
    }
}

/// The four resource figures of a run's sampled profile. The PostgreSQL figures are `None` when no PostgreSQL process was
/// sampled (a database on another host): its peak memory is then 0.
pub(super) fn resource_figures(r: &ResourceProfile) -> ResourceFigures {
    let postgres = r.postgres_rss_peak_mb > 0.0;
    ResourceFigures {
        pipeline_rss_peak_mb: Some(r.pipeline_rss_peak_mb),
        pipeline_cpu_mean_pct: Some(r.pipeline_cpu_mean_pct),
        postgres_rss_peak_mb: postgres.then_some(r.postgres_rss_peak_mb),
        postgres_cpu_mean_pct: postgres.then_some(r.postgres_cpu_mean_pct),
    }
}

/// The latency CDF of a summary as sorted `(ms, percent)` points: each
/// distribution row's upper edge `to_ms` at its `cumulative_percent` (the open
/// last range has none), and, when latency was measured, `min` at 0 % and
/// P50/P75/P90/P95/P99/P99.9/max at 50/75/90/95/99/99.9/100 %.
///
/// Points at or below 0 ms (a percentile the summary lacks) and, when
/// latency was measured, beyond `max` (where the curve is already at 100 %)
/// are left out. Sorted by latency, the percent never falls (a rounded
/// percentile just left of a range edge is lifted to the edge's share), and
/// at one latency only the lowest and highest percent are kept.
pub fn cdf_points(s: &Summary) -> Vec<CdfPoint> {
    let l = &s.latency_ms;
    let measured = latency_measured(s);
    let mut points: Vec<CdfPoint> = s
        .latency_distribution
        .iter()
        .filter_map(|r| r.to_ms.map(|to| (to, r.cumulative_percent)))
        .collect();
    if measured {
        points.push((l.min, 0.0));
        points.extend([
            (l.p50, 50.0),
            (l.p75, 75.0),
            (l.p90, 90.0),
            (l.p95, 95.0),
            (l.p99, 99.0),
            (l.p999, 99.9),
            (l.max, 100.0),
        ]);
    }
    points.retain(|&(ms, pct)| {
        ms.is_finite() && pct.is_finite() && ms > 0.0 && (!measured || ms <= l.max)
    });
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<CdfPoint> = Vec::with_capacity(points.len());
    let mut high = 0.0_f64;
    for (ms, pct) in points {
        high = high.max(pct.clamp(0.0, 100.0));
        let n = out.len();
        if out.last() == Some(&(ms, high)) {
            continue;
        }
        if n >= 2 && out[n - 1].0 == ms && out[n - 2].0 == ms {
            // A vertical step needs only its bottom and top.
            out[n - 1] = (ms, high);
        } else {
            out.push((ms, high));
        }
    }
    out
}

/// A log latency axis when the points' positive latencies span more than
/// two decades (largest / smallest > 100).
pub fn use_log_scale<'a>(curves: impl IntoIterator<Item = &'a [CdfPoint]>) -> bool {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0_f64;
    for &(ms, _) in curves.into_iter().flatten() {
        if ms > 0.0 && ms.is_finite() {
            lo = lo.min(ms);
            hi = hi.max(ms);
        }
    }
    lo.is_finite() && hi / lo > 100.0
}

/// Indexes of the best values: lowest or highest, ties all; none when fewer
/// than two values are present or all present values are equal.
pub(super) fn best_of(values: &[Option<f64>], better: Option<Better>) -> Vec<usize> {
    let Some(better) = better else {
        return Vec::new();
    };
    let present: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x)))
        .collect();
    if present.len() < 2 {
        return Vec::new();
    }
    let values = present.iter().map(|p| p.1);
    let top = match better {
        Better::Lower => values.fold(f64::INFINITY, f64::min),
        Better::Higher => values.fold(f64::NEG_INFINITY, f64::max),
    };
    if present.iter().all(|p| p.1 == top) {
        return Vec::new();
    }
    present.iter().filter(|p| p.1 == top).map(|p| p.0).collect()
}

pub(super) fn metric(
    name: &'static str,
    values: Vec<Option<f64>>,
    decimals: usize,
    better: Option<Better>,
) -> MetricRow {
    // Judged as shown: values that print the same tie.
    let scale = 10f64.powi(decimals as i32);
    let shown: Vec<Option<f64>> = values
        .iter()
        .map(|v| v.map(|x| (x * scale).round() / scale))
        .collect();
    let best = best_of(&shown, better);
    MetricRow {
        name,
        values,
        decimals,
        best,
    }
}

/// Generated, expected, found, missing, rejected, duplicates (no "best").
pub fn integrity_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    let row = |name, f: fn(&Integrity) -> Option<u64>| {
        metric(
            name,
            runs.iter().map(|r| f(&r.rows).map(|n| n as f64)).collect(),
            0,
            None,
        )
    };
    vec![
        row("generated", |r| Some(r.generated)),
        row("expected", |r| Some(r.expected)),
        row("found", |r| Some(r.found)),
        row("missing", |r| Some(r.missing)),
        row("rejected", |r| r.rejected),
        row("duplicates", |r| Some(r.duplicates)),
    ]
}

/// P50, P95, P99, P99.9, max and mean in ms; lowest is best.
pub fn latency_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    let row = |name, f: fn(&LatencyFigures) -> f64| {
        metric(
            name,
            runs.iter().map(|r| r.latency_ms.as_ref().map(f)).collect(),
            3,
            Some(Better::Lower),
        )
    };
    vec![
        row("P50", |l| l.p50),
        row("P95", |l| l.p95),
        row("P99", |l| l.p99),
        row("P99.9", |l| l.p999),
        row("max", |l| l.max),
        row("mean", |l| l.mean),
    ]
}

/// Throughput (highest is best) and batch time P50/P95 (lowest is best).
pub fn throughput_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    vec![
        metric(
            "throughput (rows/s)",
            runs.iter().map(|r| r.throughput_rows_per_s).collect(),
            1,
            Some(Better::Higher),
        ),
        metric(
            "batch time P50 (ms)",
            runs.iter().map(|r| r.batch_time_ms_p50).collect(),
            3,
            Some(Better::Lower),
        ),
        metric(
            "batch time P95 (ms)",
            runs.iter().map(|r| r.batch_time_ms_p95).collect(),
            3,
            Some(Better::Lower),
        ),
    ]
}

/// sluice and PostgreSQL peak RSS and mean CPU (lowest is best); empty when
/// no run sampled resources.
pub fn resource_rows(runs: &[RunFigures]) -> Vec<MetricRow> {
    if runs.iter().all(|r| r.resources.is_none()) {
        return Vec::new();
    }
    let row = |name, f: fn(&ResourceFigures) -> Option<f64>| {
        metric(
            name,
            runs.iter()
                .map(|r| r.resources.as_ref().and_then(f))
                .collect(),
            1,
            Some(Better::Lower),
        )
    };
    vec![
        row("pipeline RSS peak (MB)", |r| r.pipeline_rss_peak_mb),
        row("pipeline CPU mean (% of a core)", |r| {
            r.pipeline_cpu_mean_pct
        }),
        row("PostgreSQL RSS peak (MB)", |r| r.postgres_rss_peak_mb),
        row("PostgreSQL CPU mean (% of a core)", |r| {
            r.postgres_cpu_mean_pct
        }),
    ]
}

/// The recommendation by the one rule ([`crate::recommend`]): among the
/// runs that kept up, the lowest P99 and the highest throughput, each with
/// its values of the varied settings; `index` is the run's position.
pub fn recommend(runs: &[RunFigures], settings: &SettingsComparison) -> Recommendation {
    let candidates: Vec<Candidate> = runs
        .iter()
        .enumerate()
        .map(|(index, run)| Candidate {
            index,
            run: run.label.clone(),
            p99_ms: run.latency_ms.map(|l| l.p99),
            throughput_rows_per_s: run.throughput_rows_per_s,
            qualifies: run.kept_up,
            differing_settings: settings
                .varied
                .iter()
                .map(|row| Setting {
                    name: row.name.clone(),
                    value: row.values[index].clone().unwrap_or_else(|| "–".to_string()),
                })
                .collect(),
        })
        .collect();
    recommend::recommend(&candidates)
}
