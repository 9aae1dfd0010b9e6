//! Rate profiles: how many rows per second the generator offers over time.
//!
//! A profile is a function `rate(t)` in rows per second of the time `t`
//! since the schedule start. File `k` (from 0) of the schedule covers
//! `[k·interval, (k+1)·interval)` and carries the rows the profile offers in
//! that span: `rows_until((k+1)·interval) − rows_until(k·interval)`, where
//! [`RateProfile::rows_until`] is the floor of the integral of the rate.
//! Because whole files take the difference of one running total, rounding
//! never accumulates: a run of `duration` offers exactly
//! `rows_until(duration)` rows (for example 153 000 rows for one minute of
//! `bursts:5000@30s,100@30s`). With several sources the running total is
//! dealt out row by row in turn ([`source_share`]), so the sources differ by
//! at most one row and still add up to the profile.
//!
//! Integrals are computed in integers (rows × µs / s) so that results are
//! exact and identical on every platform; times are truncated to whole
//! microseconds.
//!
//! Profiles come from scenario files (serde, either a table or the one-line
//! text form) and from the command line ([`std::str::FromStr`]):
//!
//! | text | table (TOML) |
//! | --- | --- |
//! | `steady:2000` (or just `2000`) | `{ profile = "steady", rows_per_s = 2000 }` |
//! | `steps:100@30s,1000@30s` | `{ profile = "steps", steps = [{ rows_per_s = 100, for = "30s" }, { rows_per_s = 1000, for = "30s" }] }` |
//! | `bursts:5000@30s,100@30s` | `{ profile = "bursts", high = 5000, high_for = "30s", low = 100, low_for = "30s" }` |
//! | `ramp:100..10000@5m` | `{ profile = "ramp", from = 100, to = 10000, over = "5m" }` |
//!
//! After its last step a `steps` profile holds the last rate, and after
//! `over` a ramp holds `to`, so a run longer than the profile keeps a known
//! load; `bursts` alternates (high first) for as long as the run lasts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schedule::mul_duration;

/// Highest rate a profile may ask for, in rows per second. Far above what
/// one machine writes, and low enough that the integer integrals of a year
/// long ramp cannot overflow.
pub const MAX_ROWS_PER_S: u64 = 100_000_000;

/// Shortest step, phase or ramp: a profile is sampled once per file, and
/// files less than a millisecond apart are not a load anyone runs.
pub const MIN_PHASE: Duration = Duration::from_millis(1);

/// Longest ramp: bounds the quadratic term of its integral (see
/// [`MAX_ROWS_PER_S`]).
pub const MAX_RAMP: Duration = Duration::from_secs(366 * 24 * 3600);

/// The grammar of the text form, quoted by every parse error.
pub const GRAMMAR: &str = "steady:ROWS_PER_S (e.g. steady:2000, or just 2000), \
     steps:ROWS_PER_S@DURATION,... (e.g. steps:100@30s,1000@30s,5000@30s), \
     bursts:HIGH@DURATION,LOW@DURATION (e.g. bursts:5000@30s,100@30s) or \
     ramp:FROM..TO@DURATION (e.g. ramp:100..10000@5m); rates are whole rows per second, \
     durations are humantime (500ms, 30s, 5m, 1h)";

const MICROS_PER_S: u128 = 1_000_000;

/// One step of a [`RateProfile::Steps`] profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    /// Rate during the step.
    pub rows_per_s: u64,
    /// Length of the step (`for` in scenario files).
    #[serde(rename = "for", with = "humantime_serde")]
    pub duration: Duration,
}

/// Total rows per second over time, for all sources together.
///
/// Serialized as a table tagged by `profile` (see the module docs); read
/// from a table, from the text form, or from a bare number (steady).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "profile",
    rename_all = "lowercase",
    deny_unknown_fields
)]
pub enum RateProfile {
    /// The same rate throughout.
    Steady { rows_per_s: u64 },
    /// Rates one after the other; the last one holds after its step ends.
    Steps { steps: Vec<RateStep> },
    /// `high` for `high_for`, then `low` for `low_for`, repeated.
    Bursts {
        high: u64,
        #[serde(with = "humantime_serde")]
        high_for: Duration,
        low: u64,
        #[serde(with = "humantime_serde")]
        low_for: Duration,
    },
    /// Linear from `from` to `to` over `over`, then `to`.
    Ramp {
        from: u64,
        to: u64,
        #[serde(with = "humantime_serde")]
        over: Duration,
    },
}

