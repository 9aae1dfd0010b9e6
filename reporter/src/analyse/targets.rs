//! Pass/fail against a scenario's targets (`[targets]` in its TOML).
//!
//! Every target is a limit on one measured figure: at most the target for
//! latencies, batch time, resources and error rates; at least the target for
//! throughput. Within it: ✓ (`pass`); beyond it: ✗ (`fail`), unless the
//! scenario gives that target a slack (`slack_pct = { p99_ms = 10 }`):
//! beyond the target by at most the slack is ⚠ (`warn`, which passes). A
//! figure this run did not measure (no resource samples, no latency, an
//! external PostgreSQL whose memory is not sampled) fails (`unmeasured`),
//! unless the scenario lists the target in `optional`: then it is
//! `unmeasured-optional` and neither passes nor fails. Nothing passes by
//! accident: no slack and no excused gap unless the scenario says so.
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

use crate::request::{TargetName, Targets};
use crate::summary::{round3, ResourceProfile, Summary, TargetResult, TargetStatus};

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

/// How a target's figure may miss: the slack it is allowed (a fraction of
/// the target) and whether it may go unmeasured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Leeway {
    /// Beyond the target by at most this fraction of it: ⚠, not ✗.
    pub slack_fraction: f64,
    /// Not measured: –, not ✗.
    pub optional: bool,
}

