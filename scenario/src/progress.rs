//! The live view of a run: a progress bar fed by the pipeline's observer
//! hooks and the generator's manifest callback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use pipeline::batch::BatchOutcome;
use pipeline::driver::Observer;

/// Counters shared by the generator thread, the pipeline and the bar.
pub(crate) struct Progress {
    bar: ProgressBar,
    /// File name → created_at_us, from the generator.
    created: Mutex<HashMap<String, i64>>,
    /// Approximate row latency (local commit clock), µs.
    latency: Mutex<Histogram<u64>>,
    pub(crate) files_generated: AtomicU64,
    pub(crate) files_committed: AtomicU64,
    rows_written: AtomicU64,
    backlog: AtomicU64,
}

impl Progress {
    pub(crate) fn new(bar: ProgressBar) -> Self {
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .expect("valid progress template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            created: Mutex::new(HashMap::new()),
            latency: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
            files_generated: AtomicU64::new(0),
            files_committed: AtomicU64::new(0),
            rows_written: AtomicU64::new(0),
            backlog: AtomicU64::new(0),
        }
    }

    /// A file the generator made visible.
    pub(crate) fn file_created(&self, name: &str, created_at_us: i64) {
        self.created
            .lock()
            .expect("progress lock")
            .insert(name.to_string(), created_at_us);
        self.files_generated.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn redraw(&self) {
        let p99_ms = {
            let latency = self.latency.lock().expect("progress lock");
            if latency.is_empty() {
                "-".to_string()
            } else {
                format!("{:.0} ms", latency.value_at_quantile(0.99) as f64 / 1000.0)
            }
        };
        self.bar.set_message(format!(
            "files {} generated / {} committed | rows written {} | backlog {} files | P99 ≈ {p99_ms}",
            self.files_generated.load(Ordering::Relaxed),
            self.files_committed.load(Ordering::Relaxed),
            self.rows_written.load(Ordering::Relaxed),
            self.backlog.load(Ordering::Relaxed),
        ));
    }
}

impl Observer for Progress {
    fn batch_committed(&self, outcome: &BatchOutcome) {
        {
            let created = self.created.lock().expect("progress lock");
            let mut latency = self.latency.lock().expect("progress lock");
            for file in &outcome.files {
                if let Some(created_at) = created.get(&file.name) {
                    let micros = (outcome.committed_at_us - created_at).max(1) as u64;
                    latency.saturating_record_n(micros, (file.rows - file.rejected).max(1));
                }
            }
        }
        self.files_committed
            .fetch_add(outcome.files.len() as u64, Ordering::Relaxed);
        self.rows_written
            .fetch_add(outcome.rows_upserted, Ordering::Relaxed);
        self.redraw();
    }

    fn backlog(&self, pending: usize) {
        self.backlog.store(pending as u64, Ordering::Relaxed);
    }

    fn database_unavailable(&self, error: &str, retry_in: Duration) {
        self.bar.println(format!(
            "database unavailable ({error}); retrying in {retry_in:.1?}"
        ));
    }
}