/// A text or serde profile that is not usable; the message shows the
/// expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate profile {input:?}: {message}; expected {GRAMMAR}")]
pub struct ParseRateError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub message: String,
}

fn micros(d: Duration) -> u128 {
    d.as_micros()
}

/// `rate × span_us`, in rows × µs / s.
fn area(rate: u64, span_us: u128) -> u128 {
    u128::from(rate).saturating_mul(span_us)
}

impl RateProfile {
    /// Checks bounds: at least one non-zero rate, no rate above
    /// [`MAX_ROWS_PER_S`], every step or phase at least [`MIN_PHASE`], a
    /// ramp at most [`MAX_RAMP`]. The message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let rates: Vec<u64> = match self {
            RateProfile::Steady { rows_per_s } => vec![*rows_per_s],
            RateProfile::Steps { steps } => steps.iter().map(|s| s.rows_per_s).collect(),
            RateProfile::Bursts { high, low, .. } => vec![*high, *low],
            RateProfile::Ramp { from, to, .. } => vec![*from, *to],
        };
        let spans: Vec<(&str, Duration)> = match self {
            RateProfile::Steady { .. } => Vec::new(),
            RateProfile::Steps { steps } => steps.iter().map(|s| ("a step", s.duration)).collect(),
            RateProfile::Bursts {
                high_for, low_for, ..
            } => vec![("high_for", *high_for), ("low_for", *low_for)],
            RateProfile::Ramp { over, .. } => vec![("over", *over)],
        };
        if rates.is_empty() {
            return Err("steps is empty; give at least one ROWS_PER_S@DURATION step".into());
        }
        if let Some(r) = rates.iter().find(|&&r| r > MAX_ROWS_PER_S) {
            return Err(format!(
                "rate {r} rows/s is above the limit of {MAX_ROWS_PER_S} rows/s"
            ));
        }
        if rates.iter().all(|&r| r == 0) {
            return Err("every rate is 0, so no row would be written; give a positive rate".into());
        }
        if let Some((name, d)) = spans.iter().find(|(_, d)| *d < MIN_PHASE) {
            return Err(format!(
                "{name} lasts {d:?}; every step, phase and ramp must last at least 1ms"
            ));
        }
        if let RateProfile::Ramp { over, .. } = self {
            if *over > MAX_RAMP {
                return Err(format!(
                    "the ramp lasts {}, longer than the limit of 366 days",
                    humantime::format_duration(*over)
                ));
            }
        }
        Ok(())
    }

    /// The highest rate the profile reaches, rows per second.
    pub fn peak_rows_per_s(&self) -> u64 {
        match self {
            RateProfile::Steady { rows_per_s } => *rows_per_s,
            RateProfile::Steps { steps } => steps.iter().map(|s| s.rows_per_s).max().unwrap_or(0),
            RateProfile::Bursts { high, low, .. } => (*high).max(*low),
            RateProfile::Ramp { from, to, .. } => (*from).max(*to),
        }
    }

    /// `floor(∫₀ᵗ rate)` in rows × µs / s, `t` in µs. The floor of an exact
    /// non-decreasing function, so it never decreases (a falling ramp
    /// subtracts the ceiling of its quadratic term for that reason).
    fn integral(&self, t: u128) -> u128 {
        match self {
            RateProfile::Steady { rows_per_s } => area(*rows_per_s, t),
            RateProfile::Steps { steps } => {
                let mut acc = 0u128;
                let mut start = 0u128;
                for step in steps {
                    let end = start.saturating_add(micros(step.duration));
                    if t <= end {
                        return acc.saturating_add(area(step.rows_per_s, t - start));
                    }
                    acc = acc.saturating_add(area(step.rows_per_s, end - start));
                    start = end;
                }
                let last = steps.last().map_or(0, |s| s.rows_per_s);
                acc.saturating_add(area(last, t - start))
            }
            RateProfile::Bursts {
                high,
                high_for,
                low,
                low_for,
            } => {
                let (hf, lf) = (micros(*high_for), micros(*low_for));
                let cycle = hf + lf;
                if cycle == 0 {
                    return 0;
                }
                let per_cycle = area(*high, hf).saturating_add(area(*low, lf));
                let rem = t % cycle;
                let partial = if rem <= hf {
                    area(*high, rem)
                } else {
                    area(*high, hf).saturating_add(area(*low, rem - hf))
                };
                (t / cycle)
                    .saturating_mul(per_cycle)
                    .saturating_add(partial)
            }
            RateProfile::Ramp { from, to, over } => {
                let over_us = micros(*over);
                if over_us == 0 {
                    return area(*to, t);
                }
                let within = t.min(over_us);
                // ∫₀^within (from + (to − from)·s/over) ds
                //   = from·within ± |to − from|·within² / (2·over)
                let quad = |diff: u64| {
                    u128::from(diff)
                        .saturating_mul(within)
                        .saturating_mul(within)
                };
                let two_over = 2 * over_us;
                let ramp = if to >= from {
                    area(*from, within).saturating_add(quad(to - from) / two_over)
                } else {
                    area(*from, within).saturating_sub(quad(from - to).div_ceil(two_over))
                };
                ramp.saturating_add(area(*to, t - within))
            }
        }
    }

    /// Rows offered from the start until `t`: the floor of the integral of
    /// the rate (times truncated to whole microseconds).
    pub fn rows_until(&self, t: Duration) -> u64 {
        u64::try_from(self.integral(micros(t)) / MICROS_PER_S).unwrap_or(u64::MAX)
    }

    /// Mean rate over `[from, to)`, rows per second (0 for an empty span).
    pub fn mean_rows_per_s(&self, from: Duration, to: Duration) -> f64 {
        let (a, b) = (micros(from), micros(to));
        if b <= a {
            return 0.0;
        }
        (self.integral(b) - self.integral(a)) as f64 / (b - a) as f64
    }

    /// Rows of file `k` (from 0) of source `source` (from 1) of `sources`,
    /// files every `interval`: that source's share of the rows offered in
    /// `[k·interval, (k+1)·interval)`.
    pub fn file_rows(&self, interval: Duration, k: u64, sources: u32, source: u32) -> u64 {
        let share = |t: Duration| source_share(self.rows_until(t), sources, source);
        let (from, to) = file_span(interval, k);
        share(to) - share(from)
    }

    /// The total rate over file `k`'s span, rounded to whole rows per
    /// second: what the manifest records as `target_rows_per_s`.
    pub fn file_target_rows_per_s(&self, interval: Duration, k: u64) -> u64 {
        let (from, to) = file_span(interval, k);
        self.mean_rows_per_s(from, to).round() as u64
    }
}

