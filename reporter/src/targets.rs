//! Pass/fail against a scenario's targets (`[targets]` in its TOML).
//!
//! Every target is a limit on one measured figure: at most the target for
//! latencies, batch time, resources and error rates; at least the target for
//! throughput. Within it: ✓ (`pass`); beyond it by at most
//! [`WARN_FRACTION`] of the target: ⚠ (`warn`); further: ✗ (`fail`). A
//! figure this run did not measure (no resource samples, no latency, an
//! external PostgreSQL whose memory is not sampled) is `unmeasured`: it
//! neither passes nor fails, and the report says so.
//!
//! Definitions of the figures:
//!
//! - `p50_ms`, `p95_ms`, `p99_ms`: latency percentiles (`latency_ms`).
//! - `throughput_rows_per_s`: `throughput_rows_per_s` (a lower bound).
//! - `batch_ms_p95`: P95 of batch processing time (`batches.time_ms_p95`).
//! - `pipeline_cpu_pct`: mean CPU of sluice, % of one core
//!   (resources `pipeline_cpu_mean_pct`).
//! - `pipeline_rss_mb`, `postgres_rss_mb`: peak resident memory
//!   (resources `pipeline_rss_peak_mb`, `postgres_rss_peak_mb`).
//! - `error_rate_pct`: (missing + duplicates) / expected × 100: rows lost or
//!   stored twice. The malformed rows the generator writes on purpose are
//!   not errors (they must be rejected, and are not expected in the table).
//! - `duplicate_rate_pct`: duplicates / found × 100.

use serde::{Deserialize, Serialize};

use crate::summary::{round3, Summary, TargetResult, TargetStatus};

/// How far beyond a target a figure may be and still only warn: 10 %.
pub const WARN_FRACTION: f64 = 0.10;

/// A scenario's targets; every one is optional.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Latency P50, ms (at most).
    #[serde(default)]
    pub p50_ms: Option<f64>,
    /// Latency P95, ms (at most).
    #[serde(default)]
    pub p95_ms: Option<f64>,
    /// Latency P99, ms (at most).
    #[serde(default)]
    pub p99_ms: Option<f64>,
    /// Throughput, rows per second (at least).
    #[serde(default)]
    pub throughput_rows_per_s: Option<f64>,
    /// P95 batch processing time (committed − started), ms (at most).
    #[serde(default)]
    pub batch_ms_p95: Option<f64>,
    /// Mean CPU of the pipeline, % of one core (at most).
    #[serde(default)]
    pub pipeline_cpu_pct: Option<f64>,
    /// Peak resident memory of the pipeline, MB (at most).
    #[serde(default)]
    pub pipeline_rss_mb: Option<f64>,
    /// Peak resident memory of PostgreSQL, MB (at most; embedded server only).
    #[serde(default)]
    pub postgres_rss_mb: Option<f64>,
    /// (missing + duplicates) / expected, percent (at most).
    #[serde(default)]
    pub error_rate_pct: Option<f64>,
    /// duplicates / found, percent (at most).
    #[serde(default)]
    pub duplicate_rate_pct: Option<f64>,
}

/// Whether the measured figure must stay at most or at least the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// measured ≤ target passes.
    Max,
    /// measured ≥ target passes.
    Min,
}

impl Bound {
    fn as_str(self) -> &'static str {
        match self {
            Bound::Max => "max",
            Bound::Min => "min",
        }
    }
}

/// ✓ within the target, ⚠ within 10 % beyond it, ✗ further.
pub fn judge(bound: Bound, target: f64, measured: Option<f64>) -> TargetStatus {
    let Some(m) = measured.filter(|m| m.is_finite()) else {
        return TargetStatus::Unmeasured;
    };
    let slack = target.abs() * WARN_FRACTION;
    let (within, near) = match bound {
        Bound::Max => (m <= target, m <= target + slack),
        Bound::Min => (m >= target, m >= target - slack),
    };
    if within {
        TargetStatus::Pass
    } else if near {
        TargetStatus::Warn
    } else {
        TargetStatus::Fail
    }
}

fn resource(s: &Summary, key: &str) -> Option<f64> {
    let r = s.run.as_ref()?.resources.as_ref()?;
    if r.get("samples").and_then(|v| v.as_u64()) == Some(0) {
        return None;
    }
    r.get(key).and_then(|v| v.as_f64())
}

