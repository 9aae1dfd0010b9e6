//! Rate-controlled, deterministic CSV event file generator for sluice.
//!
//! The generator writes e-commerce events (`page_view`, `add_to_cart`, …) as
//! CSV files into a directory on an absolute schedule (file `k` is due at
//! `start + k * interval`), each file appearing atomically (hidden temp file,
//! fsync, rename), and appends one line per file to a JSON-lines manifest
//! that the reporter uses as ground truth (rows, duplicates, malformed rows,
//! and the instant the file became visible).
//!
//! Main items:
//! - [`GeneratorConfig`] and [`generate`], which runs a whole schedule and
//!   returns a [`GeneratorSummary`];
//! - [`event`]: columns, row formatting, bad and duplicate rows,
//!   [`event::FileBuilder`] (deterministic for a seed);
//! - [`schedule`]: absolute deadlines and lateness accounting;
//! - [`writer`]: the atomic file writer;
//! - [`manifest`]: [`ManifestEntry`], [`ManifestWriter`], [`read_manifest`].
//!
//! Files are named `{file_prefix}-{seq:06}.csv` with `seq` from 1; the
//! generator refuses to overwrite an existing file of that name.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use std::time::Duration;
//! use generator::{generate, read_manifest, GeneratorConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let config = GeneratorConfig {
//!     out_dir: dir.path().join("input"),
//!     manifest_path: dir.path().join("manifest.jsonl"),
//!     file_prefix: "events".into(),
//!     id_prefix: "doc-".into(),
//!     rows_min: 10,
//!     rows_max: 20,
//!     interval: Duration::from_millis(5),
//!     duration: Duration::from_millis(15),
//!     max_files: None,
//!     seed: 42,
//!     dup_rate: 0.05,
//!     bad_rate: 0.01,
//! };
//! let stop = AtomicBool::new(false);
//! let summary = generate(&config, &stop, &mut |entry| println!("{}", entry.file)).unwrap();
//! assert_eq!(summary.files, 3);
//! let entries = read_manifest(&config.manifest_path).unwrap();
//! assert_eq!(entries.len(), 3);
//! assert_eq!(entries[0].file, "events-000001.csv");
//! assert!(config.out_dir.join("events-000003.csv").exists());
//! ```

pub mod event;
pub mod manifest;
pub mod schedule;
pub mod writer;

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use event::{FileBuilder, FileStats, HEADER};
pub use manifest::{read_manifest, ManifestEntry, ManifestWriter};
pub use schedule::{LatenessStats, Schedule};

/// Largest accepted `rows_max` (a file is built in memory, about 110 bytes
/// per row).
pub const MAX_ROWS_PER_FILE: u32 = 10_000_000;

/// What to generate, where, and how fast.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Directory the CSV files appear in (created if missing).
    pub out_dir: PathBuf,
    /// JSON-lines manifest, appended to (created if missing).
    pub manifest_path: PathBuf,
    /// File names are `{file_prefix}-{seq:06}.csv`, `seq` from 1.
    pub file_prefix: String,
    /// Prefix of every event_id, so that runs never collide.
    pub id_prefix: String,
    /// Smallest number of rows per file.
    pub rows_min: u32,
    /// Largest number of rows per file (uniform in `[rows_min, rows_max]`).
    pub rows_max: u32,
    /// Time between files.
    pub interval: Duration,
    /// Run length: `max(1, floor(duration / interval))` files, unless
    /// `max_files` is given.
    pub duration: Duration,
    /// Number of files, overriding `duration`.
    pub max_files: Option<u64>,
    /// Seed of the random generator.
    pub seed: u64,
    /// Fraction of rows that exactly repeat a valid row of an earlier file.
    pub dup_rate: f64,
    /// Fraction of rows that are malformed.
    pub bad_rate: f64,
}

