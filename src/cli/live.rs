//! The live view of `sluice ingest` on a terminal: one status line kept
//! current (files waiting, rows per second, the last batch and how long its
//! files waited, rejects, the database's state). Off a terminal the plain
//! log lines of [`LogObserver`] go on instead.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use pipeline::batch::BatchOutcome;
use pipeline::driver::{LogObserver, Observer};

/// The rows per second are over this recent stretch.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// The observer for `sluice ingest`: the live view on a terminal, log lines
/// elsewhere.
pub fn observer() -> Arc<dyn Observer> {
    if std::io::stderr().is_terminal() {
        Arc::new(LiveView::start())
    } else {
        Arc::new(LogObserver)
    }
}

/// What the status line shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Status {
    /// Files found and not yet in a batch.
    pub waiting: usize,
    /// Rows ingested since start (read and not rejected: stored, or
    /// already current in the table).
    pub rows: u64,
    /// Rows rejected since start.
    pub rejected: u64,
    /// Rows per second over the last [`RATE_WINDOW`]; `None` before the
    /// first commit.
    pub rows_per_s: Option<f64>,
    /// The last batch committed.
    pub last_batch: Option<LastBatch>,
    /// Retries after database errors since start.
    pub retries: u64,
    /// The database is failing: the next attempt in this long.
    pub database_down: Option<Duration>,
}

/// The last batch, as the status line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LastBatch {
    pub id: u64,
    pub files: usize,
    pub rows: u64,
    /// Start to commit, ms.
    pub duration_ms: f64,
    /// Its files' longest wait, file written (mtime) to commit, ms.
    pub max_file_latency_ms: f64,
}

impl LastBatch {
    fn of(outcome: &BatchOutcome) -> Self {
        let max_file_latency_us = outcome
            .files
            .iter()
            .map(|f| outcome.committed_at_us - f.mtime_us)
            .max()
            .unwrap_or(0);
        LastBatch {
            id: outcome.batch_id,
            files: outcome.files.len(),
            rows: ingested(outcome),
            duration_ms: (outcome.committed_at_us - outcome.started_at_us) as f64 / 1000.0,
            max_file_latency_ms: max_file_latency_us.max(0) as f64 / 1000.0,
        }
    }
}

/// Rows of a batch read and not rejected: stored, or already current.
fn ingested(outcome: &BatchOutcome) -> u64 {
    outcome.rows_read - outcome.rows_rejected
}

/// The status line: pure, so what a person sees is tested.
pub fn status_line(status: &Status) -> String {
    let mut parts = vec![format!("{} files waiting", status.waiting)];
    parts.push(match status.rows_per_s {
        Some(rate) => format!("{rate:.0} rows/s"),
        None => "no batch yet".to_string(),
    });
    parts.push(format!("{} rows ingested", status.rows));
    if let Some(last) = &status.last_batch {
        parts.push(format!(
            "last batch {}: {} files, {} rows in {:.0} ms, files waited up to {:.0} ms",
            last.id, last.files, last.rows, last.duration_ms, last.max_file_latency_ms
        ));
    }
    if status.rejected > 0 {
        parts.push(format!("{} rejected", status.rejected));
    }
    match status.database_down {
        Some(retry_in) => parts.push(format!(
            "database unavailable: retry {} in {:.1} s",
            status.retries,
            retry_in.as_secs_f64()
        )),
        None if status.retries > 0 => parts.push(format!("{} database retries", status.retries)),
        None => {}
    }
    parts.join(" · ")
}

/// The status and the commits of the last [`RATE_WINDOW`].
#[derive(Default)]
struct State {
    status: Status,
    commits: VecDeque<(Instant, u64)>,
}

/// The status line on the terminal, redrawn on every event and tick.
struct LiveView {
    bar: ProgressBar,
    state: Mutex<State>,
}

impl LiveView {
    fn start() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .expect("valid progress template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let view = LiveView {
            bar,
            state: Mutex::default(),
        };
        view.update(|_| {});
        view
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        let mut state = self.state.lock().expect("live view lock");
        change(&mut state);
        self.bar.set_message(status_line(&state.status));
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        self.bar.finish();
    }
}

impl Observer for LiveView {
    fn batch_committed(&self, outcome: &BatchOutcome) {
        let now = Instant::now();
        self.update(|state| {
            state.commits.push_back((now, ingested(outcome)));
            while state
                .commits
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
            {
                state.commits.pop_front();
            }
            let rows: u64 = state.commits.iter().map(|(_, rows)| rows).sum();
            let span = state
                .commits
                .front()
                .map_or(RATE_WINDOW, |(first, _)| now.duration_since(*first))
                .max(Duration::from_secs(1));
            let status = &mut state.status;
            status.rows += ingested(outcome);
            status.rejected += outcome.rows_rejected;
            status.rows_per_s = Some(rows as f64 / span.as_secs_f64());
            status.last_batch = Some(LastBatch::of(outcome));
            status.database_down = None;
        });
    }

    fn backlog(&self, pending: usize) {
        self.update(|state| state.status.waiting = pending);
    }

    fn database_unavailable(&self, _error: &str, retry_in: Duration) {
        self.update(|state| {
            state.status.retries += 1;
            state.status.database_down = Some(retry_in);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_says_what_waits_what_flows_and_what_fails() {
        let mut status = Status::default();
        assert_eq!(
            status_line(&status),
            "0 files waiting · no batch yet · 0 rows ingested"
        );
        status = Status {
            waiting: 12,
            rows: 48_000,
            rejected: 3,
            rows_per_s: Some(9_876.4),
            last_batch: Some(LastBatch {
                id: 41,
                files: 10,
                rows: 10_000,
                duration_ms: 182.4,
                max_file_latency_ms: 1_204.6,
            }),
            retries: 2,
            database_down: Some(Duration::from_millis(1_600)),
        };
        assert_eq!(
            status_line(&status),
            "12 files waiting · 9876 rows/s · 48000 rows ingested · last batch 41: 10 files, \
             10000 rows in 182 ms, files waited up to 1205 ms · 3 rejected · database \
             unavailable: retry 2 in 1.6 s"
        );
        status.database_down = None;
        assert!(status_line(&status).ends_with("3 rejected · 2 database retries"));
    }
}
