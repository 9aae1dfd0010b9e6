//! Absolute schedule and lateness accounting.
//!
//! File `k` (from 0) is due at `start + k * interval`. Deadlines are computed
//! from the start, never from the previous file, so a slow file does not
//! shift the ones after it (no drift): a late file is written at once and
//! the schedule catches up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Longest uninterrupted sleep: the stop flag is checked at least this often.
pub const STOP_POLL: Duration = Duration::from_millis(50);

/// `d * k`, saturating at [`Duration::MAX`].
pub fn mul_duration(d: Duration, k: u64) -> Duration {
    let nanos = d.as_nanos().saturating_mul(u128::from(k));
    let secs = nanos / 1_000_000_000;
    if secs > u128::from(u64::MAX) {
        return Duration::MAX;
    }
    Duration::new(secs as u64, (nanos % 1_000_000_000) as u32)
}

/// An absolute schedule anchored at one instant, with the Unix time (µs)
/// taken at that same instant so deadlines can be written to the manifest.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    start: Instant,
    start_unix_us: i64,
    interval: Duration,
}

impl Schedule {
    /// A schedule starting now.
    pub fn start_now(interval: Duration) -> Schedule {
        let start = Instant::now();
        let start_unix_us = chrono::Utc::now().timestamp_micros();
        Schedule::new(start, start_unix_us, interval)
    }

    /// A schedule with an explicit anchor (for tests).
    pub fn new(start: Instant, start_unix_us: i64, interval: Duration) -> Schedule {
        Schedule {
            start,
            start_unix_us,
            interval,
        }
    }

    /// The anchor instant.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The Unix time (µs) of the anchor.
    pub fn start_unix_us(&self) -> i64 {
        self.start_unix_us
    }

    /// The configured interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Offset of deadline `k` from the start: `k * interval`.
    pub fn offset(&self, k: u64) -> Duration {
        mul_duration(self.interval, k)
    }

    /// Deadline of file `k` (from 0).
    pub fn deadline(&self, k: u64) -> Instant {
        self.start + self.offset(k)
    }

    /// Deadline of file `k` as Unix time in microseconds.
    pub fn scheduled_unix_us(&self, k: u64) -> i64 {
        let off = i64::try_from(self.offset(k).as_micros()).unwrap_or(i64::MAX);
        self.start_unix_us.saturating_add(off)
    }

    /// How long after deadline `k` the instant `at` is (zero if before).
    pub fn lateness(&self, k: u64, at: Instant) -> Duration {
        at.saturating_duration_since(self.deadline(k))
    }

    /// Sleeps until deadline `k`, waking at least every [`STOP_POLL`] to
    /// check `stop`. Returns `true` when the deadline is reached (at once if
    /// it has already passed) and `false` if `stop` became true first.
    pub fn wait_until(&self, k: u64, stop: &AtomicBool) -> bool {
        self.wait_until_any(k, &[stop])
    }

    /// Like [`Schedule::wait_until`], stopping when any of `stops` becomes
    /// true: concurrent sources watch the caller's stop flag and a shared
    /// one that a failing source raises to halt the others.
    pub fn wait_until_any(&self, k: u64, stops: &[&AtomicBool]) -> bool {
        let deadline = self.deadline(k);
        loop {
            if stops.iter().any(|s| s.load(Ordering::Relaxed)) {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            thread::sleep((deadline - now).min(STOP_POLL));
        }
    }
}

/// Lateness statistics over all files written.
#[derive(Debug, Clone, Copy)]
pub struct LatenessStats {
    threshold: Duration,
    count: u64,
    late: u64,
    max: Duration,
    sum: Duration,
}

impl LatenessStats {
    /// A file counts as late when its lateness exceeds 10 % of `interval`.
    pub fn new(interval: Duration) -> LatenessStats {
        LatenessStats {
            threshold: interval / 10,
            count: 0,
            late: 0,
            max: Duration::ZERO,
            sum: Duration::ZERO,
        }
    }

    /// The lateness above which a file is late.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    /// Records one file's lateness; returns whether it was late.
    pub fn record(&mut self, lateness: Duration) -> bool {
        self.count += 1;
        self.sum = self.sum.saturating_add(lateness);
        self.max = self.max.max(lateness);
        let late = lateness > self.threshold;
        if late {
            self.late += 1;
        }
        late
    }

    /// Adds the files recorded by `other` (another source of the same run,
    /// so the same threshold).
    pub fn merge(&mut self, other: &LatenessStats) {
        self.count += other.count;
        self.late += other.late;
        self.sum = self.sum.saturating_add(other.sum);
        self.max = self.max.max(other.max);
    }

    /// Files recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Files whose lateness exceeded the threshold.
    pub fn late_files(&self) -> u64 {
        self.late
    }

    /// Largest lateness, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max.as_secs_f64() * 1000.0
    }

    /// Mean lateness, in milliseconds (0 when nothing was recorded).
    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum.as_secs_f64() * 1000.0 / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_absolute() {
        let start = Instant::now();
        let s = Schedule::new(start, 1_000_000, Duration::from_millis(250));
        assert_eq!(s.deadline(0), start);
        assert_eq!(s.deadline(4), start + Duration::from_secs(1));
        assert_eq!(s.scheduled_unix_us(0), 1_000_000);
        assert_eq!(s.scheduled_unix_us(3), 1_750_000);
        assert_eq!(s.lateness(1, start), Duration::ZERO);
        assert_eq!(
            s.lateness(1, start + Duration::from_millis(260)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn multiplication_saturates() {
        assert_eq!(
            mul_duration(Duration::from_nanos(1_500_000_001), 2),
            Duration::new(3, 2)
        );
        assert_eq!(
            mul_duration(Duration::from_secs(u64::MAX), 2),
            Duration::MAX
        );
        assert_eq!(mul_duration(Duration::from_secs(5), 0), Duration::ZERO);
    }

    #[test]
    fn lateness_stats() {
        let mut st = LatenessStats::new(Duration::from_millis(100));
        assert_eq!(st.mean_ms(), 0.0);
        assert!(!st.record(Duration::from_millis(10)));
        assert!(st.record(Duration::from_millis(11)));
        assert!(!st.record(Duration::ZERO));
        assert_eq!(st.count(), 3);
        assert_eq!(st.late_files(), 1);
        assert_eq!(st.max_ms(), 11.0);
        assert_eq!(st.mean_ms(), 7.0);

        let mut other = LatenessStats::new(Duration::from_millis(100));
        other.record(Duration::from_millis(29));
        st.merge(&other);
        assert_eq!(st.count(), 4);
        assert_eq!(st.late_files(), 2);
        assert_eq!(st.max_ms(), 29.0);
        assert_eq!(st.mean_ms(), 12.5);
    }

    #[test]
    fn wait_returns_at_once_when_due_or_stopped() {
        let s = Schedule::start_now(Duration::from_secs(3600));
        let stop = AtomicBool::new(false);
        assert!(s.wait_until(0, &stop));
        stop.store(true, Ordering::Relaxed);
        assert!(!s.wait_until(1, &stop));
        let quiet = AtomicBool::new(false);
        assert!(!s.wait_until_any(1, &[&quiet, &stop]));
    }
}
