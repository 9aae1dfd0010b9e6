//! Clock offset between this host and the database server.
//!
//! A row's latency subtracts a time taken on this host (the file's
//! `created_at_us`, read by the generator right after the rename) from a time
//! taken on the database server (the commit time). On one host both come from
//! one clock. On two hosts the clocks differ, and the difference goes straight
//! into every latency, so it is measured (NTP style: ask the server for its
//! time between two local readings) and subtracted, and its uncertainty is
//! stated.

use crate::summary::{round3, ClockSummary};

/// Round trips measured when the database is on another host.
pub const CLOCK_SAMPLES: u32 = 5;

/// One round trip: local time before the query, the server's time, local
/// time after the answer (all Unix µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Local clock before sending the query.
    pub local_before_us: i64,
    /// Server clock (`clock_timestamp()`) while answering.
    pub server_us: i64,
    /// Local clock after receiving the answer.
    pub local_after_us: i64,
}

impl ClockSample {
    /// Round-trip time of the sample.
    pub fn rtt_us(&self) -> i64 {
        self.local_after_us - self.local_before_us
    }
}

/// The offset estimate from the best sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockEstimate {
    /// Server clock − local clock, µs.
    pub offset_us: i64,
    /// Half the round trip: the server read its clock somewhere inside it.
    pub uncertainty_us: i64,
    /// Round trip of the chosen sample, µs.
    pub rtt_us: i64,
    /// Samples considered.
    pub samples: u32,
}

/// Picks the sample with the smallest round trip (the one least disturbed by
/// scheduling and network delay) and computes
/// offset = server − midpoint(before, after), uncertainty = RTT / 2.
///
/// Samples whose local clock went backwards (after < before) are ignored;
/// `None` when no sample is usable.
pub fn estimate_offset(samples: &[ClockSample]) -> Option<ClockEstimate> {
    let best = samples
        .iter()
        .filter(|s| s.rtt_us() >= 0)
        .min_by_key(|s| s.rtt_us())?;
    let rtt = best.rtt_us();
    let midpoint = best.local_before_us + rtt / 2;
    Some(ClockEstimate {
        offset_us: best.server_us - midpoint,
        uncertainty_us: (rtt + 1) / 2,
        rtt_us: rtt,
        samples: samples.len() as u32,
    })
}

/// The summary for a database on this host: one clock, nothing to correct.
pub fn local_clock() -> ClockSummary {
    ClockSummary {
        local: true,
        ..ClockSummary::default()
    }
}

/// The summary for a remote database, from an estimate (or `None` when the
/// measurement failed, in which case nothing is corrected).
pub fn remote_clock(estimate: Option<ClockEstimate>) -> ClockSummary {
    match estimate {
        Some(e) => ClockSummary {
            local: false,
            offset_ms: round3(e.offset_us as f64 / 1000.0),
            uncertainty_ms: round3(e.uncertainty_us as f64 / 1000.0),
            applied: true,
            rtt_ms: round3(e.rtt_us as f64 / 1000.0),
            samples: e.samples,
        },
        None => ClockSummary {
            local: false,
            ..ClockSummary::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(before: i64, server: i64, after: i64) -> ClockSample {
        ClockSample {
            local_before_us: before,
            server_us: server,
            local_after_us: after,
        }
    }

    #[test]
    fn picks_the_smallest_round_trip() {
        let samples = [
            s(1_000, 50_900, 3_000),   // rtt 2000
            s(10_000, 60_200, 10_400), // rtt 400, midpoint 10_200 → offset 50_000
            s(20_000, 75_000, 21_000), // rtt 1000
        ];
        let e = estimate_offset(&samples).unwrap();
        assert_eq!(e.rtt_us, 400);
        assert_eq!(e.offset_us, 50_000);
        assert_eq!(e.uncertainty_us, 200);
        assert_eq!(e.samples, 3);
    }

    #[test]
    fn server_behind_gives_negative_offset() {
        let e = estimate_offset(&[s(1_000_000, 900_050, 1_000_100)]).unwrap();
        assert_eq!(e.offset_us, -100_000);
        assert_eq!(e.uncertainty_us, 50);
    }

    #[test]
    fn odd_round_trip_rounds_uncertainty_up() {
        let e = estimate_offset(&[s(0, 1, 3)]).unwrap();
        assert_eq!(e.rtt_us, 3);
        assert_eq!(e.uncertainty_us, 2);
        assert_eq!(e.offset_us, 0);
    }

    #[test]
    fn backwards_local_clock_is_ignored() {
        assert_eq!(estimate_offset(&[s(10, 5, 5)]), None);
        assert_eq!(estimate_offset(&[]), None);
        let e = estimate_offset(&[s(10, 5, 5), s(0, 7, 2)]).unwrap();
        assert_eq!(e.offset_us, 6);
    }

    #[test]
    fn summaries() {
        let local = local_clock();
        assert!(local.local && !local.applied && local.offset_ms == 0.0);
        let remote = remote_clock(estimate_offset(&[s(0, 1_234_567, 2_000)]));
        assert!(!remote.local && remote.applied);
        assert_eq!(remote.offset_ms, 1_233.567);
        assert_eq!(remote.uncertainty_ms, 1.0);
        assert_eq!(remote.rtt_ms, 2.0);
        let failed = remote_clock(None);
        assert!(!failed.local && !failed.applied);
    }
}