impl GeneratorConfig {
    /// Checks the configuration; the error says what is wrong and what to do.
    pub fn validate(&self) -> Result<(), GeneratorError> {
        let invalid = |msg: String| Err(GeneratorError::InvalidConfig(msg));
        if self.out_dir.as_os_str().is_empty() {
            return invalid(
                "out_dir is empty; set it to the directory the pipeline watches".into(),
            );
        }
        if self.manifest_path.as_os_str().is_empty() {
            return invalid(
                "manifest_path is empty; set it to a file path such as runs/<run>/manifest.jsonl"
                    .into(),
            );
        }
        if self.manifest_path.file_name().is_none() {
            return invalid(format!(
                "manifest_path `{}` does not name a file; give a file path such as manifest.jsonl",
                self.manifest_path.display()
            ));
        }
        let bad_name_char = |c: char| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        };
        if self.file_prefix.is_empty()
            || self.file_prefix.starts_with('.')
            || self.file_prefix.chars().any(bad_name_char)
        {
            return invalid(format!(
                "file_prefix {:?} is not usable in a file name; use a non-empty name without path \
                 separators or any of :*?\"<>| that does not start with '.' (hidden files are ignored \
                 by the pipeline), e.g. \"events\"",
                self.file_prefix
            ));
        }
        if self
            .id_prefix
            .chars()
            .any(|c| c.is_control() || c == ',' || c == '"')
        {
            return invalid(format!(
                "id_prefix {:?} contains a comma, a double quote or a control character; use \
                 letters, digits and '-' only, e.g. \"r20261123a-\"",
                self.id_prefix
            ));
        }
        if self.rows_max == 0 {
            return invalid("rows_max is 0; set it to at least 1".into());
        }
        if self.rows_min > self.rows_max {
            return invalid(format!(
                "rows_min ({}) is greater than rows_max ({}); lower rows_min or raise rows_max",
                self.rows_min, self.rows_max
            ));
        }
        if self.rows_max > MAX_ROWS_PER_FILE {
            return invalid(format!(
                "rows_max ({}) is above {MAX_ROWS_PER_FILE}; each file is built in memory, so write \
                 more, smaller files (shorter interval, lower rows_max)",
                self.rows_max
            ));
        }
        if self.interval.is_zero() {
            return invalid("interval is 0; set a positive interval between files, e.g. 1s".into());
        }
        if self.max_files == Some(0) {
            return invalid(
                "max_files is 0; set it to at least 1, or leave it out to use duration".into(),
            );
        }
        for (name, rate) in [("dup_rate", self.dup_rate), ("bad_rate", self.bad_rate)] {
            if !(rate.is_finite() && (0.0..1.0).contains(&rate)) {
                return invalid(format!(
                    "{name} ({rate}) must be a fraction in [0, 1), e.g. 0.01 for 1 % of the rows"
                ));
            }
        }
        if self.dup_rate + self.bad_rate >= 1.0 {
            return invalid(format!(
                "dup_rate + bad_rate ({} + {}) must be below 1 so that some rows are valid; lower them",
                self.dup_rate, self.bad_rate
            ));
        }
        Ok(())
    }

    /// Number of files the schedule has: `max_files`, or
    /// `max(1, floor(duration / interval))`.
    pub fn file_count(&self) -> u64 {
        if let Some(n) = self.max_files {
            return n;
        }
        if self.interval.is_zero() {
            return 1;
        }
        let n = self.duration.as_nanos() / self.interval.as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX).max(1)
    }

    /// Path of file `seq` (from 1).
    pub fn file_path(&self, seq: u64) -> PathBuf {
        self.out_dir.join(file_name(&self.file_prefix, seq))
    }
}

/// The file name of file `seq`: `{prefix}-{seq:06}.csv`.
pub fn file_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}-{seq:06}.csv")
}

/// What a run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorSummary {
    pub seed: u64,
    pub out_dir: PathBuf,
    pub manifest_path: PathBuf,
    pub interval_ms: f64,
    pub rows_min: u32,
    pub rows_max: u32,
    pub dup_rate: f64,
    pub bad_rate: f64,
    /// Files written.
    pub files: u64,
    /// Data rows written.
    pub rows: u64,
    pub dup_rows: u64,
    pub bad_rows: u64,
    /// `rows - dup_rows - bad_rows`: distinct valid events.
    pub expected_rows: u64,
    /// From the schedule start to the last manifest line.
    pub elapsed_s: f64,
    pub rows_per_s: f64,
    /// Files renamed more than 10 % of the interval after their deadline.
    pub late_files: u64,
    pub max_lateness_ms: f64,
    pub mean_lateness_ms: f64,
    /// The stop flag ended the run before all files were written.
    pub stopped_early: bool,
}

/// Errors of the generator. Messages name the path and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The configuration is unusable.
    #[error("invalid generator configuration: {0}")]
    InvalidConfig(String),
    /// A file system operation failed.
    #[error(
        "could not {action} `{}`: {error}; check that the directory exists and is writable and \
         that the disk is not full",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    /// The generator would overwrite an input file.
    #[error(
        "`{}` already exists and the generator never overwrites input files; use an empty output \
         directory or another file prefix",
        path.display()
    )]
    FileExists { path: PathBuf },
    /// A manifest line could not be parsed.
    #[error(
        "manifest `{}` line {line}: {message}; fix or delete that line (each line must be one \
         JSON object)",
        path.display()
    )]
    ManifestLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Runs the schedule; returns when all files are written or `stop` becomes