/// ✓ within the target, ⚠ beyond it by at most the slack, ✗ further; a
/// figure not measured fails unless the target is optional.
pub fn judge(bound: Bound, target: f64, measured: Option<f64>, leeway: Leeway) -> TargetStatus {
    let Some(m) = measured.filter(|m| m.is_finite()) else {
        return if leeway.optional {
            TargetStatus::UnmeasuredOptional
        } else {
            TargetStatus::Unmeasured
        };
    };
    let slack = target.abs() * leeway.slack_fraction;
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

/// A figure of the run's resource profile; `None` when nothing was sampled.
fn resource(s: &Summary, figure: fn(&ResourceProfile) -> f64) -> Option<f64> {
    s.sampled_resources().map(figure)
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
    let postgres_rss = resource(s, |r| r.postgres_rss_peak_mb).filter(|&mb| mb > 0.0);
    let figures: [(TargetName, Option<f64>, Bound, Option<f64>); 10] = [
        (
            TargetName::P50Ms,
            targets.p50_ms,
            Bound::Max,
            latency(s.latency_ms.p50),
        ),
        (
            TargetName::P95Ms,
            targets.p95_ms,
            Bound::Max,
            latency(s.latency_ms.p95),
        ),
        (
            TargetName::P99Ms,
            targets.p99_ms,
            Bound::Max,
            latency(s.latency_ms.p99),
        ),
        (
            TargetName::ThroughputRowsPerS,
            targets.throughput_rows_per_s,
            Bound::Min,
            Some(s.throughput_rows_per_s),
        ),
        (
            TargetName::BatchMsP95,
            targets.batch_ms_p95,
            Bound::Max,
            (s.batches.count > 0).then_some(s.batches.time_ms_p95),
        ),
        (
            TargetName::PipelineCpuPct,
            targets.pipeline_cpu_pct,
            Bound::Max,
            resource(s, |r| r.pipeline_cpu_mean_pct),
        ),
        (
            TargetName::PipelineRssMb,
            targets.pipeline_rss_mb,
            Bound::Max,
            resource(s, |r| r.pipeline_rss_peak_mb),
        ),
        (
            TargetName::PostgresRssMb,
            targets.postgres_rss_mb,
            Bound::Max,
            postgres_rss,
        ),
        (
            TargetName::ErrorRatePct,
            targets.error_rate_pct,
            Bound::Max,
            Some(error_rate_pct(s)),
        ),
        (
            TargetName::DuplicateRatePct,
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
            let leeway = Leeway {
                slack_fraction: targets.slack_pct.get(&name).copied().unwrap_or(0.0) / 100.0,
                // Another pipeline keeps no batch records: its batch time
                // cannot be measured, whatever the scenario asks.
                optional: targets.optional.contains(&name)
                    || (name == TargetName::BatchMsP95 && s.external_command().is_some()),
            };
            Some(TargetResult {
                name: name.as_str().to_string(),
                target,
                measured,
                bound: bound.as_str().to_string(),
                status: judge(bound, target, measured, leeway),
            })
        })
        .collect()
}

/// `true` when no target failed (missed, or required and not measured).
pub fn passed(results: &[TargetResult]) -> bool {
    results.iter().all(|r| !r.status.fails())
}

/// The failed targets in one line: `p99_ms (measured 1800, target 1500), …`.
pub fn failed_line(results: &[TargetResult]) -> String {
    results
        .iter()
        .filter(|r| r.status.fails())
        .map(|r| {
            format!(
                "{} (measured {}, target {} {})",
                r.name,
                r.measured
                    .map_or("nothing: not measured".to_string(), |m| m.to_string()),
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
        use TargetStatus::*;
        let strict = Leeway::default();
        let slack = Leeway {
            slack_fraction: 0.1,
            optional: false,
        };
        let optional = Leeway {
            slack_fraction: 0.0,
            optional: true,
        };
        assert_eq!(judge(Bound::Max, 100.0, Some(100.0), strict), Pass);
        assert_eq!(judge(Bound::Max, 100.0, Some(100.001), strict), Fail);
        assert_eq!(judge(Bound::Min, 100.0, Some(99.999), strict), Fail);
        assert_eq!(judge(Bound::Max, 100.0, Some(110.0), slack), Warn);
        assert_eq!(judge(Bound::Max, 100.0, Some(110.001), slack), Fail);
        assert_eq!(judge(Bound::Min, 100.0, Some(100.0), slack), Pass);
        assert_eq!(judge(Bound::Min, 100.0, Some(90.0), slack), Warn);
        assert_eq!(judge(Bound::Min, 100.0, Some(89.9), slack), Fail);
        assert_eq!(judge(Bound::Max, 0.0, Some(0.0), strict), Pass);
        assert_eq!(judge(Bound::Max, 0.0, Some(0.001), slack), Fail);
        assert_eq!(judge(Bound::Max, 1.0, None, strict), Unmeasured);
        assert_eq!(judge(Bound::Max, 1.0, Some(f64::NAN), slack), Unmeasured);
        assert_eq!(judge(Bound::Max, 1.0, None, optional), UnmeasuredOptional);
        assert!(Warn.passes() && UnmeasuredOptional.passes());
        assert!(Fail.fails() && Unmeasured.fails());
    }

    #[test]
    fn parses_strictly() {
        let t: Targets =
            serde_json::from_value(json!({"p99_ms": 1500, "error_rate_pct": 0})).unwrap();
        assert_eq!(t.p99_ms, Some(1500.0));
        assert_eq!(t.error_rate_pct, Some(0.0));
        assert_eq!(t.p50_ms, None);
        assert!(serde_json::from_value::<Targets>(json!({"p99": 1})).is_err());
        let t: Targets = serde_json::from_value(
            json!({"p99_ms": 1, "slack_pct": {"p99_ms": 10}, "optional": ["postgres_rss_mb"]}),
        )
        .unwrap();
        assert_eq!(t.slack_pct.get(&TargetName::P99Ms), Some(&10.0));
        assert_eq!(t.optional, vec![TargetName::PostgresRssMb]);
        let misspelt = json!({"p99_ms": 1, "slack_pct": {"p99": 10}});
        assert!(serde_json::from_value::<Targets>(misspelt).is_err());
        assert!(serde_json::from_value::<Targets>(json!({"optional": ["rss"]})).is_err());
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
            resources: Some(ResourceProfile {
                samples: 10,
                pipeline_cpu_mean_pct: 55.5,
                pipeline_rss_peak_mb: 80.0,
                ..ResourceProfile::default()
            }),
            external_command: None,
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
            slack_pct: [
                (TargetName::P95Ms, 10.0),
                (TargetName::ThroughputRowsPerS, 10.0),
            ]
            .into_iter()
            .collect(),
            optional: vec![TargetName::PostgresRssMb],
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
                ("postgres_rss_mb", None, "max", UnmeasuredOptional),
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
    fn no_targets_pass_and_an_unmeasured_target_fails_unless_optional() {
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
        assert!(!passed(&r));
        assert_eq!(
            failed_line(&r),
            "p99_ms (measured nothing: not measured, target ≤ 10), pipeline_rss_mb (measured \
             nothing: not measured, target ≤ 1)"
        );
        let excused = Targets {
            optional: vec![TargetName::P99Ms, TargetName::PipelineRssMb],
            ..only
        };
        let r = evaluate(&excused, &s);
        assert!(r
            .iter()
            .all(|r| r.status == TargetStatus::UnmeasuredOptional));
        assert!(passed(&r));
    }

    #[test]
    fn another_pipelines_batch_time_is_not_asked_of_it() {
        let mut s = sample();
        let batch = Targets {
            batch_ms_p95: Some(5000.0),
            ..Targets::default()
        };
        assert_eq!(evaluate(&batch, &s)[0].status, TargetStatus::Unmeasured);
        s.run = Some(crate::summary::RunSummary {
            external_command: Some("spark-submit job.py".into()),
            ..crate::summary::RunSummary::default()
        });
        assert_eq!(
            evaluate(&batch, &s)[0].status,
            TargetStatus::UnmeasuredOptional
        );
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