/// (missing + duplicates) / expected, percent; 0 when nothing was expected
/// and nothing is wrong.
pub fn error_rate_pct(s: &Summary) -> f64 {
    let wrong = (s.rows.missing + s.rows.duplicates) as f64;
    if s.rows.expected == 0 {
        if wrong > 0.0 {
            100.0
        } else {
            0.0
        }
    } else {
        round3(wrong * 100.0 / s.rows.expected as f64)
    }
}

/// duplicates / found, percent; 0 when nothing was found.
pub fn duplicate_rate_pct(s: &Summary) -> f64 {
    if s.rows.found == 0 {
        0.0
    } else {
        round3(s.rows.duplicates as f64 * 100.0 / s.rows.found as f64)
    }
}

/// Each present target against the summary's figures, in the field order of
/// [`Targets`].
pub fn evaluate(targets: &Targets, s: &Summary) -> Vec<TargetResult> {
    let latency = |v: f64| (s.latency_ms.count > 0).then_some(v);
    // A PostgreSQL that was not sampled (external server) reports 0 MB.
    let postgres_rss = resource(s, "postgres_rss_peak_mb").filter(|&mb| mb > 0.0);
    let figures: [(&str, Option<f64>, Bound, Option<f64>); 10] = [
        (
            "p50_ms",
            targets.p50_ms,
            Bound::Max,
            latency(s.latency_ms.p50),
        ),
        (
            "p95_ms",
            targets.p95_ms,
            Bound::Max,
            latency(s.latency_ms.p95),
        ),
        (
            "p99_ms",
            targets.p99_ms,
            Bound::Max,
            latency(s.latency_ms.p99),
        ),
        (
            "throughput_rows_per_s",
            targets.throughput_rows_per_s,
            Bound::Min,
            Some(s.throughput_rows_per_s),
        ),
        (
            "batch_ms_p95",
            targets.batch_ms_p95,
            Bound::Max,
            (s.batches.count > 0).then_some(s.batches.time_ms_p95),
        ),
        (
            "pipeline_cpu_pct",
            targets.pipeline_cpu_pct,
            Bound::Max,
            resource(s, "pipeline_cpu_mean_pct"),
        ),
        (
            "pipeline_rss_mb",
            targets.pipeline_rss_mb,
            Bound::Max,
            resource(s, "pipeline_rss_peak_mb"),
        ),
        (
            "postgres_rss_mb",
            targets.postgres_rss_mb,
            Bound::Max,
            postgres_rss,
        ),
        (
            "error_rate_pct",
            targets.error_rate_pct,
            Bound::Max,
            Some(error_rate_pct(s)),
        ),
        (
            "duplicate_rate_pct",
            targets.duplicate_rate_pct,
            Bound::Max,
            Some(duplicate_rate_pct(s)),
        ),
    ];
    figures
        .into_iter()
        .filter_map(|(name, target, bound, measured)| {
            let target = target?;
            let measured = measured.map(round3);
            Some(TargetResult {
                name: name.to_string(),
                target,
                measured,
                bound: bound.as_str().to_string(),
                status: judge(bound, target, measured),
            })
        })
        .collect()
}

/// `true` when no target failed.
pub fn passed(results: &[TargetResult]) -> bool {
    results.iter().all(|r| r.status != TargetStatus::Fail)
}