/// `[k·interval, (k+1)·interval)`, the span whose rows file `k` carries.
fn file_span(interval: Duration, k: u64) -> (Duration, Duration) {
    (
        mul_duration(interval, k),
        mul_duration(interval, k.saturating_add(1)),
    )
}

/// The part of `total` rows that falls to `part` (from 1) of `parts` when
/// rows are dealt out in turn: row `j` (from 0) goes to part `j % parts + 1`.
/// The parts add up to `total` and differ by at most one; a part's share
/// never decreases as `total` grows, so per-file differences are never
/// negative. `parts == 0` gets nothing.
pub fn source_share(total: u64, parts: u32, part: u32) -> u64 {
    if parts == 0 || part == 0 || part > parts {
        return 0;
    }
    let parts = u64::from(parts);
    total / parts + u64::from(total % parts >= u64::from(part))
}

impl Serialize for RateProfile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RateProfile::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for RateProfile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProfileVisitor;

        impl<'de> Visitor<'de> for ProfileVisitor {
            type Value = RateProfile;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a rate profile: a table such as {{ profile = \"bursts\", high = 5000, \
                     high_for = \"30s\", low = 100, low_for = \"30s\" }}, or text: {GRAMMAR}"
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateProfile, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateProfile, E> {
                let profile = RateProfile::Steady { rows_per_s: v };
                profile.validate().map_err(E::custom)?;
                Ok(profile)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RateProfile, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "rate {v} is negative; give rows per second as a positive number"
                    ))),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RateProfile, A::Error> {
                let profile = RateProfile::deserialize(de::value::MapAccessDeserializer::new(map))?;
                profile.validate().map_err(de::Error::custom)?;
                Ok(profile)
            }
        }

        deserializer.deserialize_any(ProfileVisitor)
    }
}