/// true (checked at least every 50 ms while sleeping, and before each file).
/// Calls `on_file` after each file's manifest line is written.
pub fn generate(
    config: &GeneratorConfig,
    stop: &AtomicBool,
    on_file: &mut dyn FnMut(&ManifestEntry),
) -> Result<GeneratorSummary, GeneratorError> {
    config.validate()?;
    fs::create_dir_all(&config.out_dir).map_err(|error| GeneratorError::Io {
        action: "create the output directory",
        path: config.out_dir.clone(),
        error,
    })?;
    let mut manifest = ManifestWriter::open(&config.manifest_path)?;

    let total_files = config.file_count();
    let mut builder = FileBuilder::from_config(config);
    let estimated_row_bytes = 112 + config.id_prefix.len();
    let mut buf: Vec<u8> =
        Vec::with_capacity((config.rows_max as usize + 1).saturating_mul(estimated_row_bytes));
    let mut totals = FileStats::default();
    let mut files = 0u64;
    let mut stopped_early = false;

    let schedule = Schedule::start_now(config.interval);
    let mut lateness = LatenessStats::new(config.interval);

    for k in 0..total_files {
        if stop.load(Ordering::Relaxed) || !schedule.wait_until(k, stop) {
            stopped_early = true;
            break;
        }
        let seq = k + 1;
        let path = config.file_path(seq);
        if fs::symlink_metadata(&path).is_ok() {
            return Err(GeneratorError::FileExists { path });
        }
        let event_time = event::format_event_time(chrono::Utc::now());
        let stats = builder.build_file(seq, &event_time, &mut buf);
        let published = writer::write_atomic(&path, &buf)?;
        let late = schedule.lateness(k, published.at);
        lateness.record(late);

        let entry = ManifestEntry {
            seq,
            file: file_name(&config.file_prefix, seq),
            rows: stats.rows,
            created_at_us: published.unix_us,
            dup_rows: stats.dup_rows,
            bad_rows: stats.bad_rows,
            scheduled_at_us: Some(schedule.scheduled_unix_us(k)),
            late_us: Some(i64::try_from(late.as_micros()).unwrap_or(i64::MAX)),
        };
        manifest.append(&entry)?;
        files += 1;
        totals.rows += stats.rows;
        totals.dup_rows += stats.dup_rows;
        totals.bad_rows += stats.bad_rows;
        on_file(&entry);
    }

    let elapsed_s = schedule.start().elapsed().as_secs_f64();
    Ok(GeneratorSummary {
        seed: config.seed,
        out_dir: config.out_dir.clone(),
        manifest_path: config.manifest_path.clone(),
        interval_ms: config.interval.as_secs_f64() * 1000.0,
        rows_min: config.rows_min,
        rows_max: config.rows_max,
        dup_rate: config.dup_rate,
        bad_rate: config.bad_rate,
        files,
        rows: totals.rows,
        dup_rows: totals.dup_rows,
        bad_rows: totals.bad_rows,
        expected_rows: totals.expected_rows(),
        elapsed_s,
        rows_per_s: if elapsed_s > 0.0 {
            totals.rows as f64 / elapsed_s
        } else {
            0.0
        },
        late_files: lateness.late_files(),
        max_lateness_ms: lateness.max_ms(),
        mean_lateness_ms: lateness.mean_ms(),
        stopped_early,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GeneratorConfig {
        GeneratorConfig {
            out_dir: "in".into(),
            manifest_path: "m.jsonl".into(),
            file_prefix: "events".into(),
            id_prefix: "r1-".into(),
            rows_min: 1,
            rows_max: 2,
            interval: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            max_files: None,
            seed: 1,
            dup_rate: 0.1,
            bad_rate: 0.1,
        }
    }

    fn err(c: &GeneratorConfig) -> String {
        c.validate().unwrap_err().to_string()
    }

    #[test]
    fn validation_messages() {
        assert!(config().validate().is_ok());
        let mut c = config();
        c.rows_min = 3;
        assert!(err(&c).contains("rows_min (3) is greater than rows_max (2)"));
        let mut c = config();
        c.interval = Duration::ZERO;
        assert!(err(&c).contains("interval is 0"));
        let mut c = config();
        c.dup_rate = 1.0;
        assert!(err(&c).contains("dup_rate (1)"));
        let mut c = config();
        c.bad_rate = f64::NAN;
        assert!(err(&c).contains("bad_rate"));
        let mut c = config();
        c.bad_rate = -0.1;
        assert!(err(&c).contains("bad_rate (-0.1)"));
        let mut c = config();
        c.dup_rate = 0.6;
        c.bad_rate = 0.5;
        assert!(err(&c).contains("must be below 1"));
        let mut c = config();
        c.file_prefix = ".hidden".into();
        assert!(err(&c).contains("file_prefix"));
        let mut c = config();
        c.file_prefix = "a/b".into();
        assert!(err(&c).contains("file_prefix"));
        let mut c = config();
        c.id_prefix = "a,b".into();
        assert!(err(&c).contains("id_prefix"));
        let mut c = config();
        c.max_files = Some(0);
        assert!(err(&c).contains("max_files is 0"));
        let mut c = config();
        c.rows_min = 0;
        c.rows_max = 0;
        assert!(err(&c).contains("rows_max is 0"));
    }

    #[test]
    fn file_count_and_names() {
        let mut c = config();
        assert_eq!(c.file_count(), 10);
        c.duration = Duration::from_millis(10_999);
        assert_eq!(c.file_count(), 10);
        c.duration = Duration::from_millis(10);
        assert_eq!(c.file_count(), 1);
        c.max_files = Some(3);
        assert_eq!(c.file_count(), 3);
        assert_eq!(file_name("events", 1), "events-000001.csv");
        assert_eq!(file_name("x", 1_234_567), "x-1234567.csv");
        assert_eq!(
            c.file_path(2),
            std::path::Path::new("in").join("events-000002.csv")
        );
    }
}