/// The failed targets in one line: `p99_ms (measured 1800, target 1500), …`.
pub fn failed_line(results: &[TargetResult]) -> String {
    results
        .iter()
        .filter(|r| r.status == TargetStatus::Fail)
        .map(|r| {
            format!(
                "{} (measured {}, target {} {})",
                r.name,
                r.measured.map_or("n/a".to_string(), |m| m.to_string()),
                if r.bound == "min" { "≥" } else { "≤" },
                r.target
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample;
    use crate::summary::RunSummary;
    use serde_json::json;

    #[test]
    fn judging() {
        assert_eq!(judge(Bound::Max, 100.0, Some(100.0)), TargetStatus::Pass);
        assert_eq!(judge(Bound::Max, 100.0, Some(110.0)), TargetStatus::Warn);
        assert_eq!(judge(Bound::Max, 100.0, Some(110.001)), TargetStatus::Fail);
        assert_eq!(judge(Bound::Min, 100.0, Some(100.0)), TargetStatus::Pass);
        assert_eq!(judge(Bound::Min, 100.0, Some(90.0)), TargetStatus::Warn);
        assert_eq!(judge(Bound::Min, 100.0, Some(89.9)), TargetStatus::Fail);
        assert_eq!(judge(Bound::Max, 0.0, Some(0.0)), TargetStatus::Pass);
        assert_eq!(judge(Bound::Max, 0.0, Some(0.001)), TargetStatus::Fail);
        assert_eq!(judge(Bound::Max, 1.0, None), TargetStatus::Unmeasured);
        assert_eq!(
            judge(Bound::Max, 1.0, Some(f64::NAN)),
            TargetStatus::Unmeasured
        );
    }

    #[test]
    fn parses_strictly() {
        let t: Targets =
            serde_json::from_value(json!({"p99_ms": 1500, "error_rate_pct": 0})).unwrap();
        assert_eq!(t.p99_ms, Some(1500.0));
        assert_eq!(t.error_rate_pct, Some(0.0));
        assert_eq!(t.p50_ms, None);
        assert!(serde_json::from_value::<Targets>(json!({"p99": 1})).is_err());
    }

    #[test]
    fn evaluates_every_figure() {
        let mut s = sample();
        s.latency_ms.count = 1000;
        s.latency_ms.p50 = 400.0;
        s.latency_ms.p95 = 1050.0;
        s.latency_ms.p99 = 1800.0;
        s.throughput_rows_per_s = 95.0;
        s.batches.count = 10;
        s.batches.time_ms_p95 = 200.0;
        s.rows.expected = 1000;
        s.rows.found = 996;
        s.rows.missing = 6;
        s.rows.duplicates = 2;
        s.run = Some(RunSummary {
            scenario: "x".into(),
            run_id: "r".into(),
            settings: vec![],
            generator: None,
            pipeline: None,
            resources: Some(json!({"samples": 10, "pipeline_cpu_mean_pct": 55.5,
                "pipeline_rss_peak_mb": 80.0, "postgres_rss_peak_mb": 0.0})),
        });
        let targets = Targets {
            p50_ms: Some(500.0),
            p95_ms: Some(1000.0),
            p99_ms: Some(1500.0),
            throughput_rows_per_s: Some(100.0),
            batch_ms_p95: Some(250.0),
            pipeline_cpu_pct: Some(50.0),
            pipeline_rss_mb: Some(100.0),
            postgres_rss_mb: Some(500.0),
            error_rate_pct: Some(1.0),
            duplicate_rate_pct: Some(0.0),
        };
        let r = evaluate(&targets, &s);
        let got: Vec<(&str, Option<f64>, &str, TargetStatus)> = r
            .iter()
            .map(|r| (r.name.as_str(), r.measured, r.bound.as_str(), r.status))
            .collect();
        use TargetStatus::*;
        assert_eq!(
            got,
            vec![
                ("p50_ms", Some(400.0), "max", Pass),
                ("p95_ms", Some(1050.0), "max", Warn),
                ("p99_ms", Some(1800.0), "max", Fail),
                ("throughput_rows_per_s", Some(95.0), "min", Warn),
                ("batch_ms_p95", Some(200.0), "max", Pass),
                ("pipeline_cpu_pct", Some(55.5), "max", Fail),
                ("pipeline_rss_mb", Some(80.0), "max", Pass),
                ("postgres_rss_mb", None, "max", Unmeasured),
                ("error_rate_pct", Some(0.8), "max", Pass),
                ("duplicate_rate_pct", Some(0.201), "max", Fail),
            ]
        );
        assert!(!passed(&r));
        assert_eq!(
            failed_line(&r),
            "p99_ms (measured 1800, target ≤ 1500), pipeline_cpu_pct (measured 55.5, target ≤ 50), \
             duplicate_rate_pct (measured 0.201, target ≤ 0)"
        );
    }

    #[test]
    fn no_targets_pass_and_unmeasured_never_fails() {
        let s = sample();
        assert!(evaluate(&Targets::default(), &s).is_empty());
        assert!(passed(&[]));
        let only = Targets {
            p99_ms: Some(10.0),
            pipeline_rss_mb: Some(1.0),
            ..Targets::default()
        };
        let r = evaluate(&only, &s);
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|r| r.status == TargetStatus::Unmeasured));
        assert!(passed(&r));
    }

    #[test]
    fn rates() {
        let mut s = sample();
        assert_eq!((error_rate_pct(&s), duplicate_rate_pct(&s)), (0.0, 0.0));
        s.rows.missing = 3;
        assert_eq!(error_rate_pct(&s), 100.0);
        s.rows.expected = 300;
        s.rows.found = 297;
        s.rows.duplicates = 3;
        assert_eq!(error_rate_pct(&s), 2.0);
        assert_eq!(duplicate_rate_pct(&s), 1.01);
    }
}