/// Parses `RATE@DURATION`.
fn rate_at(part: &str) -> Result<(u64, Duration), String> {
    let (rate, dur) = part
        .split_once('@')
        .ok_or_else(|| format!("`{part}` has no `@`; write ROWS_PER_S@DURATION, e.g. 100@30s"))?;
    Ok((parse_rate(rate)?, parse_duration(dur)?))
}

fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    text.parse()
        .map_err(|_| format!("`{text}` is not a rate; give whole rows per second such as 2000"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. 500ms, 30s, 5m"))
}

fn parse_profile(s: &str) -> Result<RateProfile, String> {
    let s = s.trim();
    let Some((kind, args)) = s.split_once(':') else {
        return parse_rate(s)
            .map(|rows_per_s| RateProfile::Steady { rows_per_s })
            .map_err(|_| "no profile name before `:`".to_owned());
    };
    match kind.trim() {
        "steady" => Ok(RateProfile::Steady {
            rows_per_s: parse_rate(args)?,
        }),
        "steps" => {
            let steps = args
                .split(',')
                .map(|part| {
                    rate_at(part).map(|(rows_per_s, duration)| RateStep {
                        rows_per_s,
                        duration,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RateProfile::Steps { steps })
        }
        "bursts" => {
            let phases: Vec<&str> = args.split(',').collect();
            let [high, low] = phases[..] else {
                return Err(format!(
                    "bursts takes exactly two phases HIGH@DURATION,LOW@DURATION, got {}",
                    phases.len()
                ));
            };
            let ((high, high_for), (low, low_for)) = (rate_at(high)?, rate_at(low)?);
            Ok(RateProfile::Bursts {
                high,
                high_for,
                low,
                low_for,
            })
        }
        "ramp" => {
            let (rates, over) = args.split_once('@').ok_or_else(|| {
                "ramp has no `@DURATION`; write FROM..TO@DURATION, e.g. 100..10000@5m".to_owned()
            })?;
            let (from, to) = rates
                .split_once("..")
                .ok_or_else(|| format!("`{rates}` has no `..`; write FROM..TO, e.g. 100..10000"))?;
            Ok(RateProfile::Ramp {
                from: parse_rate(from)?,
                to: parse_rate(to)?,
                over: parse_duration(over)?,
            })
        }
        other => Err(format!(
            "unknown profile `{other}`; use steady, steps, bursts or ramp"
        )),
    }
}

impl FromStr for RateProfile {
    type Err = ParseRateError;

    /// Parses and validates the text form (see the module docs).
    fn from_str(s: &str) -> Result<RateProfile, ParseRateError> {
        parse_profile(s)
            .and_then(|p| p.validate().map(|()| p))
            .map_err(|message| ParseRateError {
                input: s.to_owned(),
                message,
            })
    }
}

/// The text form, which [`FromStr`] reads back.
impl fmt::Display for RateProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = humantime::format_duration;
        match self {
            RateProfile::Steady { rows_per_s } => write!(f, "steady:{rows_per_s}"),
            RateProfile::Steps { steps } => {
                f.write_str("steps:")?;
                for (i, s) in steps.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{}@{}", s.rows_per_s, d(s.duration))?;
                }
                Ok(())
            }
            RateProfile::Bursts {
                high,
                high_for,
                low,
                low_for,
            } => write!(f, "bursts:{high}@{},{low}@{}", d(*high_for), d(*low_for)),
            RateProfile::Ramp { from, to, over } => {
                write!(f, "ramp:{from}..{to}@{}", d(*over))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn bursts() -> RateProfile {
        RateProfile::Bursts {
            high: 5000,
            high_for: secs(30),
            low: 100,
            low_for: secs(30),
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            "steady:2000".parse(),
            Ok(RateProfile::Steady { rows_per_s: 2000 })
        );
        assert_eq!(
            " 2000 ".parse(),
            Ok(RateProfile::Steady { rows_per_s: 2000 })
        );
        assert_eq!(
            "steps:100@30s, 1000@30s,5000@1m 30s".parse(),
            Ok(RateProfile::Steps {
                steps: vec![
                    RateStep {
                        rows_per_s: 100,
                        duration: secs(30)
                    },
                    RateStep {
                        rows_per_s: 1000,
                        duration: secs(30)
                    },
                    RateStep {
                        rows_per_s: 5000,
                        duration: secs(90)
                    },
                ]
            })
        );
        assert_eq!("bursts:5000@30s,100@30s".parse(), Ok(bursts()));
        assert_eq!(
            "ramp:100..10000@5m".parse(),
            Ok(RateProfile::Ramp {
                from: 100,
                to: 10000,
                over: secs(300)
            })
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "steady:2000",
            "steps:100@30s,1000@1h 30m,0@500ms",
            "bursts:5000@30s,100@30s",
            "ramp:10000..100@5m",
        ] {
            let p: RateProfile = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn parse_errors_say_what_is_expected() {
        let err = |s: &str| s.parse::<RateProfile>().unwrap_err();
        let cases = [
            ("", "no profile name before `:`"),
            ("fast", "no profile name before `:`"),
            ("burst:5000@30s,100@30s", "unknown profile `burst`"),
            ("steady:lots", "`lots` is not a rate"),
            ("steady:-5", "`-5` is not a rate"),
            ("steps:100", "`100` has no `@`"),
            ("steps:100@30", "`30` is not a duration"),
            ("steps:", "`` has no `@`"),
            (
                "bursts:5000@30s",
                "exactly two phases HIGH@DURATION,LOW@DURATION, got 1",
            ),
            ("ramp:100..200", "ramp has no `@DURATION`"),
            ("ramp:100-200@5m", "`100-200` has no `..`"),
            ("steady:0", "every rate is 0"),
            (
                "steady:100000001",
                "rate 100000001 rows/s is above the limit",
            ),
            ("bursts:5000@0s,100@30s", "high_for lasts 0ns"),
            ("ramp:1..2@400days", "longer than the limit of 366 days"),
        ];
        for (input, want) in cases {
            let e = err(input);
            assert_eq!(e.input, input);
            assert!(e.message.contains(want), "{input}: {}", e.message);
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("invalid rate profile {input:?}: "))
                    && shown.contains("expected steady:ROWS_PER_S"),
                "{shown}"
            );
        }
    }

    #[test]
    fn integrals_are_exact() {
        let steady = RateProfile::Steady { rows_per_s: 2000 };
        assert_eq!(steady.rows_until(Duration::ZERO), 0);
        assert_eq!(steady.rows_until(Duration::from_millis(1500)), 3000);
        assert_eq!(steady.rows_until(Duration::from_micros(1_499)), 2);

        let b = bursts();
        assert_eq!(b.rows_until(secs(30)), 150_000);
        assert_eq!(b.rows_until(secs(45)), 151_500);
        assert_eq!(b.rows_until(secs(60)), 153_000);
        assert_eq!(b.rows_until(secs(61)), 158_000);
        assert_eq!(b.rows_until(secs(600)), 1_530_000);

        let steps: RateProfile = "steps:100@30s,1000@30s,5000@30s".parse().unwrap();
        assert_eq!(steps.rows_until(secs(10)), 1_000);
        assert_eq!(steps.rows_until(secs(40)), 13_000);
        assert_eq!(steps.rows_until(secs(90)), 183_000);
        // The last rate holds after the last step.
        assert_eq!(steps.rows_until(secs(100)), 233_000);

        // 0 → 1000 rows/s over 10 s: 50·t² rows up to 10 s, then 1000/s.
        let up: RateProfile = "ramp:0..1000@10s".parse().unwrap();
        let got: Vec<u64> = (0..=12).map(|s| up.rows_until(secs(s))).collect();
        assert_eq!(
            got,
            [0, 50, 200, 450, 800, 1250, 1800, 2450, 3200, 4050, 5000, 6000, 7000]
        );
        // 1000 → 0: the mirror image, 1000·t − 50·t², then nothing more.
        let down: RateProfile = "ramp:1000..0@10s".parse().unwrap();
        let got: Vec<u64> = (0..=11).map(|s| down.rows_until(secs(s))).collect();
        assert_eq!(
            got,
            [0, 950, 1800, 2550, 3200, 3750, 4200, 4550, 4800, 4950, 5000, 5000]
        );
        // Never decreasing, even around the floors of a falling ramp.
        let odd: RateProfile = "ramp:7..3@1s".parse().unwrap();
        let mut last = 0;
        for us in (0..1_200_000).step_by(997) {
            let r = odd.rows_until(Duration::from_micros(us));
            assert!(r >= last);
            last = r;
        }
        // 5 rows over the ramp, then 3 rows/s for 0.199 s.
        assert_eq!(last, 5);
    }

    #[test]
    fn mean_and_peak() {
        let b = bursts();
        assert_eq!(b.mean_rows_per_s(secs(29), secs(30)), 5000.0);
        assert_eq!(b.mean_rows_per_s(secs(30), secs(31)), 100.0);
        assert_eq!(b.mean_rows_per_s(secs(29), secs(31)), 2550.0);
        assert_eq!(b.mean_rows_per_s(secs(3), secs(3)), 0.0);
        assert_eq!(b.peak_rows_per_s(), 5000);
        let up: RateProfile = "ramp:0..1000@10s".parse().unwrap();
        assert_eq!(up.mean_rows_per_s(secs(2), secs(3)), 250.0);
        assert_eq!(up.peak_rows_per_s(), 1000);
    }

    #[test]
    fn files_split_the_running_total() {
        // 2550 rows/s for 0.1 s files: 255 rows a file, over 2 sources.
        let p = RateProfile::Steady { rows_per_s: 2550 };
        let ms = Duration::from_millis(100);
        let rows = |k, source| p.file_rows(ms, k, 2, source);
        assert_eq!(
            [rows(0, 1), rows(0, 2), rows(1, 1), rows(1, 2)],
            [128, 127, 127, 128]
        );
        assert_eq!(p.file_target_rows_per_s(ms, 7), 2550);
        // 15 rows/s in 0.1 s files: 1.5 rows a file, alternately 1 and 2.
        let p = RateProfile::Steady { rows_per_s: 15 };
        let got: Vec<u64> = (0..6).map(|k| p.file_rows(ms, k, 1, 1)).collect();
        assert_eq!(got, [1, 2, 1, 2, 1, 2]);
        // A file straddling a phase change gets the mean of its span.
        let b = bursts();
        let s7 = Duration::from_secs(7);
        // File 4 spans [28 s, 35 s): 2 s at 5000 rows/s, 5 s at 100.
        assert_eq!(b.file_rows(s7, 4, 1, 1), 10_500);
        assert_eq!(b.file_target_rows_per_s(s7, 4), 1500);
    }

    #[test]
    fn shares_add_up_and_differ_by_one_at_most() {
        assert_eq!(
            (1..=3).map(|p| source_share(10, 3, p)).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!(
            (1..=4).map(|p| source_share(2, 4, p)).collect::<Vec<_>>(),
            [1, 1, 0, 0]
        );
        assert_eq!(source_share(7, 1, 1), 7);
        assert_eq!(source_share(7, 0, 1), 0);
        assert_eq!(source_share(7, 2, 3), 0);
        assert_eq!(source_share(u64::MAX, 2, 1), u64::MAX / 2 + 1);
    }
}
